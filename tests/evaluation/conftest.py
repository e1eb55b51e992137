"""Two tiny trained runs (two steps each) and one report over them, built once per session.

The runs are real ``python train.py experiment=smoke`` processes, started side by side with one
intra-op thread each: on two cores that is faster than one after the other with two threads (the
tiny model is too small to use both cores well), and Hydra writes the run folders itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def eval_data(tmp_path_factory) -> Path:
    """4 train / 3 test images per domain at 64 px: test photos larger than the 32 px runs."""
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("eval-data"), n_train=4, n_test=3, size=64, seed=3)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, train_py, eval_data) -> Path:
    """``runs/run1``, ``runs/run2`` (seeds 1, 2) and ``runs/broken`` (a run folder without export)."""
    runs = tmp_path_factory.mktemp("runs")
    train = train_py(eval_data)
    procs = {name: train.start_in(runs / name, f"seed={seed}") for seed, name in enumerate(("run1", "run2"), start=1)}
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"train.py for {name} failed:\n{output[-4000:]}"
    broken = runs / "broken" / ".hydra"
    broken.mkdir(parents=True)
    (broken / "config.yaml").write_text("task_name: broken\n")
    return runs


def run_evaluate(*overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(ROOT / "evaluate.py"), *overrides]
    return subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def evaluate_cli():
    """``python evaluate.py <overrides>`` as a subprocess → CompletedProcess."""
    return run_evaluate


@dataclass
class EvaluatedReport:
    out_dir: Path
    runs: Path
    result: subprocess.CompletedProcess

    @property
    def log(self) -> str:
        return self.result.stdout + self.result.stderr


@pytest.fixture(scope="session")
def evaluated(tmp_path_factory, trained_runs) -> EvaluatedReport:
    """``python evaluate.py runs='<runs>/*'`` with tiny DINO weights and a missing Inception file."""
    from pixel_gan.metrics.dino_struct import build_tiny_dino

    dino = build_tiny_dino(tmp_path_factory.mktemp("dino") / "tiny-dino")
    out_dir = tmp_path_factory.mktemp("report")
    result = run_evaluate(
        f"runs={trained_runs}/*",
        f"out_dir={out_dir}",
        "grid_images=2",
        "device=cpu",
        f"metrics.dino.pretrained={dino}",
        "metrics.fid.inception_weights=/nonexistent/inception.pth",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return EvaluatedReport(out_dir, trained_runs, result)
