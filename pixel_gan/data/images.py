"""Listing and robust loading of dataset images.

Scraped photo and pixel-art folders hold every kind of file: palette images
with transparency, 16-bit PNGs, CMYK JPEGs, rotated phone photos, animated
GIFs, truncated downloads, huge panoramas. Everything here turns them into
plain RGB or fails with an ``ImageLoadError`` that names the file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_IMAGE_PIXELS = 64_000_000  # decompression-bomb guard: 64 MP is far above any training size
DATASET_LAYOUT = "train_A/, train_B/, test_A/, test_B/ (A = photos, B = pixel art)"

_BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white

log = logging.getLogger(__name__)


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text: bytes of a non-UTF-8 file name become ``\\xNN`` escapes.

    Such names decode to lone surrogates, which no console or log file can encode.
    """
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class ImageLoadError(ValueError):
    """An image file that cannot be used; ``path`` and ``reason`` are kept for reports."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot load image {display_path(self.path)}: {reason}")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder`` (not recursive), sorted by name.

    Extensions match IMAGE_EXTENSIONS case-insensitively; hidden files and
    anything that is not a regular file (directories, dangling or looping
    symlinks) are left out, with a logged warning that names it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder not found: {display_path(folder)}. A dataset root must contain {DATASET_LAYOUT}"
        )
    files = []
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if entry.is_file():
            files.append(entry)
        elif entry.is_symlink():
            log.warning("skipping %s: %s", display_path(entry), _symlink_problem(entry))
        elif entry.is_dir():
            log.warning("skipping %s: not a file (a folder)", display_path(entry))
        elif non_regular_kind(entry):
            log.warning("skipping %s: not a regular file (%s)", display_path(entry), non_regular_kind(entry))
    return sorted(files)


def _symlink_problem(path: Path) -> str:
    """Why a symlink cannot be followed: a loop, or a target that does not exist."""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports loops this way
        return "symlink loop"
    except OSError as error:
        return "symlink loop" if error.errno == errno.ELOOP else "broken symlink (target missing)"
    return "symlink target is not a file"


def describe_load_error(path: Path, error: Exception) -> str:
    """One short line saying what is wrong with ``path``, from whatever Pillow or the OS raised."""
    if isinstance(error, IsADirectoryError):
        return "not a file (a folder)"
    if isinstance(error, OSError) and error.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(error, FileNotFoundError):
        return "broken symlink (target missing)" if path.is_symlink() else "file not found"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, UnidentifiedImageError):
        try:
            empty = path.stat().st_size == 0
        except OSError:
            empty = False
        return "empty file (0 bytes)" if empty else "unknown or unsupported image format"
    if isinstance(error, Image.DecompressionBombError):
        found = re.search(r"\((\d+) pixels\)", str(error))
        count = f"{found.group(1)} pixels" if found else "the image"
        return f"{count} exceeds the limit of {MAX_IMAGE_PIXELS} (possible decompression bomb)"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "truncated" in text.lower():
        return f"truncated or incomplete file ({text})"
    if isinstance(error, (OSError, SyntaxError, EOFError, ValueError)) or "broken" in text.lower():
        return f"corrupt image data ({type(error).__name__}: {text})"
    return f"{type(error).__name__}: {text}"


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def non_regular_kind(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it is not a regular file (following symlinks), without opening it.

    Opening a FIFO blocks until a writer comes, and a device never ends: such paths are refused
    from their ``stat`` alone. None for a regular file or a folder, or when ``stat`` fails (opening
    either fails at once and says why).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def open_checked(path: str | os.PathLike[str]) -> Image.Image:
    """Open lazily (header only): refuse non-regular files and enforce the pixel limit before any decoding."""
    path = Path(path)
    kind = non_regular_kind(path)
    if kind is not None:
        raise ImageLoadError(path, f"not a regular file ({kind})")
    with warnings.catch_warnings():
        # Pillow's own bomb warning fires above ~89 MP; our stricter limit below handles it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as error:  # Pillow's own limit (2x ~89 MP) refused the header
            raise ImageLoadError(path, describe_load_error(path, error)) from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageLoadError(
            path,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {MAX_IMAGE_PIXELS} "
            "(possible decompression bomb)",
        )
    return image


def check_image(path: str | os.PathLike[str]) -> str | None:
    """Cheap validity check without decoding pixels: None if usable, else the reason.

    Catches non-image files, broken headers, PNG chunk corruption and oversized
    images; a truncated JPEG body is only found when it is decoded (``load_rgb``).
    """
    path = Path(path)
    try:
        with open_checked(path) as image:
            image.verify()
    except ImageLoadError as error:
        return error.reason
    except Exception as error:  # Pillow raises many types (OSError, SyntaxError, struct.error, ...)
        return describe_load_error(path, error)
    return None


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Decode ``path`` into an RGB PIL image, upright (EXIF orientation), first frame only.

    Raises ImageLoadError for unreadable, truncated, non-image or oversized files.
    """
    path = Path(path)
    try:
        with open_checked(path) as image:
            image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _to_rgb(upright)
    except ImageLoadError:
        raise
    except Exception as error:  # noqa: BLE001 - every decoder failure becomes one line naming the file
        raise ImageLoadError(path, describe_load_error(path, error)) from error


def has_alpha(image: Image.Image) -> bool:
    """Modes that carry transparency (RGBA, LA, PA, or a palette image with a transparent index)."""
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency composited onto white, 16-bit scaled to 8-bit."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image.copy()
    if image.mode.startswith("I") or image.mode == "F":
        sixteen_bit = image.mode.startswith("I;16")
        return Image.fromarray(_to_uint8(np.asarray(image), sixteen_bit)).convert("RGB")
    if has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_uint8(values: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    """Single-channel 16/32-bit or float data -> uint8.

    16-bit data is scaled by 255/65535; 32-bit and float data is taken as 8-bit
    unless it exceeds 255, in which case it is treated as 16-bit.
    """
    values = values.astype(np.float64)
    if sixteen_bit or (values.size and values.max() > 255):
        values = values / 257.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
