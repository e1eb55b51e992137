"""Data: transforms, edge presets, unpaired datasets, the datamodule and procedural demo data.

The names are imported on first use: the typed configs need only ``edges``, and importing Lightning
(through the datamodule) before Hydra has set up a job's logging would keep Lightning's messages out
of the run's log file (a submitit job unpickles its config, and with it the preset's class, first).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "UnpairedDataModule": "datamodule",
    "FixedValidationSet": "datasets",
    "UnpairedImageDataset": "datasets",
    "generate_demo_dataset": "demo",
    "EdgePreset": "edges",
    "apply_edge_preset": "edges",
    "edge_map": "edges",
    "load_preset": "edges",
    "read_preset": "edges",
    "IMAGE_EXTENSIONS": "images",
    "ImageLoadError": "images",
    "list_images": "images",
    "load_rgb": "images",
    "EpochSampler": "sampler",
    "build_transform": "transforms",
    "to_pil": "transforms",
    "to_tensor": "transforms",
    "validate_resolution": "transforms",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'pixel_gan.data' has no attribute {name!r}")
    return getattr(import_module(f"pixel_gan.data.{_WHERE[name]}"), name)
