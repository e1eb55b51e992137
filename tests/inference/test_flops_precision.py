"""FLOP counts (the ceiling on merging's speed-up) and the inference precision/kernel switches."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor

from pixel_gan.inference.flops import count_flops, full_size_on_meta, merge_limit
from pixel_gan.inference.merge import merge_adapters
from pixel_gan.inference.precision import (
    attention_modules,
    attention_processors,
    precision_dtype,
    prepare_for_inference,
    prepare_input,
    sdpa_in_use,
)
from pixel_gan.models.generator import CycleGANTurbo


def lora_flops(generator: CycleGANTurbo, size: int) -> int:
    """Independent count of the adapters' work: for each LoRA layer, A then B on that layer's input,
    2·(in·r·k² + r·out)·H·W for a conv and 2·(in·r + r·out)·tokens for a linear, from hooked shapes."""
    total = 0

    def hook(module, args, _output):
        nonlocal total
        x = args[0]
        for a, b in zip(module.lora_A.values(), module.lora_B.values(), strict=True):
            if isinstance(a, torch.nn.Conv2d):
                h, w = x.shape[-2] // a.stride[0], x.shape[-1] // a.stride[1]
                k = a.kernel_size[0] * a.kernel_size[1]
                total += 2 * x.shape[0] * h * w * (a.in_channels * a.out_channels * k + b.in_channels * b.out_channels)
            else:
                total += 2 * x[..., 0].numel() * (a.in_features * a.out_features + b.in_features * b.out_features)

    handles = [m.register_forward_hook(hook) for m in generator.modules() if hasattr(m, "lora_A")]
    with torch.inference_mode():
        generator(torch.zeros(1, 3, size, size, device="meta"), "a2b", sample_posterior=False)
    for handle in handles:
        handle.remove()
    return total


def test_merge_removes_exactly_the_adapters_work_on_the_full_size_layout():
    generator = full_size_on_meta()  # counted on the meta device: shapes only, no memory
    result = merge_limit(generator, 64)
    assert result.unmerged - result.merged == lora_flops(generator, 64)
    assert 1.0 < result.limit < 2.0
    assert result.adapter_share == pytest.approx(1 - result.merged / result.unmerged)


def test_count_scales_with_the_image_area(trained_tiny):
    merged = merge_adapters(trained_tiny)
    small, large = count_flops(merged, 32), count_flops(merged, 64)
    assert large > 3 * small  # convolutions dominate: ~4× (attention over tokens grows faster)
    assert count_flops(merged, (32, 64)) == count_flops(merged, (64, 32))


def test_sdpa_is_detected_from_the_ops_that_run(trained_tiny):
    merged = merge_adapters(trained_tiny)
    for model in attention_modules(merged):  # the classic processor: baddbmm + softmax
        model.set_attn_processor(AttnProcessor())
    assert set(attention_processors(merged)) == {"AttnProcessor"}
    assert not sdpa_in_use(merged, 32)
    prepare_for_inference(merged, "fp32", sdpa=True)
    assert sdpa_in_use(merged, 32)
    assert set(attention_processors(merged)) == {"AttnProcessor2_0"}


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_and_channels_last(trained_tiny, images, precision):
    merged = merge_adapters(trained_tiny)
    with torch.inference_mode():
        reference = merged(images, "a2b", sample_posterior=False)
    prepare_for_inference(merged, precision, channels_last=True)
    dtype = precision_dtype(precision)
    assert {p.dtype for p in merged.parameters()} == {dtype} and merged.emb_a2b.dtype == dtype
    assert merged.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    x = prepare_input(images, merged)
    assert x.dtype == dtype and x.is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = merged(x, "a2b", sample_posterior=False).float()
    assert (out - reference).abs().max() < 0.1  # half precision: agrees to the first decimal on [-1, 1]


def test_unknown_precision_is_one_clear_error():
    with pytest.raises(ValueError, match="precision must be one of"):
        precision_dtype("fp8")
