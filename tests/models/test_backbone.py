import shutil

import pytest
import torch

from pixel_gan.models.backbone import build_backbone, load_backbone, tiny_backbone_dir
from pixel_gan.weights import WeightsNotFoundError


def test_tiny_backbone_is_saved_in_hub_layout(tiny_dir):
    for rel in (
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "scheduler/scheduler_config.json",
    ):
        assert (tiny_dir / rel).is_file(), rel
    assert any((tiny_dir / "tokenizer" / n).is_file() for n in ("tokenizer.json", "vocab.json"))


def test_tiny_backbone_round_trips_through_the_pretrained_path(tiny_dir, cache_dir):
    via_tiny = build_backbone("tiny", cache_dir=cache_dir)
    via_path = build_backbone("pretrained", pretrained=str(tiny_dir))
    assert tiny_backbone_dir(cache_dir) == tiny_dir  # cached: built once
    for a, b in zip(via_tiny.unet.state_dict().values(), via_path.unet.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert via_path.scheduler.config.timestep_spacing == "trailing"
    ids = via_path.tokenizer("pixel art", padding="max_length", max_length=77, truncation=True).input_ids
    assert len(ids) == 77 and ids[0] == via_path.tokenizer.bos_token_id


def test_missing_directory_names_config_key_and_layout(tmp_path):
    with pytest.raises(WeightsNotFoundError) as err:
        load_backbone(str(tmp_path / "nowhere"))
    assert "model.pretrained" in str(err.value) and "unet/" in str(err.value)


def test_incomplete_directory_lists_missing_files(tiny_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    (broken / "unet" / "config.json").unlink()
    with pytest.raises(WeightsNotFoundError, match="unet/config.json"):
        load_backbone(str(broken))


def test_pretrained_without_source_fails_clearly():
    with pytest.raises(WeightsNotFoundError, match="model.pretrained"):
        build_backbone("pretrained", pretrained=None)


def test_offline_hub_id_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="model.pretrained"):
        load_backbone("stabilityai/sd-turbo")
