"""Pixel-perfect post-processing: grid snap -> palette quantization -> upscale.

The translator's output is "pixel art drawn at 512 px": blocks that are almost,
but not exactly, constant, with colours that almost, but not exactly, repeat.
These functions turn it into real pixel art: one pixel per cell, colours from a
small palette, then an exact nearest-neighbour upscale.

Arrays are uint8 (H, W, 3) RGB or (H, W, 4) RGBA. RGBA is handled by splitting
off a *binary* mask (alpha >= threshold); transparent pixels never contribute
to a cell's colour or to a fitted palette, and every output alpha is 0 or 255.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from pixel_gan.inference.grid import (
    SnapMethod,
    block_majority,
    block_reduce,
    cell_edges,
    merge_alpha,
    pack_colors,
    size_edges,
    split_alpha,
    unpack_colors,
)
from pixel_gan.inference.images import has_alpha, upscale_array
from pixel_gan.inference.palettes import PaletteSpec, resolve_palette
from pixel_gan.metrics.pixel_art import detect_cell_size

# 4x4 Bayer threshold map, values 0..15.
BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32)

_KMEANS_MAX_POINTS = 20000


def _detect_cell(rgb: np.ndarray, mask: np.ndarray | None) -> int:
    """Cell size via the metric's detector; transparent pixels read as black."""
    if mask is not None:
        rgb = np.where(mask[..., None], rgb, 0).astype(np.uint8)
    return detect_cell_size(rgb)


def snap_to_grid(
    img: np.ndarray,
    cell: int | None = None,
    size: tuple[int, int] | None = None,
    method: SnapMethod = "mode",
    alpha_threshold: int = 128,
) -> np.ndarray:
    """Collapse each grid cell to one pixel: (H, W, 3|4) uint8 -> (h, w, 3|4) uint8.

    Give either `cell` (square cells of that many px from the top-left corner;
    see :func:`cell_edges` for the right/bottom remainder) or `size` =
    (width, height) of the native image (cells of near-equal size). With
    neither, the cell size is detected. "mode" keeps each cell's most frequent
    colour, "median" its per-channel median; neither averages, so no blur
    colours appear. For RGBA, alpha is snapped by majority per cell and the
    colour comes from the opaque pixels only.
    """
    if cell is not None and size is not None:
        raise ValueError("give either cell or size, not both")
    rgb, mask = split_alpha(img, alpha_threshold)
    H, W = rgb.shape[:2]
    if size is not None:
        ys, xs = size_edges(H, size[1]), size_edges(W, size[0])
    else:
        cell = _detect_cell(rgb, mask) if cell is None else int(cell)
        ys, xs = cell_edges(H, cell), cell_edges(W, cell)
    out = block_reduce(rgb, ys, xs, method, valid=mask)
    return merge_alpha(out, None if mask is None else block_majority(mask, ys, xs))


# --------------------------------------------------------------------------- colour


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB in 0..255 (any float/int) -> (N, 3) float32 CIE Lab (L in 0..100, D65)."""
    x = np.clip(np.asarray(rgb, dtype=np.float32) / 255.0, 0.0, 1.0).reshape(-1, 1, 3)
    return cv2.cvtColor(x, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def nearest_palette_index(rgb: np.ndarray, palette: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index of the nearest palette colour for each (N, 3) RGB row, by ΔE76 in Lab.

    Lab rather than RGB so that "nearest" matches what the eye calls nearest
    (e.g. dark blues don't snap to black just because the RGB sums are close).
    """
    pal_lab = rgb_to_lab(palette)
    lab = rgb_to_lab(rgb)
    out = np.empty(len(lab), dtype=np.int64)
    for s in range(0, len(lab), chunk):
        d = ((lab[s : s + chunk, None, :] - pal_lab[None, :, :]) ** 2).sum(axis=2)
        out[s : s + chunk] = d.argmin(axis=1)
    return out


