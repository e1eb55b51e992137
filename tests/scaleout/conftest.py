"""Shared pieces of the scale-out tests: a tiny dataset and ``train.py`` as a subprocess (see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def scaleout_data(tmp_path_factory) -> Path:
    """6 train / 2 test images per domain at 32 px, written before any subprocess starts (no race)."""
    from pixel_gan.data.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("scaleout-data"), n_train=6, n_test=2, size=32, seed=3)


@pytest.fixture(scope="session")
def train_command(train_py, scaleout_data):
    """train.py on ``scaleout_data``, no export; this folder on PYTHONPATH for the probe callback."""
    return train_py(scaleout_data, HERE, ("data.num_workers=0", "export=false"))
