"""Paired ground truth for the test split: ``test_A_gt/`` beside ``test_A/``.

``test_A_gt/<name>.png`` is the target rendering of ``test_A/<name>.png`` (same scene, same size);
``test_A_gt/ground_truth.json`` says what the metrics need to know about it, so they are not tied
to one dataset::

    {"palette": [[r, g, b], ...], "cells": {"0000.png": 4, ...}}

``cells`` is each file's pixel-art cell size in pixels at its stored size. Only validation and
evaluation read this folder; training stays unpaired.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

GT_FOLDER = "test_A_gt"
GT_INFO = "ground_truth.json"


class GroundTruthError(ValueError):
    """``test_A_gt/`` is present but unusable (bad ground_truth.json, a missing image)."""


@dataclass(frozen=True)
class GroundTruthInfo:
    """The contents of ``ground_truth.json``: the target palette and each file's cell size."""

    folder: Path
    palette: np.ndarray  # (K, 3) uint8 RGB
    cells: dict[str, int]  # file name -> cell size in px at the stored size

    def image_for(self, photo: str | os.PathLike[str]) -> Path:
        """The ground-truth file of a test_A photo (same file name); raises when it is missing."""
        name = Path(photo).name
        path = self.folder / name
        if not path.is_file() or name not in self.cells:
            raise GroundTruthError(
                f"{self.folder} has no ground truth for {name} "
                f"(expected {path} and a '{name}' entry in {GT_INFO} 'cells')"
            )
        return path

    def cell_for(self, photo: str | os.PathLike[str]) -> int:
        return self.cells[Path(photo).name]


def write_ground_truth_info(folder: str | Path, palette: np.ndarray | Sequence, cells: Mapping[str, int]) -> Path:
    """Write ``ground_truth.json`` whole or not at all (:func:`pixel_gan.safe_io.write_text`)."""
    from pixel_gan.safe_io import write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info = {"palette": np.asarray(palette, dtype=int).tolist(), "cells": {k: int(v) for k, v in sorted(cells.items())}}
    write_text(folder / GT_INFO, json.dumps(info, indent=1))
    return folder / GT_INFO


def _palette(value: object, path: Path) -> np.ndarray:
    array = np.asarray(value) if isinstance(value, list) else np.zeros((0,))
    if (
        array.ndim != 2
        or array.shape[1] != 3
        or len(array) == 0
        or not np.issubdtype(array.dtype, np.integer)
        or array.min() < 0
        or array.max() > 255
    ):
        raise GroundTruthError(f"{path}: 'palette' must be a non-empty list of [r, g, b] integers in 0..255")
    return array.astype(np.uint8)


def _cells(value: object, path: Path) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value.values()
    ):
        raise GroundTruthError(f"{path}: 'cells' must map file names to cell sizes (integers >= 1)")
    return {str(k): int(v) for k, v in value.items()}


def load_ground_truth(root: str | Path) -> GroundTruthInfo | None:
    """``root/test_A_gt``'s info, or None when the dataset has no paired split."""
    folder = Path(root) / GT_FOLDER
    if not folder.is_dir():
        return None
    path = folder / GT_INFO
    if not path.is_file():
        raise GroundTruthError(f"{folder} exists but has no {GT_INFO} (palette and cell sizes of its images)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GroundTruthError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(info, dict) or "palette" not in info or "cells" not in info:
        raise GroundTruthError(f"{path} must be an object with 'palette' and 'cells'")
    return GroundTruthInfo(folder, _palette(info["palette"], path), _cells(info["cells"], path))


def at_size(image: Image.Image, cell: int, size: tuple[int, int]) -> tuple[Image.Image, int]:
    """A ground-truth image NEAREST-resized to ``size`` (w, h) and its cell size there.

    The cells scale with the image (cell × new width / old width, rounded, at least 1), so
    metrics compare at the translation's size without inventing colours.
    """
    wh = (size[0], size[1])
    resized = image if image.size == wh else image.resize(wh, Image.Resampling.NEAREST)
    return resized, max(1, round(cell * size[0] / image.width))
