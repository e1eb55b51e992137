"""Training-step benchmark: step time, peak memory and generator passes for each loss schedule.

    python -m pixel_gan.bench                     # tiny model, CPU, 128 + 256 px, all cases
    python -m pixel_gan.bench --quick --json      # < 90 s on 2 CPU cores
    python -m pixel_gan.bench --write docs/benchmarks.md
    python -m pixel_gan.bench --model sd_turbo_random --device cuda --precision bf16-mixed --resolutions 256 512

Each case builds ``PixelGANModule`` from the composed Hydra training config (the same
constructor call as ``train.py``) and runs the real ``training_step`` under a real
``lightning.Trainer`` on synthetic batches; a callback times each step and reads its peak
memory. Every case runs in its own child process, so one case's allocations never raise
another's peak; cases are run round after round, interleaved, so slow phases of a shared
machine hit all of them alike.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` over the step (absolute: weights,
optimizer state and activations). On CPU the peak resident set size during the step minus
the resident size just before it (the kernel's high-water mark, reset before each step via
``/proc/self/clear_refs``; a sampling thread where that is not available). glibc would keep
freed tensors in its heap and hide them from RSS, so each CPU case first runs its memory steps
with malloc's mmap threshold pinned at one page (every tensor of 4 KiB or more is mapped on
allocation and unmapped on free, so RSS follows live memory), then unpins it and runs the timed steps: pinned,
each tensor costs page faults that would triple the step time.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import logging
import multiprocessing as mp
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Modes: (loss config, loss.schedule).
MODES: dict[str, tuple[str, str]] = {
    "separate": ("separate", "separate"),  # the reference's three backward/step phases
    "naive": ("combined", "single"),  # one backward on the summed loss
    "lean": ("combined", "split"),  # backward each group of terms as soon as it is built
    "palette": ("palette", "split"),  # lean + the soft-histogram palette loss
}
SWITCHES = ("grad_ckpt", "channels_last", "compile")
# Ratio name → (numerator label, denominator label, time target, peak target); None = no target.
RATIOS: dict[str, tuple[str, str, float | None, float | None]] = {
    "lean/separate": ("lean", "separate", 0.8, 0.8),
    "lean/naive": ("lean", "naive", None, 0.6),
    "palette/lean": ("palette", "lean", 1.03, 1.02),
    "grad_ckpt/lean": ("lean+grad_ckpt", "lean", None, None),
    "channels_last/lean": ("lean+channels_last", "lean", None, None),
    "compile/lean": ("lean+compile", "lean", None, None),
}
# On a CPU shared with other jobs, OpenMP threads that wait at barriers for a descheduled peer
# turn a 0.2 ms convolution into 16 ms (measured here: 2 threads vs 1 at load 11 on 2 cores), so
# multi-threaded CPU timings measure the neighbours. One thread per case times the work itself.
THREADS_NOTE = "one torch thread per case on CPU: OpenMP barrier waits on a shared CPU would dominate"
GPU_TARGET_MB = 24 * 1024  # full-size 512² bf16 + checkpointing, lean step
GPU_COMMANDS = tuple(
    f"python -m pixel_gan.bench --model sd_turbo_random --device cuda --precision {p} --resolutions 256 512 "
    f"--write docs/benchmarks-gpu-{name}.md"
    for p, name in (("bf16-mixed", "bf16"), ("32-true", "fp32"))
)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
PINNED_MMAP_BYTES = 4096  # one page: see _pin_malloc
_pinned = False  # whether this process runs with malloc pinned (timed steps must not)


@dataclass
class Case:
    """One benchmark configuration; ``label`` names it in tables and ratios."""

    mode: str
    resolution: int
    model: str = "tiny"
    device: str = "cpu"
    precision: str = "32-true"
    batch_size: int = 1
    steps: int = 3
    warmup: int = 2
    switches: dict[str, bool] = field(default_factory=dict)
    lpips_net: str | None = None
    threads: int | None = None
    memory_warmup: int = 1  # CPU: pinned-malloc steps before the measured memory steps
    memory_steps: int = 1  # CPU: pinned-malloc steps whose peak RSS is reported

    @property
    def memory_phase(self) -> int:
        """Steps run before the timing phase (CPU only: on CUDA every step is timed and measured)."""
        return self.memory_warmup + self.memory_steps if self.device == "cpu" else 0

    @property
    def label(self) -> str:
        on = [k for k in SWITCHES if self.switches.get(k)]
        return "+".join([self.mode, *on])

    def overrides(self) -> list[str]:
        """Hydra overrides that turn the training config into this case."""
        loss, schedule = MODES[self.mode]
        out = [
            f"model={self.model}",
            f"loss={loss}",
            f"loss.schedule={schedule}",
            f"resolution.size={self.resolution}",
            f"trainer={'gpu' if self.device == 'cuda' else 'cpu'}",
            f"trainer.precision={self.precision}",
            f"data.batch_size={self.batch_size}",
        ]
        out += [f"model.{k}={str(bool(self.switches.get(k, False))).lower()}" for k in SWITCHES]
        if self.lpips_net:
            out.append(f"loss.lpips_net={self.lpips_net}")
        return out


# ----------------------------------------------------------------------------- measuring


def _status_mb(key: str) -> float | None:
    """A ``/proc/self/status`` field (VmRSS, VmHWM) in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_mb("VmHWM") is not None
    except OSError:
        return False


