"""Inference dtypes, memory layout and attention kernels for a merged generator.

Each switch is separate so the benchmark can measure it alone: half precision (fp16/bf16) halves
the weights and uses tensor cores on a GPU but may be slower on a CPU; channels_last suits
cuDNN/oneDNN convolutions; SDPA is torch's fused attention (diffusers' ``AttnProcessor2_0``).
"""

from __future__ import annotations

from collections import Counter

import torch
from diffusers.models.attention_processor import AttnProcessor2_0
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from pixel_gan.inference.options import PRECISION_NAMES
from pixel_gan.models.generator import CycleGANTurbo

PRECISIONS: dict[str, torch.dtype] = dict(
    zip(PRECISION_NAMES, (torch.float32, torch.bfloat16, torch.float16), strict=True)
)
SDPA_OP = "scaled_dot_product"  # aten.scaled_dot_product_attention and its fused kernels


def precision_dtype(precision: str | torch.dtype) -> torch.dtype:
    """``fp32``/``bf16``/``fp16`` (or a dtype) → the dtype; anything else is one clear error."""
    if isinstance(precision, torch.dtype):
        if precision not in PRECISIONS.values():
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision}")
        return precision
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    return PRECISIONS[precision]


def attention_modules(generator: CycleGANTurbo) -> list[nn.Module]:
    """The diffusers models that hold attention processors: the UNet and both directions' VAEs."""
    return [generator.unet, generator.vae_a2b.vae, generator.vae_b2a.vae]


def attention_processors(generator: CycleGANTurbo) -> Counter[str]:
    """How many attention layers use each processor class (e.g. ``{"AttnProcessor2_0": 34}``)."""
    found: Counter[str] = Counter()
    for model in attention_modules(generator):
        found.update(type(p).__name__ for p in model.attn_processors.values())  # type: ignore[operator]
    return found


def use_sdpa_(generator: CycleGANTurbo) -> None:
    """Route every attention layer through torch's fused scaled-dot-product attention."""
    for model in attention_modules(generator):
        model.set_attn_processor(AttnProcessor2_0())  # type: ignore[operator]


class _OpRecorder(TorchDispatchMode):
    """Records the name of every aten op that runs under it."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(str(func))
        return func(*args, **(kwargs or {}))


def ops_run(generator: CycleGANTurbo, size: int = 32) -> set[str]:
    """The aten ops one ``size``-px translation runs, on the generator's device and dtype."""
    weight = generator.unet.conv_in.weight
    recorder = _OpRecorder()
    with torch.inference_mode(), recorder:
        generator(
            torch.zeros(1, 3, size, size, device=weight.device, dtype=weight.dtype), "a2b", sample_posterior=False
        )
    return recorder.ops


def sdpa_in_use(generator: CycleGANTurbo, size: int = 32) -> bool:
    """Whether a real forward pass computes attention with torch's SDPA (checked on the ops it runs,
    not on the processor names: a processor may fall back to plain matmuls)."""
    return any(SDPA_OP in op for op in ops_run(generator, size))


def prepare_for_inference(
    generator: CycleGANTurbo, precision: str | torch.dtype = "fp32", channels_last: bool = False, sdpa: bool = True
) -> CycleGANTurbo:
    """Cast (all weights and caption embeddings), set the memory layout and the attention kernel; in place.

    Inputs must then be given in the same dtype (and ``channels_last`` layout, see :func:`prepare_input`).
    """
    generator.to(precision_dtype(precision))
    if channels_last:
        generator.to(memory_format=torch.channels_last)
    if sdpa:
        use_sdpa_(generator)
    return generator.eval().requires_grad_(False)


def prepare_input(x: torch.Tensor, generator: CycleGANTurbo) -> torch.Tensor:
    """A (B, 3, H, W) batch in the generator's device, dtype and memory layout."""
    weight = generator.unet.conv_in.weight
    layout = torch.channels_last if weight.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    return x.to(device=weight.device, dtype=weight.dtype, memory_format=layout)
