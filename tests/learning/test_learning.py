"""Does training learn? The regression guard for training dynamics.

A short run of ``experiment=demo`` (the pretrained demo base, 32 px, fixed seed, one thread) must
move the a2b translation of the paired test split toward its ground truth: ``val/gt_delta_e``
(mean ΔE76 to the pixel-art rendering of the same scene, validated every 50 steps from step 0),
averaged over the last two validations, must be at least ``MARGIN`` below step 0. The same run with
the generator's GAN term sign-flipped (``variants.py gan_sign``) must not pass.

Measured (200 steps, 2-core CPU, this test's settings): the real run goes 35.7 → 29.9 / 29.1 at steps
150 / 200 (17 % below step 0); with the GAN sign flipped, 35.7 → 34.1 / 55.1 (25 % above). Swapped captions are not a
variant this check can catch: the demo base's two captions give nearly the same one-step x0
(step-0 ΔE 36.5 vs 37.8), so its runs learn alike (31.4 at step 200).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pixel_gan.data.demo_cache import ensure_demo_dataset

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEPS = 200
EVERY = 50
MARGIN = 0.10

# Two 200-step runs side by side: about 3 minutes on an idle 2-core machine, several times that on a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.timeout(1800)]


def start(run_dir: Path, cache_dir: str, bug: str) -> subprocess.Popen:
    """``train.py experiment=demo`` at 32 px with ``bug``, one thread (two runs share the 2 cores)."""
    command = [
        sys.executable,
        str(HERE / "variants.py"),
        bug,
        "experiment=demo",
        f"hydra.run.dir={run_dir}",
        "resolution=32",
        "cpu_threads=1",
        f"trainer.max_steps={STEPS}",
        f"trainer.val_check_interval={EVERY}",
        "export=false",
        "image_log_every_n_steps=0",
        f"callbacks.model_checkpoint.every_n_train_steps={STEPS}",
        "+trainer.enable_progress_bar=false",
    ]
    env = {**os.environ, "PIXEL_GAN_CACHE": cache_dir}
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir) -> dict[str, list[dict]]:
    """bug → the validation lines of its metrics.jsonl; both runs side by side."""
    root = tmp_path_factory.mktemp("learning")
    ensure_demo_dataset(Path(cache_dir) / "demo-data", cache_dir)  # once, before two runs race for it
    procs = {bug: start(root / bug, cache_dir, bug) for bug in ("none", "gan_sign")}
    found = {}
    for bug, proc in procs.items():
        output, _ = proc.communicate(timeout=1700)
        assert proc.returncode == 0, output[-3000:]
        lines = [json.loads(line) for line in (root / bug / "metrics.jsonl").read_text().splitlines()]
        found[bug] = [line for line in lines if "val/gt_delta_e" in line]
    return found


def delta_e_cut(lines: list[dict]) -> float:
    """Relative drop of the paired ΔE from step 0 to the mean of the last two validations."""
    assert [line["step"] for line in lines] == list(range(0, STEPS + 1, EVERY))
    return 1 - (lines[-1]["val/gt_delta_e"] + lines[-2]["val/gt_delta_e"]) / 2 / lines[0]["val/gt_delta_e"]


def test_training_moves_translations_toward_the_ground_truth(runs):
    values = [round(line["val/gt_delta_e"], 2) for line in runs["none"]]
    assert delta_e_cut(runs["none"]) >= MARGIN, f"paired ΔE by step: {values}"


def test_a_gan_sign_error_fails_the_same_check(runs):
    values = [round(line["val/gt_delta_e"], 2) for line in runs["gan_sign"]]
    assert delta_e_cut(runs["gan_sign"]) < MARGIN, f"the learning check passed a broken run: {values}"
