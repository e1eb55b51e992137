"""The finishing step scored against paired ground truth.

``pixel-gan translate --resolution N --palette P`` snaps the translation to an N-cell grid and maps it
onto a palette. On a paired split the grid (the target's cell count) and the palette (the target's) are
known, so the report scores that finished output too: next to the network's raw output it shows what a
user of the CLI gets, and a classical pixelizer given the same grid and palette is the fair baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from pixel_gan.evaluation.metrics import EvalSet
from pixel_gan.evaluation.rows import Row, Value
from pixel_gan.inference.pixelize import pixelize, quantize_native

FINISH_LABEL = "+ finish"
BASELINE_NAME = "nearest + target palette"
FINISH_NOTE = (
    f"'{FINISH_LABEL}' rows: the translation snapped to the ground truth's grid (its cell count per side) and "
    "mapped onto the ground truth's palette, as `pixel-gan translate --resolution N --palette P` does; "
    f"'{BASELINE_NAME}' applies the same grid and palette to the photo itself (no model)."
)


def target_grid(target: Image.Image, cell: int) -> tuple[int, int]:
    """The target's native size in cells: its stored size over its cell size."""
    return max(1, target.width // cell), max(1, target.height // cell)


def finish(image: Image.Image, grid: tuple[int, int], palette: np.ndarray) -> Image.Image:
    """Snap ``image`` to ``grid`` cells, map it onto ``palette`` ((K, 3) uint8; the CLI's two steps), back at
    ``image``'s size."""
    native = quantize_native(pixelize(image, size=grid), palette)
    return native.resize(image.size, Image.Resampling.NEAREST)


def finish_all(images: Sequence[Image.Image], test: EvalSet) -> list[Image.Image]:
    """Each image finished at the grid of its paired target (image i is the translation of photo i)."""
    pairs = zip(images, test.gt, test.gt_cells, strict=True)
    return [finish(im, target_grid(t, c), test.gt_palette) for im, t, c in pairs]


def scored(images: Sequence[Image.Image], test: EvalSet) -> dict[str, Value]:
    """The ``gt_*`` metrics of ``images`` as a row's values."""
    return dict(test.gt_metrics(images))


def finished_row(row: Row, outputs: Sequence[Image.Image], test: EvalSet, n_grid: int) -> Row:
    """``row``'s translations after the finishing step, scored on ground truth only."""
    finished = finish_all(outputs, test)
    kind = "untrained" if row.kind == "untrained" else "finished"
    return Row(f"{row.name} {FINISH_LABEL}", kind, scored(finished, test), list(finished[:n_grid]))


def target_palette_baseline(test: EvalSet, size: tuple[int, int], n_grid: int) -> Row:
    """The photos themselves at the target's grid and palette (resized to ``size`` first, as a run sees them)."""
    photos = [p.resize(size, Image.Resampling.LANCZOS) for p in test.photos]
    finished = finish_all(photos, test)
    return Row(BASELINE_NAME, "baseline", scored(finished, test), list(finished[:n_grid]))
