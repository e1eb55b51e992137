"""A tiny generator whose adapters do something: LoRA B matrices start at zero, so a merge test on a
fresh generator would compare the base with itself; here they are drawn as if trained."""

from __future__ import annotations

import pytest
import torch
from merge_support import train_adapters_

from pixel_gan.models.generator import CycleGANTurbo


@pytest.fixture
def trained_tiny(tiny_generator) -> CycleGANTurbo:
    return train_adapters_(tiny_generator)


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(3, 3, 48, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
