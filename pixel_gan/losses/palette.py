"""Differentiable palette loss: L1 distance between per-channel soft histograms.

Pixel art lives on a few flat colours; matching the generated image's colour distribution to
real pixel art pushes the generator toward a limited, high-contrast palette.

The histogram is computed bin by bin inside a custom autograd function, so neither forward nor
backward ever holds a (B, C, H, W, bins) tensor: memory stays at one (B, C, H, W) slab.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8


def default_sigma(bins: int, vmin: float = 0.0, vmax: float = 1.0) -> float:
    """Half the spacing between bin centres: neighbouring bins overlap without blurring into each other."""
    return 0.5 * (vmax - vmin) / max(bins - 1, 1)


class _SoftHistogramCounts(torch.autograd.Function):
    """Unnormalized counts h[b, c, k] = Σ_pixels exp(-(x - c_k)² / (2σ²)), looping over bins."""

    @staticmethod
    def forward(ctx, x: Tensor, centers: Tensor, sigma: float) -> Tensor:
        flat = x.flatten(2)  # (B, C, N)
        counts = torch.stack([torch.exp(-((flat - c) ** 2) / (2 * sigma**2)).sum(-1) for c in centers], -1)
        ctx.save_for_backward(x, centers)
        ctx.sigma = sigma
        return counts

    @staticmethod
    def backward(ctx, grad_counts: Tensor) -> tuple[Tensor, None, None]:
        x, centers = ctx.saved_tensors
        sigma = ctx.sigma
        grad_x = torch.zeros_like(x)
        for k, c in enumerate(centers):
            diff = x - c
            weight = torch.exp(-(diff**2) / (2 * sigma**2))
            grad_x -= grad_counts[..., k, None, None] * weight * diff / sigma**2
        return grad_x, None, None


def soft_histogram(
    x: Tensor, bins: int = 16, sigma: float | None = None, vmin: float = 0.0, vmax: float = 1.0
) -> Tensor:
    """x: (B, C, H, W) in [vmin, vmax] → (B, C, bins), each row summing to 1.

    Bin centres are ``linspace(vmin, vmax, bins)``; weight = exp(-(x-c)²/(2σ²)).
    """
    sigma = default_sigma(bins, vmin, vmax) if sigma is None else float(sigma)
    if sigma <= 0:
        raise ValueError(f"palette sigma must be > 0, got {sigma}")
    x = x if x.dtype == torch.float64 else x.float()  # bf16 histograms would be too coarse
    centers = torch.linspace(vmin, vmax, bins, device=x.device, dtype=x.dtype)
    counts = _SoftHistogramCounts.apply(x, centers, sigma)
    return counts / (counts.sum(-1, keepdim=True) + EPS)


def palette_loss(fake: Tensor, real: Tensor, bins: int = 16, sigma: float | None = None) -> Tensor:
    """Σ_bins |h_fake − h_real| averaged over B·C; fake and real in [0, 1], (B, C, H, W) each.

    ``real`` may hold a different batch size or image size: its histograms are averaged over the
    batch when the sizes differ, so the generator is pulled toward domain B's overall palette.
    """
    h_fake = soft_histogram(fake, bins, sigma)
    h_real = soft_histogram(real, bins, sigma)
    if h_real.shape[0] != h_fake.shape[0]:
        h_real = h_real.mean(0, keepdim=True)
    return (h_fake - h_real).abs().sum(-1).mean()
