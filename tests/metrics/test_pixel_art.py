"""Weight-free pixel-art metrics on hand-built images with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixel_gan.inference.images import upscale_array as upscale
from pixel_gan.inference.palettes import get_palette
from pixel_gan.metrics.pixel_art import (
    METRIC_DESCRIPTIONS,
    METRIC_DIRECTIONS,
    color_drift,
    detect_cell_size,
    distinct_colors,
    domain_palette,
    edge_f1,
    grid_alignment,
    grid_purity,
    isolated_pixel_rate,
    palette_distance,
    pixel_art_metrics,
    to_batch,
    to_uint8,
)

PICO8 = get_palette("pico8")


def random_art(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Native pixel art: every pixel a random PICO-8 colour, (h, w, 3) uint8."""
    return PICO8[np.random.default_rng(seed).integers(0, len(PICO8), (h, w))]


def add_noise(img: np.ndarray, amount: int = 3, seed: int = 1) -> np.ndarray:
    """Uniform integer noise in [-amount, amount] per channel."""
    noise = np.random.default_rng(seed).integers(-amount, amount + 1, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def checkerboard(n: int) -> np.ndarray:
    """Black/white checkerboard, (n, n, 3) uint8."""
    board = (np.add.outer(np.arange(n), np.arange(n)) % 2).astype(np.uint8) * 255
    return np.repeat(board[..., None], 3, axis=2)


def flat(h: int, w: int, color=(40, 90, 200)) -> np.ndarray:
    return np.broadcast_to(np.array(color, np.uint8), (h, w, 3)).copy()


def reference_palette_distance(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The formula written out: 16 soft bins (sigma half their spacing), one output against domain B's mean."""
    centers, sigma = torch.linspace(0.0, 1.0, 16), 0.5 / 15

    def hist(x):
        w = torch.exp(-((x.flatten(2)[..., None] - centers) ** 2) / (2 * sigma**2)).sum(2)
        return w / w.sum(-1, keepdim=True)

    return (hist(fake) - hist(real).mean(0, keepdim=True)).abs().sum(-1).mean()


# --------------------------------------------------------------------------- conversion


def test_to_batch_accepts_numpy_pil_and_tensor_alike():
    from PIL import Image

    img = random_art(6, 5)
    from_np = to_batch(img)
    assert from_np.shape == (1, 3, 6, 5)
    assert torch.equal(to_batch(Image.fromarray(img)), from_np)
    assert torch.equal(to_batch(from_np[0]), from_np)
    assert torch.equal(to_batch([img, img]), torch.cat([from_np, from_np]))
    assert np.array_equal(to_uint8(from_np)[0], img)


def test_to_batch_rejects_minus_one_to_one_range():
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        to_batch(torch.full((1, 3, 4, 4), -1.0))


# --------------------------------------------------------------------------- colours


def test_distinct_colors_counts_exactly_five():
    img = np.repeat(PICO8[:5], 4, axis=0).reshape(4, 5, 3)  # 5 colours, 4 px each
    assert distinct_colors(img).tolist() == [5.0]


def test_distinct_colors_per_image_and_bit_depth():
    a = flat(4, 4)
    b = a.copy()
    b[0, 0] = (41, 90, 200)  # differs only in the lowest bit
    counts = distinct_colors([a, b])
    assert counts.tolist() == [1.0, 2.0]
    assert distinct_colors(b, quantize_bits=7).tolist() == [1.0]


def test_palette_distance_zero_for_identical_and_positive_otherwise():
    a, b = to_batch(random_art(8, 8, seed=0)), to_batch(flat(8, 8))
    assert palette_distance(a, domain_palette(a)).item() == pytest.approx(0.0, abs=1e-6)
    assert palette_distance(a, domain_palette(b)).item() > 0.1


def test_palette_distance_matches_the_formula_against_the_domain_palette():
    fake = torch.cat([to_batch(random_art(8, 8, seed=s)) for s in range(3)])
    real = torch.cat([to_batch(random_art(8, 8, seed=s + 10)) for s in range(4)])
    got = palette_distance(fake, domain_palette(real))
    want = [reference_palette_distance(fake[i : i + 1], real).item() for i in range(3)]
    assert got.shape == (3,)
    assert got.tolist() == pytest.approx(want, abs=1e-5)


def test_color_drift_zero_for_identical_and_about_100_for_black_vs_white():
    img = random_art(8, 8)
    assert color_drift(img, img).item() == pytest.approx(0.0, abs=1e-3)
    assert color_drift(flat(4, 4, (0, 0, 0)), flat(4, 4, (255, 255, 255))).item() == pytest.approx(100.0, abs=0.5)


def test_color_drift_resizes_native_output_to_input_size():
    small = random_art(8, 8)
    assert color_drift(upscale(small, 4), small).item() == pytest.approx(0.0, abs=1e-3)


# --------------------------------------------------------------------------- grid


def test_grid_purity_is_one_for_clean_upscale():
    img = upscale(random_art(8, 8), 4)
    purity, cell = grid_purity(img, cell=4)
    assert purity.tolist() == [1.0] and cell.tolist() == [4]
    purity, cell = grid_purity(img)  # detected
    assert purity.tolist() == [1.0] and cell.tolist() == [4]


def test_grid_purity_drops_off_grid_and_for_noise():
    img = upscale(random_art(8, 8), 4)
    shifted = np.roll(img, 2, axis=1)  # grid no longer at offset 0
    assert grid_purity(shifted, cell=4)[0].item() < 0.7
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    purity, cell = grid_purity(noise)
    assert cell.item() == 1  # no grid found ...
    assert purity.item() < 0.1  # ... and it does not score as perfectly pure


def test_detect_cell_size_known_grids():
    assert detect_cell_size(add_noise(upscale(random_art(16, 16), 8))) == 8
    assert detect_cell_size(upscale(random_art(13, 11), 6)) == 6  # 78x66, not a power of two
    assert detect_cell_size(random_art(32, 32)) == 1
    assert detect_cell_size(flat(32, 32)) == 1


def test_grid_alignment_is_one_at_the_cell_and_its_divisors():
    scores = grid_alignment(upscale(random_art(16, 16), 6), max_cell=12)
    assert scores[[0, 1, 2, 5]].tolist() == [1.0, 1.0, 1.0, 1.0]  # k = 1, 2, 3, 6
    assert scores[11] < 0.7  # k = 12 misses every other boundary


def test_speckle_checkerboard_and_flat():
    board = checkerboard(8)
    assert isolated_pixel_rate(board, connectivity=4).item() == 1.0
    # diagonal neighbours of a checkerboard share its colour, so none is isolated with 8 neighbours
    assert isolated_pixel_rate(board, connectivity=8).item() == 0.0
    assert isolated_pixel_rate(flat(8, 8)).item() == 0.0


def test_speckle_counts_a_single_stray_pixel():
    img = flat(10, 10)
    img[4, 5] = (255, 0, 0)
    assert isolated_pixel_rate(img).item() == pytest.approx(1 / 100)


def test_speckle_is_measured_at_native_cell_size():
    big = upscale(checkerboard(8), 4)
    assert isolated_pixel_rate(big, cell=1, connectivity=4).item() == 0.0  # 4x4 blocks are not speckle
    assert isolated_pixel_rate(big, cell=4, connectivity=4).item() == 1.0
    assert isolated_pixel_rate(big, cell=None, connectivity=4).item() == 1.0  # cell detected


# --------------------------------------------------------------------------- edges


def shapes_image() -> np.ndarray:
    """A few filled rectangles: strong, well-separated edges."""
    img = flat(64, 64, (20, 20, 20))
    img[8:30, 10:40] = (230, 60, 60)
    img[36:58, 20:56] = (60, 220, 90)
    return img


def test_edge_f1_self_is_one_and_blank_is_zero():
    img = shapes_image()
    assert edge_f1(img, img).item() == 1.0
    assert edge_f1(img, flat(64, 64)).item() == 0.0
    assert edge_f1(flat(64, 64), flat(64, 64)).item() == 1.0  # no edges on either side agree


def test_edge_f1_tolerance_absorbs_one_pixel_shift():
    img = shapes_image()
    shifted = np.roll(img, 1, axis=1)
    assert edge_f1(img, shifted, tolerance=1).item() == 1.0
    assert edge_f1(img, shifted, tolerance=0).item() < 0.8


def test_edge_f1_resizes_output_to_input():
    small = random_art(16, 16)
    big = upscale(small, 4)
    assert edge_f1(big, small).item() == 1.0


# --------------------------------------------------------------------------- summary


def test_pixel_art_metrics_keys_and_known_values():
    out = upscale(random_art(16, 16), 4)
    inp = out.copy()
    m = pixel_art_metrics(inp, out, real_b=out)
    assert set(m) == set(METRIC_DIRECTIONS)
    assert m["grid_purity"] == 1.0 and m["cell_size"] == 4.0
    assert m["edge_f1"] == 1.0
    assert m["color_drift"] == pytest.approx(0.0, abs=1e-3)
    assert m["palette_distance"] == pytest.approx(0.0, abs=1e-6)
    assert m["colors"] == len(np.unique(out.reshape(-1, 3), axis=0))
    assert 0.0 <= m["speckle"] <= 1.0
    assert "palette_distance" not in pixel_art_metrics(inp, out)


def test_metric_directions_are_documented():
    assert set(METRIC_DIRECTIONS.values()) <= {"lower", "higher", "info"}
    assert set(METRIC_DESCRIPTIONS) == set(METRIC_DIRECTIONS)
