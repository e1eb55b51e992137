"""Find the native grid of upscaled pixel art, reduce it to one pixel per cell, or say why not.

Web pixel art is usually a small image scaled up by an integer factor with nearest neighbour, so
every colour edge sits on a lattice of that period (plus an offset when the image was cropped).
The lattice is found from where edges are (the project's grid metric), then checked by reducing
the image and comparing it back: a clean upscale is reproduced exactly, JPEG damage is not. An
image without any integer lattice is native-size art, non-integer scaling, or not pixel art.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixel_gan.inference.grid import block_reduce, cell_edges
from pixel_gan.metrics.pixel_art import DEFAULT_ALIGN_THRESHOLD, DEFAULT_EDGE_TOL, DEFAULT_TOL, _boundary_histograms

MAX_CELL = 16  # largest upscale factor searched
MIN_PURITY = 0.99  # share of pixels that must equal their cell's colour (within DEFAULT_TOL) for a clean grid
MAX_COLORS = 256  # more distinct colours than this is not treated as pixel art
MIN_NATIVE_SIDE = 8  # a native image smaller than this on a side is too small to train on
MIN_BLOCK_GAP = 2  # edges at least this far apart everywhere, yet on no integer lattice: non-integer scaling
STRONG_EDGE_TOL = 64.0 / 255.0  # edges JPEG ringing rarely makes: finds the lattice of damaged art
SLIGHT_DIFFERENCE = 64  # a pixel this close (of 255) to its cell's colour is off by noise, not by drawing
MIN_SLIGHT_SHARE = 0.5  # lossy damage: at least this share of the off-colour pixels are only slightly off


@dataclass(frozen=True)
class GridFit:
    """A lattice candidate: cell size, (row, column) offset of the first full cell, share of edges on it."""

    cell: int
    offset: tuple[int, int]
    alignment: float


@dataclass(frozen=True)
class GridResult:
    """What :func:`analyse_pixel_art` found: the native image, or the rejection code and reason."""

    native: np.ndarray | None
    cell: int = 1
    offset: tuple[int, int] = (0, 0)
    colors: int = 0
    code: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.native is not None


def distinct_color_count(rgb: np.ndarray) -> int:
    """Number of distinct RGB colours of a uint8 (H, W, 3) image.

    Sorting packed codes: several times faster than ``np.unique`` (and the metric's
    ``distinct_colors``, which goes through float tensors) on multi-megapixel photos.
    """
    flat = rgb.reshape(-1, 3).astype(np.int32)
    codes = np.sort((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2])
    return int(np.count_nonzero(np.diff(codes))) + 1 if len(codes) else 0


def axis_edges(n: int, cell: int, offset: int) -> np.ndarray:
    """Cell boundaries along one axis for cells starting at ``offset``.

    Partial cells at either end are kept when at least half a cell wide (the rule of
    :func:`pixel_gan.inference.grid.cell_edges`), otherwise cropped as border.
    """
    edges = offset + cell_edges(n - offset, cell)
    if offset and 2 * offset >= cell:
        edges = np.r_[0, edges]
    return edges


def _best_offset(hist: np.ndarray, cell: int) -> tuple[int, int]:
    """(offset, edges on that lattice) maximising the edges on positions offset + i * cell."""
    sums = [int(hist[o::cell].sum()) for o in range(cell)]
    best = int(np.argmax(sums))
    return best, sums[best]


def grid_candidates(
    rgb: np.ndarray, threshold: float = DEFAULT_ALIGN_THRESHOLD, edge_tol: float = DEFAULT_EDGE_TOL
) -> list[GridFit]:
    """Every cell size 2..MAX_CELL whose best-offset lattice holds ``threshold`` of the edges, largest first."""
    cols, rows = _boundary_histograms(rgb, edge_tol)
    total = int(cols.sum() + rows.sum())
    if total == 0:
        return []
    fits = []
    for cell in range(min(MAX_CELL, min(rgb.shape[:2]) // 2), 1, -1):
        oy, on_rows = _best_offset(rows, cell)
        ox, on_cols = _best_offset(cols, cell)
        score = (on_rows + on_cols) / total
        if score >= threshold:
            fits.append(GridFit(cell, (oy, ox), score))
    return fits


def reduce_to_grid(rgb: np.ndarray, fit: GridFit) -> tuple[np.ndarray, np.ndarray]:
    """(one pixel per cell, each covered pixel's largest channel difference from its cell's colour)."""
    ys = axis_edges(rgb.shape[0], fit.cell, fit.offset[0])
    xs = axis_edges(rgb.shape[1], fit.cell, fit.offset[1])
    native = block_reduce(rgb, ys, xs, method="mode")
    back = np.repeat(np.repeat(native, np.diff(ys), axis=0), np.diff(xs), axis=1).astype(np.int16)
    region = rgb[ys[0] : ys[-1], xs[0] : xs[-1]].astype(np.int16)
    return native, np.abs(region - back).max(axis=2)


@dataclass(frozen=True)
class UncleanGrid:
    """A lattice whose cells are not flat: ``purity`` as for MIN_PURITY, and ``slight``, the share of
    the mismatching pixels that differ only a little (up to SLIGHT_DIFFERENCE): high for compression
    noise, low for real detail drawn off the lattice."""

    fit: GridFit
    purity: float
    slight: float

    @classmethod
    def measure(cls, fit: GridFit, difference: np.ndarray) -> UncleanGrid:
        purity = float((difference <= round(DEFAULT_TOL * 255)).mean())
        off = max(1.0 - purity, 1e-12)
        return cls(fit, purity, float((difference <= SLIGHT_DIFFERENCE).mean() - purity) / off)

    @property
    def lossy(self) -> bool:
        return self.slight >= MIN_SLIGHT_SHARE


def fractional_scale(rgb: np.ndarray) -> float | None:
    """The scale factor when the image looks nearest-scaled by a non-integer factor, else None.

    Such an image is made of blocks of two alternating widths (2 and 3 px at 2.5x): on both axes
    edges are never closer than MIN_BLOCK_GAP, but they fit no integer lattice (callers ask only
    once no clean lattice is left). Native art and photos have edges 1 px apart.
    """
    cols, rows = _boundary_histograms(rgb, DEFAULT_EDGE_TOL)
    scales = []
    for hist, n in ((cols, rgb.shape[1]), (rows, rgb.shape[0])):
        positions = np.flatnonzero(hist)
        if len(positions) < 3:
            return None
        gaps = np.diff(positions)
        if np.percentile(gaps, 5) < MIN_BLOCK_GAP:
            return None
        scales.append(n / (len(positions) + 1))
    return float(np.mean(scales))


def _reduce_fully(rgb: np.ndarray) -> tuple[np.ndarray, int, tuple[int, int], UncleanGrid | None]:
    """Reduce by the largest clean lattice until none is left: (native, total cell, offset, unclean lattice).

    Repeated because the largest factor searched may leave art drawn in 2x2 blocks at 2 px cells.
    The unclean lattice is the largest one left on the final image whose cells are not flat; JPEG
    ringing can hide a lattice from the usual edge level, so without one it looks again for strong
    edges only. Everything returned depends on the final image alone, so ``data check`` of a
    prepared image reaches the same verdict as ``data prepare`` did.
    """
    image, cell, offset = rgb, 1, (0, 0)
    while True:
        unclean: UncleanGrid | None = None
        for fit in grid_candidates(image):
            native, difference = reduce_to_grid(image, fit)
            if (difference <= round(DEFAULT_TOL * 255)).mean() >= MIN_PURITY:
                offset = (offset[0] + fit.offset[0] * cell, offset[1] + fit.offset[1] * cell)
                image, cell = native, cell * fit.cell
                break
            unclean = unclean or UncleanGrid.measure(fit, difference)
        else:
            break
    if unclean is None:
        strong = grid_candidates(image, edge_tol=STRONG_EDGE_TOL)
        unclean = UncleanGrid.measure(strong[0], reduce_to_grid(image, strong[0])[1]) if strong else None
    return image, cell, offset, unclean


def _verdict(
    native: np.ndarray, cell: int, colors: int, unclean: UncleanGrid | None, max_colors: int
) -> tuple[str, str]:
    """(code, reason) why a reduced image is not usable pixel art; ("", "") when it is.

    ``cell`` changes only the wording: the verdict is the final image's, as ``data check`` sees it.
    """
    if unclean is not None and unclean.lossy:
        return "lossy", (
            f"grid of {unclean.fit.cell * cell} px found but only {unclean.purity:.1%} of pixels match their "
            f"cell's colour (clean art: {MIN_PURITY:.0%}), most others slightly: JPEG or other lossy damage"
        )
    scale = fractional_scale(native)
    if scale is not None:
        return (
            "non-integer",
            f"non-integer scaling (about {scale * cell:.2f}x): blocks of uneven width on no integer grid",
        )
    if colors > max_colors and cell == 1:
        return "not-pixel-art", (
            f"not pixel art: no pixel grid and {colors} colours (more than {max_colors}): "
            "a photo, or smoothly scaled or heavily compressed art"
        )
    if colors > max_colors:
        return "too-many-colors", f"grid of {cell} px but {colors} colours (more than {max_colors})"
    if colors == 1:
        return "blank", "a single colour: nothing to learn from"
    if min(native.shape[:2]) < MIN_NATIVE_SIDE:
        return "too-small", f"native grid {native.shape[1]}x{native.shape[0]} is under {MIN_NATIVE_SIDE} px"
    return "", ""


def analyse_pixel_art(rgb: np.ndarray, max_colors: int = MAX_COLORS) -> GridResult:
    """Native grid of one pixel-art image, or a rejection with a code and a one-line reason.

    Codes: ``lossy`` (a lattice, but cells are not flat: JPEG or other damage), ``non-integer``
    (nearest-scaled by a fractional factor), ``not-pixel-art`` (no grid and too many colours),
    ``too-many-colors`` (a clean grid, too many colours), ``blank`` (one colour), ``too-small``.
    """
    native, cell, offset, unclean = _reduce_fully(rgb)
    colors = distinct_color_count(native)
    code, reason = _verdict(native, cell, colors, unclean, max_colors)
    if code:
        return GridResult(None, cell, offset, colors, code, reason)
    return GridResult(native, cell, offset, colors)
