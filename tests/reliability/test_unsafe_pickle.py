"""A file that carries code is refused by every loader of pixel-gan, and its code never runs.

Loaders: training checkpoints (``SafeCheckpointIO``, the ``ckpt_path=`` check), the img2img-turbo
import (``pixel-gan convert``), exported translators (``Translator``, ``pixel-gan translate``, the
app), and the pretrained weights read from local files (LPIPS backbone, FID Inception, DINO).
``train.py ckpt_path=...`` end to end is in ``test_config_faults.py``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from ui_support import gradio_env_restored
from unsafe_payloads import marker_for, python_yaml, torch_pickle

from pixel_gan.inference.export import CONFIG_NAME, WEIGHTS_NAME

TRANSLATOR_META = {
    "model": {"name": "tiny", "backbone": "tiny", "pretrained": None, "lora": {}},
    "prompts": ["a photo", "pixel art"],
    "resolution": 32,
    "edge_preset": {"name": "none"},
    "loss": "combined",
    "experiment": "evil",
    "step": 0,
}


@pytest.mark.parametrize("legacy", [False, True], ids=["torch-zip", "plain-pickle"])
def test_the_payload_runs_when_loaded_unsafely(tmp_path, legacy):
    """The refusals below mean something: a full unpickle of these files does run the payload."""
    path = tmp_path / "evil.ckpt"
    marker = torch_pickle(path, legacy)
    if legacy:
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.read_text() == "ran"
    marker.unlink()
    marker = python_yaml(tmp_path / "evil.yaml")
    yaml.unsafe_load((tmp_path / "evil.yaml").read_text())
    assert marker.read_text() == "ran"


# --- torch pickles: every loader that reads one -----------------------------------------------------
def safe_checkpoint_io(path: Path) -> None:
    from pixel_gan.training.checkpointing import SafeCheckpointIO

    SafeCheckpointIO().load_checkpoint(path, weights_only=False)  # the override is ignored


def ckpt_path_check(path: Path) -> None:
    from pixel_gan.training.checkpointing import check_checkpoint_file

    check_checkpoint_file(path)


def convert_original(path: Path) -> None:
    from pixel_gan.inference.import_original import load_original

    load_original(path)


def lpips_backbone(path: Path) -> None:
    from pixel_gan.losses.perceptual import _load_backbone_features

    _load_backbone_features(None, "vgg", path)  # the file is read before the network is touched


def fid_inception(path: Path) -> None:
    from pixel_gan.metrics.fid import load_inception

    load_inception(str(path))


def dino_bin(path: Path) -> None:
    """A DINO folder whose weights are a legacy ``pytorch_model.bin``."""
    from transformers import ViTConfig

    from pixel_gan.metrics.dino_struct import DinoStruct

    folder = path.parent
    ViTConfig(
        hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8, image_size=16, patch_size=8
    ).save_pretrained(folder)
    path.rename(folder / "pytorch_model.bin")
    DinoStruct.from_pretrained(str(folder))


PICKLE_LOADERS: dict[str, Callable[[Path], None]] = {
    "SafeCheckpointIO": safe_checkpoint_io,
    "ckpt_path-check": ckpt_path_check,
    "convert-pkl": convert_original,
    "lpips-backbone": lpips_backbone,
    "fid-inception": fid_inception,
    "dino-bin": dino_bin,
}


@pytest.mark.parametrize("legacy", [False, True], ids=["torch-zip", "plain-pickle"])
@pytest.mark.parametrize("loader", list(PICKLE_LOADERS))
def test_every_pickle_loader_refuses_a_payload(loader, legacy, tmp_path):
    path = tmp_path / "weights" / "evil.pth"
    marker = torch_pickle(path, legacy)
    with pytest.raises((pickle.UnpicklingError, ValueError)):  # a refusal, not some other breakage
        PICKLE_LOADERS[loader](path)
    assert not marker.exists(), f"{loader} ran the payload"


# --- exported translators: safetensors + safe yaml only ----------------------------------------------
def evil_translator(folder: Path, part: str) -> Path:
    """A translator folder whose weights (``part="weights"``) or config (``part="config"``) carries code."""
    folder.mkdir(parents=True)
    if part == "weights":
        (folder / CONFIG_NAME).write_text(yaml.safe_dump(TRANSLATOR_META))
        return torch_pickle(folder / WEIGHTS_NAME)
    torch.save({}, folder / WEIGHTS_NAME)
    return python_yaml(folder / CONFIG_NAME)


@pytest.mark.parametrize(
    "part, message", [("weights", "is not a safetensors file"), ("config", "is not a plain translator config")]
)
def test_a_translator_carrying_code_is_refused_by_the_api_and_the_cli(part, message, tmp_path, capsys):
    from pixel_gan.cli.translate import main
    from pixel_gan.inference.translator import Translator

    folder = tmp_path / "run" / "translator"
    marker = evil_translator(folder, part)
    with pytest.raises(ValueError, match=message):
        Translator.from_pretrained(folder, device="cpu")
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(photo)
    code = main(["--checkpoint", str(folder.parent), "--input", str(photo), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot load translator") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not marker.exists()


def test_the_app_leaves_out_or_refuses_a_translator_carrying_code(tmp_path, tiny_export):
    gr = pytest.importorskip("gradio")
    outputs = tmp_path / "outputs"
    tiny_export(outputs / "good")
    bad_config = evil_translator(outputs / "bad-config" / "translator", "config")
    bad_weights = evil_translator(outputs / "bad-weights" / "translator", "weights")
    from pixel_gan.ui.app import build_app

    with gradio_env_restored():
        app = build_app([], outputs, work_dir=tmp_path / "work", device="cpu").pixel_app
    labels = list(app.entries)
    assert len(labels) == 2 and not any("bad-config" in label for label in labels)  # its yaml is never built
    [evil] = [label for label in labels if "bad-weights" in label]
    app.upload_dir.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(app.upload_dir / "photo.png")
    with pytest.raises(gr.Error) as info:
        app.convert(str(app.upload_dir / "photo.png"), [evil], upscale="1")
    assert "is not a safetensors file" in info.value.message and "\n" not in info.value.message
    assert not bad_config.exists() and not bad_weights.exists()
    assert marker_for(outputs / "bad-weights" / "translator" / WEIGHTS_NAME) == bad_weights
