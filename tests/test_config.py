"""Every experiment composes with the right resolution/edge preset/loss; bad values fail clearly."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pixel_gan.config import ConfigError, compose_train_config, validate_config

CONF = str(Path(__file__).resolve().parents[1] / "pixel_gan" / "conf")
STUDY = {
    "256_default": (256, "default", "combined"),
    "128_default": (128, "default", "combined"),
    "64_default": (64, "default", "combined"),
    "256_palette": (256, "default", "palette"),
    "128_palette": (128, "default", "palette"),
    "64_palette": (64, "default", "palette"),
    "256_medium": (256, "medium", "combined"),
    "128_medium": (128, "medium", "combined"),
    "128_low": (128, "low", "combined"),
    "64_medium": (64, "medium", "combined"),
    "64_low": (64, "low", "combined"),
}


def compose_train(*overrides: str):
    return compose_train_config(*overrides, output_dir="outputs/test", cache_dir=".cache")


def test_the_eleven_study_experiments_exist_exactly():
    names = {p.stem for p in Path(CONF, "experiment").glob("*.yaml")}
    assert names - {"demo", "smoke"} == set(STUDY)


@pytest.mark.parametrize("name", sorted(STUDY))
def test_experiment_composes(name):
    cfg = compose_train(f"experiment={name}")
    size, preset, loss = STUDY[name]
    assert cfg.resolution.size == size
    assert cfg.edge_preset.name == preset
    assert cfg.loss.name == loss
    assert cfg.loss.lambda_palette == (1.0 if loss == "palette" else 0.0)
    assert cfg.task_name == name
    assert cfg.model.backbone == "pretrained" and cfg.model.pretrained == "stabilityai/sd-turbo"


@pytest.mark.parametrize("name, backbone", [("demo", "demo"), ("smoke", "tiny")])
def test_demo_uses_the_pretrained_demo_base_and_smoke_the_tiny_one_on_cpu(name, backbone):
    cfg = compose_train(f"experiment={name}")
    assert cfg.model.backbone == backbone and cfg.trainer.accelerator == "cpu"
    assert cfg.data.generate_demo
    validate_config(cfg)


def test_the_study_in_miniature_maps_every_experiment_to_a_cpu_size():
    """``+study=mini``: demo data, demo base, CPU, and 256/128/64 px → 64/48/32 px."""
    for path in sorted((Path(__file__).parents[1] / "pixel_gan" / "conf" / "experiment").glob("[0-9]*.yaml")):
        cfg = compose_train(f"experiment={path.stem}", "+study=mini")
        study_size = {"256": 64, "128": 48, "64": 32}[path.stem.split("_")[0]]
        assert (cfg.resolution.size, cfg.model.backbone, cfg.data.generate_demo) == (study_size, "demo", True)
        validate_config(cfg)


@pytest.mark.parametrize(
    "override, message",
    [
        ("resolution.size=60", "multiple of 8"),
        ("resolution.size=abc", "resolution.size must be an integer"),
        ("edge_preset.name=sharp", "edge_preset.name must be one of"),
        ("edge_preset.mode=blend", "edge_preset.mode"),
        ("edge_preset.low_threshold=220", "low_threshold <= high_threshold"),
        ("loss.name=fancy", "loss.name must be one of"),
        ("loss.palette_sigma=-1", "palette_sigma"),
        ("model.lora.unet_rank=0", "model.lora.unet_rank"),
        ("data.batch_size=0", "data.batch_size"),
        ("trainer.accelerator=gpu", "no CUDA GPU"),
        ("trainer.precision=16-mixed", "bf16-mixed"),
    ],
)
def test_bad_values_fail_with_a_clear_message(override, message):
    cfg = compose_train("experiment=smoke", override)
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg)


def test_palette_weight_needs_the_palette_loss():
    cfg = compose_train("experiment=smoke", "loss=combined", "loss.lambda_palette=2.0")
    with pytest.raises(ConfigError, match="use loss=palette"):
        validate_config(cfg)


def test_missing_data_folder_is_named(tmp_path):
    (tmp_path / "train_A").mkdir()
    cfg = compose_train("experiment=smoke", "data.generate_demo=false", f"data.root={tmp_path}")
    with pytest.raises(ConfigError, match="lacks train_B, test_A, test_B"):
        validate_config(cfg)
    cfg = compose_train("experiment=smoke", "data.generate_demo=false", f"data.root={tmp_path}/nope")
    with pytest.raises(ConfigError, match="does not exist"):
        validate_config(cfg)


def test_pretrained_backbone_needs_a_source():
    cfg = compose_train("experiment=smoke", "model=sd_turbo", "model.pretrained=null", "trainer=cpu")
    with pytest.raises(ConfigError, match="model.pretrained"):
        validate_config(cfg)


def test_config_keys_of_the_contract_exist():
    cfg = compose_train("experiment=64_palette")
    for key in (
        "resolution.size",
        "edge_preset.name",
        "edge_preset.low_threshold",
        "edge_preset.high_threshold",
        "edge_preset.min_area",
        "edge_preset.mode",
        "loss.name",
        "loss.lambda_palette",
        "loss.palette_bins",
        "loss.palette_sigma",
        "model.pretrained",
        "data.root",
    ):
        parent, _, leaf = key.rpartition(".")
        assert leaf in OmegaConf.to_container(OmegaConf.select(cfg, parent)), key
