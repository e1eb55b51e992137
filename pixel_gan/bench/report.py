"""Summaries, the ratios against their targets, and the markdown report of a benchmark run."""

from __future__ import annotations

import statistics
from typing import Any

from pixel_gan.bench.harness import _cuda_available

# Ratio name → (numerator label, denominator label, time target, peak target); None = no target.
RATIOS: dict[str, tuple[str, str, float | None, float | None]] = {
    "lean/separate": ("lean", "separate", 0.8, 0.8),
    "lean/naive": ("lean", "naive", None, 0.6),
    "palette/lean": ("palette", "lean", 1.03, 1.02),
    "grad_ckpt/lean": ("lean+grad_ckpt", "lean", None, None),
    "channels_last/lean": ("lean+channels_last", "lean", None, None),
    "compile/lean": ("lean+compile", "lean", None, None),
}
GPU_TARGET_MB = 24 * 1024  # full-size 512² bf16 + checkpointing, lean step
GPU_COMMANDS = tuple(
    f"python -m pixel_gan.bench --model sd_turbo_random --device cuda --precision {p} --resolutions 256 512 "
    f"--write docs/benchmarks-gpu-{name}.md"
    for p, name in (("bf16-mixed", "bf16"), ("32-true", "fp32"))
)


# ----------------------------------------------------------------------------- summarizing


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool the rounds of one case: median step time, median CPU time, largest peak, passes per step."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return dict(runs[0])
    first, runs = ok[0], ok
    pooled = {k: [v for r in runs for v in r[k]] for k in ("step_s", "cpu_s", "peak_mb", "gen_passes")}
    passes = sorted(set(pooled["gen_passes"]))
    out = {k: v for k, v in first.items() if k not in pooled}
    out["base_mb"] = next((r["base_mb"] for r in runs if r.get("base_mb") is not None), None)
    out.update(
        step_s=statistics.median(pooled["step_s"]),
        step_s_min=min(pooled["step_s"]),
        cpu_s=statistics.median(pooled["cpu_s"]),
        peak_mb=max(pooled["peak_mb"]),
        peak_mb_median=statistics.median(pooled["peak_mb"]),
        gen_passes=passes[0] if len(passes) == 1 else statistics.mean(pooled["gen_passes"]),
        samples=len(pooled["step_s"]),
        rounds=len(runs),
        build_s=statistics.median(r["build_s"] for r in runs),
        round_step_s=[r["step_s"] for r in runs],
        round_cpu_s=[r["cpu_s"] for r in runs],
    )
    return out