def _mallopt(param: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(param, value)


def _release_free_heap() -> None:
    """Hand glibc's free heap pages back to the kernel, so memory the next step reuses counts in its RSS."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _pin_malloc(on: bool) -> None:
    """on: glibc maps (and unmaps on free) every allocation ≥ 4 KiB, so RSS follows live tensors.

    A higher threshold leaves the many small activations of the tiny model in the heap, whose freed
    chunks stay resident: at 64 KiB, 96 px, ~30 MB stayed in RSS after the first half of the split
    backward with no live tensor behind it, and counted again in the second half's peak.

    off: large blocks come from the heap and are reused, as in glibc's steady state (its dynamic
    thresholds grow to 32 MiB mmap / 64 MiB trim), so the timed steps pay no page faults per tensor.
    """
    global _pinned
    _pinned = on
    _mallopt(M_MMAP_THRESHOLD, PINNED_MMAP_BYTES if on else 32 * 2**20)
    _mallopt(M_TRIM_THRESHOLD, 128 * 1024 if on else 64 * 2**20)


class _RssSampler:
    """Fallback peak-RSS reader: a thread polling RSS every millisecond during the step."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.peak = self._proc.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def stop_mb(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return max(self.peak, self._proc.memory_info().rss) / 2**20

    def _poll(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self._proc.memory_info().rss)


def _step_probe(module: Any, case: Case):
    """A Lightning callback recording, per training step: phase, wall and CPU seconds, peak MB, generator passes.

    On CPU the first ``case.memory_phase`` steps run with malloc pinned (peak RSS is meaningful, time
    is not), the rest unpinned (time is meaningful). On CUDA every step gives both.
    """
    import lightning as L
    import torch

    device, mem_steps = case.device, case.memory_phase

    class StepProbe(L.Callback):
        def __init__(self) -> None:
            self.records: list[dict[str, Any]] = []
            self.passes = 0
            self.handle = module.generator.register_forward_pre_hook(self._count)
            self.hwm = device == "cpu" and _reset_hwm()
            self.sampler = None if device != "cpu" or self.hwm else _RssSampler()

        def _count(self, *_: Any) -> None:
            self.passes += 1

        def _phase(self) -> str:
            return "memory" if len(self.records) < mem_steps else "time"

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            self.base = 0.0
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            elif self._phase() == "memory":
                _release_free_heap()
                self.base = _status_mb("VmRSS") or 0.0
                if self.hwm:
                    _reset_hwm()
                elif self.sampler is not None:
                    self.sampler.start()
            self.passes = 0
            self.cpu0, self.t0 = time.process_time(), time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if device == "cuda":
                torch.cuda.synchronize()
            wall, cpu = time.perf_counter() - self.t0, time.process_time() - self.cpu0
            phase, peak = self._phase(), None
            if device == "cuda":
                peak = torch.cuda.max_memory_allocated() / 2**20
            elif phase == "memory":
                peak = ((_status_mb("VmHWM") or 0.0) if self.hwm else self.sampler.stop_mb()) - self.base
            self.records.append(
                {
                    "phase": phase,
                    "wall": wall,
                    "cpu": cpu,
                    "peak": peak,
                    "passes": self.passes,
                    "base": self.base,
                    "pinned": _pinned,
                }
            )
            if device == "cpu" and len(self.records) == mem_steps:
                _pin_malloc(False)

    return StepProbe()


def _synthetic_batches(case: Case, count: int) -> list[dict[str, Any]]:
    """Fixed random images in [-1, 1]: compute does not depend on content, and no loader runs in the timing."""
    import torch

    g = torch.Generator().manual_seed(0)
    shape = (case.batch_size, 3, case.resolution, case.resolution)
    return [
        {"a": torch.rand(shape, generator=g) * 2 - 1, "b": torch.rand(shape, generator=g) * 2 - 1} for _ in range(count)
    ]


