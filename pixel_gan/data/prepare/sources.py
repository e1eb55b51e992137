"""Reading the user's folders: list, decode safely, never write.

Decoding is :func:`pixel_gan.data.images.load_rgb`: EXIF orientation applied, the first frame of
an animation, 16-bit scaled to 8-bit, transparency composited onto white, FIFOs and devices refused
without opening, a pixel limit against decompression bombs. A file it cannot read is reported with
its reason, never fatal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixel_gan.data.images import ImageLoadError, display_path, list_images, load_rgb

ALPHA_RULE = "transparent pixels are composited onto white"


class PrepareError(ValueError):
    """A problem with the arguments or an input folder: one line for the user, nothing written."""


@dataclass(frozen=True)
class Decoded:
    """One source file: its upright RGB pixels, or why it could not be read."""

    path: Path
    rgb: np.ndarray | None
    reason: str = ""


def list_folder(folder: Path, option: str) -> list[Path]:
    """Image files directly inside ``folder``; PrepareError naming ``option`` when it cannot be listed."""
    if not folder.exists():
        raise PrepareError(f"{option} {display_path(folder)}: folder not found")
    if not folder.is_dir():
        raise PrepareError(f"{option} {display_path(folder)}: not a folder")
    try:
        return list_images(folder)
    except OSError as error:
        raise PrepareError(f"{option} {display_path(folder)}: cannot list ({error.strerror or error})") from None


def other_files(folder: Path, images: list[Path]) -> list[str]:
    """Names of the visible entries of ``folder`` that are not listed images (other formats, subfolders)."""
    listed = {p.name for p in images}
    return sorted(display_path(e.name) for e in folder.iterdir() if not e.name.startswith(".") and e.name not in listed)


def decode(path: Path) -> Decoded:
    """Decode one file into uint8 (H, W, 3) RGB, or keep the one-line reason it failed."""
    try:
        return Decoded(path, np.asarray(load_rgb(path)))
    except ImageLoadError as error:
        return Decoded(path, None, error.reason)


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it, after resolving symlinks."""
    path, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return path == folder or folder in path.parents


def unique_name(source: Path, taken: set[str]) -> str:
    """``<stem>.png`` with unsafe characters replaced, ``-2``, ``-3`` ... appended on a clash."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", display_path(source.stem)) or "image"
    name, n = f"{stem}.png", 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}.png"
    taken.add(name.lower())
    return name
