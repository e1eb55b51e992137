"""Shared fixtures: one tiny SD-Turbo backbone in the hub layout per test session."""

from __future__ import annotations

import pytest
import torch

from pixel_gan.logging_utils import quiet_libraries

torch.set_num_threads(2)
quiet_libraries()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("pixel-gan-cache"))


@pytest.fixture(scope="session")
def tiny_dir(cache_dir):
    from pixel_gan.models.backbone import tiny_backbone_dir

    return tiny_backbone_dir(cache_dir)


@pytest.fixture
def tiny_generator(tiny_dir):
    from pixel_gan.models.backbone import load_backbone
    from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

    torch.manual_seed(0)
    return CycleGANTurbo.from_backbone(load_backbone(str(tiny_dir)), "a photo", "pixel art",
                                       LoraSettings(unet_rank=8, unet_alpha=8))