def run_case(case: Case) -> dict[str, Any]:
    """Build the module from the composed training config and run the case's memory and timing steps.

    CPU: ``memory_warmup + memory_steps`` steps with malloc pinned (peaks from the last
    ``memory_steps``), then ``warmup + steps`` unpinned (times from the last ``steps``).
    CUDA: ``warmup + steps``, times and peaks from the last ``steps``.
    """
    import lightning as L
    import torch
    from torch.utils.data import DataLoader

    from pixel_gan.config import compose_train_config
    from pixel_gan.logging_utils import quiet_libraries
    from pixel_gan.module import PixelGANModule

    quiet_libraries()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # per-case "GPU available" banners
    warnings.filterwarnings("ignore", message=".*`validation_step` but have no `val_dataloader`.*")
    if case.threads:
        torch.set_num_threads(case.threads)
    if case.device == "cpu" and case.memory_phase:  # unpinned again after the memory steps (StepProbe)
        _pin_malloc(True)
    cfg = compose_train_config(*case.overrides(), output_dir=os.devnull)
    L.seed_everything(0, verbose=False)
    t0 = time.perf_counter()
    module = PixelGANModule(
        model=cfg.model,
        loss=cfg.loss,
        optim=cfg.optim,
        resolution=cfg.resolution.size,
        image_log_every_n_steps=0,
        max_consecutive_skips=0,
    )
    build_s = time.perf_counter() - t0
    probe = _step_probe(module, case)
    total = case.memory_phase + case.warmup + case.steps
    trainer = L.Trainer(
        accelerator="gpu" if case.device == "cuda" else "cpu",
        devices=1,
        precision=case.precision,
        max_steps=total,
        max_epochs=-1,
        logger=False,
        callbacks=[probe],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=os.devnull,
    )
    trainer.fit(module, train_dataloaders=DataLoader(_synthetic_batches(case, total), batch_size=None))
    probe.handle.remove()
    recs = probe.records
    if len(recs) < total:
        raise RuntimeError(f"{case.label}: only {len(recs)} of {total} steps ran")
    timed = recs[case.memory_phase + case.warmup :]
    measured = timed if case.device == "cuda" else recs[case.memory_warmup : case.memory_phase]
    return {
        "label": case.label,
        "mode": case.mode,
        "split_backward": MODES[case.mode][1] == "split",
        "loss": MODES[case.mode][0],
        "resolution": case.resolution,
        "model": case.model,
        "device": case.device,
        "precision": case.precision,
        "batch_size": case.batch_size,
        "switches": {k: bool(case.switches.get(k)) for k in SWITCHES},
        "lpips_net": str(cfg.loss.lpips_net),
        "threads": torch.get_num_threads(),
        "step_s": [r["wall"] for r in timed],
        "cpu_s": [r["cpu"] for r in timed],
        "peak_mb": [r["peak"] for r in measured],
        "gen_passes": [r["passes"] for r in recs],
        "base_mb": measured[0]["base"] if measured else None,
        "build_s": build_s,
        "skipped_steps": module.skipped_steps,
        "pinned_timed_steps": sum(r["pinned"] for r in timed),
    }


def _child(case: Case, conn) -> None:
    try:
        conn.send(("ok", run_case(case)))
    except BaseException as err:  # reported by the parent, which keeps going with the other cases
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def run_isolated(case: Case, start_method: str) -> dict[str, Any]:
    """Run one case in a fresh child process; an error or a killed child comes back as {"error": ...}."""
    ctx = mp.get_context(start_method)
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, child), daemon=True)
    proc.start()
    child.close()
    try:
        status, payload = parent.recv()
    except EOFError:
        status, payload = "error", "child process died (out of memory?)"
    proc.join()
    if status != "ok":
        return {"label": case.label, "resolution": case.resolution, "error": payload}
    return payload


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


def _cuda_available() -> bool:
    """Whether a GPU exists, asked in a way that does not initialize CUDA in the forking parent."""
    try:
        import torch

        return torch.cuda.device_count() > 0 if torch.backends.cuda.is_built() else False
    except Exception:  # noqa: BLE001 - any failure means no usable GPU here
        return False


