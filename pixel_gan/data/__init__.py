"""Data: transforms, edge presets, unpaired datasets, the datamodule and procedural demo data.

The names below load on first use (PEP 562), so light submodules such as ``pixel_gan.data.prepare.cli``
(imported by ``pixel-gan --help``) do not pull in torch and OpenCV through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "UnpairedDataModule": "datamodule",
    "FixedValidationSet": "datasets",
    "UnpairedImageDataset": "datasets",
    "generate_demo_dataset": "demo",
    "EdgePreset": "edges",
    "apply_edge_preset": "edges",
    "edge_map": "edges",
    "load_preset": "edges",
    "preset_names": "edges",
    "read_preset": "edges",
    "NO_EDGES": "edges",
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

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'pixel_gan.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pixel_gan.data.{_HOMES[name]}"), name)
