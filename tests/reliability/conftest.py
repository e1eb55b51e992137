"""Shared pieces of the reliability tests: a tiny dataset and ``train.py`` as a subprocess."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """3 train / 2 test images per domain at 32 px: an 8-step run crosses two epoch boundaries."""
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("small-data"), n_train=3, n_test=2, size=32, seed=1)


@dataclass
class TrainCLI:
    """``python train.py`` on the tiny model: 32 px, batch 1, a checkpoint every step, deterministic, no export."""

    cache_dir: str
    data_root: Path

    def command(self, run_dir: Path, *overrides: str) -> list[str]:
        return [
            sys.executable,
            str(ROOT / "train.py"),
            "experiment=smoke",
            f"hydra.run.dir={run_dir}",
            f"data.root={self.data_root}",
            "data.generate_demo=false",
            "data.num_workers=0",
            "data.batch_size=1",
            "trainer.deterministic=true",
            "trainer.val_check_interval=3",
            "+trainer.enable_progress_bar=false",
            "callbacks.model_checkpoint.every_n_train_steps=1",
            "export=false",
            *overrides,
        ]

    @property
    def env(self) -> dict[str, str]:
        # One intra-op thread: two runs fit side by side on 2 cores, with the same reduction order.
        # PYTHONPATH: train.py can instantiate the test-only callbacks of signal_points.py.
        path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
        return {
            **os.environ,
            "PIXEL_GAN_CACHE": self.cache_dir,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONPATH": path,
        }

    def start(self, run_dir: Path, *overrides: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(run_dir, *overrides),
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def run(self, run_dir: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(run_dir, *overrides), cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=timeout
        )


@pytest.fixture(scope="session")
def train_cli(cache_dir, tiny_dir, small_data) -> TrainCLI:
    return TrainCLI(str(cache_dir), small_data)


@pytest.fixture
def build_module(cache_dir, small_data, tmp_path):
    """A tiny PixelGANModule + its datamodule, from the smoke experiment with ``overrides``."""

    def build(*overrides: str):
        import hydra
        from omegaconf import OmegaConf

        from pixel_gan.config import compose_train_config
        from pixel_gan.module import PixelGANModule

        cfg = compose_train_config(
            "experiment=smoke",
            f"data.root={small_data}",
            "data.generate_demo=false",
            "data.batch_size=1",
            *overrides,
            output_dir=str(tmp_path),
            cache_dir=cache_dir,
        )
        dm = hydra.utils.instantiate(
            cfg.data,
            resolution=cfg.resolution.size,
            seed=0,
            edge_preset=OmegaConf.to_container(cfg.edge_preset),
            _convert_="all",
        )
        module = PixelGANModule(
            model=cfg.model,
            loss=cfg.loss,
            optim=cfg.optim,
            prompts=dm.prompts,
            resolution=cfg.resolution.size,
            image_log_every_n_steps=0,
            max_consecutive_skips=cfg.max_consecutive_skips,
        )
        return module, dm

    return build


@pytest.fixture(scope="session")
def train_entry():
    """``train.py`` imported; ``run()`` is what the command runs. Its task function counts as ``__main__``
    so Hydra finds conf/ beside the file, as it does for the command."""
    spec = importlib.util.spec_from_file_location("pixel_gan_train_entry", ROOT / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main.__wrapped__.__module__ = "__main__"
    return module


@pytest.fixture
def run_train(train_entry, small_data, cache_dir, tmp_path, monkeypatch, capsys):
    """Run ``python train.py experiment=smoke <good data> *overrides`` here; returns (exit code, stderr).

    Building the model fails the test: every fault must be reported before that. ``own_data=True``
    leaves out the good dataset (the smoke experiment's demo data settings apply unless overridden).
    """
    from hydra.core.global_hydra import GlobalHydra

    def model_built(*args, **kwargs):
        raise AssertionError("the model was built before the config fault was reported")

    monkeypatch.setattr("pixel_gan.training.PixelGANModule", model_built)
    monkeypatch.setenv("PIXEL_GAN_CACHE", str(cache_dir))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    def run(*overrides: str, own_data: bool = False) -> tuple[int, str]:
        data = [] if own_data else [f"data.root={small_data}", "data.generate_demo=false"]
        argv = [
            "train.py",
            "experiment=smoke",
            *data,
            f"hydra.run.dir={tmp_path / 'run'}",
            f"paths.log_dir={tmp_path / 'outputs'}",
            *overrides,
        ]
        monkeypatch.setattr(sys, "argv", argv)
        capsys.readouterr()
        try:
            with pytest.raises(SystemExit) as info:
                train_entry.run()
        finally:
            GlobalHydra.instance().clear()
            root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        return info.value.code, capsys.readouterr().err

    return run
