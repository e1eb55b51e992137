"""A quiet CPU ``lightning.Trainer`` for tests that run a few real training steps in-process."""

from __future__ import annotations

from typing import Any

import lightning as L

QUIET_CPU = {
    "accelerator": "cpu",
    "devices": 1,
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "limit_val_batches": 0,
    "num_sanity_val_steps": 0,
}


def cpu_trainer(**overrides: Any) -> L.Trainer:
    """One CPU device; no logger, checkpoints, progress bar, summary or validation unless ``overrides`` say so."""
    return L.Trainer(**{**QUIET_CPU, **overrides})
