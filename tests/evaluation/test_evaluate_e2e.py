"""Train two tiny runs, evaluate them with ``evaluate.py``, and check everything the report promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

VAL_KEYS = {
    "val/colors",
    "val/palette_distance",
    "val/grid_purity",
    "val/cell_size",
    "val/speckle",
    "val/edge_f1",
    "val/color_drift",
    "val/gt_delta_e",
    "val/gt_palette_adherence",
    "val/gt_grid_purity",
}


def test_training_writes_metrics_jsonl_and_tensorboard_tags(trained_runs: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for name in ("run1", "run2"):
        run = trained_runs / name
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        # smoke: val_check_interval=2, max_steps=2, plus the untrained generator's validation before step 1
        assert [r["step"] for r in rows] == [0, 2]
        for row in rows:  # the data has a paired test split (test_A_gt/): the gt_* keys are there from step 0
            assert set(row) >= VAL_KEYS and {"epoch", "wall_time"} <= set(row)
            assert "val/dino_struct" not in row  # metrics.dino.pretrained is null by default
            assert 0 < row["val/gt_delta_e"] < 100 and 0 <= row["val/gt_palette_adherence"] <= 1
        events = EventAccumulator(str(next((run / "tensorboard").glob("events.out.tfevents.*"))))
        events.Reload()
        scalars = set(events.Tags()["scalars"])
        assert scalars >= VAL_KEYS
        assert "val/images" in events.Tags()["images"]
        for tag in VAL_KEYS:  # the jsonl holds exactly the numbers TensorBoard got, validation by validation
            logged = [e.value for e in sorted(events.Scalars(tag), key=lambda e: e.step)]
            assert len(logged) == len(rows), tag
            for row, value in zip(rows, logged, strict=True):
                assert abs(row[tag] - value) <= 1e-6 * max(1.0, abs(value)), tag
        grid = events.Images("val/images")[0]  # input | translation | reconstruction | ground truth rows
        assert grid.height == 4 * 32 + 5 * 2, grid.height  # 32 px images, make_grid's 2 px padding
        assert (run / "samples" / "compare.png").is_file()


def test_report_has_runs_baselines_grid_and_curves(evaluated) -> None:
    out = evaluated.out_dir
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        for row in ("run1", "run2", "nearest + k-means", "PixelOE"):
            assert row in text, row
        assert "broken" in text  # listed as skipped
    table = md.split("## Metrics", 1)[1].split("## Ground truth", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 4  # header + run1, run2, two baselines
    assert "unavailable (weights not found at /nonexistent/inception.pth" in md  # FID with a wrong path
    dino_cells = [line.split("|")[2].strip().strip("*") for line in rows[1:3]]
    assert all(re.fullmatch(r"[0-9.e+-]+", cell) for cell in dino_cells), dino_cells  # tiny DINO gave numbers
    assert "**" in table  # some best value is bold
    assert "<details>" in page and "resolved config" in md

    from pixel_gan.evaluation.baselines import pixeloe_status

    images = sorted((out / "images").glob("*.png"))
    # input, per run: step 0 raw and finished, trained raw and finished; the baselines that ran (k-means,
    # target palette, PixelOE when installed), ground truth; an unavailable baseline keeps its table row but
    # has no images
    shown = 1 + 2 * 4 + 2 + (1 if pixeloe_status() == "" else 0) + 1
    assert len(images) == 2 * shown, [p.name for p in images]  # grid_images=2 × each grid column
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


def test_report_has_the_ground_truth_table(evaluated) -> None:
    from pixel_gan.evaluation.baselines import pixeloe_status

    report = json.loads((evaluated.out_dir / "report.json").read_text())
    table = report["ground_truth"]
    assert table["columns"] == ["gt_delta_e", "gt_palette_adherence", "gt_grid_purity"]
    names = [(r["name"], r["kind"]) for r in table["rows"]]
    per_run = [
        ("{} (step 0)", "untrained"),
        ("{} (step 0) + finish", "untrained"),
        ("{}", "run"),
        ("{} + finish", "finished"),
    ]
    expected = [(name.format(run), kind) for run in ("run1", "run2") for name, kind in per_run]
    expected += [("nearest + k-means", "baseline")] + ([("PixelOE", "baseline")] if pixeloe_status() == "" else [])
    expected += [("nearest + target palette", "baseline")]
    assert names == expected
    by_name = {r["name"]: r for r in table["rows"]}
    assert by_name["run1 (step 0)"] == {**by_name["run2 (step 0)"], "name": "run1 (step 0)"}  # seeds 1, 2: same step 0
    for row in table["rows"]:
        assert 0 < row["gt_delta_e"] < 100 and 0 <= row["gt_palette_adherence"] <= 1 and 0 < row["gt_grid_purity"] <= 1
    for row in table["rows"]:  # the finishing step puts every pixel on the target's grid and palette
        if "finish" in row["name"] or row["name"] == "nearest + target palette":
            assert row["gt_palette_adherence"] == 1.0 and row["gt_grid_purity"] == 1.0, row
    assert [r["name"] for r in report["metrics"]["rows"]][:2] == ["run1", "run2"]  # step 0 only in the gt table
    md = (evaluated.out_dir / "report.md").read_text()
    section = md.split("## Ground truth (paired test split)", 1)[1].split("## Samples", 1)[0]
    assert "gt_delta_e ↓" in section and "gt_palette_adherence ↑" in section and "gt_grid_purity ↑" in section
    assert sum(line.startswith("| ") for line in section.splitlines()) == 1 + len(expected)
    assert "| ground truth |" in md.split("## Samples", 1)[1].splitlines()[4]  # the grid's last column
