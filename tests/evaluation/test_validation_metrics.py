"""The module's validation metrics: the report's keys, DINO-struct only with weights, clear errors."""

from __future__ import annotations

import pytest
import torch

from pixel_gan.metrics.dino_struct import DinoStruct, build_tiny_dino
from pixel_gan.metrics.pixel_art import METRIC_DIRECTIONS
from pixel_gan.metrics.validation import validation_metrics
from pixel_gan.training.module import PixelGANModule
from pixel_gan.weights import WeightsNotFoundError


def images(seed: int) -> torch.Tensor:
    return torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_without_dino_weights_the_pixel_art_metrics_are_logged() -> None:
    metrics = validation_metrics(images(0), images(1), images(2))
    assert set(metrics) == set(METRIC_DIRECTIONS)
    assert all(isinstance(v, float) for v in metrics.values())


def test_with_dino_weights_dino_struct_is_added(tmp_path) -> None:
    dino = DinoStruct.from_pretrained(str(build_tiny_dino(tmp_path / "dino")))
    a = images(0)
    metrics = validation_metrics(a, a.clone(), images(2), dino)
    assert metrics["dino_struct"] == pytest.approx(0.0, abs=1e-10)  # output == input: structure fully kept


def test_dino_config() -> None:
    assert PixelGANModule._build_dino_struct(None) is None
    with pytest.raises(WeightsNotFoundError, match="metrics.dino.pretrained"):
        PixelGANModule._build_dino_struct("/nonexistent/dino-vitb8")
