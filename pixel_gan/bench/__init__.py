"""Training-step benchmark: step time, peak memory and generator passes for each loss schedule.

    python -m pixel_gan.bench                     # tiny model, CPU, 128 + 256 px, all cases
    python -m pixel_gan.bench --quick --json      # < 90 s on 2 CPU cores
    python -m pixel_gan.bench --write docs/benchmarks.md
    python -m pixel_gan.bench --model sd_turbo_random --device cuda --precision bf16-mixed --resolutions 256 512
    python -m pixel_gan.bench --inference --quick # inference: merged, precisions, batches, time to first image

Split by job: :mod:`~pixel_gan.bench.cases` (what runs), :mod:`~pixel_gan.bench.harness` (running
and measuring one case in its own process), :mod:`~pixel_gan.bench.report` (summaries, ratios,
markdown), :mod:`~pixel_gan.bench.cli` (the command line); the inference benchmark in
:mod:`~pixel_gan.bench.inference` (cases), :mod:`~pixel_gan.bench.inference_run` (its command line) and
:mod:`~pixel_gan.bench.inference_report`.
"""
