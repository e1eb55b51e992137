"""Grid primitives: alpha split, cell boundaries and one colour per cell (no detection, no palette).

Shared by the pixelizer and the pixel-art metrics; depends on numpy only, so both can import it
without importing each other. Arrays are uint8 (H, W, 3) RGB or (H, W, 4) RGBA.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

SnapMethod = Literal["mode", "median"]


# --------------------------------------------------------------------------- alpha


def split_alpha(rgba: np.ndarray, threshold: int = 128) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 4) -> (rgb (H, W, 3), mask (H, W) bool = alpha >= threshold).

    An (H, W, 3) input gives mask None, so callers can treat RGB and RGBA alike.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.dtype != np.uint8:
        raise ValueError(f"expected uint8 (H, W, 3|4), got {rgba.dtype} {rgba.shape}")
    if rgba.shape[2] == 3:
        return rgba, None
    return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3] >= threshold


def merge_alpha(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Inverse of :func:`split_alpha`: alpha 255 where mask, else 0 (and RGB zeroed there)."""
    if mask is None:
        return rgb
    rgb = rgb.copy()
    rgb[~mask] = 0
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    return np.concatenate([rgb, alpha[..., None]], axis=2)


# --------------------------------------------------------------------------- grid


def cell_edges(n: int, cell: int) -> np.ndarray:
    """Cell boundaries along one axis for square cells of `cell` px at offset 0.

    A trailing partial cell is kept as its own cell if it is at least half a
    cell wide, and cropped otherwise (it is more likely a border than content).
    """
    if cell < 1:
        raise ValueError(f"cell must be >= 1, got {cell}")
    if n <= cell:
        return np.array([0, n])
    edges = np.arange(0, n + 1, cell)
    rem = n - edges[-1]
    if rem and 2 * rem >= cell:
        edges = np.append(edges, n)
    return edges


def size_edges(n: int, m: int) -> np.ndarray:
    """Boundaries that split n px into m near-equal cells (target native size m)."""
    if not 1 <= m <= n:
        raise ValueError(f"target size {m} must be in 1..{n} (snapping cannot add pixels)")
    return np.round(np.linspace(0, n, m + 1)).astype(np.int64)


def _cell_ids(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Flat cell index of every pixel of the covered (cropped) region."""
    rows = np.repeat(np.arange(len(ys) - 1), np.diff(ys))
    cols = np.repeat(np.arange(len(xs) - 1), np.diff(xs))
    return (rows[:, None] * (len(xs) - 1) + cols[None, :]).ravel()


def _cell_median(values: np.ndarray, cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Per-cell, per-channel lower median of uint8 values (N, C) -> (n_cells, C).

    The lower median is always a value present in the cell, so a cell split
    50/50 between two colours never averages them into a third.
    """
    counts = np.bincount(cells, minlength=n_cells)
    starts = np.cumsum(counts) - counts
    pick = starts + np.maximum(counts - 1, 0) // 2
    out = np.zeros((n_cells, values.shape[1]), dtype=np.uint8)
    filled = counts > 0
    for c in range(values.shape[1]):
        keys = np.sort(cells.astype(np.int64) * 256 + values[:, c])
        if len(keys):
            out[filled, c] = (keys[pick[filled]] % 256).astype(np.uint8)
    return out


def pack_colors(values: np.ndarray) -> np.ndarray:
    """(N, C<=4) uint8 -> int64 colour codes."""
    code = np.zeros(len(values), dtype=np.int64)
    for c in range(values.shape[1]):
        code = (code << 8) | values[:, c].astype(np.int64)
    return code


def unpack_colors(code: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of :func:`pack_colors`."""
    shifts = 8 * np.arange(channels - 1, -1, -1)
    return ((code[:, None] >> shifts[None, :]) & 255).astype(np.uint8)


def _cell_mode(values: np.ndarray, cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Per-cell most frequent colour (N, C) -> (n_cells, C).

    Ties go to the colour closest (L1) to the cell's per-channel median, so a
    noisy cell where every pixel is unique returns its most central pixel
    rather than an arbitrary one.
    """
    channels = values.shape[1]
    if not len(values):  # every pixel masked out (a fully transparent image)
        return np.zeros((n_cells, channels), dtype=np.uint8)
    median = _cell_median(values, cells, n_cells)
    key = (cells.astype(np.int64) << (8 * channels)) | pack_colors(values)
    uniq, count = np.unique(key, return_counts=True)
    ucell = uniq >> (8 * channels)
    ucolor = unpack_colors(uniq & ((1 << (8 * channels)) - 1), channels)
    dist = np.abs(ucolor.astype(np.int64) - median[ucell].astype(np.int64)).sum(axis=1)
    score = count * (256 * channels + 1) - dist
    order = np.lexsort((score, ucell))
    ucell, ucolor = ucell[order], ucolor[order]
    last = np.flatnonzero(np.r_[ucell[1:] != ucell[:-1], True])
    out = np.zeros((n_cells, channels), dtype=np.uint8)
    out[ucell[last]] = ucolor[last]
    return out


def block_reduce(
    img: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    method: SnapMethod = "mode",
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """One colour per grid cell: (H, W, C) uint8 -> (len(ys)-1, len(xs)-1, C) uint8.

    Cells are [ys[i], ys[i+1]) x [xs[j], xs[j+1]); pixels outside the last
    boundary are ignored. `valid` (H, W) bool excludes pixels (transparent
    ones); a cell with no valid pixel gets colour 0.
    """
    h, w = len(ys) - 1, len(xs) - 1
    region = img[ys[0] : ys[-1], xs[0] : xs[-1]]
    values = region.reshape(-1, img.shape[2])
    cells = _cell_ids(ys, xs)
    if valid is not None:
        keep = valid[ys[0] : ys[-1], xs[0] : xs[-1]].ravel()
        values, cells = values[keep], cells[keep]
    if method == "mode":
        out = _cell_mode(values, cells, h * w)
    elif method == "median":
        out = _cell_median(values, cells, h * w)
    else:
        raise ValueError(f"method must be 'mode' or 'median', got {method!r}")
    return out.reshape(h, w, img.shape[2])


def block_majority(mask: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Per-cell majority of a bool mask (ties count as True) -> (h, w) bool."""
    h, w = len(ys) - 1, len(xs) - 1
    cells = _cell_ids(ys, xs)
    region = mask[ys[0] : ys[-1], xs[0] : xs[-1]].ravel()
    on = np.bincount(cells, weights=region, minlength=h * w)
    total = np.bincount(cells, minlength=h * w)
    return (2 * on >= total).reshape(h, w)
