"""What ``python evaluate.py`` does: find runs, translate test_A with each, score, add baselines, render."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from PIL import Image

from pixel_gan.config import plain_dict
from pixel_gan.data.ground_truth import GT_FOLDER, GroundTruthError
from pixel_gan.evaluation.baselines import build_baselines
from pixel_gan.evaluation.finish import FINISH_NOTE, finished_row, target_palette_baseline
from pixel_gan.evaluation.metrics import DESCRIPTIONS, DIRECTIONS, EvalSet, Scorer
from pixel_gan.evaluation.report import Report, Row, write_report
from pixel_gan.evaluation.runs import NoRunsError, Run, discover_runs
from pixel_gan.metrics.ground_truth import GT_METRIC_DESCRIPTIONS, GT_METRIC_DIRECTIONS

log = logging.getLogger(__name__)
#: evaluate.yaml's metric value meaning "the evaluated runs' own weights".
FROM_RUNS = "runs"

FID_NOTE = (
    "FID/KID: Inception works at 299 px, so outputs and test_B images smaller than that (pixel-art sizes) are "
    "nearest-upscaled to 299×299, keeping their hard pixel edges; with fewer than 50 images per set both "
    "are biased and noisy — compare rows of one report, not numbers across reports."
)
INPUT_NOTE = (
    "Inputs for edge_f1, color_drift and dino_struct: each test_A photo resized (LANCZOS) to its output's "
    "size, without the edge overlay the translators receive."
)


GT_NOTE = (
    "Ground truth: each test_A photo's paired target (test_A_gt/) NEAREST-resized to the output's size, its "
    "cell size scaled with it. A '(step 0)' row is the run's translator with freshly initialised adapters "
    "(Translator.from_pretrained(..., load_weights=False); the LoRA B matrices start at zero), i.e. the "
    "generator before its first training step."
)


def ground_truth_rows(rows: list[Row], untrained: Mapping[str, list[Row]], finished: Mapping[str, Row]) -> list[Row]:
    """The ground-truth table: per run its step-0 rows, its trained row and that row finished, then the
    baselines scored on it."""
    out: list[Row] = []
    for row in rows:
        out += untrained.get(row.name, [])
        if "gt_delta_e" in row.values:
            out.append(row)
        if row.name in finished:
            out.append(finished[row.name])
    return out


class RunSkipped(RuntimeError):
    """A run that cannot be evaluated; its reason goes into the report's skipped list."""


def _test_set(run: Run, data_root: str | None, max_images: int | None, cache: dict[Path, EvalSet]) -> EvalSet:
    root = run.data_root(data_root)
    if root is None:
        raise RunSkipped("no data root (.hydra/config.yaml missing or without data.root); pass data_root=...")
    cache_dir = run.config_value("paths.cache_dir")
    complete = (root / "test_A").is_dir() and (root / GT_FOLDER).is_dir()
    if not complete and not data_root and run.config_value("data.generate_demo", False):
        from pixel_gan.data.demo_cache import ensure_demo_dataset, owns_demo_root

        if owns_demo_root(root, cache_dir):  # never into a folder the user named
            log.info("regenerating the procedural demo data of %s in %s", run.name, root)
            ensure_demo_dataset(root, cache_dir, seed=int(run.config_value("seed", 0)))
    for folder in ("test_A", "test_B"):
        if not (root / folder).is_dir():
            raise RunSkipped(f"data root {root} has no {folder}/ (set data_root=... to the dataset)")
    key = root.resolve()
    if key not in cache:
        try:
            cache[key] = EvalSet.load(root, max_images)
        except GroundTruthError as err:
            raise RunSkipped(str(err)) from err
    return cache[key]


def _translate(run: Run, test: EvalSet, cfg: Mapping, load_weights: bool = True) -> list[Image.Image]:
    """test_A through the run's translator; ``load_weights=False``: its untrained (step-0) translator."""
    from pixel_gan.inference.translator import Translator
    from pixel_gan.weights import WeightsNotFoundError

    try:
        translator = Translator.from_pretrained(
            run.translator_dir, device=str(cfg.get("device", "auto")), load_weights=load_weights
        )
    except (WeightsNotFoundError, FileNotFoundError, ValueError, KeyError) as err:
        raise RunSkipped(f"cannot load its translator: {err}") from err
    return translator.translate(test.photos, batch_size=int(cfg.get("batch_size", 8)))


