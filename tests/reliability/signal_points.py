"""A callback that sends the training process a signal at a chosen hook and step (used through Hydra).

The random-kill test cannot choose where the signal lands; this one can, so the awkward places
(during validation, at an epoch's end) are tried on every run.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import lightning as L

HOOKS = ("on_train_batch_end", "on_validation_batch_end", "on_train_epoch_end")


class SignalAt(L.Callback):
    """Send ``signum`` to this process once, at ``hook`` when ``global_step >= step``."""

    def __init__(self, step: int, hook: str, signum: int = int(signal.SIGTERM)) -> None:
        if hook not in HOOKS:
            raise ValueError(f"hook must be one of {HOOKS}, got {hook!r}")
        self.step, self.hook, self.signum, self.sent = step, hook, signum, False

    def _maybe_send(self, trainer: L.Trainer, hook: str) -> None:
        if hook == self.hook and not self.sent and not trainer.sanity_checking and trainer.global_step >= self.step:
            self.sent = True
            os.kill(os.getpid(), self.signum)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._maybe_send(trainer, "on_train_batch_end")

    def on_validation_batch_end(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        self._maybe_send(trainer, "on_validation_batch_end")

    def on_train_epoch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._maybe_send(trainer, "on_train_epoch_end")
