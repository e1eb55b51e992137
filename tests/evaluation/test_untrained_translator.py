"""``Translator.from_pretrained(dir, load_weights=False)``: the run's generator as it was before its first step."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def test_untrained_translator_is_the_step0_generator_whatever_the_seed(tiny_export, tiny_dir, tmp_path: Path) -> None:
    from pixel_gan.inference.translator import Translator
    from pixel_gan.models.backbone import load_backbone
    from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

    export = tiny_export(tmp_path / "run")
    weights = export / "model.safetensors"
    state = load_file(str(weights))
    trained = {k: v + 0.05 if "lora_B" in k else v for k, v in state.items()}  # as if training had moved B
    save_file(trained, str(weights))

    torch.manual_seed(123)  # other LoRA A draws than the export's seed 0: B = 0 makes them irrelevant
    fresh = CycleGANTurbo.from_backbone(
        load_backbone(str(tiny_dir)), "a photo", "pixel art", LoraSettings(unet_rank=8, unet_alpha=8)
    ).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    untrained = Translator.from_pretrained(export, device="cpu", load_weights=False)
    loaded = Translator.from_pretrained(export, device="cpu")
    with torch.no_grad():
        want = fresh(x, "a2b", sample_posterior=False)
        got = untrained.generator(x, "a2b", sample_posterior=False)
        other = loaded.generator(x, "a2b", sample_posterior=False)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert (other - want).abs().max() > 1e-3  # the loaded translator does use the trained tensors
    assert untrained.meta == loaded.meta  # same translator.yaml: resolution, edge preset, captions
