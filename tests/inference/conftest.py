"""A tiny generator whose adapters do something: LoRA B matrices start at zero, so a merge test on a
fresh generator would compare the base with itself; here they are drawn as if trained."""

from __future__ import annotations

import pytest
import torch

from pixel_gan.bench.inference_run import draw_adapters_
from pixel_gan.models.generator import CycleGANTurbo

#: Largest |merged − unmerged| over [-1, 1] outputs, fp32; measured 2.5e-5 on the tiny model (64 px)
#: and 1.5e-5 on the full-size architecture (256 px, rank 128/4): summation order differs, nothing else.
MERGE_TOL = 1e-4


def train_adapters_(generator: CycleGANTurbo, scale: float = 0.05, seed: int = 0) -> CycleGANTurbo:
    """Random LoRA B matrices and skip convs, so every adapter and skip changes the output; frozen."""
    return draw_adapters_(generator, scale, seed).eval().requires_grad_(False)


@pytest.fixture
def trained_tiny(tiny_generator) -> CycleGANTurbo:
    return train_adapters_(tiny_generator)


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(3, 3, 48, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