def machine_info() -> dict[str, Any]:
    """CPU model, core count, load, library versions: what a reader needs to weigh the numbers."""
    import diffusers
    import lightning
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "diffusers": diffusers.__version__,
        "platform": platform.platform(),
    }


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
        "Written by `python -m pixel_gan.bench` (see `pixel_gan/bench.py` for how each figure is measured).",
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
        "| res | case | loss | split | step s | cpu s | peak MB | base MB | G passes |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in result["cases"]:
        if "error" in c:
            lines.append(f"| {c['resolution']} | {c['label']} | | | error: {c['error']} | | | | |")
            continue
        lines.append(
            f"| {c['resolution']} | {c['label']} | {c['loss']} | {str(c['split_backward']).lower()} | "
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


# ----------------------------------------------------------------------------- command line


def build_cases(args: argparse.Namespace) -> list[Case]:
    """Every mode at every resolution, then the lean step with each switch turned on by itself."""
    common = dict(
        model=args.model,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        lpips_net=args.lpips,
        threads=args.threads,
        memory_warmup=0 if args.smoke else 1,
        memory_steps=args.memory_steps,
    )
    cases = []
    for res in args.resolutions:
        cases += [Case(mode=m, resolution=res, **common) for m in args.modes]
        cases += [Case(mode="lean", resolution=res, switches={s: True}, **common) for s in args.switches]
    return cases


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pixel_gan.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny", help="model config: tiny | sd_turbo_random | sd_turbo")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--precision", default="32-true", help="Lightning precision: 32-true | bf16-mixed")
    p.add_argument("--resolutions", type=int, nargs="+", default=None)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument(
        "--switches",
        nargs="*",
        default=None,
        choices=SWITCHES,
        help="extra lean cases, one switch each (default: all three; none with --quick)",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--steps", type=int, default=None, help="timed steps per case and round")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (allocator, kernels, optimizer state)")
    p.add_argument(
        "--memory-steps",
        type=int,
        default=None,
        help="CPU: steps with pinned malloc whose peak RSS is reported (after one pinned warm-up)",
    )
    p.add_argument("--rounds", type=int, default=None, help="repeat every case this often, interleaved")
    p.add_argument("--lpips", default=None, help="loss.lpips_net override (tiny default: alex, as its experiments)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per case (CPU default 1: see THREADS_NOTE; CUDA default: torch's)",
    )
    p.add_argument(
        "--start-method",
        default="fork" if sys.platform == "linux" else "spawn",
        choices=("fork", "spawn", "forkserver"),
        help="how each case's fresh process starts",
    )
    p.add_argument("--quick", action="store_true", help="one resolution, the four modes, few steps (< 90 s on CPU)")
    p.add_argument("--smoke", action="store_true", help="32 px, one step per mode: checks the benchmark runs")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--write", metavar="PATH", help="write the markdown report there")
    args = p.parse_args(argv)
    preset = (
        {"resolutions": [32], "steps": 1, "warmup": 0, "memory_steps": 1, "rounds": 1, "switches": []}
        if args.smoke
        else {"resolutions": [96], "steps": 3, "warmup": 1, "memory_steps": 1, "rounds": 1, "switches": []}
        if args.quick
        else {
            "resolutions": [96, 160],
            "steps": 3,
            "warmup": 1,
            "memory_steps": 1,
            "rounds": 2,
            "switches": list(SWITCHES),
        }
    )
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.threads is None and args.device == "cpu":
        args.threads = 1
    if args.lpips is None and args.model == "tiny":
        args.lpips = "alex"  # what the tiny experiments (demo, smoke) train with
    return args


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run all cases round-robin and return the JSON result."""
    t0 = time.perf_counter()
    machine = machine_info()
    if args.threads:
        machine["torch_threads"] = args.threads
    cases = build_cases(args)
    runs: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(cases))}
    for round_ in range(args.rounds):
        for i, case in enumerate(cases):
            if runs[i] and "error" in runs[i][0]:
                continue
            if round_ and case.switches.get("compile"):  # compiling again would add minutes, not samples
                continue
            if round_ and case.device == "cpu":  # peaks barely vary: later rounds only add timings
                case = dataclasses.replace(case, memory_warmup=0, memory_steps=0)
            res = run_isolated(case, args.start_method)
            if not args.json:
                peak = f"peak {max(res['peak_mb']):.0f} MB, " if res.get("peak_mb") else ""
                msg = res.get("error") or (
                    f"step {statistics.median(res['step_s']):.2f} s, {peak}{res['gen_passes'][0]} G passes"
                )
                print(
                    f"[round {round_ + 1}/{args.rounds}] {case.resolution:>4} px {case.label:<20} {msg}",
                    file=sys.stderr,
                    flush=True,
                )
            runs[i].append(res)
    summary = [summarize(runs[i]) for i in range(len(cases))]
    return {
        "command": "python -m pixel_gan.bench " + " ".join(argv),
        "machine": machine,
        "load_avg_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "settings": {
            k: getattr(args, k)
            for k in (
                "model",
                "device",
                "precision",
                "batch_size",
                "steps",
                "warmup",
                "memory_steps",
                "rounds",
                "resolutions",
                "switches",
                "lpips",
                "threads",
            )
        },
        "cases": summary,
        "ratios": compute_ratios(summary),
        "gpu_target": gpu_target(summary),
        "wall_s": time.perf_counter() - t0,
    }


def _print_table(result: dict[str, Any]) -> None:
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # Import the heavy libraries once here: forked children start with them loaded.
    import pixel_gan.module  # noqa: F401
    from pixel_gan.safe_io import write_text

    result = run(args, argv)
    if args.write:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, markdown_report(result))
    if args.json:
        print(json.dumps(result, default=str))
    else:
        _print_table(result)
    return 1 if any("error" in c for c in result["cases"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
