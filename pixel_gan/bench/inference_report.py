"""The inference benchmark's result as a table (terminal) and as markdown (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

HEADING = "## Inference"


def _cell(value: Any, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _case_row(c: dict[str, Any]) -> str:
    if "error" in c:
        return f"| {c['label']} | – | – | error: {c['error']} | | | |"
    return (
        f"| {c['label']} | {c['batch_size']} | {c['precision']} | {c['images_per_s']:.3f} | {c['load_s']:.1f} | "
        f"{c['peak_mb']:.0f} | {_cell(c.get('max_abs_diff_vs_reference'), '.1e')} |"
    )


def case_rows(result: dict[str, Any]) -> list[str]:
    """One markdown row per case."""
    header = "| case | batch | precision | images/s | load s | peak MB | max abs diff vs unmerged-fp32 |"
    return [header, "|---|---:|---|---:|---:|---:|---:|", *map(_case_row, result["cases"])]


def ratio_rows(result: dict[str, Any]) -> list[str]:
    """Merged vs unmerged beside the FLOP limit, then every other ratio with its target."""
    rows = ["| ratio | measured | target | met |", "|---|---:|---:|---|"]
    for name, r in result["ratios"].items():
        if name == "merged_vs_unmerged":
            target = f"≥ 90 % of the FLOP limit {r['flop_limit']:.4f}×"
            gain = r.get("of_possible_gain")
            share = "" if gain is None else f"; {100 * gain:.0f} % of the possible gain"
            rows.append(f"| merged / unmerged images/s | {r['measured']:.3f}× ({100 * r['of_limit']:.1f} % of the limit"
                        f"{share}) | {target} | {r['met']} |")  # fmt: skip
        else:
            rows.append(f"| {name} | {r['measured']:.3f}× | {_cell(r['target'], '.1f')} | {_cell(r['met'], '')} |")
    return rows


def ttfi_rows(result: dict[str, Any]) -> list[str]:
    """Seconds from the start of ``pixel-gan translate`` to its first output file."""
    ttfi = result.get("time_to_first_image") or {}
    if not ttfi:
        return []
    rows = ["| checkpoint | first image s | process s |", "|---|---:|---:|"]
    for label, r in ttfi.items():
        if label == "speedup":
            continue
        if "error" in r:
            rows.append(f"| {label} | error: {r['error']} | |")
        else:
            rows.append(f"| {label} | {r['first_image_s']:.1f} | {r['process_s']:.1f} |")
    if "speedup" in ttfi:
        s = ttfi["speedup"]
        rows.append(
            f"| today / {s.get('against', 'merged export')} | {s['measured']:.2f}× "
            f"(target ≥ {s['target']:.0f}×, met: {s['met']}) | |"
        )
    return rows


def markdown_report(result: dict[str, Any]) -> str:
    """The whole result as a markdown section: command, machine, cases, ratios, time to first image."""
    m, f = result["machine"], result["flops"]
    lines = [
        HEADING,
        "",
        f"Command: `{result['command']}` ({result['wall_s'] / 60:.1f} min). Machine: {m['cpu']}, {m['cores']} cores, "
        f"{m['torch_threads']} torch thread(s) per case, load average {m['load_avg']} at the start and "
        f"{result['load_avg_end']} at the end (a shared machine: absolute numbers carry its load). "
        f"torch {m['torch']}, diffusers {m['diffusers']}.",
        "",
        f"FLOPs of one translation ({result['settings']['resolution']} px, batch 1): unmerged "
        f"{f['flops_unmerged'] / 1e9:.1f} GFLOP, merged {f['flops_merged'] / 1e9:.1f} GFLOP: merging can give at most "
        f"{f['merge_limit']:.4f}×. Merged fp16 export: {f['merged_export_mb']:.0f} MB.",
        "",
        *case_rows(result),
        "",
        *ratio_rows(result),
        "",
        *ttfi_rows(result),
        "",
        *notes(result),
    ]
    return "\n".join(lines)


GPU_COMMANDS = (
    "python -m pixel_gan.bench --inference --model sd_turbo_random --device cuda --resolution 512 "
    "--switches fp16 bf16 channels_last compile --batch-sizes 1 4 16 --write docs/benchmarks.md",
    "python -m pixel_gan.bench --inference --model sd_turbo_random --device cuda --resolution 256 "
    "--batch-sizes 1 4 16 --json > inference-gpu-256.json",
)


def notes(result: dict[str, Any]) -> list[str]:
    """How the figures are measured, and how to measure the GPU target where none was used."""
    lines = [
        "images/s: batch size / median seconds of a timed batch (after the warm-up), raw tensor path, one "
        "direction. load s: `Translator.from_pretrained` (base built, adapters loaded and, when merged, folded). "
        "peak MB: CPU: the case process's peak resident set (weights included; the forked parent's libraries "
        "count in every case alike); CUDA: `torch.cuda.max_memory_allocated`. max abs diff: one fixed image "
        "on [-1, 1] against the unmerged fp32 reference. Time to first image: `pixel-gan translate` on one image "
        "in a new interpreter, from its start to its output file (imports, base built or export loaded, merge, "
        "one translation).",
        "",
    ]
    if result["settings"]["device"] != "cuda":
        lines += [
            "### GPU",
            "",
            "Target: 512², batch 1, half precision ≤ 0.05 s per image (the original: 0.11 s on an A100 in "
            "fp32). Not measured: no GPU was used for this run, and no GPU figure is claimed. On a GPU machine:",
            "",
            "```",
            *GPU_COMMANDS,
            "```",
            "",
        ]
    return lines


def split_section(text: str, heading: str = HEADING) -> tuple[str, str]:
    """(``text`` without the section, the section): from its heading to the next ``## `` heading or the end."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    if start is None:
        return text, ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[:start] + lines[end:]), "".join(lines[start:end])


def with_section(text: str, section: str, heading: str = HEADING) -> str:
    """``text`` with its ``heading`` section replaced by ``section`` (appended when it has none), so the
    training and inference benchmarks each rewrite their own part of docs/benchmarks.md."""
    rest, _ = split_section(text, heading)
    return rest.rstrip("\n") + "\n\n" + section.strip("\n") + "\n" if rest.strip() else section


def print_table(result: dict[str, Any]) -> None:
    print(markdown_report(result))
