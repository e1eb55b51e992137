"""A ``last.ckpt`` written before the typed configs and the training package still resumes.

``tests/fixtures/last_ckpt_v0.json`` records what such a checkpoint holds (written by
``python train.py experiment=smoke loss=separate edge_preset=medium`` at the earlier layout): its
hyper-parameters (``loss.name`` + ``loss.split_backward``, the preset by name), every trained tensor's
name and shape, and the optimizers' parameter groups. Resuming needs today's module to expect exactly
those tensors and groups, and today's config types to read those hyper-parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from pixel_gan.config import LossConfig, typed

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "last_ckpt_v0.json"


def old_checkpoint() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_old_loss_hyperparameters_read_as_the_same_schedule() -> None:
    old = old_checkpoint()["hyper_parameters"]["loss"]
    assert (old["name"], old["split_backward"]) == ("separate", False)
    loss = typed(LossConfig, old, "loss")
    assert loss.schedule == "separate"
    assert (loss.lambda_cycle_lpips, loss.lambda_palette, loss.lpips_net) == (10.0, 0.0, "alex")


def test_todays_module_expects_exactly_the_old_trained_tensors(build_module) -> None:
    old = old_checkpoint()
    module, _ = build_module("loss=separate", "edge_preset=medium")
    # A checkpoint of today's module with the old tensors' names and shapes (zeros): on_load_checkpoint
    # refuses a missing tensor or another shape, and load_state_dict must find every one of them.
    state = {name: torch.zeros(shape) for name, shape in old["state_dict"].items()}
    module.on_load_checkpoint({"state_dict": state})
    result = module.load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    own = module.state_dict()
    trained = {k for k in own if k.startswith("generator.")} & set(state)
    assert trained and all(torch.count_nonzero(own[k]) == 0 for k in trained)  # the values really arrived


def test_todays_optimizers_have_the_old_parameter_groups(build_module) -> None:
    old = old_checkpoint()
    module, _ = build_module("loss=separate", "edge_preset=medium")
    optimizers, _ = module.configure_optimizers()
    assert [[len(g["params"]) for g in opt.param_groups] for opt in optimizers] == old["optimizer_param_groups"]
