"""Ground-truth metrics against hand-computed values (CIE Lab references, crafted images)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from pixel_gan.data.ground_truth import at_size
from pixel_gan.metrics.ground_truth import (
    delta_e76,
    grid_purity_at,
    ground_truth_metrics,
    palette_adherence,
    to_lab,
)

RED_LAB = (53.24, 80.09, 67.20)  # sRGB (255, 0, 0), D65: the published reference value


def flat(h: int, w: int, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.tile(np.array(rgb, dtype=np.uint8), (h, w, 1))


def test_lab_of_white_and_red_match_the_reference_values():
    white = to_lab(flat(2, 2, (255, 255, 255)))[0, :, 0, 0]
    red = to_lab(flat(2, 2, (255, 0, 0)))[0, :, 0, 0]
    assert white.tolist() == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert red.tolist() == pytest.approx(RED_LAB, abs=0.01)


def test_delta_e76_of_known_pairs():
    white, red = flat(4, 4, (255, 255, 255)), flat(4, 4, (255, 0, 0))
    expected = math.dist((100.0, 0.0, 0.0), RED_LAB)  # ≈ 114.5
    assert delta_e76(red, white).item() == pytest.approx(expected, abs=0.02)
    half = white.copy()
    half[:2] = 0  # top half black vs all white: 100 on half the pixels, 0 on the rest
    assert delta_e76(half, white).item() == pytest.approx(50.0, abs=0.05)
    assert delta_e76(white, white).item() == pytest.approx(0.0, abs=1e-3)


def test_delta_e76_takes_tensors_and_resizes_the_target_nearest():
    small = np.zeros((2, 2, 3), dtype=np.uint8)
    small[0, 0] = (255, 0, 0)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # the same picture at 8x8
    as_tensor = torch.from_numpy(big).permute(2, 0, 1).float() / 255.0
    assert delta_e76(as_tensor, small).item() == pytest.approx(0.0, abs=1e-3)
    assert delta_e76([big, big], [small, small]).tolist() == pytest.approx([0.0, 0.0], abs=1e-3)
    with pytest.raises(ValueError, match="1 inputs but 2 outputs"):
        delta_e76(big, [small, small])


def test_palette_adherence_counts_pixels_near_a_palette_colour():
    img = np.array([[(255, 0, 0), (250, 0, 0)], [(0, 0, 255), (0, 255, 0)]], dtype=np.uint8)
    # (250, 0, 0) is ΔE76 ≈ 1.7 from red; blue and green are ΔE > 150 from it
    assert palette_adherence(img, [(255, 0, 0)]).item() == pytest.approx(0.5)
    assert palette_adherence(img, [(255, 0, 0)], threshold=0.5).item() == pytest.approx(0.25)
    assert palette_adherence(img, np.array([(255, 0, 0), (0, 0, 255), (0, 255, 0)], np.uint8)).item() == 1.0
    with pytest.raises(ValueError, match="palette"):
        palette_adherence(img, [])


def test_grid_purity_at_a_given_cell_size():
    img = flat(4, 4, (10, 20, 30))
    img[2:, :2] = (200, 0, 0)  # a clean 2x2 cell of another colour
    img[0, 3] = (255, 255, 255)  # one odd pixel in the top-right cell: its median stays the cell colour
    assert grid_purity_at(img, 2).item() == pytest.approx(15 / 16)
    assert grid_purity_at(img, 1).item() == 1.0  # every 1 px cell is constant
    assert grid_purity_at([img, flat(4, 4, (1, 2, 3))], [2, 4]).tolist() == pytest.approx([15 / 16, 1.0])
    with pytest.raises(ValueError, match=">= 1"):
        grid_purity_at(img, 0)


def test_ground_truth_metrics_of_a_perfect_and_a_flat_output():
    gt = np.repeat(np.repeat(np.array([[(255, 0, 0), (0, 0, 255)], [(0, 0, 255), (255, 0, 0)]], np.uint8), 4, 0), 4, 1)
    palette = [(255, 0, 0), (0, 0, 255)]
    assert ground_truth_metrics(gt, gt, 4, palette) == pytest.approx(
        {"gt_delta_e": 0.0, "gt_palette_adherence": 1.0, "gt_grid_purity": 1.0}, abs=1e-3
    )
    grey = flat(8, 8, (128, 128, 128))
    m = ground_truth_metrics(grey, gt, 4, palette)
    assert m["gt_palette_adherence"] == 0.0 and m["gt_grid_purity"] == 1.0 and m["gt_delta_e"] > 50
    with pytest.raises(ValueError, match="resize the ground truth"):
        ground_truth_metrics(grey, gt[:4, :4], 4, palette)


def test_at_size_resizes_nearest_and_scales_the_cell():
    native = np.arange(16 * 3, dtype=np.uint8).reshape(4, 4, 3)
    gt = Image.fromarray(np.repeat(np.repeat(native, 8, 0), 8, 1))  # 32 px, 8 px cells
    small, cell = at_size(gt, 8, (16, 16))
    assert cell == 4 and small.size == (16, 16)
    np.testing.assert_array_equal(np.asarray(small), np.repeat(np.repeat(native, 4, 0), 4, 1))
    assert at_size(gt, 8, (32, 32)) == (gt, 8)
    assert at_size(gt, 2, (8, 8))[1] == 1  # never below one pixel
