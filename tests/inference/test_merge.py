"""Merged inference: same function as the adapters unmerged, with no peft layer left."""

from __future__ import annotations

import torch
from merge_support import MERGE_TOL
from peft.tuners.tuners_utils import BaseTunerLayer

from pixel_gan.inference.merge import lora_layers, merge_adapters


def run(generator, x, direction):
    with torch.inference_mode():
        return generator(x, direction, sample_posterior=False)


def test_merged_matches_unmerged_within_tolerance(trained_tiny, images):
    merged = merge_adapters(trained_tiny)
    for direction in ("a2b", "b2a"):
        reference, fast = run(trained_tiny, images, direction), run(merged, images, direction)
        assert (fast - reference).abs().max() < MERGE_TOL, direction


def test_the_adapters_change_the_output_so_the_comparison_means_something(trained_tiny, images):
    merged = merge_adapters(trained_tiny)
    for module in trained_tiny.modules():  # the base alone: every adapter switched off
        if isinstance(module, BaseTunerLayer):
            module.enable_adapters(False)
    base_only = run(trained_tiny, images, "a2b")
    assert (base_only - run(merged, images, "a2b")).abs().max() > 100 * MERGE_TOL


def test_no_peft_layers_remain_and_the_original_is_untouched(trained_tiny):
    count = len(lora_layers(trained_tiny))
    merged = merge_adapters(trained_tiny)
    assert lora_layers(merged) == []
    assert not [n for n, _ in merged.named_parameters() if "lora_" in n or "base_layer" in n]
    assert not any(hasattr(m, "peft_config") for m in merged.modules())
    assert len(lora_layers(trained_tiny)) == count > 0
    assert not any(p.requires_grad for p in merged.parameters()) and not merged.training


def test_each_direction_keeps_its_own_vae_adapter(trained_tiny):
    merged = merge_adapters(trained_tiny)
    a2b, b2a = merged.vae_a2b.vae.encoder.conv_in.weight, merged.vae_b2a.vae.encoder.conv_in.weight
    base = trained_tiny.vae_a2b.vae.encoder.conv_in.get_base_layer().weight
    assert not torch.equal(a2b, b2a) and not torch.equal(a2b, base)


def test_inplace_converts_the_given_generator(trained_tiny, images):
    reference = run(trained_tiny, images, "b2a")
    same = merge_adapters(trained_tiny, inplace=True)
    assert same is trained_tiny and lora_layers(trained_tiny) == []
    assert (run(same, images, "b2a") - reference).abs().max() < MERGE_TOL
