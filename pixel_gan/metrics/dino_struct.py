"""DINO-struct: structure preservation between a translator's input and output.

As published with Splice (Tumanyan et al., 2022) and used by CycleGAN-Turbo:
the keys of the last self-attention layer of DINO ViT-B/8 describe the image's
structure independently of its appearance. For each image we take the keys of
all tokens (CLS included; heads concatenated, i.e. the raw key projection
output), build their cosine self-similarity matrix, and report the MSE between
the matrices of the input and of the output. Lower is better; identical images
give 0. Values are the raw MSE (no scaling).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import ViTConfig, ViTModel

from pixel_gan.weights import WeightsNotFoundError, hub_offline, load_or_explain, resolve_pretrained

DINO_ID = "facebook/dino-vitb8"
CONFIG_KEY = "metrics.dino.pretrained"
LAYOUT = (
    "a hub id (default facebook/dino-vitb8) or a transformers ViTModel directory written by "
    "save_pretrained: config.json + model.safetensors (or pytorch_model.bin)"
)
REQUIRED_FILES = ["config.json", "model.safetensors|model.safetensors.index.json|pytorch_model.bin"]
SHORT_SIDE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def last_key_projection(vit: ViTModel) -> nn.Linear:
    """The Linear that makes the last layer's attention keys, (B, T, D) out.

    transformers >= 5 names it `layers[-1].attention.k_proj`; 4.x named it
    `encoder.layer[-1].attention.attention.key`.
    """
    layers = getattr(vit, "layers", None)
    if layers is not None:
        return layers[-1].attention.k_proj
    return vit.encoder.layer[-1].attention.attention.key


def short_side_size(height: int, width: int, short: int = SHORT_SIDE) -> tuple[int, int]:
    """(H, W) with the short side at `short`; long side truncated like torchvision's Resize(int)."""
    if height <= width:
        return short, int(short * width / height)
    return int(short * height / width), short


def resize_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear, antialiased resize of (B, C, H, W) to `size` (no-op when already there)."""
    if tuple(size) == tuple(x.shape[-2:]):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


class DinoStruct(nn.Module):
    """Frozen DINO ViT that scores structure distance; see module docstring."""

    mean: Tensor
    std: Tensor

    def __init__(self, vit: ViTModel, short_side: int = SHORT_SIDE) -> None:
        super().__init__()
        self.vit = vit.float().eval().requires_grad_(False)
        self.short_side = short_side
        self.patch_size = int(vit.config.patch_size)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._keys: Tensor | None = None
        last_key_projection(vit).register_forward_hook(self._keep_keys)

    @classmethod
    def from_pretrained(cls, source: str = DINO_ID) -> DinoStruct:
        """Load DINO from a hub id or local dir; raise WeightsNotFoundError rather than use random weights."""
        resolved = resolve_pretrained(source, CONFIG_KEY, LAYOUT, REQUIRED_FILES)
        extra = {"local_files_only": True} if hub_offline() else {}
        vit, info = load_or_explain(
            lambda: ViTModel.from_pretrained(resolved, add_pooling_layer=False, output_loading_info=True, **extra),
            source,
            CONFIG_KEY,
            LAYOUT,
        )
        missing = sorted(info.get("missing_keys", []))
        if missing:
            raise WeightsNotFoundError(
                CONFIG_KEY,
                source,
                LAYOUT,
                f"The checkpoint lacks {len(missing)} weights (e.g. {', '.join(missing[:3])}); "
                "refusing to fill them with random values.",
            )
        return cls(vit)

    def train(self, mode: bool = True) -> DinoStruct:
        """Stay in eval mode: a metric must not switch on dropout."""
        return super().train(False)

    def _keep_keys(self, module: nn.Module, args: tuple, output: Tensor) -> None:
        self._keys = output

    def preprocess(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> resized (default: short side 224), ImageNet-normalized."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")
        size = size or short_side_size(x.shape[-2], x.shape[-1], self.short_side)
        x = resize_to(x.to(self.mean.device, torch.float32), size)
        return (x - self.mean) / self.std

    def _similarity(self, pixels: Tensor) -> Tensor:
        self._keys = None
        self.vit(pixel_values=pixels, interpolate_pos_encoding=True)
        keys, self._keys = self._keys, None
        if keys is None:
            raise RuntimeError("the key-projection hook did not fire; unexpected ViT structure")
        keys = F.normalize(keys.float(), dim=-1)
        return keys @ keys.transpose(1, 2)

    @torch.inference_mode()
    def self_similarity(self, x: Tensor) -> Tensor:
        """Cosine self-similarity of last-layer keys: (B, 3, H, W) in [0, 1] -> (B, T, T), T = 1 + patches."""
        return self._similarity(self.preprocess(x))

    @torch.inference_mode()
    def forward(self, inputs: Tensor, outputs: Tensor) -> Tensor:
        """Per-image DINO-struct, (B,): MSE between the key self-similarities of inputs and outputs.

        Each side is resized to short side 224 on its own, so a 64 px output can be
        scored against its 256 px input. When their aspect ratios differ enough
        that the token grids differ, the output is resized to the input's
        preprocessed size so the two matrices compare the same token positions.
        """
        if inputs.shape[0] != outputs.shape[0]:
            raise ValueError(f"batch sizes differ: {inputs.shape[0]} inputs vs {outputs.shape[0]} outputs")
        a = self.preprocess(inputs)
        size = short_side_size(outputs.shape[-2], outputs.shape[-1], self.short_side)
        if self._grid(size) != self._grid(a.shape[-2:]):
            size = (a.shape[-2], a.shape[-1])
        b = self.preprocess(outputs, size)
        return (self._similarity(a) - self._similarity(b)).square().mean(dim=(1, 2))

    def _grid(self, size: tuple[int, int] | torch.Size) -> tuple[int, int]:
        return size[0] // self.patch_size, size[1] // self.patch_size


def build_tiny_dino(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random ViT (same classes and layout as facebook/dino-vitb8) for offline tests."""
    from pixel_gan.models.backbone import TINY_TRANSFORMER

    config = ViTConfig(**TINY_TRANSFORMER, patch_size=8, image_size=224)
    out = Path(out_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ViTModel(config, add_pooling_layer=False)
    model.save_pretrained(out)
    return out
