"""Image transforms and the one place where the [-1, 1] tensor convention lives.

Edge presets run on the uint8 output of ``build_transform`` (a PIL image), so
the transform stays on PIL; tensors are made afterwards with ``to_tensor``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

ImageTransform = Callable[[Image.Image], Image.Image]

# The VAE downsamples by 8; other sizes break the latent grid.
RESOLUTION_MULTIPLE = 8


def validate_resolution(resolution: object) -> int:
    """Return ``resolution`` as int; raise ValueError unless it is a positive multiple of 8."""
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral):
        raise ValueError(
            f"resolution must be a positive integer multiple of {RESOLUTION_MULTIPLE}, "
            f"got {resolution!r} ({type(resolution).__name__})"
        )
    value = int(resolution)
    if value <= 0 or value % RESOLUTION_MULTIPLE != 0:
        raise ValueError(
            f"resolution must be a positive integer multiple of {RESOLUTION_MULTIPLE} "
            f"(e.g. 32, 64, 128, 256, 512), got {value}"
        )
    return value


class PixelArtResize:
    """Resize to (r, r): NEAREST when the image only grows (native-size pixel art keeps hard cell edges
    and its exact colours, as ``pixel-gan data prepare`` writes it), LANCZOS when it shrinks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.nearest = T.Resize((size, size), interpolation=InterpolationMode.NEAREST)
        self.lanczos = T.Resize((size, size), interpolation=InterpolationMode.LANCZOS)

    def __call__(self, img: Image.Image) -> Image.Image:
        grows = img.width <= self.size and img.height <= self.size
        return self.nearest(img) if grows else self.lanczos(img)


def build_transform(resolution: int, train: bool, pixel_art: bool = False) -> ImageTransform:
    """PIL -> PIL (r, r) RGB.

    Train: LANCZOS resize to (r, r), RandomCrop(r) (a no-op at equal size, kept
    for parity with the study's pipeline), random horizontal flip (p=0.5, drawn
    from torch's global RNG). Eval: the resize alone, so it is deterministic.
    ``pixel_art`` (the target domain): images smaller than r are enlarged with NEAREST instead.
    """
    size = validate_resolution(resolution)
    resize = PixelArtResize(size) if pixel_art else T.Resize((size, size), interpolation=InterpolationMode.LANCZOS)
    steps: list[ImageTransform] = [resize]
    if train:
        steps += [T.RandomCrop((size, size)), T.RandomHorizontalFlip()]
    return T.Compose(steps)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image (any mode, converted to RGB) -> float32 (3, H, W) in [-1, 1]."""
    array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).float()
    return tensor / 127.5 - 1.0


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) tensor in [-1, 1] -> RGB PIL image (values clamped, rounded)."""
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise ValueError(f"to_pil expects a (3, H, W) tensor in [-1, 1], got shape {tuple(tensor.shape)}")
    scaled = ((tensor.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    array = scaled.to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array)
