"""``data check``: validate a dataset folder by the rules of ``data prepare``, reading only.

Every problem is one line naming the file: a missing or empty split folder, a file that does not
decode, pixel art that is not at its native grid or fails the pixel-art checks, duplicates inside a
domain, and near copies split between train and test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixel_gan.data.images import display_path
from pixel_gan.data.prepare.dedup import NEAR_DUPLICATE_BITS, RELATED_BITS, close_pairs, phash, pixel_digest
from pixel_gan.data.prepare.grid import MAX_COLORS, analyse_pixel_art
from pixel_gan.data.prepare.pipeline import Track, no_progress
from pixel_gan.data.prepare.sources import PrepareError, decode, list_folder

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Entry:
    """A readable image of the dataset: where it is, and what identifies its content."""

    name: str  # "train_A/x.png"
    split: str
    digest: str
    phash: int


def _check_image(folder: str, path: Path, max_colors: int, problems: list[str]) -> Entry | None:
    name = f"{folder}/{display_path(path.name)}"
    decoded = decode(path)
    if decoded.rgb is None:
        problems.append(f"{name}: {decoded.reason}")
        return None
    if folder.endswith("_B"):
        result = analyse_pixel_art(decoded.rgb, max_colors)
        if result.native is None:
            problems.append(f"{name}: {result.reason}")
        elif result.cell > 1:
            problems.append(f"{name}: not at its native grid: a clean grid of {result.cell} px (one pixel per cell)")
    return Entry(name, folder.split("_")[0], pixel_digest(decoded.rgb), phash(decoded.rgb))


def _duplicate_problems(entries: list[Entry]) -> list[str]:
    problems = []
    for i, j, distance in close_pairs([e.phash for e in entries], RELATED_BITS):
        a, b = entries[i], entries[j]
        if a.digest == b.digest:
            problems.append(f"{b.name}: exact duplicate of {a.name}")
        elif distance <= NEAR_DUPLICATE_BITS:
            problems.append(f"{b.name}: near duplicate of {a.name} (pHash distance {distance} of 64)")
        elif a.split != b.split:
            problems.append(f"{b.name}: near copy of {a.name} across train and test (pHash distance {distance})")
    return problems


def check_dataset(root: Path, track: Track = no_progress, max_colors: int = MAX_COLORS) -> tuple[list[str], str]:
    """(problems, summary line); PrepareError when ``root`` itself cannot be read."""
    if not root.is_dir():
        raise PrepareError(f"{display_path(root)}: {'not a folder' if root.exists() else 'folder not found'}")
    problems: list[str] = []
    counts = []
    for domain in ("A", "B"):
        entries: list[Entry] = []
        for split in SPLITS:
            folder = f"{split}_{domain}"
            if not (root / folder).is_dir():
                problems.append(f"{folder}/: missing folder")
                continue
            files = list_folder(root / folder, display_path(root))
            if not files:
                problems.append(f"{folder}/: no images")
            for path in track(files, f"checking {folder}"):
                entry = _check_image(folder, path, max_colors, problems)
                entries += [entry] if entry is not None else []
        problems += _duplicate_problems(entries)
        counts.append(len(entries))
    return problems, f"{display_path(root)}: {counts[0]} photos, {counts[1]} pixel-art images"