def _untrained_rows(run: Run, test: EvalSet, cfg: Mapping) -> list[Row]:
    """The run's generator before its first step (same base and captions, fresh adapters), raw and finished:
    ground truth only."""
    outputs = _translate(run, test, cfg, load_weights=False)
    n_grid = int(cfg.get("grid_images", 4))
    row = Row(
        f"{run.name} (step 0)",
        "untrained",
        test.gt_metrics(outputs),
        outputs[:n_grid],
        details={"path": str(run.path), "step": "0 (adapters freshly initialised)"},
    )
    return [row, finished_row(row, outputs, test, n_grid)]


def _run_row(run: Run, test: EvalSet, scorer: Scorer, cfg: Mapping) -> tuple[Row, list[Image.Image]]:
    """The run's table row, and all its translations (the row keeps the grid's few)."""
    started = time.perf_counter()
    outputs = _translate(run, test, cfg)
    values = scorer.score(test.photos, outputs, test, run.resolution)
    config, note = run.config
    edge = run.meta.get("edge_preset") or {}
    details = {
        "path": str(run.path),
        "resolution": f"{run.resolution} px",
        "step": str(run.step),
        "loss": str(run.meta.get("loss", "?")),
        "edge preset": str(edge.get("name", "?")),
        "data root": str(test.root),
        "metrics.jsonl": "yes" if run.metrics_file.is_file() else "no",
    }
    if note:
        details["config"] = note
    log.info("%s: evaluated %d images in %.1fs", run.name, len(outputs), time.perf_counter() - started)
    row = Row(
        run.name,
        "run",
        values,
        outputs[: int(cfg.get("grid_images", 4))],
        details=details,
        config_yaml=OmegaConf.to_yaml(config) if config is not None else "",
    )
    return row, outputs


def _baseline_rows(test: EvalSet, resolutions: list[int], scorer: Scorer, cfg: Mapping) -> list[Row]:
    from pixel_gan.inference.images import fit_size

    rows = []
    for baseline in build_baselines(plain_dict(cfg.get("baselines"))):
        for resolution in resolutions:
            name = baseline.name if len(resolutions) == 1 else f"{baseline.name} @ {resolution} px"
            if baseline.status:
                rows.append(Row(name, "baseline", status=baseline.status))
                continue
            started = time.perf_counter()
            try:
                outputs = [baseline(p, fit_size(*p.size, resolution)) for p in test.photos]
            except Exception as err:  # a third-party baseline failing must not cost the whole report
                log.warning("baseline %s failed: %s", name, err, exc_info=True)
                rows.append(Row(name, "baseline", status=f"failed ({err.__class__.__name__}: {err})"))
                continue
            values = scorer.score(test.photos, outputs, test, resolution)
            log.info("%s: %d images in %.1fs", name, len(outputs), time.perf_counter() - started)
            rows.append(Row(name, "baseline", values, outputs[: int(cfg.get("grid_images", 4))]))
    return rows


