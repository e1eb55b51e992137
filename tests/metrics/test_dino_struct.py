"""DINO-struct on a tiny random ViT saved in the real layout and loaded the real way."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from pixel_gan.metrics.dino_struct import CONFIG_KEY, DinoStruct, build_tiny_dino
from pixel_gan.weights import WeightsNotFoundError, load_or_explain, resolve_pretrained

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def dino_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_dino(tmp_path_factory.mktemp("dino") / "tiny-dino")


@pytest.fixture(scope="module")
def metric(dino_dir: Path) -> DinoStruct:
    return DinoStruct.from_pretrained(str(dino_dir))


def _reference_similarity(metric: DinoStruct, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Independent path: hidden state entering the last layer -> its LayerNorm -> key Linear."""
    pixels = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    pixels = (pixels - MEAN) / STD
    vit = metric.vit
    with torch.no_grad():
        out = vit(pixel_values=pixels, interpolate_pos_encoding=True, output_hidden_states=True)
        last = vit.layers[-1]
        keys = last.attention.k_proj(last.layernorm_before(out.hidden_states[-2]))
    norms = keys.norm(dim=-1, keepdim=True)
    return (keys @ keys.transpose(1, 2)) / (norms * norms.transpose(1, 2))


def test_self_similarity_matches_direct_computation(metric: DinoStruct) -> None:
    x = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    sim = metric.self_similarity(x)
    # short side 48 -> 224, long side int(224 * 64 / 48) = 298 -> 28 x 37 patches + CLS
    assert sim.shape == (2, 1 + 28 * 37, 1 + 28 * 37)
    ref = _reference_similarity(metric, x, (224, 298))
    torch.testing.assert_close(sim, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.diagonal(sim, dim1=1, dim2=2), torch.ones(2, sim.shape[1]), atol=1e-5, rtol=0)


def test_forward_is_per_image_mse_of_similarities(metric: DinoStruct) -> None:
    gen = torch.Generator().manual_seed(2)
    inputs = torch.rand(2, 3, 256, 256, generator=gen)
    outputs = torch.rand(2, 3, 64, 64, generator=gen)
    score = metric(inputs, outputs)
    assert score.shape == (2,)
    ref = _reference_similarity(metric, inputs, (224, 224)) - _reference_similarity(metric, outputs, (224, 224))
    torch.testing.assert_close(score, ref.square().mean(dim=(1, 2)), atol=1e-6, rtol=0)
    assert (score > 0).all()


def test_identical_images_score_zero(metric: DinoStruct) -> None:
    x = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(3))
    assert metric(x, x.clone()).abs().max().item() < 1e-12


def test_structure_change_scores_higher_than_colour_change(metric: DinoStruct) -> None:
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    assert metric(x, x.flip(-1)).item() > metric(x, x * 0.999).item()


def test_output_with_other_aspect_is_resized_to_input(metric: DinoStruct) -> None:
    gen = torch.Generator().manual_seed(5)
    inputs = torch.rand(1, 3, 200, 300, generator=gen)  # -> 224 x 336, 28 x 42 patches
    outputs = torch.rand(1, 3, 64, 64, generator=gen)  # -> 224 x 224 alone: different grid
    ref = _reference_similarity(metric, inputs, (224, 336)) - _reference_similarity(metric, outputs, (224, 336))
    torch.testing.assert_close(metric(inputs, outputs), ref.square().mean(dim=(1, 2)), atol=1e-6, rtol=0)


def test_metric_is_frozen_and_stays_in_eval(metric: DinoStruct) -> None:
    metric.train()
    assert not metric.training and not metric.vit.training
    assert not any(p.requires_grad for p in metric.parameters())


def test_missing_directory_names_config_key(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as err:
        DinoStruct.from_pretrained(str(tmp_path / "nowhere"))
    assert CONFIG_KEY in str(err.value) and "config.json" in str(err.value)


def test_directory_without_weights_lists_missing_file(tmp_path: Path, dino_dir: Path) -> None:
    (tmp_path / "config.json").write_text((dino_dir / "config.json").read_text())
    with pytest.raises(WeightsNotFoundError, match="model.safetensors"):
        DinoStruct.from_pretrained(str(tmp_path))


def test_checkpoint_missing_tensors_is_refused(tmp_path: Path, dino_dir: Path) -> None:
    state = load_file(dino_dir / "model.safetensors")
    dropped = [k for k in state if "attention.key" in k or "k_proj" in k]  # saved layout varies by version
    assert dropped
    save_file({k: v for k, v in state.items() if k not in dropped}, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text((dino_dir / "config.json").read_text())
    with pytest.raises(WeightsNotFoundError, match="refusing"):
        DinoStruct.from_pretrained(str(tmp_path))


def test_uncached_hub_id_offline_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError) as err:
        DinoStruct.from_pretrained("pixel-gan-tests/no-such-dino")
    assert CONFIG_KEY in str(err.value)


def test_resolve_pretrained_paths_and_hub_ids(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.bin").write_text("")
    layout = "config.json + weights"
    assert resolve_pretrained("org/name", "k", layout, ["config.json"]) == "org/name"
    assert resolve_pretrained(str(tmp_path), "k", layout, ["config.json", "x.safetensors|model.bin"]) == str(tmp_path)
    with pytest.raises(WeightsNotFoundError, match=r"Missing in .*: x\.safetensors\|y\.bin"):
        resolve_pretrained(str(tmp_path), "k", layout, ["config.json", "x.safetensors|y.bin"])
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        resolve_pretrained("./no/such/dir", "model.pretrained", layout, [])


def test_load_or_explain_wraps_os_errors() -> None:
    def fail() -> None:
        raise OSError("couldn't connect")

    with pytest.raises(WeightsNotFoundError) as err:
        load_or_explain(fail, "org/name", "model.pretrained", "a diffusers dir")
    message = str(err.value)
    assert "model.pretrained" in message and "'org/name'" in message and "a diffusers dir" in message
    assert isinstance(err.value.__cause__, OSError)
    assert load_or_explain(lambda: 7, "org/name", "model.pretrained", "x") == 7
