"""The benchmark: its JSON contract, its pass counts against an independent count, its ratios and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from pixel_gan.bench import cases, harness, report
from pixel_gan.bench.cli import parse_args
from pixel_gan.config import compose_train_config
from pixel_gan.models.generator import CycleGANTurbo
from pixel_gan.training.module import PixelGANModule

ROOT = Path(__file__).resolve().parents[1]
CASE_KEYS = {"mode", "schedule", "resolution", "model", "device", "precision", "step_s", "peak_mb", "gen_passes"}


@pytest.fixture(scope="module")
def smoke_result(cache_dir) -> dict:
    """``python -m pixel_gan.bench --smoke --json`` (32 px, one step per phase) in a fresh interpreter."""
    env = {**os.environ, "PIXEL_GAN_CACHE": cache_dir}
    proc = subprocess.run(
        [sys.executable, "-m", "pixel_gan.bench", "--smoke", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # stdout is exactly one JSON object


def passes_per_iteration(cache_dir: str, mode: str, cpu_trainer) -> int:
    """Generator forwards in one real training iteration, counted by wrapping ``CycleGANTurbo.forward``."""
    loss, schedule = cases.MODES[mode]
    cfg = compose_train_config(
        "experiment=smoke",
        f"loss={loss}",
        f"loss.schedule={schedule}",
        output_dir="/dev/null",
        cache_dir=cache_dir,
    )
    module = PixelGANModule(model=cfg.model, loss=cfg.loss, optim=cfg.optim, resolution=32, image_log_every_n_steps=0)
    count = {"n": 0}
    forward = CycleGANTurbo.forward

    def counting(self, *args, **kwargs):
        count["n"] += 1
        return forward(self, *args, **kwargs)

    batch = {"a": torch.rand(1, 3, 32, 32) * 2 - 1, "b": torch.rand(1, 3, 32, 32) * 2 - 1}
    trainer = cpu_trainer(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CycleGANTurbo, "forward", counting)
        trainer.fit(module, train_dataloaders=DataLoader([batch], batch_size=None))
    return count["n"]


def test_smoke_json_has_every_mode_with_the_documented_fields(smoke_result):
    cases = smoke_result["cases"]
    assert [c["mode"] for c in cases] == ["separate", "naive", "lean", "palette"]
    for c in cases:
        assert "error" not in c, c.get("error")
        assert set(c) >= CASE_KEYS
        assert c["device"] == "cpu" and c["resolution"] == 32 and c["model"] == "tiny"
        assert c["step_s"] > 0 and c["peak_mb"] >= 0
    assert [c["schedule"] for c in cases] == ["separate", "single", "split", "split"]
    assert set(smoke_result["ratios"]["32"]) == {"lean/separate", "lean/naive", "palette/lean"}
    assert smoke_result["gpu_target"]["measured"] is False


def test_reported_generator_passes_match_an_independent_count(smoke_result, cache_dir, cpu_trainer):
    counted = {mode: passes_per_iteration(cache_dir, mode, cpu_trainer) for mode in cases.MODES}
    assert counted == {"separate": 8, "naive": 6, "lean": 6, "palette": 6}
    assert {c["mode"]: c["gen_passes"] for c in smoke_result["cases"]} == counted


def test_ratios_and_targets_from_hand_made_cases():
    def case(label, step, cpu, peak):
        return {"label": label, "resolution": 64, "step_s": step, "cpu_s": cpu, "peak_mb": peak}

    cases = [
        case("separate", 2.0, 2.0, 100.0),
        case("naive", 1.5, 1.5, 180.0),
        case("lean", 1.5, 1.4, 90.0),
        case("palette", 1.6, 1.43, 91.0),
        {"label": "lean+grad_ckpt", "resolution": 64, "error": "boom"},
    ]
    r = report.compute_ratios(cases)["64"]
    assert set(r) == {"lean/separate", "lean/naive", "palette/lean"}  # the failed case gives no ratio
    assert r["lean/separate"]["time"] == pytest.approx(0.75) and r["lean/separate"]["time_met"] is True
    assert r["lean/separate"]["peak"] == pytest.approx(0.9) and r["lean/separate"]["peak_met"] is False
    assert r["lean/naive"]["peak"] == pytest.approx(0.5) and r["lean/naive"]["peak_met"] is True
    assert r["lean/naive"]["time_met"] is None  # no time target
    assert r["palette/lean"]["time"] == pytest.approx(1.6 / 1.5) and r["palette/lean"]["time_met"] is False
    assert r["palette/lean"]["cpu_time"] == pytest.approx(1.43 / 1.4) and r["palette/lean"]["cpu_time_met"] is True
    assert r["palette/lean"]["peak_met"] is True


def test_summarize_pools_rounds_and_skips_failed_ones():
    def run(steps, peaks, base=None):
        return {
            "label": "lean",
            "resolution": 64,
            "step_s": steps,
            "cpu_s": steps,
            "peak_mb": peaks,
            "gen_passes": [6] * len(steps),
            "base_mb": base,
            "build_s": 1.0,
        }

    s = report.summarize([run([3.0, 1.0], [50.0], base=700.0), {"label": "lean", "error": "x"}, run([2.0, 9.0], [])])
    assert s["step_s"] == pytest.approx(2.5) and s["peak_mb"] == 50.0 and s["base_mb"] == 700.0
    assert s["gen_passes"] == 6 and s["rounds"] == 2 and s["samples"] == 4


def test_quick_preset_and_markdown_report(smoke_result):
    args = parse_args(["--quick"])
    assert args.resolutions == [96] and args.modes == list(cases.MODES) and args.threads == 1
    assert [c.label for c in cases.build_cases(args)] == ["separate", "naive", "lean", "palette"]
    text = report.markdown_report(smoke_result)
    assert "python -m pixel_gan.bench --smoke --json" in text
    assert text.count("| 32 | ") >= 4 + 3  # one row per case, one per ratio
    assert smoke_result["machine"]["cpu"] in text


@pytest.mark.parametrize("memory_steps", [0, 1])
def test_timed_steps_run_with_malloc_unpinned(cache_dir, monkeypatch, memory_steps):
    """Pinned malloc costs page faults per tensor: only the memory steps may run with it (later rounds have none)."""
    monkeypatch.setenv("PIXEL_GAN_CACHE", cache_dir)
    case = cases.Case(
        mode="lean", resolution=32, steps=1, warmup=0, lpips_net="alex", memory_warmup=0, memory_steps=memory_steps
    )
    try:
        result = harness.run_case(case)
    finally:
        harness._pin_malloc(False)
    assert len(result["step_s"]) == 1 and len(result["peak_mb"]) == memory_steps
    assert result["pinned_timed_steps"] == 0
    assert result["gen_passes"] == [6] * (memory_steps + 1)


def _layer_norms(case) -> dict:
    a = torch.randn(256, 4096)
    for _ in range(3):
        torch.nn.functional.layer_norm(a, (4096,))
    return {"label": case.label, "done": True}


@pytest.mark.timeout(120)
def test_a_forked_case_runs_after_the_parent_used_a_thread_pool():
    """A parent that ran multi-threaded torch ops (as a test process has) must not hang its forked cases."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for _ in range(3):
            torch.nn.functional.layer_norm(torch.randn(64, 4096), (4096,))
        result = harness.run_isolated(cases.Case(mode="naive", resolution=8), "fork", _layer_norms)
    finally:
        torch.set_num_threads(threads)
    assert result == {"label": "naive", "done": True}
