"""A non-finite loss skips its optimizer step (weights untouched, ``train/skipped_steps`` counted);
``max_consecutive_skips`` iterations in a row stop training with a message that says what to change."""

from __future__ import annotations

import lightning as L
import pytest
import torch

import pixel_gan.losses.terms as loss_terms
from pixel_gan.config import ConfigError
from pixel_gan.training.steps import TrainingDivergedError


def snapshot(module) -> dict[str, list[torch.Tensor]]:
    return {
        "g": [t.clone() for t in module.generator.trainable_state_dict().values()],
        "d": [p.detach().clone() for p in module.discriminators.parameters() if p.requires_grad],
    }


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class Snapshots(L.Callback):
    """The trained tensors before training and after every iteration."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.states = [snapshot(pl_module)]

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        self.states.append(snapshot(pl_module))


def poison(monkeypatch, name: str, calls: int | None) -> None:
    """Make ``pixel_gan.losses.terms.<name>`` return NaN for its first ``calls`` calls (None: always)."""
    original, count = getattr(loss_terms, name), {"n": 0}

    def nan_loss(*args, **kwargs):
        count["n"] += 1
        loss = original(*args, **kwargs)
        return loss * float("nan") if calls is None or count["n"] <= calls else loss

    monkeypatch.setattr(loss_terms, name, nan_loss)


@pytest.mark.parametrize(
    "overrides", [(), ("loss=combined", "loss.schedule=single")], ids=["split-backward", "single-backward"]
)
def test_a_non_finite_generator_loss_skips_only_the_generator_step(build_module, monkeypatch, cpu_trainer, overrides):
    module, dm = build_module(*overrides)
    poison(monkeypatch, "generator_adversarial_loss", calls=2)  # both domains' GAN terms of iteration 1
    snaps = Snapshots()
    trainer = cpu_trainer(1, snaps)
    trainer.fit(module, datamodule=dm)
    before, after_first = snaps.states[0], snaps.states[1]
    assert same(before["g"], after_first["g"])  # the generator step was skipped
    assert not same(before["d"], after_first["d"])  # the discriminator still stepped
    assert trainer.global_step == 1 and len(snaps.states) == 3  # the skipped iteration is not counted
    assert not same(after_first["g"], snaps.states[2]["g"])
    assert module.skipped_steps == 1 and module.consecutive_skips == 0
    assert float(trainer.callback_metrics["train/skipped_steps"]) == 1.0


def test_a_non_finite_discriminator_loss_skips_only_the_discriminator_step(build_module, monkeypatch, cpu_trainer):
    module, dm = build_module()
    poison(monkeypatch, "discriminator_adversarial_loss", calls=2)
    snaps = Snapshots()
    cpu_trainer(2, snaps).fit(module, datamodule=dm)
    before, after_first = snaps.states[0], snaps.states[1]
    assert same(before["d"], after_first["d"])
    assert not same(before["g"], after_first["g"])
    assert module.skipped_steps == 1


@pytest.mark.parametrize("loss", ["palette", "separate"])
def test_a_loss_that_stays_non_finite_stops_training_with_a_clear_message(build_module, monkeypatch, cpu_trainer, loss):
    module, dm = build_module(f"loss={loss}", "max_consecutive_skips=3")
    poison(monkeypatch, "generator_adversarial_loss", calls=None)
    snaps = Snapshots()
    with pytest.raises(TrainingDivergedError, match="non-finite for 3 consecutive iterations") as info:
        cpu_trainer(50, snaps).fit(module, datamodule=dm)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, FloatingPointError)
    assert "optim.lr" in str(info.value) and "\n" not in str(info.value)
    assert len(snaps.states) == 3  # stopped in the third iteration
    if loss == "palette":  # one summed generator step: never taken
        assert all(same(snaps.states[0]["g"], s["g"]) for s in snaps.states)
    assert all(torch.isfinite(t).all() for t in snapshot(module)["g"])
