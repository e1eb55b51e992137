"""Train two tiny runs, evaluate them with ``evaluate.py``, and check everything the report promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

VAL_KEYS = {"val/colors", "val/palette_distance", "val/grid_purity", "val/cell_size", "val/speckle", "val/edge_f1",
            "val/color_drift"}


def test_training_writes_metrics_jsonl_and_tensorboard_tags(trained_runs: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for name in ("run1", "run2"):
        run = trained_runs / name
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows] == [2]  # smoke: val_check_interval=2, max_steps=2
        assert VAL_KEYS <= set(rows[0]) and {"epoch", "wall_time"} <= set(rows[0])
        assert "val/dino_struct" not in rows[0]  # metrics.dino.pretrained is null by default
        events = EventAccumulator(str(next((run / "tensorboard").glob("events.out.tfevents.*"))))
        events.Reload()
        scalars = set(events.Tags()["scalars"])
        assert VAL_KEYS <= scalars
        assert "val/images" in events.Tags()["images"]
        logged = {tag: events.Scalars(tag)[-1].value for tag in VAL_KEYS}
        for tag, value in logged.items():  # the jsonl holds exactly the numbers TensorBoard got
            assert abs(rows[0][tag] - value) <= 1e-6 * max(1.0, abs(value)), tag


def test_report_has_runs_baselines_grid_and_curves(evaluated) -> None:
    out = evaluated.out_dir
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        for row in ("run1", "run2", "nearest + k-means", "PixelOE"):
            assert row in text, row
        assert "broken" in text  # listed as skipped
    table = md.split("## Metrics", 1)[1].split("## Samples", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 4  # header + run1, run2, two baselines
    assert "unavailable (weights not found at /nonexistent/inception.pth" in md  # FID with a wrong path
    dino_cells = [line.split("|")[2].strip().strip("*") for line in rows[1:3]]
    assert all(re.fullmatch(r"[0-9.e+-]+", cell) for cell in dino_cells), dino_cells  # tiny DINO gave numbers
    assert "**" in table  # some best value is bold
    assert "<details>" in page and "resolved config" in md

    from pixel_gan.evaluation.baselines import pixeloe_status

    images = sorted((out / "images").glob("*.png"))
    shown = 4 if pixeloe_status() == "" else 3  # an unavailable baseline keeps its table row but has no images
    assert len(images) == 2 * (1 + shown), [p.name for p in images]  # grid_images=2 × (input + each row)
    assert (out / "curves" / "val-colors.png").is_file()
    for rel in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / rel).is_file(), rel


def test_missing_translator_is_skipped_with_a_clear_line(evaluated) -> None:
    broken = evaluated.runs / "broken"
    assert f"skipped {broken}: no translator/translator.yaml" in evaluated.log


def test_no_runs_is_an_error_with_exit_code_2(tmp_path: Path, evaluate_cli) -> None:
    result = evaluate_cli(f"runs={tmp_path}/nothing-*", f"out_dir={tmp_path}/report")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "matched no run folder" in result.stderr
    assert not (tmp_path / "report" / "report.html").exists()
