"""The finishing step of the ground-truth table: the target's grid and palette applied to an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pixel_gan.evaluation.finish import finish_all, target_grid, target_palette_baseline
from pixel_gan.evaluation.metrics import EvalSet


@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> EvalSet:
    from pixel_gan.data.demo import generate_demo_dataset

    root: Path = generate_demo_dataset(tmp_path_factory.mktemp("paired"), n_train=1, n_test=3, size=64, seed=5)
    return EvalSet.load(root)


def test_target_grid_is_cells_per_side() -> None:
    assert target_grid(Image.new("RGB", (128, 96)), 8) == (16, 12)
    assert target_grid(Image.new("RGB", (4, 4)), 8) == (1, 1)  # never an empty grid


def test_finishing_the_targets_gives_them_back_exactly(paired: EvalSet) -> None:
    """Targets already sit on their grid and palette: the finishing step must not change a pixel."""
    finished = finish_all(paired.gt, paired)
    for out, target in zip(finished, paired.gt, strict=True):
        np.testing.assert_array_equal(np.asarray(out), np.asarray(target))
    metrics = paired.gt_metrics(finished)
    assert metrics["gt_delta_e"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["gt_palette_adherence"] == 1.0 and metrics["gt_grid_purity"] == 1.0


def test_finishing_repairs_a_blurred_target(paired: EvalSet) -> None:
    blurred = [t.filter(ImageFilter.GaussianBlur(1.0)) for t in paired.gt]
    before, after = paired.gt_metrics(blurred), paired.gt_metrics(finish_all(blurred, paired))
    assert after["gt_delta_e"] < before["gt_delta_e"], (before, after)
    assert before["gt_palette_adherence"] < 0.9 and after["gt_palette_adherence"] == 1.0
    assert before["gt_grid_purity"] < 0.9 and after["gt_grid_purity"] == 1.0


def test_target_palette_baseline_uses_only_palette_colours(paired: EvalSet) -> None:
    row = target_palette_baseline(paired, (64, 64), n_grid=2)
    assert len(row.outputs) == 2 and row.kind == "baseline"
    palette = {tuple(c) for c in paired.gt_palette.tolist()}
    for image in row.outputs:
        assert image.size == (64, 64)
        assert {tuple(c) for c in np.asarray(image).reshape(-1, 3).tolist()} <= palette
