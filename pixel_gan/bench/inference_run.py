"""``python -m pixel_gan.bench --inference [--quick] [--json] [--write PATH]``: the inference benchmark.

    python -m pixel_gan.bench --inference --quick                     # tiny model, CPU, < 90 s
    python -m pixel_gan.bench --inference --model sd_turbo_random      # full size, 256 px, CPU
    python -m pixel_gan.bench --inference --model sd_turbo_random --device cuda --resolution 512 \
        --switches fp16 channels_last compile

One setup process writes the export the cases load (adapters drawn as if trained) and its merged
standalone form, and counts the FLOP limit of merging; then every case runs in its own fresh
process, round after round, interleaved (:mod:`pixel_gan.bench.inference`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixel_gan.bench.harness import machine_info, run_header, run_isolated
from pixel_gan.bench.inference import REFERENCE, build_cases, run_case, time_to_first_image

#: The base each benchmark model names in its translator.yaml (``conf/model/<name>.yaml``).
MODELS: dict[str, dict[str, Any]] = {
    "tiny": {"name": "tiny", "backbone": "tiny", "lora": {"unet_rank": 8, "unet_alpha": 8}},
    "sd_turbo_random": {"name": "sd_turbo_random", "backbone": "random", "lora": {}},
}
SWITCHES = ("bf16", "fp16", "channels_last", "compile")
MERGE_TARGET = 0.9  # merged images/s ≥ 90 % of the FLOP limit, at batch 1
BATCH_TARGET = 1.3  # batch 16 per-image throughput ≥ 1.3× batch 1
TTFI_TARGET = 2.0  # merged export starts ≥ 2× sooner than the ordinary export, unmerged


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pixel_gan.bench --inference", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, choices=list(MODELS), help="default: tiny with --quick, else full size")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--resolution", type=int, default=None, help="image side in px (default 64 quick, 256 full)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--batches", type=int, default=None, help="timed batches per case and round")
    p.add_argument("--rounds", type=int, default=None, help="repeat every case this often, interleaved")
    p.add_argument("--threads", type=int, default=None, help="torch threads per case (CPU default 1)")
    p.add_argument(
        "--switches",
        nargs="*",
        default=None,
        choices=SWITCHES,
        help="merged cases with one switch each (default: bf16 and channels_last on CPU, fp16 and channels_last "
        "on CUDA; compile only when named)",
    )
    p.add_argument("--warmup-size", type=int, default=None, help="images in the warm-up batch (default: the batch)")
    p.add_argument("--no-ttfi", action="store_true", help="skip the time-to-first-image runs")
    p.add_argument("--ttfi-only", action="store_true", help="only the time-to-first-image runs, no throughput cases")
    p.add_argument("--start-method", default="fork" if sys.platform == "linux" else "spawn")
    p.add_argument("--quick", action="store_true", help="tiny model, 64 px, one round (< 90 s on CPU)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--write", metavar="PATH", help="write the markdown report there")
    args = p.parse_args(argv)
    args.model = args.model or ("tiny" if args.quick else "sd_turbo_random")
    args.resolution = args.resolution or (64 if args.quick else 256)
    args.batches = args.batches or 2
    if args.switches is None:
        args.switches = ["fp16" if args.device == "cuda" else "bf16", "channels_last"]
    args.rounds = args.rounds or (1 if args.quick else 2)
    if args.threads is None and args.device == "cpu":
        args.threads = 1  # see pixel_gan.bench.cases.THREADS_NOTE
    return args


# ----------------------------------------------------------------------------- setup (its own process)


@dataclass(frozen=True)
class Setup:
    label: str
    resolution: int
    model: str
    folder: str
    cache_dir: str


def draw_adapters_(generator: Any, scale: float = 0.05, seed: int = 0) -> Any:
    """Random LoRA B matrices and skip convs, as if trained: fresh adapters (B at zero) would merge to a no-op.
    In place; what is trainable stays trainable."""
    import torch

    draw = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in generator.named_parameters():
            if "lora_B" in name or "skip_convs" in name:
                p.copy_(torch.randn(p.shape, generator=draw) * scale)
    return generator


def write_exports(setup: Setup) -> dict[str, Any]:
    """The ordinary export, its merged fp16 and bf16 forms, one input image, and the FLOP limit of merging."""
    import torch
    from PIL import Image

    from pixel_gan.inference.flops import full_size_on_meta, merge_limit
    from pixel_gan.inference.merge import merge_adapters
    from pixel_gan.inference.merged_export import save_merged
    from pixel_gan.inference.translator import Translator
    from pixel_gan.inference.translator_config import TranslatorConfig
    from pixel_gan.models.backbone import build_backbone
    from pixel_gan.models.generator import CycleGANTurbo

    meta = {"model": {**MODELS[setup.model], "cache_dir": setup.cache_dir}, "resolution": setup.resolution}
    config = TranslatorConfig.from_dict({**meta, "edge_preset": "none", "experiment": f"bench-{setup.model}"})
    backbone = build_backbone(str(config.base.backbone), None, setup.cache_dir)
    generator = draw_adapters_(CycleGANTurbo.from_backbone(backbone, *config.prompts, config.lora_settings()))
    translator = Translator(generator, config, "cpu", merge=False)
    folder = Path(setup.folder)
    translator.save_pretrained(folder / "export")
    full = setup.model == "sd_turbo_random"  # counted on the meta device: no minutes of real compute
    limit = merge_limit(full_size_on_meta(config.lora_settings()) if full else translator.generator, setup.resolution)
    merge_adapters(translator.generator, inplace=True)
    start = time.perf_counter()
    save_merged(translator.generator, folder / "merged", dtype="fp16", meta=translator.meta)
    save_merged(translator.generator, folder / "merged-bf16", dtype="bf16", meta=translator.meta)
    image = folder / "input.png"
    pixels = torch.rand(setup.resolution, setup.resolution, 3, generator=torch.Generator().manual_seed(0))
    Image.fromarray((pixels * 255).byte().numpy()).save(image)
    merged_bytes = sum(f.stat().st_size for f in (folder / "merged").iterdir())
    return {
        "flops_unmerged": limit.unmerged,
        "flops_merged": limit.merged,
        "merge_limit": limit.limit,
        "merged_export_mb": merged_bytes / 2**20,
        "merged_export_write_s": time.perf_counter() - start,
    }


# ----------------------------------------------------------------------------- summary


def summarize(runs: list[dict[str, Any]], reference: dict[str, Any] | None) -> dict[str, Any]:
    """Median images/s and load time over the rounds, the largest peak, |Δ| to the reference output."""
    import numpy as np

    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    first = ok[0]
    per_batch = statistics.median(t for r in ok for t in r["batch_s"])
    out = {k: first[k] for k in ("label", "resolution", "batch_size", "precision", "merged")}
    out.update(
        images_per_s=first["batch_size"] / per_batch,
        batch_s=[t for r in ok for t in r["batch_s"]],
        load_s=statistics.median(r["load_s"] for r in ok),
        warmup_s=statistics.median(r["warmup_s"] for r in ok),
        peak_mb=max(r["peak_mb"] or 0 for r in ok),
    )
    if reference is not None:
        out["max_abs_diff_vs_reference"] = float(np.abs(first["output"] - reference["output"]).max())
    return out


def ratios(cases: list[dict[str, Any]], flops: dict[str, Any]) -> dict[str, Any]:
    """Merged vs reference (beside the FLOP limit), each switch vs merged-fp32, batches vs batch 1."""
    speed = {c["label"]: c.get("images_per_s") for c in cases}
    base = speed.get("merged-fp32")
    out: dict[str, Any] = {}
    if base and speed.get(REFERENCE):
        measured = base / speed[REFERENCE]
        share = (measured - 1) / (flops["merge_limit"] - 1) if flops["merge_limit"] > 1 else None
        out["merged_vs_unmerged"] = {
            "measured": measured,
            "flop_limit": flops["merge_limit"],
            "of_limit": measured / flops["merge_limit"],
            "of_possible_gain": share,
            "met": measured >= MERGE_TARGET * flops["merge_limit"],
        }
    for label, value in speed.items():
        if base and value and label not in (REFERENCE, "merged-fp32"):
            target = BATCH_TARGET if label == "merged-batch16" else None
            out[f"{label}_vs_merged-fp32"] = {
                "measured": value / base,
                "target": target,
                "met": None if target is None else value / base >= target,
            }
    return out


def ttfi_runs(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time to first image: today's path (ordinary export, unmerged) against the merged standalone export."""
    image, today_label = folder / "input.png", "export-unmerged (today)"
    # (merging at load is in the cases' load times: merged-fp32 against unmerged-fp32)
    runs = {
        today_label: (str(folder / "export"), ["--no-merge"]),
        "merged-export (fp16 stored)": (str(folder / "merged"), []),
        "merged-export (bf16 stored, bf16 compute)": (str(folder / "merged-bf16"), ["--precision", "bf16"]),
    }
    out: dict[str, Any] = {}
    for label, (checkpoint, extra) in runs.items():
        out[label] = time_to_first_image(checkpoint, image, extra, args.threads)
        print(f"[ttfi] {label:<42} {out[label]}", file=sys.stderr, flush=True)
    today = out[today_label].get("first_image_s")
    merged = [(r["first_image_s"], k) for k, r in out.items() if k != today_label and r.get("first_image_s")]
    if today and merged:
        fast, label = min(merged)
        out["speedup"] = {
            "measured": today / fast,
            "target": TTFI_TARGET,
            "met": today / fast >= TTFI_TARGET,
            "against": label,
        }
    return out


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Setup, all cases round-robin, time to first image; the JSON result."""
    t0 = time.perf_counter()
    machine = {**machine_info(), "torch_threads": args.threads}
    cache_dir = os.environ.get("PIXEL_GAN_CACHE", ".cache")
    with tempfile.TemporaryDirectory(prefix="pixel-gan-bench-") as tmp:
        setup = Setup("setup", args.resolution, args.model, tmp, cache_dir)
        flops = run_isolated(setup, args.start_method, write_exports)
        if "error" in flops:
            raise RuntimeError(f"benchmark setup failed: {flops['error']}")
        print(f"[setup] {flops}", file=sys.stderr, flush=True)
        cases = [] if args.ttfi_only else build_cases(str(Path(tmp) / "export"), args)
        runs: dict[str, list[dict[str, Any]]] = {c.label: [] for c in cases}
        for round_ in range(args.rounds):
            for case in cases:
                if runs[case.label] and ("error" in runs[case.label][0] or case.compile):
                    continue  # a failed case stays failed; compiling again adds minutes, not samples
                res = run_isolated(case, args.start_method, run_case)
                runs[case.label].append(res)
                msg = res.get("error") or (
                    f"{case.batch_size / statistics.median(res['batch_s']):.4f} img/s, load {res['load_s']:.1f} s, "
                    f"peak {res['peak_mb']:.0f} MB"
                )  # on stderr (also with --json): a run cut short still shows what it measured
                print(f"[round {round_ + 1}/{args.rounds}] {case.label:<22} {msg}", file=sys.stderr, flush=True)
        reference = next((r for r in runs.get(REFERENCE, []) if "error" not in r), None)
        summary = [summarize(runs[c.label], reference) for c in cases]
        ttfi = {} if args.no_ttfi else ttfi_runs(Path(tmp), args)
    keys = ("model", "device", "resolution", "batch_sizes", "batches", "rounds", "switches", "warmup_size")
    return {
        **run_header("python -m pixel_gan.bench --inference " + " ".join(argv), machine, args, keys),
        "flops": flops,
        "cases": summary,
        "ratios": ratios(summary, flops),
        "time_to_first_image": ttfi,
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str]) -> int:
    from pixel_gan.bench.inference_report import markdown_report, print_table, with_section
    from pixel_gan.safe_io import write_text

    args = parse_args(argv)
    import pixel_gan.inference.translator  # noqa: F401 - forked cases start with the libraries loaded

    result = run(args, argv)
    if args.write:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, with_section(path.read_text() if path.is_file() else "", markdown_report(result)))
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_table(result)
    return 1 if any("error" in c for c in result["cases"]) else 0
