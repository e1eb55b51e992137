"""The translator's inference paths: merged by default, the unmerged reference, batches over mixed sizes,
merged standalone exports, precisions, and posterior sampling as the original does it."""

from __future__ import annotations

import pytest
import torch
from merge_support import MERGE_TOL, train_adapters_
from PIL import Image

from pixel_gan.inference.merge import lora_layers
from pixel_gan.inference.merged_export import save_merged
from pixel_gan.inference.translator import Translator
from pixel_gan.inference.translator_config import TranslatorConfig


@pytest.fixture(scope="module")
def export(tiny_export, tmp_path_factory):
    """A tiny export whose adapters change the output (drawn LoRA B and skip convs)."""
    run = tiny_export(tmp_path_factory.mktemp("run"))
    translator = Translator.from_pretrained(run, device="cpu", merge=False)
    train_adapters_(translator.generator)
    out = tmp_path_factory.mktemp("trained") / "translator"
    translator.save_pretrained(out)
    return out


def pictures() -> list[Image.Image]:
    """Two sizes, interleaved: batches must regroup them."""
    draw = torch.Generator().manual_seed(3)
    sizes = [(40, 32), (32, 32), (40, 32), (32, 32), (40, 32)]
    return [Image.fromarray((torch.rand(h, w, 3, generator=draw) * 255).byte().numpy()) for w, h in sizes]


def pixels(image: Image.Image) -> torch.Tensor:
    return torch.as_tensor(list(image.convert("RGB").getdata()), dtype=torch.float32)


def max_diff(a: list[Image.Image], b: list[Image.Image]) -> float:
    return max(float((pixels(x) - pixels(y)).abs().max()) for x, y in zip(a, b, strict=True))


def test_merged_by_default_and_equal_to_the_unmerged_reference(export):
    merged = Translator.from_pretrained(export, device="cpu")
    reference = Translator.from_pretrained(export, device="cpu", merge=False)
    assert merged.merged and lora_layers(merged.generator) == []
    assert not reference.merged and lora_layers(reference.generator)
    x = torch.rand(2, 3, 32, 40, generator=torch.Generator().manual_seed(0)) * 2 - 1
    gap = float((merged(x) - reference(x)).abs().max())
    assert 0 < gap < MERGE_TOL or gap == 0
    assert float((reference(x) - x).abs().mean()) > 1e-3  # the translation does something


def test_batches_over_mixed_sizes_equal_single_images(export):
    translator = Translator.from_pretrained(export, device="cpu")
    images = pictures()
    batched = translator.translate(images, batch_size=4)
    singles = [translator.translate(im, batch_size=1) for im in images]
    assert [im.size for im in batched] == [im.size for im in singles]
    assert max_diff(batched, singles) <= 1  # uint8 rounding of outputs within 1e-4


def test_save_pretrained_after_merge_writes_the_trained_tensors(export, tmp_path):
    merged = Translator.from_pretrained(export, device="cpu")
    merged.save_pretrained(tmp_path / "again")
    again = Translator.from_pretrained(tmp_path / "again", device="cpu", merge=False)
    original = Translator.from_pretrained(export, device="cpu", merge=False)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    assert torch.equal(again(x), original(x))


def test_merged_standalone_export_loads_without_the_base(export, tmp_path, monkeypatch):
    translator = Translator.from_pretrained(export, device="cpu")
    save_merged(translator, tmp_path / "merged", dtype="fp32")
    import pixel_gan.models.backbone as backbone

    monkeypatch.setattr(backbone, "build_backbone", lambda *a, **k: pytest.fail("the base was loaded"))
    loaded = Translator.from_pretrained(tmp_path / "merged", device="cpu")
    assert loaded.resolution == translator.resolution and loaded.config.experiment == translator.config.experiment
    assert max_diff(loaded.translate(pictures()), translator.translate(pictures())) == 0
    with pytest.raises(ValueError, match="merged export"):
        Translator.from_pretrained(tmp_path / "merged", device="cpu", merge=False)
    with pytest.raises(ValueError, match="no adapters"):
        loaded.save_pretrained(tmp_path / "nothing")


def test_precisions_run_and_a_bad_name_fails_before_loading(export):
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    want = Translator.from_pretrained(export, device="cpu")(x)
    bf16 = Translator.from_pretrained(export, device="cpu", dtype="bf16")
    assert bf16.generator.unet.conv_in.weight.dtype == torch.bfloat16
    assert float((bf16(x) - want).abs().max()) < 0.1
    with pytest.raises(ValueError, match="precision must be one of"):
        Translator.from_config(TranslatorConfig(), device="cpu", dtype="fp64")


def test_sampling_differs_from_the_mode_and_the_seed_reproduces_it(export):
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 2 - 1
    mode = Translator.from_pretrained(export, device="cpu")
    seeded = [Translator.from_pretrained(export, device="cpu", sample=True, seed=s) for s in (7, 7, 8)]
    first, same, other = (t(x) for t in seeded)
    assert torch.equal(mode(x), mode(x))  # the default is deterministic
    assert float((first - mode(x)).abs().max()) > 1e-3
    assert torch.equal(first, same)
    assert float((first - other).abs().max()) > 1e-3
    # an image's draw does not depend on its batch (batched convolutions round differently: 1e-4)
    assert float((seeded[0](x[1:]) - first[1:]).abs().max()) < 1e-4
