"""DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", 2020).

The discriminator sees augmented versions of *both* real and fake images, and the
augmentations are plain tensor ops, so the generator's GAN loss still back-propagates
through them. With a few hundred pixel-art images this keeps the discriminator from
memorising the training set. Each call draws fresh random parameters per sample.

Ops (the paper's "color,translation,cutout" policy), all on x: (B, C, H, W) in [-1, 1]:
- color: brightness + U(-0.5, 0.5); saturation × U(0, 2) around the per-pixel channel
  mean; contrast × U(0.5, 1.5) around the per-image mean.
- translation: shift by up to 1/8 of the size in each axis, zero padding (0 is mid-gray
  in [-1, 1]).
- cutout: zero a rectangle of half the size; its center is uniform over the image, so
  it may be clipped at the border.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_POLICY = "color,translation,cutout"
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    """U(0, 1) of x's dtype, drawn on the generator's device (a CPU generator works for CUDA x)."""
    device = generator.device if generator is not None else x.device
    return torch.rand(shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def _randint(low: int, high: int, shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Integers in [low, high) on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, shape, generator=generator, device=device).to(x.device)


def brightness(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    return x + (_uniform((x.shape[0], 1, 1, 1), x, generator) - 0.5)


def saturation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_uniform((x.shape[0], 1, 1, 1), x, generator) * 2) + mean


def contrast(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform((x.shape[0], 1, 1, 1), x, generator) + 0.5) + mean


def translation(x: Tensor, generator: torch.Generator | None = None, ratio: float = TRANSLATION_RATIO) -> Tensor:
    """Shift each sample by (ty, tx) in [-s, s] pixels, s = round(ratio·size); uncovered pixels are 0."""
    b, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = _randint(-sy, sy + 1, (b,), x, generator)
    tx = _randint(-sx, sx + 1, (b,), x, generator)
    padded = F.pad(x, (sx, sx, sy, sy))  # (B, C, H + 2sy, W + 2sx)
    # out[i, j] = x[i - ty, j - tx], i.e. padded[i - ty + sy, j - tx + sx]
    rows = torch.arange(h, device=x.device) + sy - ty[:, None]  # (B, H)
    cols = torch.arange(w, device=x.device) + sx - tx[:, None]  # (B, W)
    out = padded.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2 * sx))
    return out.gather(3, cols[:, None, None, :].expand(b, c, h, w))


def cutout(x: Tensor, generator: torch.Generator | None = None, ratio: float = CUTOUT_RATIO) -> Tensor:
    """Zero one (ratio·H)×(ratio·W) rectangle per sample, centered anywhere in the image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = _randint(0, h + 1 - ch % 2, (b,), x, generator) - ch // 2
    left = _randint(0, w + 1 - cw % 2, (b,), x, generator) - cw // 2
    rows = torch.arange(h, device=x.device)[None, :] - top[:, None]  # (B, H): offset into the hole
    cols = torch.arange(w, device=x.device)[None, :] - left[:, None]
    in_rows = (rows >= 0) & (rows < ch)
    in_cols = (cols >= 0) & (cols < cw)
    hole = in_rows[:, :, None] & in_cols[:, None, :]  # (B, H, W)
    return x * (~hole).to(x.dtype)[:, None]


AUGMENTS: dict[str, tuple[Callable[..., Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def diff_augment(x: Tensor, policy: str = DEFAULT_POLICY, generator: torch.Generator | None = None) -> Tensor:
    """Apply the comma-separated policy (subset of color, translation, cutout) in that order.

    x: (B, C, H, W), any float dtype. An empty policy returns x unchanged. Pass a seeded
    ``generator`` for reproducible draws (tests); training uses the global RNG.
    """
    names = [name.strip() for name in policy.split(",") if name.strip()] if policy else []
    unknown = [name for name in names if name not in AUGMENTS]
    if unknown:
        raise ValueError(f"unknown DiffAugment op(s) {unknown}; choose from {sorted(AUGMENTS)}")
    for name in names:
        for op in AUGMENTS[name]:
            x = op(x, generator)
    return x
