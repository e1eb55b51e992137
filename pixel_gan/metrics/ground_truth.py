"""Metrics against paired ground truth: is the translation the target rendering of its input?

Weight-free, per image ((B,) tensors), inputs as in :mod:`pixel_gan.metrics.pixel_art` (float
tensors in [0, 1], uint8 arrays, PIL images or lists of them). Outputs and ground truth are compared
at the translation's size: callers resize the ground truth to it with NEAREST and scale its cell
size with it (:func:`pixel_gan.data.ground_truth.at_size`); :func:`delta_e76` resizes the target
itself (nearest) when the sizes differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from pixel_gan.metrics.pixel_art import ImageLike, _paired, grid_purity, to_batch

DEFAULT_ADHERENCE_THRESHOLD = 8.0  # ΔE76 ≈ 2-3 just-noticeable differences: "the same palette colour"

GT_METRIC_DIRECTIONS: dict[str, str] = {
    "gt_delta_e": "lower",
    "gt_palette_adherence": "higher",
    "gt_grid_purity": "higher",
}
GT_METRIC_DESCRIPTIONS: dict[str, str] = {
    "gt_delta_e": "mean ΔE76 (CIE Lab, D65) between output and the paired ground truth, NEAREST-resized to the "
    "output's size (lower is better)",
    "gt_palette_adherence": "fraction of output pixels within ΔE76 ≤ 8 of the nearest colour of the ground truth's "
    "palette (higher is better)",
    "gt_grid_purity": "grid_purity at the ground truth's cell size, scaled to the output's size: fraction of pixels "
    "equal (±2/255) to their cell's median colour (higher is better)",
}


def to_lab(x: ImageLike) -> Tensor:
    """Images -> (B, 3, H, W) CIE Lab (D65; L in 0..100) via kornia's sRGB conversion."""
    from kornia.color import rgb_to_lab

    return rgb_to_lab(to_batch(x))


def delta_e76(output: ImageLike, target: ImageLike) -> Tensor:
    """Mean ΔE76 per image (Euclidean distance in CIE Lab) -> (B,).

    ``target`` is resized (nearest) to ``output``'s size when they differ. 0 = identical colours,
    100 = black vs white. Lower is better.
    """
    out, tgt = _paired(output, target)
    return (to_lab(out) - to_lab(tgt)).pow(2).sum(dim=1).sqrt().mean(dim=(1, 2))


def _palette_lab(palette: np.ndarray | Sequence | Tensor) -> Tensor:
    """(K, 3) uint8 RGB -> (K, 3) Lab."""
    rgb = torch.as_tensor(np.asarray(palette, dtype=np.float32))
    if rgb.dim() != 2 or rgb.shape[1] != 3 or len(rgb) == 0:
        raise ValueError(f"palette must be a non-empty (K, 3) list of RGB colours, got shape {tuple(rgb.shape)}")
    return to_lab(rgb.T[None, :, :, None] / 255.0)[0, :, :, 0].T


def palette_adherence(
    output: ImageLike, palette: np.ndarray | Sequence | Tensor, threshold: float = DEFAULT_ADHERENCE_THRESHOLD
) -> Tensor:
    """Fraction of pixels within ΔE76 <= ``threshold`` of their nearest ``palette`` colour -> (B,).

    ``palette`` is (K, 3) RGB in 0..255. Higher is better: 1.0 = every pixel is (nearly) a palette colour.
    """
    lab = to_lab(output)  # (B, 3, H, W)
    colours = _palette_lab(palette)  # (K, 3)
    dist = (lab[:, None] - colours[None, :, :, None, None]).pow(2).sum(dim=2).sqrt()  # (B, K, H, W)
    return (dist.min(dim=1).values <= threshold).float().mean(dim=(1, 2))


def grid_purity_at(output: ImageLike, cell: int | Sequence[int] | Tensor) -> Tensor:
    """:func:`pixel_gan.metrics.pixel_art.grid_purity` at a given cell size (one int, or one per image) -> (B,).

    Fraction of pixels within 2/255 of their cell's per-channel median, cells of ``cell`` px from
    the top-left corner. At cell 1 it is trivially 1.0. Higher is better.
    """
    cells = [cell] if isinstance(cell, (int, np.integer)) else list(cell.tolist() if isinstance(cell, Tensor) else cell)
    if any(int(c) < 1 for c in cells):
        raise ValueError(f"cell sizes must be >= 1, got {cells}")
    return grid_purity(output, cell=cell)[0]


def ground_truth_metrics(
    outputs: ImageLike, targets: ImageLike, cells: int | Sequence[int] | Tensor, palette: np.ndarray | Sequence | Tensor
) -> dict[str, float]:
    """The three ``gt_*`` metrics averaged over images; keys as in :data:`GT_METRIC_DIRECTIONS`.

    ``targets`` (the paired ground truth) and ``cells`` (its cell sizes) must already be at the
    outputs' size; ``palette`` is the ground truth's palette, (K, 3) RGB.
    """
    out, tgt = to_batch(outputs), to_batch(targets)
    if out.shape != tgt.shape:
        raise ValueError(
            f"outputs {tuple(out.shape)} and ground truth {tuple(tgt.shape)} differ: "
            "resize the ground truth to the outputs' size first"
        )
    return {
        "gt_delta_e": delta_e76(out, tgt).mean().item(),
        "gt_palette_adherence": palette_adherence(out, palette).mean().item(),
        "gt_grid_purity": grid_purity_at(out, cells).mean().item(),
    }
