"""Shared fixtures: one tiny SD-Turbo backbone in the hub layout per test session."""

from __future__ import annotations

import pytest
import torch

from pixel_gan.logging_utils import quiet_libraries

# One intra-op thread: the tests also start training subprocesses, and two OpenMP pools per core
# spinning against each other make a 2-core machine several times slower than one thread each.
torch.set_num_threads(1)
quiet_libraries()

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