def _matched(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    """Ratio of median times over the rounds both cases ran (a one-round case is compared with round 1 only)."""
    ra, rb = a.get(f"round_{key}"), b.get(f"round_{key}")
    if not ra or not rb or len(ra) == len(rb):
        return a[key] / b[key]
    n = min(len(ra), len(rb))
    return statistics.median(v for r in ra[:n] for v in r) / statistics.median(v for r in rb[:n] for v in r)


def compute_ratios(cases: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per resolution: each ratio in RATIOS whose two cases ran, with its targets and whether each is met."""
    by_key = {(c["resolution"], c["label"]): c for c in cases if "error" not in c}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for res in sorted({c["resolution"] for c in cases}):
        for name, (num, den, t_time, t_peak) in RATIOS.items():
            a, b = by_key.get((res, num)), by_key.get((res, den))
            if a is None or b is None:
                continue
            entry: dict[str, Any] = {
                "time": _matched(a, b, "step_s"),
                "cpu_time": _matched(a, b, "cpu_s"),
                "peak": a["peak_mb"] / b["peak_mb"] if b["peak_mb"] > 0 else None,
                "time_target": t_time,
                "peak_target": t_peak,
            }
            entry["time_met"] = None if t_time is None else entry["time"] <= t_time
            entry["cpu_time_met"] = None if t_time is None else entry["cpu_time"] <= t_time
            entry["peak_met"] = None if t_peak is None or entry["peak"] is None else entry["peak"] <= t_peak
            out.setdefault(str(res), {})[name] = entry
    return out


def gpu_target(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The full-size 512² bf16 + checkpointing ≤ 24 GB check, or why it was not measured."""
    for c in cases:
        if (
            c.get("device") == "cuda"
            and c.get("resolution") == 512
            and c.get("model") != "tiny"
            and c.get("label") == "lean+grad_ckpt"
            and "bf16" in c.get("precision", "")
            and "error" not in c
        ):
            return {
                "measured": True,
                "peak_mb": c["peak_mb"],
                "target_mb": GPU_TARGET_MB,
                "met": c["peak_mb"] <= GPU_TARGET_MB,
            }
    reason = (
        "not measured: no GPU in this environment"
        if not _cuda_available()
        else "not measured: run --model sd_turbo_random --device cuda --precision bf16-mixed --resolutions 512"
    )
    return {"measured": False, "target_mb": GPU_TARGET_MB, "reason": reason}


# ----------------------------------------------------------------------------- report


def _fmt_ratio(value: float | None, target: float | None, met: bool | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}×"
    if target is None:
        return text
    return f"{text} (target ≤ {target:.2f}×: {'met' if met else 'MISSED'})"


def markdown_report(result: dict[str, Any]) -> str:
    """The benchmarks page: machine, command, table, ratios against the targets."""
    m, s = result["machine"], result["settings"]
    lines = [
        "# Training-step benchmarks",
        "",
        "Written by `python -m pixel_gan.bench` (see `pixel_gan/bench/harness.py` for how each figure is measured).",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; torch threads per case: {m['torch_threads']}",
        f"- load average at start / end: {m['load_avg']} / {result.get('load_avg_end')}"
        + (
            " (other jobs shared this machine; wall times carry their noise, CPU seconds less so)"
            if max(m["load_avg"] or [0]) > 1.5
            else ""
        ),
        f"- Python {m['python']}, torch {m['torch']}, lightning {m['lightning']}, diffusers {m['diffusers']}",
        f"- {m['platform']}",
        "",
        "## Command",
        "",
        "```",
        result["command"],
        "```",
        "",
        f"Model `{s['model']}`, device `{s['device']}`, precision `{s['precision']}`, batch {s['batch_size']}, "
        f"{s['warmup']} warm-up + {s['steps']} timed steps per case, {s['rounds']} round(s) (cases interleaved), "
        f"each case in a fresh child process; total wall time {result['wall_s']:.0f} s."
        + (
            " `compile` cases run in the first round only (each fresh process compiles again) and are compared "
            "with the first round of the others."
            if "compile" in s.get("switches", []) and s["rounds"] > 1
            else ""
        )
        + (
            ""
            if s["device"] == "cuda"
            else f" On CPU each case first runs 1 warm-up + {s.get('memory_steps', 1)} memory step(s) "
            "with malloc pinned (first round only; pinned steps are slow and are not timed)."
        ),
        "",
        "## Results",
        "",
        "step = median wall seconds per training iteration (G step + D step); cpu = median process CPU seconds; "
        + (
            "peak = `torch.cuda.max_memory_allocated` during the step (absolute)."
            if s["device"] == "cuda"
            else "peak = largest resident-set growth during a step above the resident size just before it "
            "(activations, gradients, temporaries; weights and optimizer state are in the baseline, shown as base)."
        )
        + " G passes = generator forwards per iteration, counted with a forward hook.",
        "",
        "| res | case | loss | schedule | step s | cpu s | peak MB | base MB | G passes |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in result["cases"]:
        if "error" in c:
            lines.append(f"| {c['resolution']} | {c['label']} | | | error: {c['error']} | | | | |")
            continue
        lines.append(
            f"| {c['resolution']} | {c['label']} | {c['loss']} | {c['schedule']} | "
            f"{c['step_s']:.2f} | {c['cpu_s']:.2f} | {c['peak_mb']:.0f} | {c.get('base_mb') or 0:.0f} | "
            f"{c['gen_passes']:g} |"
        )
    lines += [
        "",
        "## Ratios against the targets",
        "",
        "Pass-count limits: lean/separate 6/8 = 0.75× time; lean keeps at most 2 generator passes of "
        "activations alive (its backward runs in four parts: fake + rec and idt, per domain) against 4 in "
        "separate's cycle phase and 6 in naive: 0.5× and 0.33× activation memory. The discriminator forward "
        "of the GAN term, LPIPS and the D step weigh the same in every mode, so measured ratios sit above "
        "these limits where the generator is small.",
        "",
        "| res | ratio | time (wall) | time (CPU) | peak |",
        "|---:|---|---|---|---|",
    ]
    for res, ratios in result["ratios"].items():
        for name, r in ratios.items():
            lines.append(
                f"| {res} | {name} | {_fmt_ratio(r['time'], r['time_target'], r['time_met'])} | "
                f"{_fmt_ratio(r['cpu_time'], r['time_target'], r.get('cpu_time_met'))} | "
                f"{_fmt_ratio(r['peak'], r['peak_target'], r['peak_met'])} |"
            )
    gpu = result["gpu_target"]
    gpu_text = (
        f"{gpu['peak_mb'] / 1024:.1f} GB (target ≤ 24 GB: {'met' if gpu['met'] else 'MISSED'})"
        if gpu["measured"]
        else gpu["reason"]
    )
    lines += [
        "",
        "## Full size on GPU",
        "",
        f"Target: full-size 512², batch 1, bf16-mixed + gradient checkpointing, lean step ≤ 24 GB — {gpu_text}.",
    ]
    if not gpu["measured"]:
        lines += [
            "",
            "The full-size figures (`model=sd_turbo_random`: the SD-Turbo architecture with random weights, "
            "256 and 512 px, batch 1, bf16-mixed vs fp32, every mode, and the 24 GB check) need a CUDA GPU; "
            "none was available for this run, so they are not in the table above. On a GPU machine:",
            "",
            "```",
            *GPU_COMMANDS,
            "```",
            "",
            "LPIPS then loads the torchvision VGG16 file (`loss.lpips_backbone_weights` or the torchvision "
            "cache); the bf16 run also holds the frozen bases in bf16 (`model.frozen_dtype`).",
        ]
    return "\n".join(lines + [""])


def print_table(result: dict[str, Any]) -> None:
    print(f"{'res':>4} {'case':<22} {'step s':>8} {'cpu s':>8} {'peak MB':>8} {'G passes':>8}")
    for c in result["cases"]:
        if "error" in c:
            print(f"{c['resolution']:>4} {c['label']:<22} error: {c['error']}")
        else:
            print(
                f"{c['resolution']:>4} {c['label']:<22} {c['step_s']:>8.2f} {c['cpu_s']:>8.2f} "
                f"{c['peak_mb']:>8.0f} {c['gen_passes']:>8g}"
            )
    for res, ratios in result["ratios"].items():
        for name, r in ratios.items():
            print(
                f"{res:>4} {name:<22} time {_fmt_ratio(r['time'], r['time_target'], r['time_met'])}, "
                f"peak {_fmt_ratio(r['peak'], r['peak_target'], r['peak_met'])}"
            )
    gpu = result["gpu_target"]
    print("GPU 512² bf16 + ckpt ≤ 24 GB:", f"{gpu['peak_mb']:.0f} MB" if gpu["measured"] else gpu["reason"])
