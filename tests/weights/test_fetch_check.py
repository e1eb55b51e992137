"""``weights fetch|check`` against a fake hub and fake URLs: no test here touches the network."""

from __future__ import annotations

import hashlib
import io
import socket
from pathlib import Path

import pytest
import torch
from fake_hub import place_in_hub, vgg16_features_file
from omegaconf import OmegaConf
from typer.testing import CliRunner

from pixel_gan.weights import files
from pixel_gan.weights.catalog import TORCHVISION_URLS, needed_weights
from pixel_gan.weights.cli import app, compose

INCEPTION = "weights-inception-2015-12-05-6726825d.pth"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_catalogue_urls_are_torchvisions() -> None:
    from torchvision import models

    assert {
        "vgg": models.VGG16_Weights.IMAGENET1K_V1.url,
        "alex": models.AlexNet_Weights.IMAGENET1K_V1.url,
    } == TORCHVISION_URLS


def test_what_each_config_needs() -> None:
    real = {(n.config_key, n.kind, n.source) for n in needed_weights(compose(["64_palette"]))}
    assert real == {
        ("model.pretrained", "hub", "stabilityai/sd-turbo"),
        ("model.clip_pretrained", "hub", "openai/clip-vit-base-patch32"),
        ("loss.lpips_net", "package", real_lpips_file("vgg")),
        ("loss.lpips_backbone_weights", "url", "https://download.pytorch.org/models/vgg16-397923af.pth"),
        ("metrics.dino.pretrained", "hub", "facebook/dino-vitb8"),
        (
            "metrics.fid.inception_weights",
            "url",
            f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION}",
        ),
    }
    smoke = needed_weights(compose(["experiment=smoke"]))  # tiny backbone, patchgan, no metrics: the lpips heads only
    assert [(n.config_key, n.kind) for n in smoke] == [("loss.lpips_net", "package")]
    vgg = next(n for n in needed_weights(compose(["64_default"])) if n.kind == "url" and "vgg16" in n.source)
    assert vgg.sha256_prefix == "397923af"


