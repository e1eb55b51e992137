"""What the merge tests share (a module of its own: ``conftest`` is not a unique name to import from)."""

from __future__ import annotations

from pixel_gan.bench.inference_run import draw_adapters_
from pixel_gan.models.generator import CycleGANTurbo

#: Largest |merged − unmerged| over [-1, 1] outputs, fp32; measured 2.5e-5 on the tiny model (64 px)
#: and 1.5e-5 on the full-size architecture (256 px, rank 128/4): summation order differs, nothing else.
MERGE_TOL = 1e-4


def train_adapters_(generator: CycleGANTurbo, scale: float = 0.05, seed: int = 0) -> CycleGANTurbo:
    """Random LoRA B matrices and skip convs, so every adapter and skip changes the output; frozen."""
    return draw_adapters_(generator, scale, seed).eval().requires_grad_(False)
