"""MetricsJsonl: one JSON line per validation, the same numbers the loggers got."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import torch

from pixel_gan.training.callbacks import MetricsJsonl, read_metrics_jsonl


def fake_trainer(step: int, metrics: dict, sanity: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        global_step=step, current_epoch=0, sanity_checking=sanity, callback_metrics=metrics, global_rank=0
    )


def test_appends_val_scalars_with_step_epoch_and_time(tmp_path: Path) -> None:
    cb = MetricsJsonl(tmp_path / "run" / "metrics.jsonl")
    cb.on_fit_start(None, None)
    cb.on_validation_end(
        fake_trainer(
            5, {"val/colors": torch.tensor(12.0), "train/g": torch.tensor(1.0), "val/speckle": torch.tensor(math.nan)}
        ),
        None,
    )
    cb.on_validation_end(fake_trainer(0, {"val/colors": torch.tensor(1.0)}, sanity=True), None)  # sanity check
    cb.on_validation_end(fake_trainer(10, {"val/colors": torch.tensor(8.0)}), None)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]  # strict JSON: NaN was dropped, not written as NaN
    assert [r["step"] for r in rows] == [5, 10]
    assert rows[0]["val/colors"] == 12.0 and "val/speckle" not in rows[0] and "train/g" not in rows[0]
    assert {"epoch", "wall_time", "elapsed_s"} <= set(rows[0])


def test_reader_ignores_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "val/colors": 3.0}\n\n{"step": 2, "val/col')
    assert read_metrics_jsonl(path) == [{"step": 1, "val/colors": 3.0}]


def test_validate_at_start_runs_once_on_a_fresh_run_and_never_on_a_resume() -> None:
    from pixel_gan.training.callbacks import ValidateAtStart

    def trainer(step: int, ckpt_path: str | None, enabled: bool = True) -> SimpleNamespace:
        calls: list[bool] = []
        val_loop = SimpleNamespace(run=lambda: calls.append(True))
        return SimpleNamespace(
            global_step=step,
            ckpt_path=ckpt_path,
            enable_validation=enabled,
            validating=False,
            training=False,
            calls=calls,
            _logger_connector=SimpleNamespace(_first_loop_iter=None),
            fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(val_loop=val_loop)),
        )

    fresh, resumed, at_zero, off = (
        trainer(0, None),
        trainer(5, "last.ckpt"),
        trainer(0, "last.ckpt"),
        trainer(0, None, False),
    )
    for t in (fresh, resumed, at_zero, off):
        ValidateAtStart().on_train_start(t, None)
    assert fresh.calls == [True] and fresh.training  # back in training mode afterwards
    assert resumed.calls == at_zero.calls == off.calls == []
