"""Every experiment composes with the right resolution/edge preset/loss; bad values fail clearly."""

import re
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from pixel_gan.config import ConfigError, LossConfig, compose_train_config, typed, validate_config
from pixel_gan.data.edges import load_preset

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
    assert cfg.loss.schedule == "split"
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
        ("edge_preset.mode=blend", "edge_preset.mode"),
        ("edge_preset.low_threshold=220", "low_threshold <= high_threshold"),
        ("loss.schedule=fancy", "loss.schedule must be one of separate, single, split"),
        ("loss.lambda_cycle=nan", "loss.lambda_cycle must be a finite number"),
        ("loss.lambda_gan=-1", "loss.lambda_gan must be >= 0"),
        ("optim.betas=[0.9]", "optim.betas must be two numbers"),
        ("optim.lr_scaling=sqrt", "optim.lr_scaling must be one of fixed, linear"),
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


@pytest.mark.parametrize(
    "group, schedule, palette",
    [("separate", "separate", 0.0), ("combined", "split", 0.0), ("palette", "split", 1.0)],
)
def test_each_loss_group_is_one_schedule_and_a_palette_weight(group, schedule, palette):
    settings = validate_config(compose_train("experiment=smoke", f"loss={group}"))
    assert (settings.loss.schedule, settings.loss.lambda_palette) == (schedule, palette)


@pytest.mark.parametrize(
    "override, message",
    [
        ("loss.lambda_palete=1", "Could not override 'loss.lambda_palete'"),
        ("loss.split_backward=false", "Could not override 'loss.split_backward'"),
        ("optim.lr=fast", "Error merging override optim.lr=fast"),
        ("edge_preset.min_area=big", "Error merging override edge_preset.min_area=big"),
        ("model.grad_ckpt=maybe", "Error merging override model.grad_ckpt=maybe"),
        ("edge_preset.name=sharp", "Could not find 'edge_preset/sharp'"),
    ],
)
def test_hydra_rejects_a_misspelt_key_or_a_wrong_type_while_composing(override, message):
    with pytest.raises(ConfigCompositionException, match=re.escape(message)):
        compose_train("experiment=smoke", override)


@pytest.mark.parametrize("name", ["none", "default", "medium", "low"])
def test_the_preset_group_holds_the_numbers_the_name_lookup_reads(name):
    """``edge_preset=<name>`` on the command line and ``load_preset(name)`` (old exports) give one preset."""
    by_group = validate_config(compose_train("experiment=smoke", f"edge_preset={name}")).edge_preset
    by_name = validate_config(compose_train("experiment=smoke", f"edge_preset.name={name}")).edge_preset
    assert by_group == by_name == load_preset(name)


def test_checkpoint_hparams_of_the_three_old_switches_map_to_one_schedule():
    old = {"name": "combined", "split_backward": False, "lambda_palette": 0.0}
    assert typed(LossConfig, old, "loss").schedule == "single"
    assert typed(LossConfig, {**old, "split_backward": True}, "loss").schedule == "split"
    assert typed(LossConfig, {"name": "separate", "split_backward": False}, "loss").schedule == "separate"
    with pytest.raises(ConfigError, match="loss: "):
        typed(LossConfig, {"lambda_cycel": 1.0}, "loss")


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
        "loss.schedule",
        "loss.lambda_palette",
        "loss.palette_bins",
        "loss.palette_sigma",
        "model.pretrained",
        "data.root",
    ):
        parent, _, leaf = key.rpartition(".")
        assert leaf in OmegaConf.to_container(OmegaConf.select(cfg, parent)), key


def readme_one_liners() -> list[list[str]]:
    """The overrides of every single-run ``python train.py`` line of the README (multiruns sweep; see scaleout)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].split()[2:] for line in readme.splitlines() if line.startswith("python train.py ")]
    return [words for words in lines if not any(w.startswith("-") or w.endswith("\\") for w in words)]


@pytest.mark.parametrize("overrides", readme_one_liners(), ids=" ".join)
def test_the_readme_one_liners_compose_against_the_typed_configs(overrides):
    cfg = compose_train(*(w for w in overrides if "<" not in w))
    assert cfg.task_name == next(w.split("=")[1] for w in overrides if w.startswith("experiment="))