def _kmeans_pp_init(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted k-means++ seeding: spread initial centres out in proportion to D²."""
    centers = [points[rng.choice(len(points), p=weights / weights.sum())]]
    d2 = ((points - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = weights * d2
        idx = rng.choice(len(points), p=p / p.sum()) if p.sum() > 0 else int(rng.integers(len(points)))
        centers.append(points[idx])
        d2 = np.minimum(d2, ((points - points[idx]) ** 2).sum(axis=1))
    return np.stack(centers)


def _lloyd(
    points: np.ndarray, weights: np.ndarray, centers: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd iterations; returns (centers, total weight per centre)."""
    for _ in range(max_iter):
        d2 = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        label = d2.argmin(axis=1)
        mass = np.bincount(label, weights=weights, minlength=len(centers))
        sums = np.stack(
            [np.bincount(label, weights=weights * points[:, c], minlength=len(centers)) for c in range(3)], axis=1
        )
        new = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], centers)
        if np.abs(new - centers).max() < 1e-3:
            return new, mass
        centers = new
    return centers, mass


def kmeans_palette(pixels: np.ndarray, n_colors: int, seed: int = 0, max_iter: int = 50) -> np.ndarray:
    """Fit an n-colour palette to (N, 3) uint8 pixels -> (K<=n, 3) uint8, most used first.

    Runs on the distinct colours weighted by their counts (exact, and fast on
    pixel art), in RGB, with a seeded k-means++ start, so the result is
    deterministic. With no more than n distinct colours, those colours are the
    palette.
    """
    pixels = np.asarray(pixels, dtype=np.uint8).reshape(-1, 3)
    if len(pixels) == 0:
        raise ValueError("cannot fit a palette to zero pixels")
    if n_colors < 1:
        raise ValueError(f"n_colors must be >= 1, got {n_colors}")
    codes, counts = np.unique(pack_colors(pixels), return_counts=True)
    colors = unpack_colors(codes, 3)
    if len(colors) <= n_colors:
        return colors[np.argsort(-counts, kind="stable")]
    rng = np.random.default_rng(seed)
    if len(colors) > _KMEANS_MAX_POINTS:
        keep = np.sort(rng.choice(len(colors), _KMEANS_MAX_POINTS, replace=False, p=counts / counts.sum()))
        colors, counts = colors[keep], counts[keep]
    points, weights = colors.astype(np.float64), counts.astype(np.float64)
    centers, mass = _lloyd(points, weights, _kmeans_pp_init(points, weights, n_colors, rng), max_iter)
    palette = np.clip(np.round(centers), 0, 255).astype(np.uint8)[np.argsort(-mass, kind="stable")]
    _, first = np.unique(palette, axis=0, return_index=True)
    return palette[np.sort(first)]


def _dither_spread(palette: np.ndarray) -> float:
    """Per-channel amplitude of the ordered-dither offset.

    The median distance (RGB) from each palette colour to its nearest other
    colour, over sqrt(3): large enough that a colour halfway between two
    neighbouring entries alternates between them, small enough not to jump
    to distant ones.
    """
    if len(palette) < 2:
        return 0.0
    p = palette.astype(np.float64)
    d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(axis=1)) / np.sqrt(3.0))


