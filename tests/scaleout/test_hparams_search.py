"""hparams_search=palette_optuna: an Optuna sweep over the palette loss that minimizes a validation metric."""

from __future__ import annotations

import yaml
from hydra import compose, initialize_config_dir

from pixel_gan.config import CONF_DIR
from pixel_gan.metrics.pixel_art import METRIC_DIRECTIONS

SEARCHED = {"loss.lambda_palette", "loss.palette_sigma", "loss.palette_bins"}


def compose_search(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name="train", overrides=["hparams_search=palette_optuna", *overrides], return_hydra_config=True
        )


def test_palette_search_space_and_objective():
    cfg = compose_search("experiment=64_default")  # a study variant without the palette loss
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.loss.lambda_palette == 1.0  # the search switches the palette loss on
    assert set(sweeper.params) == SEARCHED
    for key in SEARCHED:  # every searched key exists in the composed config (an override of a typo would add one)
        assert key.split(".")[1] in cfg.loss, key
    assert sweeper.params["loss.palette_bins"] == "choice(8, 16, 32)"
    assert "log" in sweeper.params["loss.lambda_palette"] and "interval" in sweeper.params["loss.palette_sigma"]
    metric = cfg.optimized_metric.removeprefix("val/")
    assert cfg.optimized_metric.startswith("val/") and metric in METRIC_DIRECTIONS
    assert sweeper.direction == {"lower": "minimize", "higher": "maximize"}[METRIC_DIRECTIONS[metric]]
    assert sweeper.sampler._target_.endswith("TPESampler") and sweeper.sampler.seed is not None


def test_two_trials_on_the_smoke_experiment_report_the_validation_metric(train_command, tmp_path):
    """Each trial trains 2 steps, validates, and main() hands val/palette_distance back to Optuna."""
    sweep = tmp_path / "sweep"
    result = train_command.run(
        "-m",
        "hparams_search=palette_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.sampler.n_startup_trials=2",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stdout[-4000:]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == SEARCHED
    assert 0 < best["best_value"] < 2  # a palette distance: Σ|h_fake − h_real| over bins, in [0, 2]
    trials = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(trials) == 2
    for trial in trials:
        overrides = yaml.safe_load((trial / ".hydra" / "overrides.yaml").read_text())
        assert {o.split("=")[0] for o in overrides} >= SEARCHED
        assert (trial / "metrics.jsonl").is_file()
