"""The inference benchmark's quick mode: cases run in their own processes and the JSON has every field."""

from __future__ import annotations

import json

import pytest

from pixel_gan.bench import inference_run

CASE_KEYS = {"label", "batch_size", "precision", "merged", "images_per_s", "load_s", "peak_mb", "batch_s"}


def test_quick_mode_runs_every_case_and_reports_the_fields(cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("PIXEL_GAN_CACHE", cache_dir)
    argv = ["--quick", "--json", "--no-ttfi", "--resolution", "32", "--batch-sizes", "1", "2", "--batches", "1"]
    argv += ["--switches", "bf16"]
    assert inference_run.main(argv) == 0
    result = json.loads(capsys.readouterr().out)  # stdout is exactly one JSON object
    labels = [c["label"] for c in result["cases"]]
    assert labels == ["unmerged-fp32", "merged-fp32", "merged-bf16", "merged-batch2"]
    for case in result["cases"]:
        assert set(case) >= CASE_KEYS, case
        assert case["images_per_s"] > 0 and case["peak_mb"] > 0 and len(case["batch_s"]) == 1
    merged = {c["label"]: c["merged"] for c in result["cases"]}
    assert merged == {"unmerged-fp32": False, "merged-fp32": True, "merged-bf16": True, "merged-batch2": True}
    diffs = {c["label"]: c["max_abs_diff_vs_reference"] for c in result["cases"]}
    assert diffs["unmerged-fp32"] == 0 and diffs["merged-fp32"] < 1e-4 and diffs["merged-bf16"] < 0.2
    flops = result["flops"]
    assert flops["flops_unmerged"] > flops["flops_merged"] > 0  # the adapters cost FLOPs; merging removes them
    assert result["ratios"]["merged_vs_unmerged"]["flop_limit"] == pytest.approx(
        flops["flops_unmerged"] / flops["flops_merged"]
    )
    assert result["ratios"]["merged-batch2_vs_merged-fp32"]["measured"] > 0
    assert {"cpu", "cores", "torch_threads"} <= set(result["machine"])


def test_each_benchmark_rewrites_only_its_own_section_of_the_report():
    from pixel_gan.bench.inference_report import split_section, with_section

    training = "# Training-step benchmarks\n\n## Results\nold training\n"
    both = with_section(training, "## Inference\nfirst\n")
    assert both == "# Training-step benchmarks\n\n## Results\nold training\n\n## Inference\nfirst\n"
    again = with_section(both, "## Inference\nsecond\n### detail\n")
    assert again.count("## Inference") == 1 and "first" not in again and again.endswith("### detail\n")
    rest, section = split_section(again)
    assert rest.startswith("# Training") and "Inference" not in rest and section.startswith("## Inference\nsecond")
