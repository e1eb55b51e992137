"""trainer=ddp sets sync_batchnorm exactly when a trained model holds BatchNorm.

SyncBatchNorm is needed under DDP only for BatchNorm layers (per-rank batch statistics); every
normalization in pixel-gan is per sample (GroupNorm, LayerNorm) or a weight normalization
(spectral norm), so ddp.yaml leaves it off. A discriminator that adds BatchNorm fails here until
ddp.yaml turns it on.
"""

from __future__ import annotations

import pytest
from torch import nn

from pixel_gan.config import compose_train_config
from pixel_gan.models.discriminator import build_discriminator, build_tiny_clip_tower, load_clip_tower


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def test_has_batchnorm_detects_batchnorm():
    assert has_batchnorm(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)))
    assert not has_batchnorm(nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4)))


@pytest.mark.parametrize("resolution", [32, 64, 256, 512])
def test_ddp_sync_batchnorm_matches_the_models(resolution, tiny_generator, tmp_path):
    cfg = compose_train_config("trainer=ddp")
    tower = load_clip_tower(str(build_tiny_clip_tower(tmp_path / "clip")))
    models = [
        tiny_generator,
        build_discriminator("patchgan", resolution),
        build_discriminator("clip", resolution, clip_tower=tower),
    ]
    assert cfg.trainer.sync_batchnorm == any(has_batchnorm(m) for m in models)
