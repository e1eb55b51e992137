"""How much of a translation's arithmetic the adapters are: the ceiling on what merging can buy.

``torch.utils.flop_counter`` counts the matmuls, convolutions and attention of one forward pass
(element-wise work is not counted; it is small next to them and merging does not change it). The
count needs only shapes, so a generator built on the meta device is counted without memory or
compute: the full-size architecture in seconds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode

from pixel_gan.inference.merge import merge_adapters
from pixel_gan.models.backbone import SD_TURBO_SCHEDULER, SD_TURBO_UNET, SD_TURBO_VAE
from pixel_gan.models.generator import CycleGANTurbo, Direction, LoraSettings, add_adapters

TEXT_TOKENS, TEXT_DIM = 77, 1024  # SD-Turbo's caption embedding shape


def op_flops(generator: CycleGANTurbo, size: int | tuple[int, int], direction: Direction = "a2b") -> dict[str, int]:
    """FLOPs per aten op (``aten.convolution``, ``aten.mm``, ...) of one ``size`` translation at batch 1,
    run on the device and in the dtype of the generator's weights."""
    height, width = (size, size) if isinstance(size, int) else size
    weight = generator.unet.conv_in.weight
    x = torch.zeros(1, 3, height, width, device=weight.device, dtype=weight.dtype)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        generator(x, direction, sample_posterior=False)
    return {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}


def count_flops(generator: CycleGANTurbo, size: int | tuple[int, int], direction: Direction = "a2b") -> int:
    """Total FLOPs of one ``size`` translation at batch 1."""
    return sum(op_flops(generator, size, direction).values())


@dataclass(frozen=True)
class MergeLimit:
    """FLOPs with the adapters unmerged and merged; ``limit`` = their ratio, the speed-up ceiling."""

    unmerged: int
    merged: int

    @property
    def limit(self) -> float:
        return self.unmerged / self.merged

    @property
    def adapter_share(self) -> float:
        """Fraction of the unmerged work spent in the adapters."""
        return 1 - self.merged / self.unmerged


def merge_limit(generator: CycleGANTurbo, size: int | tuple[int, int], direction: Direction = "a2b") -> MergeLimit:
    """Count one translation with the adapters as they are and with them merged into the base weights."""
    merged = merge_adapters(generator)
    return MergeLimit(count_flops(generator, size, direction), count_flops(merged, size, direction))


def full_size_on_meta(lora: LoraSettings | None = None) -> CycleGANTurbo:
    """The full-size architecture (``model=sd_turbo_random``) with its adapters, on the meta device."""
    with torch.device("meta"):
        unet, vae = UNet2DConditionModel(**SD_TURBO_UNET), AutoencoderKL(**SD_TURBO_VAE)
        vae_a2b, vae_b2a = add_adapters(unet, vae, lora or LoraSettings())
        emb = torch.zeros(1, TEXT_TOKENS, TEXT_DIM)
    return CycleGANTurbo(unet, vae_a2b, vae_b2a, DDPMScheduler(**SD_TURBO_SCHEDULER), emb, emb)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m pixel_gan.inference.flops --size 256``: the merge limit of the full-size architecture."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (multiple of 8)")
    args = parser.parse_args(argv)
    result = merge_limit(full_size_on_meta(), args.size)
    print(
        f"full size, {args.size} px, batch 1: unmerged {result.unmerged / 1e9:.1f} GFLOP, merged "
        f"{result.merged / 1e9:.1f} GFLOP, adapters {100 * result.adapter_share:.1f} %, limit {result.limit:.4f}x"
    )


if __name__ == "__main__":
    main()
