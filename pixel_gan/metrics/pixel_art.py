"""Pixel-art metrics that need no model weights.

Main input: float tensors (B, 3, H, W) in [0, 1] (a single (3, H, W) is a batch
of one). :func:`to_batch` also takes PIL images, uint8 numpy (H, W, 3) or
(B, H, W, 3), and lists of these. Every metric returns per-image values, a
(B,) float tensor, so callers can average over a test set themselves;
:func:`pixel_art_metrics` does the batch average for the usual set.

Conventions shared by the grid metrics: cells are square, aligned to the
top-left corner (offset 0), and two colours are "equal" when no channel
differs by more than `tol` (default 2/255).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pixel_gan.inference.grid import block_reduce, cell_edges

DEFAULT_TOL = 2.0 / 255.0
DEFAULT_EDGE_TOL = 16.0 / 255.0
DEFAULT_ALIGN_THRESHOLD = 0.9

METRIC_DIRECTIONS: dict[str, str] = {
    "colors": "info",
    "palette_distance": "lower",
    "grid_purity": "higher",
    "cell_size": "info",
    "speckle": "lower",
    "edge_f1": "higher",
    "color_drift": "lower",
}

METRIC_DESCRIPTIONS: dict[str, str] = {
    "colors": "distinct RGB colours per output (pixel art uses few; reported, not judged)",
    "palette_distance": "soft-histogram palette loss between outputs and domain-B images (lower is better)",
    "grid_purity": "fraction of pixels equal to their grid cell's colour at the detected cell size (higher is better)",
    "cell_size": "detected pixel-art cell size in px, 1 = no grid found (reported, not judged)",
    "speckle": "fraction of native pixels unlike all 8 neighbours (lower is better)",
    "edge_f1": "F1 of output edges vs input edges, same preset, 1 px tolerance (higher is better)",
    "color_drift": "mean ΔE76 in CIE Lab between input and output (lower is better)",
}

ImageLike = Any  # torch.Tensor | np.ndarray | PIL.Image.Image | Sequence of those


# --------------------------------------------------------------------------- conversion


def _check_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Clamp tiny overshoot; reject [-1, 1] tensors, the usual mistake with generator output."""
    if x.numel() and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
        raise ValueError(
            f"expected images in [0, 1], got range [{x.min().item():.3f}, {x.max().item():.3f}]; "
            "convert generator output with (x + 1) / 2"
        )
    return x.clamp(0.0, 1.0)


def _one_to_batch(x: ImageLike) -> torch.Tensor:
    """A single tensor / array / PIL image -> (B, 3, H, W) float32 in [0, 1]."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) or (3, H, W) tensor, got {tuple(x.shape)}")
        return _check_unit_range(t)
    if isinstance(x, np.ndarray):
        a = x[None] if x.ndim == 3 else x
        if a.ndim != 4 or a.shape[-1] not in (3, 4):
            raise ValueError(f"expected an (H, W, 3) or (B, H, W, 3) array, got {x.shape}")
        t = torch.from_numpy(np.array(a[..., :3])).permute(0, 3, 1, 2)
        return _check_unit_range(t.float() / 255.0 if a.dtype == np.uint8 else t.float())
    if hasattr(x, "convert"):  # PIL image
        return _one_to_batch(np.asarray(x.convert("RGB")))
    raise TypeError(f"unsupported image type {type(x).__name__}")


def to_batch(x: ImageLike) -> torch.Tensor:
    """Any supported image input -> (B, 3, H, W) float32 in [0, 1] on CPU (alpha dropped)."""
    if isinstance(x, (list, tuple)):
        if not x:
            raise ValueError("empty image list")
        return torch.cat([_one_to_batch(i) for i in x])
    return _one_to_batch(x)


def to_uint8(x: ImageLike) -> np.ndarray:
    """Any supported image input -> uint8 numpy (B, H, W, 3)."""
    t = to_batch(x)
    return (t * 255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _resize_nearest(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 3, h, w) -> (B, 3, *size) by nearest neighbour (no new colours)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="nearest-exact")


def _paired(inputs: ImageLike, outputs: ImageLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and outputs as batches of equal length, outputs resized to the inputs' size."""
    a, b = to_batch(inputs), to_batch(outputs)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} inputs but {len(b)} outputs")
    return a, _resize_nearest(b, tuple(a.shape[-2:]))