def real_lpips_file(net: str) -> str:
    import lpips

    return str(Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth")


@pytest.fixture
def fake_sources(tmp_path, tiny_dir, monkeypatch) -> dict[str, int]:
    """Fake hub repos and URLs behind ``download_hub`` and ``open_url``; returns the download counts."""
    from pixel_gan.metrics.dino_struct import build_tiny_dino
    from pixel_gan.models.discriminator import build_tiny_clip_tower

    dino = build_tiny_dino(tmp_path / "src" / "dino")
    (dino / "model.safetensors").rename(dino / "pytorch_model.bin")  # a repo with only the legacy file name
    repos = {
        "stabilityai/sd-turbo": Path(tiny_dir),
        "openai/clip-vit-base-patch32": build_tiny_clip_tower(tmp_path / "src" / "clip"),
        "facebook/dino-vitb8": dino,
    }
    vgg = vgg16_features_file(tmp_path / "src" / "vgg.pth").read_bytes()
    vgg_url = f"https://example.invalid/vgg16-{hashlib.sha256(vgg).hexdigest()[:8]}.pth"
    monkeypatch.setitem(TORCHVISION_URLS, "vgg", vgg_url)
    urls = {vgg_url: vgg, f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION}": b"I" * 100}
    calls = {"hub": 0, "url": 0}

    def download_hub(repo_id, cache, allow_patterns):
        calls["hub"] += 1
        place_in_hub(cache, repo_id, repos[repo_id], allow_patterns)

    def open_url(url):
        calls["url"] += 1
        return Response(urls[url])

    monkeypatch.setattr(files, "download_hub", download_hub)
    monkeypatch.setattr(files, "open_url", open_url)
    return calls


class Response(io.BytesIO):
    """What ``open_url`` returns: the body and its headers."""

    headers: dict[str, str] = {}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_fetch_fills_one_folder_and_writes_overrides_check_agrees(tmp_path, fake_sources) -> None:
    weights, overrides = tmp_path / "weights", tmp_path / "weights.yaml"
    assert invoke("check", "--dir", str(weights), "64_palette").exit_code == 1  # nothing there yet

    result = invoke("fetch", "--dir", str(weights), "--write", str(overrides), "experiment=64_palette")
    assert result.exit_code == 0, result.output
    assert fake_sources == {"hub": 4, "url": 2}  # DINO took two rounds: model.safetensors absent, then the .bin
    values = OmegaConf.to_container(OmegaConf.load(overrides))
    snapshot = Path(values["model"]["pretrained"])
    assert (snapshot / "unet" / "config.json").is_file() and snapshot.is_relative_to(weights / "hub")
    assert (Path(values["metrics"]["dino"]["pretrained"]) / "pytorch_model.bin").is_file()
    assert Path(values["loss"]["lpips_backbone_weights"]).parent == weights / "torch" / "hub" / "checkpoints"
    assert Path(values["metrics"]["fid"]["inception_weights"]).name == INCEPTION
    assert overrides.read_text().startswith("# @package _global_")

    checked = invoke("check", "--dir", str(weights), "64_palette")
    assert checked.exit_code == 0 and "all 6 weights present" in checked.output, checked.output
    # the written overrides point the config at the copies: check without --dir finds them there, verified
    flat = OmegaConf.to_container(OmegaConf.load(overrides))
    dotlist = [f"{k}={v}" for k, v in _flatten(flat).items()]
    via_overrides = invoke("check", "64_palette", *dotlist)
    assert via_overrides.exit_code == 0 and "verified by hash" in via_overrides.output, via_overrides.output
    again = invoke("fetch", "--dir", str(weights), "--write", "-", "64_palette")
    assert again.exit_code == 0 and fake_sources == {"hub": 4, "url": 2}  # all present: nothing downloaded


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_check_finds_a_damaged_blob_and_fetch_replaces_it(tmp_path, fake_sources) -> None:
    weights = tmp_path / "weights"
    assert invoke("fetch", "--dir", str(weights), "--write", "-", "64_palette").exit_code == 0
    blob = (next((weights / "hub").glob("models--facebook--dino-vitb8/snapshots/*")) / "pytorch_model.bin").resolve()
    blob.write_bytes(blob.read_bytes()[:-1] + b"x")
    checked = invoke("check", "--dir", str(weights), "64_palette")
    assert checked.exit_code == 1 and "damaged pytorch_model.bin: sha256" in checked.output, checked.output
    assert invoke("check", "--dir", str(weights), "--no-hashes", "64_palette").exit_code == 0  # presence only
    assert invoke("fetch", "--dir", str(weights), "--write", "-", "64_palette").exit_code == 0
    assert invoke("check", "--dir", str(weights), "64_palette").exit_code == 0


def test_a_download_with_the_wrong_hash_leaves_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(files, "open_url", lambda url: Response(b"not the published file"))
    dest = tmp_path / "checkpoints" / "vgg16-397923af.pth"
    with pytest.raises(files.DownloadError, match="does not start with 397923af"):
        files.download_url("https://example.invalid/vgg16-397923af.pth", dest, "397923af")
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary one


def test_offline_fetch_and_bad_arguments_are_one_line_errors(tmp_path, fake_sources, monkeypatch) -> None:
    for args in (
        ["fetch", "--dir", str(tmp_path / "w"), "experiment=nope"],
        ["check", "--dir", str(tmp_path / "w"), "trainer.max_steps"],
        ["fetch", "--dir", str(tmp_path / "w"), "model.pretrained=/no/such/sd-turbo"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    (tmp_path / "file").write_text("")
    assert "not a directory" in invoke("check", "--dir", str(tmp_path / "file")).output
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = invoke("fetch", "--dir", str(tmp_path / "w"), "--write", "-", "64_palette")
    assert result.exit_code == 2 and "HF_HUB_OFFLINE=1 forbids downloading" in result.output
    assert fake_sources == {"hub": 0, "url": 0}


def test_default_inception_is_read_from_the_torch_hub_cache(tmp_path, monkeypatch) -> None:
    """The URL default resolves to ``$TORCH_HOME/hub/checkpoints/<file>``, where ``weights fetch`` puts it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION
    target.parent.mkdir(parents=True)
    torch.save({"x": torch.zeros(1)}, target)
    url = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION}"
    assert files.cached_url_file(url, "metrics.fid.inception_weights", "layout") == target