def metric_sources(metrics: Mapping | None, runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """The weights to score with: a value of ``runs`` (evaluate.yaml's default) takes the runs' own.

    Runs trained with model=sd_turbo name DINO and Inception in their config; demo and tiny runs name
    none (then the metric is "not configured"). Runs naming different weights are all scored with the
    first one's: one report compares like with like.
    """
    sources: dict[str, dict[str, Any]] = {}
    for group, key in (("dino", "pretrained"), ("fid", "inception_weights")):
        value = ((metrics or {}).get(group) or {}).get(key)
        if value == FROM_RUNS:
            found = list(dict.fromkeys(v for run in runs if (v := run.config_value(f"metrics.{group}.{key}"))))
            value = found[0] if found else None
            if len(found) > 1:
                log.warning(
                    "the runs name different metrics.%s.%s (%s); all are scored with %s", group, key, found, value
                )
        sources[group] = {key: value}
    return sources


def run_evaluation(cfg: Mapping | DictConfig) -> Path:
    """Evaluate ``cfg.runs`` and write the report into ``cfg.out_dir``; returns the report folder."""
    cfg = plain_dict(cfg)
    discovery = discover_runs(cfg.get("runs"))
    skipped = discovery.skipped_lines()
    for line in skipped:
        log.warning(line)
    metrics = metric_sources(cfg.get("metrics"), discovery.runs)
    scorer = Scorer(metrics, device=_device(cfg), edge_preset=cfg.get("edge_preset", "default"))
    cache: dict[Path, EvalSet] = {}
    rows: list[Row] = []
    untrained: dict[str, list[Row]] = {}  # run name -> its step-0 rows (datasets with a paired test split only)
    finished: dict[str, Row] = {}  # run name -> its translations after the finishing step (idem)
    n_grid = int(cfg.get("grid_images", 4))
    tests: dict[str, EvalSet] = {}
    runs: dict[str, Run] = {}
    for run in discovery.runs:
        try:
            test = _test_set(run, cfg.get("data_root"), cfg.get("max_images"), cache)
            row, outputs = _run_row(run, test, scorer, cfg)
            rows.append(row)
            if test.gt:
                untrained[run.name] = _untrained_rows(run, test, cfg)
                finished[run.name] = finished_row(row, outputs, test, n_grid)
        except RunSkipped as err:
            skipped.append(f"skipped {run.path}: {err}")
            log.warning(skipped[-1])
            continue
        tests[run.name], runs[run.name] = test, run
    if not rows:
        raise NoRunsError("no run could be evaluated:" + "".join(f"\n  {line}" for line in skipped))

    primary = tests[rows[0].name]
    for row in rows:  # the grid shows one test set; runs on another dataset keep their metrics only
        if tests[row.name] is not primary:
            row.outputs, row.grid_note = [], f"other test set ({tests[row.name].root})"
            for extra in [*untrained.get(row.name, []), *([finished[row.name]] if row.name in finished else [])]:
                extra.outputs, extra.grid_note = [], row.grid_note
    resolutions = sorted({runs[r.name].resolution for r in rows})
    rows += _baseline_rows(primary, resolutions, scorer, cfg)
    gt_rows = ground_truth_rows(rows, untrained, finished)
    if primary.gt:
        gt_rows.append(target_palette_baseline(primary, (resolutions[0], resolutions[0]), n_grid))
    notes = [INPUT_NOTE, FID_NOTE, *scorer.setup_hints()]
    if len({t.root for t in tests.values()}) > 1:
        notes.append(
            "The runs use different data roots: their metrics are not comparable; the sample grid "
            f"and the baselines use {primary.root}."
        )
    fid_notes = next((r.values.get("fid_notes") for r in rows if r.values.get("fid_notes")), None)
    if fid_notes:
        notes.append(f"FID/KID details: {fid_notes}.")
    notes += [f"Baseline {b.name}: {b.description}" for b in build_baselines(plain_dict(cfg.get("baselines")))]
    if gt_rows:
        notes += [GT_NOTE, FINISH_NOTE]
    report = Report(
        title="pixel-gan evaluation",
        rows=rows,
        columns=list(DIRECTIONS),
        directions={**DIRECTIONS, **GT_METRIC_DIRECTIONS},
        descriptions={**DESCRIPTIONS, **GT_METRIC_DESCRIPTIONS},
        gt_rows=gt_rows,
        gt_columns=list(GT_METRIC_DIRECTIONS) if gt_rows else [],
        ground_truth=primary.gt[:n_grid],
        inputs=primary.photos[:n_grid],
        input_names=primary.names[:n_grid],
        histories={name: run.history() for name, run in runs.items() if run.metrics_file.is_file()},
        skipped=skipped,
        notes=notes,
        header={
            "created": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "runs": f"{len(runs)} evaluated ({', '.join(runs)})",
            "test set": f"{primary.root} — {len(primary.photos)} test_A photos, {len(primary.art)} test_B images",
            "edge_f1 preset": str(cfg.get("edge_preset", "default")),
        },
    )
    out_dir = Path(str(cfg.get("out_dir") or "outputs/reports/latest")).expanduser()
    md, page = write_report(report, out_dir, display_px=int(cfg.get("display_px", 128)))
    log.info("report: %s (and %s)", page, md.name)
    return out_dir


def _device(cfg: Mapping) -> str:
    from pixel_gan.inference.translator import pick_device

    return str(pick_device(str(cfg.get("device", "auto"))))
