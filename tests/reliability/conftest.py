"""Shared pieces of the reliability tests: ``train.py`` as a subprocess and in this process."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def train_cli(train_py, small_data):
    """train.py on ``small_data``: batch 1, a checkpoint every step, deterministic, validation every 3, no export."""
    defaults = (
        "data.num_workers=0",
        "data.batch_size=1",
        "trainer.deterministic=true",
        "trainer.val_check_interval=3",
        "callbacks.model_checkpoint.every_n_train_steps=1",
        "export=false",
    )
    return train_py(small_data, Path(__file__).parent, defaults)


@pytest.fixture(scope="session")
def train_entry():
    """``train.py`` imported; ``run()`` is what the command runs. Its task function counts as ``__main__``
    so Hydra finds pixel_gan/conf/ beside the file, as it does for the command."""
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

    monkeypatch.setattr("pixel_gan.training.run.PixelGANModule", model_built)
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
