"""The console progress bar of step-sized runs (``max_epochs=-1``) counts steps, not "Epoch 6/-2"."""

from __future__ import annotations

from types import SimpleNamespace

from pixel_gan.training.callbacks import StepProgressBar


def describe(max_steps: int, max_epochs: int, global_step: int, epoch: int) -> str:
    bar = StepProgressBar()
    bar._trainer = SimpleNamespace(max_steps=max_steps, max_epochs=max_epochs, global_step=global_step)
    return bar._get_train_description(epoch).strip()


def test_step_sized_runs_show_the_step_count():
    assert describe(max_steps=150, max_epochs=-1, global_step=42, epoch=6) == "Epoch 6 · step 42/150"


def test_epoch_sized_runs_keep_the_epoch_count():
    assert describe(max_steps=-1, max_epochs=3, global_step=10, epoch=1) == "Epoch 1/2"
