"""The benchmark's command line: ``python -m pixel_gan.bench [--quick] [--smoke] [--json] [--write PATH]``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pixel_gan.bench import __doc__ as PACKAGE_DOC
from pixel_gan.bench.cases import MODES, SWITCHES, build_cases
from pixel_gan.bench.harness import machine_info, run_header, run_isolated
from pixel_gan.bench.inference_report import split_section, with_section
from pixel_gan.bench.report import compute_ratios, gpu_target, markdown_report, print_table, summarize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pixel_gan.bench", description=(PACKAGE_DOC or "").split("\n\n")[0])
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
    p.add_argument("--inference", action="store_true", help="the inference benchmark instead (see its own --help)")
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
    keys: tuple[str, ...] = ("model", "device", "precision", "batch_size", "steps", "warmup", "memory_steps")
    keys += ("rounds", "resolutions", "switches", "lpips", "threads")
    return {
        **run_header("python -m pixel_gan.bench " + " ".join(argv), machine, args, keys),
        "cases": summary,
        "ratios": compute_ratios(summary),
        "gpu_target": gpu_target(summary),
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--inference" in argv:  # the inference benchmark has its own cases and options
        from pixel_gan.bench.inference_run import main as inference_main

        return inference_main([a for a in argv if a != "--inference"])
    args = parse_args(argv)
    # Import the heavy libraries once here: forked children start with them loaded.
    import pixel_gan.module  # noqa: F401
    from pixel_gan.safe_io import write_text

    result = run(args, argv)
    if args.write:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        _, inference = split_section(path.read_text() if path.is_file() else "")  # kept: the other benchmark's
        write_text(path, with_section(markdown_report(result), inference) if inference else markdown_report(result))
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_table(result)
    return 1 if any("error" in c for c in result["cases"]) else 0
