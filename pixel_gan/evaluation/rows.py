"""What an evaluation report holds: its rows (runs, baselines, step 0, finished) and the whole report.

Kept apart from rendering so the table code and the figure code share one definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

Value = float | str

HISTORY_KEYS = ("step", "epoch", "wall_time", "elapsed_s")
ARROWS = {"lower": "↓", "higher": "↑", "info": ""}
GT_TITLE = "Ground truth (paired test split)"


@dataclass
class Row:
    """One line of the table and one column of the image grid: a trained run or a baseline."""

    name: str
    kind: str  # "run", "baseline", "untrained" (a run at step 0), "finished" (a run after the CLI's grid and
    # palette step) or "target" (the ground truth, grid only)
    values: dict[str, Value] = field(default_factory=dict)
    outputs: list[Image.Image | None] = field(default_factory=list)  # one per grid input
    status: str = ""  # why a row has no values/images (e.g. "not installed")
    grid_note: str = ""  # why a row has metrics but no images in the grid
    details: dict[str, str] = field(default_factory=dict)  # path, resolution, step, data root ...
    config_yaml: str = ""


@dataclass
class Report:
    title: str
    rows: list[Row]
    columns: list[str]
    directions: Mapping[str, str]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    inputs: list[Image.Image] = field(default_factory=list)  # grid rows: the test photos
    input_names: list[str] = field(default_factory=list)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run name → metrics.jsonl rows
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)
    gt_rows: list[Row] = field(default_factory=list)  # the ground-truth table (a paired test split only)
    gt_columns: list[str] = field(default_factory=list)
    ground_truth: list[Image.Image] = field(default_factory=list)  # targets of the grid inputs

    @property
    def grid_rows(self) -> list[Row]:
        """Columns of the sample grid: the ground-truth table's rows in order (step 0, trained, finished,
        baselines), the other rows, then the ground truth."""
        rows = list(self.gt_rows) + [r for r in self.rows if all(r is not g for g in self.gt_rows)]
        if self.ground_truth:
            rows.append(Row("ground truth", "target", outputs=list(self.ground_truth)))
        return rows


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