def _bayer_offsets(h: int, w: int) -> np.ndarray:
    """(h, w) ordered-dither offsets in (-0.5, 0.5), tiled 4x4 Bayer."""
    m = (BAYER4 + 0.5) / 16.0 - 0.5
    return np.tile(m, (h // 4 + 1, w // 4 + 1))[:h, :w]


def quantize(
    img: np.ndarray,
    palette: np.ndarray | None = None,
    n_colors: int | None = None,
    dither: bool = False,
    seed: int = 0,
    alpha_threshold: int = 128,
) -> np.ndarray:
    """Map every pixel to a palette colour: (H, W, 3|4) uint8 -> same shape.

    With `palette` (K, 3) uint8 each pixel takes the nearest entry by ΔE76 in
    Lab; with `n_colors` the palette is first fitted by :func:`kmeans_palette`
    (seeded, so deterministic). `dither` adds a 4x4 Bayer offset before the
    lookup, which trades flat bands for a regular pattern; do it at native
    size so one pattern cell is one art pixel. Transparent pixels are
    ignored and stay transparent.
    """
    if (palette is None) == (n_colors is None):
        raise ValueError("give exactly one of palette or n_colors")
    rgb, mask = split_alpha(img, alpha_threshold)
    opaque = rgb.reshape(-1, 3) if mask is None else rgb[mask]
    if palette is None:
        if len(opaque) == 0:
            return img.copy()
        palette = kmeans_palette(opaque, int(n_colors), seed=seed)
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    values = rgb.astype(np.float32)
    if dither:
        values = values + (_bayer_offsets(*rgb.shape[:2]) * _dither_spread(palette))[..., None]
    values = np.clip(np.round(values), 0, 255).astype(np.uint8).reshape(-1, 3)
    codes, inverse = np.unique(pack_colors(values), return_inverse=True)
    index = nearest_palette_index(unpack_colors(codes, 3), palette)[inverse.ravel()]
    out = palette[index].reshape(rgb.shape)
    return merge_alpha(out, mask)


# --------------------------------------------------------------------------- pipeline


def _to_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """PIL image or uint8 array -> uint8 (H, W, 3) or (H, W, 4) (alpha kept only if present)."""
    if isinstance(image, np.ndarray):
        split_alpha(image)  # validates dtype and shape
        return image
    return np.asarray(image.convert("RGBA" if has_alpha(image) else "RGB"))


def _split_palette_arg(palette, n_colors: int | None) -> tuple[np.ndarray | None, int | None]:
    """Resolve a palette spec; an integer spec becomes the k-means colour count."""
    resolved = resolve_palette(palette) if palette is not None else None
    if isinstance(resolved, int):
        if n_colors is not None and n_colors != resolved:
            raise ValueError(f"palette={palette!r} asks for {resolved} colours but n_colors={n_colors}")
        return None, resolved
    if resolved is not None and n_colors is not None:
        raise ValueError("give either a fixed palette or n_colors, not both")
    return resolved, n_colors


def pixelize(
    image: Image.Image,
    cell: int | None = None,
    size: tuple[int, int] | None = None,
    palette: str | int | np.ndarray | None = None,
    n_colors: int | None = None,
    dither: bool = False,
    upscale: int = 1,
    alpha_threshold: int = 128,
    method: SnapMethod = "mode",
    seed: int = 0,
) -> Image.Image:
    """Grid snap -> quantize -> nearest upscale, in one call (what the CLI and app use).

    `palette` is a (K, 3) array or a spec for :func:`pixel_gan.inference.palettes.resolve_palette`
    (name, file, or "16" for k-means); with neither palette nor n_colors the
    colours are left as snapped. `size` is the native (width, height). Images
    with transparency come back RGBA with alpha in {0, 255}; others come back RGB.
    """
    arr = _to_array(image)
    fixed, n = _split_palette_arg(palette, n_colors)
    snapped = snap_to_grid(arr, cell=cell, size=size, method=method, alpha_threshold=alpha_threshold)
    if fixed is not None or n is not None:
        snapped = quantize(snapped, palette=fixed, n_colors=n, dither=dither, seed=seed)
    return Image.fromarray(upscale_array(snapped, int(upscale)))


def quantize_native(native: Image.Image, palette: PaletteSpec, dither: bool = False, seed: int = 0) -> Image.Image:
    """Palette step at native size (one dither cell = one art pixel); ``palette`` None keeps the colours."""
    if palette is None:
        return native
    return pixelize(native, size=native.size, palette=palette, dither=dither, seed=seed)


class PaletteLock:
    """One palette for many frames, so a sequence is quantized consistently.

    Quantizing frames one by one with k-means gives each frame its own
    palette and the colours flicker; fitting once on the pooled pixels of all
    frames and reusing it does not.

    Usage: ``lock = PaletteLock(); lock.fit(frames, 16); lock.apply(frame, cell=8)``.
    """

    def __init__(self, palette: np.ndarray | None = None) -> None:
        self.palette = None if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)

    def fit(
        self,
        images: Sequence[Image.Image | np.ndarray],
        n_colors: int,
        seed: int = 0,
        alpha_threshold: int = 128,
    ) -> np.ndarray:
        """Fit k-means on the opaque pixels of all images -> (K<=n_colors, 3) uint8; also stored."""
        pooled = []
        for image in images:
            rgb, mask = split_alpha(_to_array(image), alpha_threshold)
            pooled.append(rgb.reshape(-1, 3) if mask is None else rgb[mask])
        if not pooled:
            raise ValueError("PaletteLock.fit needs at least one image")
        self.palette = kmeans_palette(np.concatenate(pooled), n_colors, seed=seed)
        return self.palette

    def apply(self, image: Image.Image, **kwargs) -> Image.Image:
        """:func:`pixelize` with the locked palette (other arguments passed through)."""
        if self.palette is None:
            raise RuntimeError("PaletteLock has no palette yet; call fit() first")
        return pixelize(image, palette=self.palette, **kwargs)
