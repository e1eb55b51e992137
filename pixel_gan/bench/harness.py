"""The timing harness: run one :class:`~pixel_gan.bench.cases.Case` in a fresh process and measure it.

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

import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import platform
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from pixel_gan.bench.cases import MODES, SWITCHES, Case

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
PINNED_MMAP_BYTES = 4096  # one page: see _pin_malloc
_pinned = False  # whether this process runs with malloc pinned (timed steps must not)


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
    from pixel_gan.training.module import PixelGANModule

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
        "schedule": MODES[case.mode][1],
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


def _child(run: Callable[[Any], dict[str, Any]], case: Any, conn) -> None:
    try:
        import torch

        # A forked child cannot enter an OpenMP region of a pool its parent started (the threads are gone and
        # it waits for ever): one thread unless the case asks for more. The benchmark's own parent runs no
        # torch compute, so its children may; a test process that trained before is the parent that hangs.
        torch.set_num_threads(getattr(case, "threads", None) or 1)
        conn.send(("ok", run(case)))
    except BaseException as err:  # reported by the parent, which keeps going with the other cases
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def run_isolated(case: Any, start_method: str, run: Callable[[Any], dict[str, Any]] = run_case) -> dict[str, Any]:
    """Run one case (by default a training case, :func:`run_case`) in a fresh child process; an error or a
    killed child comes back as {"error": ...}. ``case`` needs ``label`` and ``resolution``."""
    ctx = mp.get_context(start_method)
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(run, case, child), daemon=True)
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


def run_header(command: str, machine: dict[str, Any], args: Any, settings: tuple[str, ...]) -> dict[str, Any]:
    """What every benchmark result starts with: the command, the machine, the load at the end, the settings."""
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "command": command,
        "machine": machine,
        "load_avg_end": load,
        "settings": {k: getattr(args, k) for k in settings},
    }
