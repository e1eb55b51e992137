"""LPIPS perceptual distance (the ``lpips`` package), frozen and never checkpointed.

The LPIPS linear heads ship inside the package; the VGG/AlexNet backbone weights are
torchvision's. Offline they come from the torchvision cache or a configured file — a random
backbone is only allowed where asked for explicitly (tiny model, tests). Online, a backbone missing
from the torchvision cache is downloaded there (hash-checked, like torchvision does).
"""

from __future__ import annotations

from pathlib import Path

import lpips
import torch
from torch import Tensor, nn
from torchvision import models as tv_models

from pixel_gan.weights import WeightsNotFoundError, load_tensors
from pixel_gan.weights.files import cached_url_file, url_hash_prefix

_TV_WEIGHTS = {"vgg": tv_models.VGG16_Weights.IMAGENET1K_V1, "alex": tv_models.AlexNet_Weights.IMAGENET1K_V1}


def default_backbone_file(net: str) -> Path:
    """Where torchvision caches the backbone (``$TORCH_HOME/hub/checkpoints/<file>``)."""
    url = _TV_WEIGHTS[net].url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _load_backbone_features(model: lpips.LPIPS, net: str, weights_file: Path) -> None:
    """Copy torchvision's ``features.N.*`` tensors into LPIPS's ``sliceK.N.*`` modules."""
    state = load_tensors(weights_file, "LPIPS backbone weights")
    mapped = {}
    for slice_name, block in model.net.named_children():
        for key in block.state_dict():
            mapped[f"{slice_name}.{key}"] = state[f"features.{key}"]
    model.net.load_state_dict(mapped)


class PerceptualLoss(nn.Module):
    """``forward(x, y)`` → per-image LPIPS (B,), inputs (B, 3, H, W) in [-1, 1]."""

    def __init__(self, net: str = "vgg", backbone_weights: str | None = None, random_backbone: bool = False) -> None:
        super().__init__()
        if net not in _TV_WEIGHTS:
            raise ValueError(f"loss.lpips_net must be one of {sorted(_TV_WEIGHTS)}, got {net!r}")
        self.lpips = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
        if not random_backbone:
            url = _TV_WEIGHTS[net].url
            folder = default_backbone_file(net).parent
            layout = f"the torchvision {net} ImageNet file ({url.rsplit('/', 1)[-1]}), e.g. in {folder}"
            if not backbone_weights:
                weights_file = cached_url_file(url, "loss.lpips_backbone_weights", layout, url_hash_prefix(url))
            else:
                weights_file = Path(backbone_weights).expanduser()
                if not weights_file.is_file():
                    raise WeightsNotFoundError("loss.lpips_backbone_weights", str(weights_file), layout)
            _load_backbone_features(self.lpips, net, weights_file)
        self.lpips.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> PerceptualLoss:
        """LPIPS stays in eval mode (dropout off) whatever the surrounding module does."""
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.lpips(x, y).flatten(1).mean(1)
