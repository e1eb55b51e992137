"""Lightning callbacks of the training platform.

``MetricsJsonl`` keeps a plain-text copy of every validation's numbers beside the checkpoints.
TensorBoard event files need TensorBoard's reader to get back; one JSON object per validation is
what ``evaluate.py`` plots as training curves, and what ``jq``/pandas read without extra tools.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.utilities import rank_zero_only

METRICS_FILE = "metrics.jsonl"


def _scalar(value: Any) -> float | None:
    """A logged value as a JSON-safe float (NaN/inf become null: JSON has no spelling for them)."""
    try:
        number = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):  # a non-scalar tensor or something unloggable
        return None
    return number if math.isfinite(number) else None


class MetricsJsonl(Callback):
    """Append one line per validation to ``path``: step, epoch, wall time and the ``val/`` scalars.

    Reads ``trainer.callback_metrics`` in ``on_validation_end``, i.e. after the module's
    ``on_validation_epoch_end`` has logged, so the numbers are exactly those TensorBoard received
    under the same tags. Appends (never truncates), so a resumed run continues its own file.
    """

    def __init__(self, path: str | Path, prefix: str = "val/") -> None:
        super().__init__()
        self.path = Path(path)
        self.prefix = prefix
        self._fit_start: float | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._fit_start = time.time()

    @rank_zero_only
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        scalars = {k: _scalar(v) for k, v in trainer.callback_metrics.items() if k.startswith(self.prefix)}
        values = {k: v for k, v in scalars.items() if v is not None}
        if not values:
            return
        now = time.time()
        row: dict[str, float] = {
            "step": int(trainer.global_step),
            "epoch": int(trainer.current_epoch),
            "wall_time": round(now, 3),
        }
        if self._fit_start is not None:
            row["elapsed_s"] = round(now - self._fit_start, 3)
        row.update(sorted(values.items()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


class ValidateAtStart(Callback):
    """Run the validation loop once before the first training step, so every curve starts at step 0.

    The step-0 numbers are the untrained generator's (its LoRA B matrices start at zero): the
    baseline that training must improve on. Skipped when resuming from a checkpoint: the run
    validated at step 0 before it was interrupted, and its resumed part must repeat nothing.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.ckpt_path or trainer.global_step != 0 or not trainer.enable_validation:
            return
        trainer.validating = True  # what the epoch loop sets around its own validations
        first_loop_iter = trainer._logger_connector._first_loop_iter
        trainer.fit_loop.epoch_loop.val_loop.run()
        trainer.training = True
        trainer._logger_connector._first_loop_iter = first_loop_iter


def read_metrics_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a metrics.jsonl; a torn last line (a run killed mid-write) is ignored, not fatal."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
    return rows


class StepProgressBar(RichProgressBar):
    """Rich progress bar that counts optimizer steps against ``trainer.max_steps``.

    Runs here are sized in steps (``max_epochs=-1``), where Lightning's own label reads "Epoch 6/-2".
    """

    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        label = f"Epoch {current_epoch}"
        if trainer.max_steps > 0:
            label += f" · step {trainer.global_step}/{trainer.max_steps}"
        elif trainer.max_epochs is not None and trainer.max_epochs > 0:
            label += f"/{trainer.max_epochs - 1}"
        return f"{label:{len(self.validation_description)}}"

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        super().on_train_batch_end(trainer, *args, **kwargs)
        if self.progress is not None and self.train_progress_bar_id is not None:
            self.progress.update(
                self.train_progress_bar_id, description=self._get_train_description(trainer.current_epoch)
            )
