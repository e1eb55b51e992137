"""Shared pieces of the scale-out tests: a tiny dataset and ``train.py`` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def scaleout_data(tmp_path_factory) -> Path:
    """6 train / 2 test images per domain at 32 px, written before any subprocess starts (no race)."""
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("scaleout-data"), n_train=6, n_test=2, size=32, seed=3)


@dataclass
class TrainCommand:
    """``python train.py experiment=smoke`` on the tiny model and the small dataset, no export."""

    cache_dir: str
    data_root: Path

    def args(self, *overrides: str) -> list[str]:
        """Flags (``-m``) first: Hydra's argument parser takes no flag after the overrides."""
        flags = [o for o in overrides if o.startswith("-")]
        overrides = tuple(o for o in overrides if not o.startswith("-"))
        return [
            sys.executable,
            str(ROOT / "train.py"),
            *flags,
            "experiment=smoke",
            f"data.root={self.data_root}",
            "data.generate_demo=false",
            "data.num_workers=0",
            "export=false",
            "+trainer.enable_progress_bar=false",
            *overrides,
        ]

    @property
    def env(self) -> dict[str, str]:
        # One intra-op thread per process: several processes share 2 cores without oversubscription.
        # tests/scaleout on the path: the probe callback is importable in Lightning's DDP child processes.
        path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
        return {
            **os.environ,
            "PIXEL_GAN_CACHE": self.cache_dir,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONPATH": path,
        }

    def start(self, *overrides: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.args(*overrides), cwd=ROOT, env=self.env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def run(self, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.args(*overrides),
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )


@pytest.fixture(scope="session")
def train_command(cache_dir, tiny_dir, scaleout_data) -> TrainCommand:
    return TrainCommand(str(cache_dir), scaleout_data)
