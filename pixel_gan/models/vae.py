"""SD-Turbo's VAE with CycleGAN-Turbo's encoder→decoder skip connections, passed explicitly.

The encoder keeps the input of each down block (4 tensors, full to 1/8 resolution); the decoder
adds them, deepest first, through four bias-free 1×1 convs before each up block. The skip
convs start at 1e-5 so the model begins as the plain VAE, and they are trainable parameters of
this module (not of the LoRA-wrapped VAE, so peft cannot freeze them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import AutoencoderKL
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def skip_channels(block_out_channels: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    """(in, out) channels of the skip convs, deepest skip first.

    Encoder skips are the inputs of its down blocks: [c0, c0, c1, c2] for block_out [c0..c3];
    the decoder's up block i takes reversed(block_out)[max(i-1, 0)] channels.
    For SD-Turbo (128, 256, 512, 512): (512→512), (256→512), (128→512), (128→256).
    """
    chans = list(block_out_channels)
    enc_skips = [chans[0], *chans[:-1]]
    rev = chans[::-1]
    dec_inputs = [rev[max(i - 1, 0)] for i in range(len(rev))]
    return list(zip(enc_skips[::-1], dec_inputs, strict=True))


class SkipVAE(nn.Module):
    """One direction's VAE: encode → (latent, skips); decode(latent, skips) → image in [-1, 1]."""

    def __init__(self, vae: AutoencoderKL, gamma: float = 1.0, skip_init: float = 1e-5) -> None:
        super().__init__()
        self.vae = vae
        self.gamma = gamma
        self.scaling_factor = float(vae.config.scaling_factor)
        convs = [
            nn.Conv2d(c_in, c_out, kernel_size=1, bias=False)
            for c_in, c_out in skip_channels(vae.config.block_out_channels)
        ]
        for conv in convs:
            nn.init.constant_(conv.weight, skip_init)
        self.skip_convs = nn.ModuleList(convs)
        self.grad_ckpt = False

    def _run(self, fn: Callable[..., Tensor], *args: Tensor | None) -> Tensor:
        if self.grad_ckpt and torch.is_grad_enabled():
            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)

    def encode(
        self, x: Tensor, sample: bool = True, rng: list[torch.Generator] | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """x: (B, 3, H, W) in [-1, 1] → scaled latent (B, 4, H/8, W/8) and the 4 encoder skips.

        ``sample``: draw from the posterior (training, the original's inference) instead of taking its
        mode; ``rng``: one generator per image for that draw (reproducible sampling), else torch's global RNG.
        """
        enc = self.vae.encoder
        h = enc.conv_in(x)
        skips = []
        for block in enc.down_blocks:
            skips.append(h)
            h = self._run(block, h)
        h = self._run(enc.mid_block, h)
        h = enc.conv_out(enc.conv_act(enc.conv_norm_out(h)))
        if self.vae.quant_conv is not None:
            h = self.vae.quant_conv(h)
        posterior = DiagonalGaussianDistribution(h)
        z = posterior.sample(generator=rng) if sample else posterior.mode()
        return z * self.scaling_factor, skips

    def decode(self, z: Tensor, skips: list[Tensor]) -> Tensor:
        """z: scaled latent; skips: as returned by :meth:`encode`. Returns (B, 3, H, W), clamped to [-1, 1]."""
        dec = self.vae.decoder
        z = z / self.scaling_factor
        if self.vae.post_quant_conv is not None:
            z = self.vae.post_quant_conv(z)
        h = dec.conv_in(z)
        h = self._run(dec.mid_block, h, None)
        for conv, skip, block in zip(self.skip_convs, reversed(skips), dec.up_blocks, strict=True):
            h = h + conv(skip * self.gamma)
            h = self._run(block, h, None)
        h = dec.conv_out(dec.conv_act(dec.conv_norm_out(h)))
        return h.clamp(-1, 1)
