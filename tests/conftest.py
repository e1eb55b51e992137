"""Shared fixtures: one tiny SD-Turbo backbone in the hub layout per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from pixel_gan.logging_utils import quiet_libraries

# One intra-op thread: the tests also start training subprocesses, and two OpenMP pools per core
# spinning against each other make a 2-core machine several times slower than one thread each.
torch.set_num_threads(1)
quiet_libraries()

ROOT = Path(__file__).resolve().parents[1]

#: Fixtures that run train.py, evaluate.py or ``python -m pixel_gan.bench`` as a subprocess.
SUBPROCESS_FIXTURES = {"train_cli", "train_command", "trained_runs", "evaluate_cli", "evaluated", "smoke_result"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a subprocess fixture ``subprocess``, so ``-m`` can select or skip them."""
    for item in items:
        if SUBPROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("pixel-gan-cache"))


@pytest.fixture(scope="session")
def tiny_dir(cache_dir):
    from pixel_gan.models.backbone import tiny_backbone_dir

    return tiny_backbone_dir(cache_dir)


@pytest.fixture
def tiny_generator(tiny_dir):
    from pixel_gan.models.backbone import load_backbone
    from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

    torch.manual_seed(0)
    return CycleGANTurbo.from_backbone(
        load_backbone(str(tiny_dir)), "a photo", "pixel art", LoraSettings(unet_rank=8, unet_alpha=8)
    )


@pytest.fixture(scope="session")
def tiny_export(cache_dir, tiny_dir):
    """Write a tiny translator in the layout training exports: ``<run>/translator/{model.safetensors,translator.yaml}``.

    Call it with the run folder and any ``translator.yaml`` fields to change.
    """
    from pixel_gan.inference.export import save_translator
    from pixel_gan.models.backbone import load_backbone
    from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

    def export(run_dir, **meta_overrides):
        torch.manual_seed(0)
        gen = CycleGANTurbo.from_backbone(
            load_backbone(str(tiny_dir)), "a photo", "pixel art", LoraSettings(unet_rank=8, unet_alpha=8)
        )
        meta = {
            "model": {
                "name": "tiny",
                "backbone": "tiny",
                "pretrained": None,
                "cache_dir": cache_dir,
                "lora": {"unet_rank": 8, "unet_alpha": 8},
            },
            "prompts": ["a photo", "pixel art"],
            "resolution": 32,
            "edge_preset": {
                "name": "default",
                "low_threshold": None,
                "high_threshold": None,
                "min_area": None,
                "mode": "overlay",
            },
            "loss": "combined",
            "experiment": "tiny",
            "step": 0,
            **meta_overrides,
        }
        return save_translator(run_dir / "translator", gen.trainable_state_dict(), meta)

    return export


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """3 train / 2 test images per domain at 32 px: an 8-step run crosses two epoch boundaries."""
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("small-data"), n_train=3, n_test=2, size=32, seed=1)


@pytest.fixture
def build_module(cache_dir, small_data, tmp_path):
    """``build(*overrides)`` → a tiny PixelGANModule and its datamodule, built as ``train.py`` builds them
    from the smoke experiment (32 px, batch 1, no image logging) on ``small_data``."""

    def build(*overrides: str):
        from pixel_gan.config import compose_train_config, validate_config
        from pixel_gan.training import build_datamodule
        from pixel_gan.training import build_module as module_for

        cfg = compose_train_config(
            "experiment=smoke",
            f"data.root={small_data}",
            "data.generate_demo=false",
            "data.batch_size=1",
            "image_log_every_n_steps=0",
            *overrides,
            output_dir=str(tmp_path),
            cache_dir=cache_dir,
        )
        typed = validate_config(cfg)
        datamodule = build_datamodule(cfg, typed.edge_preset)
        torch.manual_seed(0)
        return module_for(cfg, typed, datamodule.prompts), datamodule

    return build


@pytest.fixture
def cpu_trainer(tmp_path):
    """``cpu_trainer(max_steps, *callbacks, **options)`` → a quiet CPU ``L.Trainer`` in ``tmp_path``:
    no logger, checkpoints, progress bar, model summary or validation unless ``options`` say so."""
    import lightning as L

    def make(max_steps: int, *callbacks: L.Callback, **options) -> L.Trainer:
        quiet = {
            "accelerator": "cpu",
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "limit_val_batches": 0,
            "default_root_dir": str(tmp_path),
        }
        return L.Trainer(max_steps=max_steps, callbacks=list(callbacks), **{**quiet, **options})

    return make


@dataclass
class TrainPy:
    """``python train.py experiment=smoke`` on the tiny model and ``data_root``, one intra-op thread per process.

    ``defaults`` go before the caller's overrides; ``test_modules`` goes on PYTHONPATH, so that the run
    (and Lightning's DDP child processes) can instantiate test-only callbacks.
    """

    cache_dir: str
    data_root: Path
    test_modules: Path | None = None
    defaults: tuple[str, ...] = ()

    def command(self, *overrides: str) -> list[str]:
        """Flags (``-m``) first: Hydra's argument parser takes no flag after the overrides."""
        flags = [o for o in overrides if o.startswith("-")]
        rest = [o for o in overrides if not o.startswith("-")]
        return [
            sys.executable,
            str(ROOT / "train.py"),
            *flags,
            "experiment=smoke",
            f"data.root={self.data_root}",
            "data.generate_demo=false",
            "+trainer.enable_progress_bar=false",
            *self.defaults,
            *rest,
        ]

    @property
    def env(self) -> dict[str, str]:
        # One thread each: several runs share 2 cores without oversubscription, with the same reduction order.
        path = os.pathsep.join(p for p in (str(self.test_modules or ""), os.environ.get("PYTHONPATH", "")) if p)
        threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        return {**os.environ, "PIXEL_GAN_CACHE": self.cache_dir, **threads, "PYTHONPATH": path}

    def start(self, *overrides: str) -> subprocess.Popen:
        """The run in the background; stdout and stderr together in ``proc.stdout``."""
        return subprocess.Popen(
            self.command(*overrides),
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def run(self, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*overrides), cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=timeout
        )

    def start_in(self, run_dir: Path, *overrides: str) -> subprocess.Popen:
        """:meth:`start` with Hydra's run folder at ``run_dir``."""
        return self.start(f"hydra.run.dir={run_dir}", *overrides)

    def run_in(self, run_dir: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """:meth:`run` with Hydra's run folder at ``run_dir``."""
        return self.run(f"hydra.run.dir={run_dir}", *overrides, timeout=timeout)


@pytest.fixture(scope="session")
def train_py(cache_dir, tiny_dir):
    """``train_py(data_root, test_modules=None, defaults=())`` → a :class:`TrainPy` (tiny model cached once)."""

    def make(data_root: Path, test_modules: Path | None = None, defaults: tuple[str, ...] = ()) -> TrainPy:
        return TrainPy(str(cache_dir), data_root, test_modules, defaults)

    return make
