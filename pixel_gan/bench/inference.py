"""Inference benchmark cases: one translator configuration each, measured in a fresh process.

Every case loads the same export (an ordinary translator folder whose adapters are drawn as if
trained, so merging has real work to fold) and translates the same synthetic batch: images/s over
the timed batches, the load time (base built + adapters merged), the peak memory of the whole case
(CPU: the process's peak resident set, weights included; CUDA: ``max_memory_allocated``) and the
output of one fixed image, which the report compares with the unmerged reference.

Time to first image is measured on the real command: ``python -m pixel_gan.cli translate`` on one
image in a new interpreter, from the start of the process to the moment its output file appears.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE = "unmerged-fp32"


@dataclass(frozen=True)
class InferenceCase:
    """One translator configuration; ``label`` names it in the tables and ratios."""

    label: str
    export: str
    resolution: int
    device: str = "cpu"
    precision: str = "fp32"
    merge: bool = True
    channels_last: bool = False
    compile: bool = False
    batch_size: int = 1
    batches: int = 2  # timed batches per round
    warmup: int = 1
    warmup_size: int | None = None  # images per warm-up batch (None: batch_size; 1 keeps full size affordable)
    threads: int | None = None


def build_cases(export: str, args: Any) -> list[InferenceCase]:
    """The reference, merged, each switch on the merged path, and the batch sizes (merged fp32)."""
    common: dict[str, Any] = dict(
        export=export,
        resolution=args.resolution,
        device=args.device,
        batches=args.batches,
        threads=args.threads,
        warmup_size=args.warmup_size,
    )
    cases = [InferenceCase(REFERENCE, merge=False, **common), InferenceCase("merged-fp32", **common)]
    for switch in args.switches:
        if switch in ("bf16", "fp16"):
            cases.append(InferenceCase(f"merged-{switch}", precision=switch, **common))
        else:
            flags: dict[str, Any] = {switch: True}  # channels_last or compile
            cases.append(InferenceCase(f"merged-{switch}", **common, **flags))
    cases += [InferenceCase(f"merged-batch{b}", batch_size=b, **common) for b in args.batch_sizes if b != 1]
    return cases


def _inputs(case: InferenceCase):
    import torch

    draw = torch.Generator().manual_seed(0)
    return torch.rand(case.batch_size, 3, case.resolution, case.resolution, generator=draw) * 2 - 1


def run_case(case: InferenceCase) -> dict[str, Any]:
    """Load, warm up, time ``batches`` batches; report throughput, load time, peak memory, one output."""
    import torch

    from pixel_gan.bench.harness import _reset_hwm, _status_mb
    from pixel_gan.inference.translator import Translator
    from pixel_gan.logging_utils import quiet_libraries

    quiet_libraries()
    if case.threads:
        torch.set_num_threads(case.threads)
    if case.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _reset_hwm()
    start = time.perf_counter()
    translator = Translator.from_pretrained(
        case.export,
        device=case.device,
        dtype=case.precision,
        merge=case.merge,
        channels_last=case.channels_last,
        compile=case.compile,
    )
    load_s = time.perf_counter() - start
    x = _inputs(case)
    first = time.perf_counter()
    for _ in range(case.warmup):
        translator(x[: case.warmup_size or case.batch_size])
    warmup_s = time.perf_counter() - first
    times = []
    for _ in range(case.batches):
        start = time.perf_counter()
        translator(x)
        if case.device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if case.device == "cuda" else _status_mb("VmHWM")
    return {
        "label": case.label,
        "resolution": case.resolution,
        "batch_size": case.batch_size,
        "precision": case.precision,
        "merged": translator.merged,
        "load_s": load_s,
        "warmup_s": warmup_s,
        "batch_s": times,
        "peak_mb": peak,
        "output": translator(x[:1]).numpy(),
    }


# ----------------------------------------------------------------------------- time to first image


def time_to_first_image(checkpoint: str, image: Path, extra: list[str], threads: int | None) -> dict[str, Any]:
    """``pixel-gan translate`` on one image in a new interpreter: seconds from its start to the output file."""
    with tempfile.TemporaryDirectory(prefix="pixel-gan-ttfi-") as out:
        target = Path(out) / f"{image.stem}.png"
        env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
        command = [sys.executable, "-m", "pixel_gan.cli", "translate", "--checkpoint", checkpoint]
        command += ["--input", str(image), "--output", out, "--device", "cpu", *extra]
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen = None
        while proc.poll() is None:
            if seen is None and target.exists():
                seen = time.perf_counter() - start
            time.sleep(0.01)
        total = time.perf_counter() - start
        stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode or not (seen or target.exists()):
        return {"error": f"exit {proc.returncode}: {stderr.strip().splitlines()[-1:] or ''}"}
    return {"first_image_s": seen if seen is not None else total, "process_s": total}
