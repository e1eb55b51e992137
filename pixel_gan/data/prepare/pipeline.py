"""``data prepare``: sources -> decoded -> (pixel art) native grid -> deduplicated -> split -> one folder.

Nothing is written until every image has been read and judged; the dataset is then built in a
temporary sibling folder and renamed into place, so ``--out`` appears complete or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from pixel_gan.data.datamodule import PROMPT_FILES
from pixel_gan.data.images import display_path
from pixel_gan.data.prepare.dedup import find_duplicates, phash, pixel_digest
from pixel_gan.data.prepare.grid import MAX_COLORS, analyse_pixel_art, distinct_color_count
from pixel_gan.data.prepare.sources import PrepareError, decode, is_inside, list_folder, other_files, unique_name
from pixel_gan.data.prepare.split import SplitError, split_test

T = TypeVar("T")
Track = Callable[[Sequence[T], str], Iterable[T]]
PROMPTS = ("a photo", "pixel art")  # the datamodule's default captions, written so they can be edited
DOMAINS = {"A": "photos", "B": "pixel art"}
THUMB = 64


def no_progress(items: Sequence[T], description: str) -> Iterable[T]:
    return items


def thumbnail(rgb: np.ndarray, nearest: bool = False) -> Image.Image:
    """At most THUMB px a side, for the contact sheet (nearest keeps pixel art crisp)."""
    pil = Image.fromarray(rgb)
    scale = THUMB / max(pil.size)
    size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
    return pil.resize(size, Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS)


@dataclass
class Kept:
    """An image that goes into the dataset.

    Pixel art keeps its (small) native pixels; a photo keeps none (``image`` None) and is decoded
    again when written, so memory does not grow with the size of the photo folder.
    """

    source: Path
    image: np.ndarray | None
    thumb: Image.Image
    area: int
    cell: int = 1
    offset: tuple[int, int] = (0, 0)
    colors: int = 0
    size: tuple[int, int] = (0, 0)  # (width, height) as written
    digest: str = ""
    phash: int = 0
    name: str = ""
    test: bool = False


@dataclass(frozen=True)
class Rejected:
    """A source left out, with a short code (for counting) and a one-line reason."""

    source: Path
    code: str
    reason: str
    thumb: Image.Image | None = None  # decodable rejects are also written full size, decoded again


@dataclass
class Domain:
    """One side of the dataset (A photos, B pixel art) after judging every file."""

    label: str
    folder: Path
    found: int = 0
    ignored: list[str] = field(default_factory=list)  # entries that are no image file (other formats, folders)
    kept: list[Kept] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def count(self, *codes: str) -> int:
        return sum(r.code in codes for r in self.rejected)


@dataclass(frozen=True)
class Settings:
    photos: Path
    pixel_art: Path
    out: Path
    test_fraction: float = 0.05
    seed: int = 0
    max_colors: int = MAX_COLORS


def validate(settings: Settings) -> None:
    """Refuse bad arguments before reading any image: one line each, via PrepareError."""
    if not 0.0 < settings.test_fraction < 1.0:
        raise PrepareError(f"--test-fraction must be between 0 and 1 (exclusive), got {settings.test_fraction}")
    if settings.seed < 0:
        raise PrepareError(f"--seed must be >= 0, got {settings.seed}")
    if settings.max_colors < 2:
        raise PrepareError(f"--max-colors must be >= 2, got {settings.max_colors}")
    out = settings.out
    for option, source in (("--photos", settings.photos), ("--pixel-art", settings.pixel_art)):
        if is_inside(out, source) or is_inside(source, out):
            raise PrepareError(
                f"--out {display_path(out)} overlaps {option} {display_path(source)}; sources are read-only"
            )
    if out.exists() and not out.is_dir():
        raise PrepareError(f"--out {display_path(out)}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise PrepareError(f"--out {display_path(out)}: folder exists and is not empty; choose a new one")


def _judge(label: str, decoded_rgb: np.ndarray, source: Path, max_colors: int) -> Kept | Rejected:
    """A decoded image -> Kept (photos as they are; pixel art reduced to its grid) or Rejected."""
    area = decoded_rgb.shape[0] * decoded_rgb.shape[1]
    if label == "A":
        kept = Kept(source, None, thumbnail(decoded_rgb), area, colors=distinct_color_count(decoded_rgb))
        kept.size, kept.digest, kept.phash = _identity(decoded_rgb)
        return kept
    result = analyse_pixel_art(decoded_rgb, max_colors)
    if result.native is None:
        return Rejected(source, result.code, result.reason, thumbnail(decoded_rgb))
    kept = Kept(source, result.native, thumbnail(result.native, True), area, result.cell, result.offset, result.colors)
    kept.size, kept.digest, kept.phash = _identity(result.native)
    return kept


def _identity(rgb: np.ndarray) -> tuple[tuple[int, int], str, int]:
    """(width, height), pixel digest and pHash of the pixels that will be written."""
    return (rgb.shape[1], rgb.shape[0]), pixel_digest(rgb), phash(rgb)


def collect(label: str, folder: Path, option: str, track: Track, max_colors: int = MAX_COLORS) -> Domain:
    """List, decode and judge every file of one source folder, then drop duplicates."""
    domain = Domain(label, folder)
    files = list_folder(folder, option)
    domain.found, domain.ignored = len(files), other_files(folder, files)
    for path in track(files, f"reading {DOMAINS[label]}"):
        decoded = decode(path)
        if decoded.rgb is None:
            domain.rejected.append(Rejected(path, "unreadable", decoded.reason))
            continue
        judged = _judge(label, decoded.rgb, path, max_colors)
        if isinstance(judged, Kept):
            domain.kept.append(judged)
        else:
            domain.rejected.append(judged)
    _drop_duplicates(domain)
    return domain


def _drop_duplicates(domain: Domain) -> None:
    kept = domain.kept
    dropped = find_duplicates([k.digest for k in kept], [k.phash for k in kept], [k.area for k in kept])
    for i, (keeper, distance) in sorted(dropped.items()):
        other = display_path(kept[keeper].source.name)
        if distance < 0:
            domain.rejected.append(Rejected(kept[i].source, "duplicate", f"exact duplicate of {other}"))
        else:
            reason = f"near duplicate of {other} (pHash distance {distance} of 64)"
            domain.rejected.append(Rejected(kept[i].source, "near-duplicate", reason))
    domain.kept = [k for i, k in enumerate(kept) if i not in dropped]


def assign_split_and_names(domain: Domain, option: str, fraction: float, seed: int) -> None:
    """Mark each kept image train or test and give it a unique PNG name from its source name."""
    if len(domain.kept) < 2:
        raise PrepareError(
            f"{option} {display_path(domain.folder)}: {len(domain.kept)} usable image(s) after checks and "
            "deduplication; at least 2 are needed (one for train, one for test)"
        )
    try:
        tests = split_test([k.digest for k in domain.kept], [k.phash for k in domain.kept], fraction, seed)
    except SplitError as error:
        raise PrepareError(f"{option} {display_path(domain.folder)}: {error}") from None
    taken: set[str] = set()
    for item, test in zip(domain.kept, tests, strict=True):
        item.test = test
        item.name = unique_name(item.source, taken)


def prompt_files() -> dict[str, str]:
    return dict(zip(PROMPT_FILES, PROMPTS, strict=True))