def _per_image_cells(cell: int | Sequence[int] | torch.Tensor | None, n: int) -> list[int | None]:
    """Broadcast a cell argument (None, int, or one per image) to a list of length n."""
    if cell is None or isinstance(cell, (int, np.integer)):
        return [None if cell is None else int(cell)] * n
    cells = [int(c) for c in (cell.tolist() if isinstance(cell, torch.Tensor) else cell)]
    if len(cells) != n:
        raise ValueError(f"got {len(cells)} cell sizes for {n} images")
    return cells


# --------------------------------------------------------------------------- colours


def distinct_colors(x: ImageLike, quantize_bits: int = 8) -> torch.Tensor:
    """Distinct RGB colours per image, after keeping the top `quantize_bits` of each channel -> (B,).

    Measures palette size; pixel art uses few colours (lower = more pixel-art-like; reported, not judged).
    """
    if not 1 <= quantize_bits <= 8:
        raise ValueError(f"quantize_bits must be in 1..8, got {quantize_bits}")
    u8 = to_uint8(x).astype(np.int64) >> (8 - quantize_bits)
    codes = (u8[..., 0] << 16) | (u8[..., 1] << 8) | u8[..., 2]
    return torch.tensor([float(len(np.unique(c))) for c in codes])


# Fixed for every run: the sweep objective (val/palette_distance) must not change scale with the
# loss.palette_bins or loss.palette_sigma a trial searches.
PALETTE_BINS = 16


def domain_palette(real_b: ImageLike) -> torch.Tensor:
    """Domain B's palette: the mean soft histogram of its images, (1, 3, PALETTE_BINS)."""
    from pixel_gan.losses.palette import soft_histogram

    with torch.no_grad():
        return soft_histogram(to_batch(real_b), PALETTE_BINS).mean(0, keepdim=True)


def palette_distance(fake: ImageLike, palette_b: torch.Tensor) -> torch.Tensor:
    """L1 between each output's soft histogram and domain B's palette (:func:`domain_palette`) -> (B,).

    The one definition used by validation, the evaluation report and the sweep objective. Lower is better.
    """
    from pixel_gan.losses.palette import soft_histogram

    with torch.no_grad():
        hist = soft_histogram(to_batch(fake), PALETTE_BINS)
    return (hist - palette_b.to(hist)).abs().sum(-1).mean(-1)


def color_drift(input_img: ImageLike, output_img: ImageLike) -> torch.Tensor:
    """Mean ΔE76 (Euclidean distance in CIE Lab, D65) between input and output -> (B,).

    The output is resized to the input's size (nearest) first. 0 = identical
    colours, ~100 = black vs white. Lower means more faithful colours.
    """
    from pixel_gan.metrics.ground_truth import delta_e76

    return delta_e76(input_img, output_img)


# --------------------------------------------------------------------------- grid


