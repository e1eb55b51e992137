"""Real-weight experiments compute DINO-struct and FID/KID by default, from where the defaults point.

The stand-ins are tiny models placed where ``experiment=64_palette``'s defaults look (a hub cache
holding ``facebook/dino-vitb8`` etc., torch hub checkpoints): the defaults themselves are not changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_hub import place_in_hub, vgg16_features_file

from pixel_gan.config import compose_train_config
from pixel_gan.evaluation.pipeline import metric_sources
from pixel_gan.metrics.fid import CONFIG_KEY as FID_KEY
from pixel_gan.metrics.fid import DistributionMetrics
from pixel_gan.training.callbacks import read_metrics_jsonl

ROOT = Path(__file__).resolve().parents[2]
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)


def test_real_weight_experiments_default_to_dino_and_inception() -> None:
    for overrides in (["experiment=64_palette"], ["experiment=256_default"], []):
        metrics = compose_train_config(*overrides).metrics
        assert metrics.dino.pretrained == "facebook/dino-vitb8"
        assert metrics.fid.inception_weights == INCEPTION_URL
    for overrides in (["experiment=smoke"], ["experiment=demo"], ["model=tiny"], ["model=sd_turbo_random"]):
        metrics = compose_train_config(*overrides).metrics
        assert metrics.dino.pretrained is None and metrics.fid.inception_weights is None, overrides


def fake_run(**metrics: str | None) -> SimpleNamespace:
    values = {f"metrics.{k.replace('_', '.', 1)}": v for k, v in metrics.items()}
    return SimpleNamespace(config_value=lambda key, default=None: values.get(key, default))


def test_evaluate_takes_the_runs_weights_by_default() -> None:
    demo = fake_run(dino_pretrained=None, fid_inception_weights=None)
    real = fake_run(dino_pretrained="facebook/dino-vitb8", fid_inception_weights=INCEPTION_URL)
    default = {"dino": {"pretrained": "runs"}, "fid": {"inception_weights": "runs"}}
    assert metric_sources(default, [demo, real]) == {
        "dino": {"pretrained": "facebook/dino-vitb8"},
        "fid": {"inception_weights": INCEPTION_URL},
    }
    assert metric_sources(default, [demo]) == {"dino": {"pretrained": None}, "fid": {"inception_weights": None}}
    explicit = {"dino": {"pretrained": "/models/dino"}, "fid": {"inception_weights": None}}
    assert metric_sources(explicit, [real]) == {
        "dino": {"pretrained": "/models/dino"},
        "fid": {"inception_weights": None},
    }


def test_default_inception_offline_and_not_cached_is_unavailable_not_random(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metrics = DistributionMetrics(INCEPTION_URL)
    assert not metrics.available
    assert metrics.reason.startswith(f"weights not found at {INCEPTION_URL}; set {FID_KEY}")


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory, tiny_dir) -> dict[str, str]:
    """A hub cache with tiny SD-Turbo, CLIP and DINO under their real ids, and a VGG16 file in TORCH_HOME."""
    from pixel_gan.metrics.dino_struct import build_tiny_dino
    from pixel_gan.models.discriminator import build_tiny_clip_tower

    root = tmp_path_factory.mktemp("stand-ins")
    hub = root / "hf" / "hub"
    place_in_hub(hub, "stabilityai/sd-turbo", Path(tiny_dir))
    place_in_hub(hub, "openai/clip-vit-base-patch32", build_tiny_clip_tower(root / "src" / "clip"))
    place_in_hub(hub, "facebook/dino-vitb8", build_tiny_dino(root / "src" / "dino"))
    vgg16_features_file(root / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth")
    return {
        "HF_HOME": str(root / "hf"),
        "HF_HUB_CACHE": str(hub),
        "HF_HUB_OFFLINE": "1",
        "TORCH_HOME": str(root / "torch"),
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("data"), n_train=2, n_test=2, size=64, seed=5)


@pytest.mark.slow
@pytest.mark.subprocess
def test_64_palette_logs_dino_struct_with_no_metric_override(stand_ins, cache_dir, data, tmp_path_factory) -> None:
    run_dir = tmp_path_factory.mktemp("run")
    env = {**os.environ, **stand_ins, "PIXEL_GAN_CACHE": cache_dir, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "experiment=64_palette",
        "trainer=cpu",  # the CPU stand-ins of what must be small: device, data, steps
        f"data.root={data}",
        "data.num_workers=0",
        "data.val_count=2",
        "trainer.max_steps=1",
        "trainer.val_check_interval=1",
        "export=false",
        f"hydra.run.dir={run_dir}",
        "+trainer.enable_progress_bar=false",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    rows = read_metrics_jsonl(run_dir / "metrics.jsonl")
    assert rows and all(isinstance(row.get("val/dino_struct"), float) for row in rows), rows
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = {p.parent for p in (run_dir / "tensorboard").rglob("events.out.tfevents.*")}
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    assert "val/dino_struct" in accumulator.Tags()["scalars"]


@pytest.mark.slow
@pytest.mark.subprocess
def test_64_palette_without_dino_weights_stops_at_start_up(stand_ins, cache_dir, data, tmp_path) -> None:
    """The same run with DINO absent from the cache: the key is named, nothing falls back to random weights."""
    import shutil

    hub = Path(stand_ins["HF_HUB_CACHE"])
    moved = tmp_path / "dino"
    shutil.move(hub / "models--facebook--dino-vitb8", moved)
    try:
        env = {**os.environ, **stand_ins, "PIXEL_GAN_CACHE": cache_dir}
        command = [sys.executable, str(ROOT / "train.py"), "experiment=64_palette", "trainer=cpu"]
        command += [f"data.root={data}", "data.num_workers=0", f"hydra.run.dir={tmp_path / 'run'}"]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        shutil.move(moved, hub / "models--facebook--dino-vitb8")
    assert result.returncode != 0
    assert "metrics.dino.pretrained" in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
