"""The standalone merged export: round trip, no base and no peft needed, clear errors, never half-written."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

from pixel_gan.inference.merge import lora_layers, merge_adapters
from pixel_gan.inference.merged_export import MERGED_CONFIG, MERGED_WEIGHTS, MergedExportError, load_merged, save_merged

#: fp16 storage, fp32 compute: measured max |Δ| 1.2e-2 (tiny model, drawn adapters) and 5.1e-3 (full size,
#: 256 px) on [-1, 1] outputs.
FP16_TOL = 5e-2
META = {"resolution": 32, "edge_preset": {"name": "default"}, "prompts": ["a photo", "pixel art"]}


def outputs(generator, x):
    with torch.inference_mode():
        return [
            generator(x.to(generator.unet.conv_in.weight.dtype), d, sample_posterior=False).float()
            for d in ("a2b", "b2a")
        ]


@pytest.fixture
def merged(trained_tiny):
    return merge_adapters(trained_tiny)


def test_fp32_round_trip_is_exact_and_carries_the_settings(merged, images, tmp_path):
    translator = SimpleNamespace(generator=merged, meta={**META, "model": {"backbone": "tiny"}})
    save_merged(translator, tmp_path / "m", dtype="fp32")
    loaded, settings = load_merged(tmp_path / "m")
    assert settings == META  # the base reference is not carried: nothing of it is needed
    assert lora_layers(loaded) == [] and loaded.timestep == merged.timestep
    for got, want in zip(outputs(loaded, images), outputs(merged, images), strict=True):
        assert torch.equal(got, want)


def test_fp16_is_half_the_size_and_within_tolerance(merged, images, tmp_path):
    save_merged(merged, tmp_path / "m32", dtype="fp32", meta=META)
    save_merged(merged, tmp_path / "m16", dtype="fp16", meta=META)
    size32, size16 = ((tmp_path / d / MERGED_WEIGHTS).stat().st_size for d in ("m32", "m16"))
    assert size16 < 0.55 * size32
    loaded, _ = load_merged(tmp_path / "m16", dtype="fp32")
    for got, want in zip(outputs(loaded, images), outputs(merged, images), strict=True):
        assert 0 < (got - want).abs().max() < FP16_TOL
    kept, _ = load_merged(tmp_path / "m16")
    assert kept.unet.conv_in.weight.dtype == torch.float16


def test_an_unmerged_generator_is_merged_on_export(trained_tiny, images, tmp_path):
    save_merged(trained_tiny, tmp_path / "m", dtype="fp32", meta=META)
    assert lora_layers(trained_tiny)  # the given generator stays as it was
    loaded, _ = load_merged(tmp_path / "m")
    for got, want in zip(outputs(loaded, images), outputs(merge_adapters(trained_tiny), images), strict=True):
        assert torch.equal(got, want)


def test_loading_needs_neither_peft_nor_the_base(merged, tmp_path, monkeypatch):
    save_merged(merged, tmp_path / "m", dtype="fp32", meta=META)
    import pixel_gan.models.backbone as backbone

    def refuse(*args, **kwargs):
        raise AssertionError("the base model was loaded")

    monkeypatch.setattr(backbone, "load_backbone", refuse)
    monkeypatch.setattr(backbone, "build_backbone", refuse)
    loaded, _ = load_merged(tmp_path / "m")
    assert not any(type(m).__module__.startswith("peft") for m in loaded.modules())


def test_missing_files_name_the_file(merged, tmp_path):
    save_merged(merged, tmp_path / "m", dtype="fp32", meta=META)
    for name in (MERGED_WEIGHTS, MERGED_CONFIG):
        folder = tmp_path / f"without-{name}"
        folder.mkdir()
        other = MERGED_CONFIG if name == MERGED_WEIGHTS else MERGED_WEIGHTS
        (folder / other).write_bytes((tmp_path / "m" / other).read_bytes())
        with pytest.raises(MergedExportError, match=f"{folder / name} is missing"):
            load_merged(folder)
    with pytest.raises(MergedExportError, match="merged export not found"):
        load_merged(tmp_path / "nowhere")


def test_corrupt_files_name_the_file(merged, tmp_path):
    save_merged(merged, tmp_path / "m", dtype="fp32", meta=META)
    weights, config = tmp_path / "m" / MERGED_WEIGHTS, tmp_path / "m" / MERGED_CONFIG
    good_weights, good_config = weights.read_bytes(), config.read_text()

    weights.write_bytes(good_weights[: len(good_weights) // 2])
    with pytest.raises(MergedExportError, match=f"{weights} is not a readable safetensors file"):
        load_merged(tmp_path / "m")
    weights.write_bytes(good_weights)

    state = load_file(str(weights))
    state.pop("unet.conv_in.weight")
    save_file(state, str(weights))
    with pytest.raises(
        MergedExportError, match=r"merged.safetensors does not match merged.json: missing \['unet.conv_in.weight'\]"
    ):
        load_merged(tmp_path / "m")
    weights.write_bytes(good_weights)

    config.write_text("{not json")
    with pytest.raises(MergedExportError, match=f"{config}: cannot read"):
        load_merged(tmp_path / "m")
    broken = json.loads(good_config)
    broken["timestep"] = "late"
    config.write_text(json.dumps(broken))
    with pytest.raises(MergedExportError, match=f"{config}: timestep must be a int"):
        load_merged(tmp_path / "m")
    broken = json.loads(good_config)
    broken["unet"]["block_out_channels"] = [16, 32]
    config.write_text(json.dumps(broken))
    with pytest.raises(MergedExportError, match="does not match merged.json"):
        load_merged(tmp_path / "m")


def test_a_failed_export_leaves_nothing_and_an_unrelated_folder_is_refused(merged, tmp_path):
    with torch.no_grad():
        merged.unet.conv_in.weight[0, 0, 0, 0] = 1e6  # over fp16's range: inf after the cast
    with pytest.raises(ValueError, match="unet.conv_in.weight"):
        save_merged(merged, tmp_path / "m", dtype="fp16", meta=META)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not a merged export"):
        save_merged(merged, tmp_path / "photos", dtype="fp32", meta=META)
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"x"


def test_replacing_an_export_swaps_the_whole_folder(merged, tmp_path):
    save_merged(merged, tmp_path / "m", dtype="fp16", meta=META)
    save_merged(merged, tmp_path / "m", dtype="fp32", meta=META)
    assert json.loads((tmp_path / "m" / MERGED_CONFIG).read_text())["precision"] == "fp32"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