def _boundary_histograms(img: np.ndarray, edge_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Where colour edges sit: counts per column boundary (W,) and row boundary (H,).

    Entry p counts edges between pixel p-1 and p. An edge is a jump whose
    largest channel difference exceeds `edge_tol` and that is a local maximum
    along the scan line, so a boundary softened over two pixels counts once,
    at its centre.
    """
    x = img.astype(np.int16)
    level = edge_tol * 255.0

    def along_last(d: np.ndarray) -> np.ndarray:
        left = np.pad(d[..., :-1], [(0, 0), (1, 0)])
        right = np.pad(d[..., 1:], [(0, 0), (0, 1)])
        return (d > level) & (d >= left) & (d > right)

    dx = np.abs(x[:, 1:] - x[:, :-1]).max(axis=2)  # (H, W-1)
    dy = np.abs(x[1:] - x[:-1]).max(axis=2).T  # (W, H-1)
    cols = np.zeros(img.shape[1], dtype=np.int64)
    rows = np.zeros(img.shape[0], dtype=np.int64)
    cols[1:] = along_last(dx).sum(axis=0)
    rows[1:] = along_last(dy).sum(axis=0)
    return cols, rows


def grid_alignment(x: ImageLike, max_cell: int = 32, edge_tol: float = DEFAULT_EDGE_TOL) -> np.ndarray:
    """Fraction of colour edges lying on multiples of k, for k = 1..max_cell -> (max_cell,).

    Pooled over the batch. On a k-pixel grid every edge is on a multiple of
    k (score 1.0 at k and its divisors); off-grid content scores about 1/k.
    All zeros when the images have no edges.
    """
    cols, rows = 0, 0
    for img in to_uint8(x):
        c, r = _boundary_histograms(img, edge_tol)
        cols, rows = cols + c, rows + r
    total = cols.sum() + rows.sum()
    scores = np.zeros(max_cell)
    if total == 0:
        return scores
    for k in range(1, max_cell + 1):
        scores[k - 1] = (cols[::k].sum() + rows[::k].sum()) / total
    return scores


def detect_cell_size(
    x: ImageLike,
    max_cell: int = 32,
    threshold: float = DEFAULT_ALIGN_THRESHOLD,
    edge_tol: float = DEFAULT_EDGE_TOL,
) -> int:
    """Native pixel size of (a batch of) pixel art, assuming the grid starts at the top-left corner.

    Rule: the largest k <= max_cell such that at least `threshold` of all
    colour edges (see :func:`grid_alignment`) fall on multiples of k. Edges
    rather than block purity, because a k-grid puts edges only at multiples
    of k whatever the noise inside cells, and noise below `edge_tol` makes
    no edges. Returns 1 when no grid is found (photos, native-size art, or
    an image without edges). A batch is treated as frames of one grid.
    """
    scores = grid_alignment(x, max_cell, edge_tol)
    ok = np.flatnonzero(scores >= threshold) + 1
    return int(ok.max()) if len(ok) else 1


def _purity_one(img: np.ndarray, cell: int, tol: float) -> float:
    """Fraction of pixels within `tol` of their cell's per-channel median (one image)."""
    ys, xs = cell_edges(img.shape[0], cell), cell_edges(img.shape[1], cell)
    ref = block_reduce(img, ys, xs, method="median")
    ref = np.repeat(np.repeat(ref, np.diff(ys), axis=0), np.diff(xs), axis=1)
    region = img[: ys[-1], : xs[-1]].astype(np.int16)
    return float((np.abs(region - ref).max(axis=2) <= round(tol * 255)).mean())


def grid_purity(
    x: ImageLike,
    cell: int | Sequence[int] | torch.Tensor | None = None,
    tol: float = DEFAULT_TOL,
    max_cell: int = 32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """How block-constant each image is at its cell size -> (purity (B,), cell (B,) long).

    Purity = fraction of pixels whose colour is within `tol` of their cell's
    per-channel median (cells of `cell` px from the top-left; the median
    shrugs off noise). Higher is better. With `cell=None` the cell is
    detected per image; when none is found (cell 1) purity is measured at
    cell 2, because purity at cell 1 is trivially 1.0 and would rank
    grid-less output best. The returned cell is the given/detected one.
    """
    u8 = to_uint8(x)
    given = _per_image_cells(cell, len(u8))
    purity, cells = [], []
    for img, c in zip(u8, given, strict=True):
        k = detect_cell_size(img, max_cell) if c is None else c
        purity.append(_purity_one(img, max(k, 2) if c is None else k, tol))
        cells.append(k)
    return torch.tensor(purity), torch.tensor(cells, dtype=torch.long)


def _isolated_fraction(img: np.ndarray, connectivity: int, tol: float) -> float:
    """Fraction of pixels unlike every existing neighbour (borders have fewer neighbours)."""
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    h, w = img.shape[:2]
    x = img.astype(np.int16)
    level = round(tol * 255)
    has_same = np.zeros((h, w), dtype=bool)
    has_neighbour = np.zeros((h, w), dtype=bool)
    for dy, dx in offsets:
        i0, i1, j0, j1 = max(0, -dy), h - max(0, dy), max(0, -dx), w - max(0, dx)
        if i1 <= i0 or j1 <= j0:
            continue
        same = np.abs(x[i0:i1, j0:j1] - x[i0 + dy : i1 + dy, j0 + dx : j1 + dx]).max(axis=2) <= level
        has_same[i0:i1, j0:j1] |= same
        has_neighbour[i0:i1, j0:j1] = True
    return float((has_neighbour & ~has_same).mean())


def isolated_pixel_rate(
    x: ImageLike,
    cell: int | Sequence[int] | torch.Tensor | None = 1,
    connectivity: int = 8,
    tol: float = DEFAULT_TOL,
) -> torch.Tensor:
    """Speckle: fraction of native pixels whose colour differs from all neighbours -> (B,).

    Each image is first snapped to one pixel per cell (`cell`, one per image,
    or None to detect). Neighbours are the 8 around a pixel by default, so
    a clean 1-px diagonal line is not speckle; `connectivity=4` counts only
    edge-sharing neighbours (then a checkerboard is all speckle). Lower is better.
    """
    u8 = to_uint8(x)
    rates = []
    for img, c in zip(u8, _per_image_cells(cell, len(u8)), strict=True):
        c = detect_cell_size(img) if c is None else c
        native = block_reduce(img, cell_edges(img.shape[0], c), cell_edges(img.shape[1], c)) if c != 1 else img
        rates.append(_isolated_fraction(native, connectivity, tol))
    return torch.tensor(rates)


# --------------------------------------------------------------------------- structure


def _f1_one(e_in: np.ndarray, e_out: np.ndarray, tolerance: int) -> float:
    """Edge F1 with matches allowed within `tolerance` px (square dilation)."""
    import cv2

    n_in, n_out = int(e_in.sum()), int(e_out.sum())
    if n_in == 0 and n_out == 0:
        return 1.0
    if n_in == 0 or n_out == 0:
        return 0.0
    kernel = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    near_in = cv2.dilate(e_in.astype(np.uint8), kernel) > 0
    near_out = cv2.dilate(e_out.astype(np.uint8), kernel) > 0
    precision = float((e_out & near_in).sum()) / n_out
    recall = float((e_in & near_out).sum()) / n_in
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def edge_f1(input_img: ImageLike, output_img: ImageLike, preset: Any = "default", tolerance: int = 1) -> torch.Tensor:
    """F1 between the input's and the output's edges (same edge preset) -> (B,).

    Measures whether the translation kept the input's structure. Edges come
    from :func:`pixel_gan.data.edges.edge_map`; the output is resized to the
    input's size (nearest) first. Both edgeless = 1.0. Higher is better.
    """
    from pixel_gan.data.edges import edge_map, read_preset

    preset = read_preset(preset)  # a name from an evaluation config or an export's record, resolved once
    a, b = _paired(input_img, output_img)
    scores = []
    for ia, ib in zip(to_uint8(a), to_uint8(b), strict=True):
        e_in = np.asarray(edge_map(ia, preset)) > 0
        e_out = np.asarray(edge_map(ib, preset)) > 0
        scores.append(_f1_one(e_in, e_out, tolerance))
    return torch.tensor(scores)


# --------------------------------------------------------------------------- summary


def pixel_art_metrics(
    inputs: ImageLike,
    outputs: ImageLike,
    real_b: ImageLike | None = None,
    preset: Any = "default",
) -> dict[str, float]:
    """All weight-free metrics, averaged over the batch; keys as in METRIC_DIRECTIONS.

    `palette_distance` is present only when `real_b` is given. Grid purity and
    speckle use each output's detected cell; `cell_size` is its batch mean.
    """
    a, b = to_batch(inputs), to_batch(outputs)
    out: dict[str, float] = {"colors": distinct_colors(b).mean().item()}
    if real_b is not None:
        out["palette_distance"] = palette_distance(b, domain_palette(real_b)).mean().item()
    purity, cells = grid_purity(b)
    out["grid_purity"] = purity.mean().item()
    out["cell_size"] = cells.float().mean().item()
    out["speckle"] = isolated_pixel_rate(b, cell=cells).mean().item()
    out["edge_f1"] = edge_f1(a, b, preset).mean().item()
    out["color_drift"] = color_drift(a, b).mean().item()
    return out
