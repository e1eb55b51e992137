"""Canny edge presets for domain-A images (photos).

Pixel art has few, bold outlines; the presets make photos look more like that
before translation. ``default`` is the reference's Canny on the RGB array;
``medium`` and ``low`` raise the lower threshold on grayscale and drop small
8-connected edge clusters (min-area filter), leaving only the salient contours.

The preset numbers live in ``pixel_gan/conf/edge_preset/<name>.yaml`` (the Hydra config group, validated
against :class:`EdgePreset`); :func:`load_preset` reads one by name for exports that stored only the name.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

MODES = ("overlay", "replace")
NONE = "none"


@dataclass
class EdgePreset:
    """Canny thresholds (0..255), min component area in pixels, and how edges are used.

    mode "overlay": edges drawn as black outlines on the photo;
    mode "replace": the photo becomes the 3-channel edge map.
    Also the schema of the ``edge_preset`` config group (registered in :mod:`pixel_gan.config.schema`),
    so the numbers have no default here: every preset file states all of them.
    """

    name: str
    low_threshold: int
    high_threshold: int
    min_area: int
    grayscale: bool
    mode: str

    def __post_init__(self) -> None:
        """Every value checked; a message names its ``edge_preset.<key>`` (the config group's keys)."""
        for key in ("low_threshold", "high_threshold", "min_area"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"edge_preset.{key} must be an integer, got {value!r} (preset {self.name!r})")
            object.__setattr__(self, key, int(value))
        if not 0 <= self.low_threshold <= self.high_threshold <= 255:
            raise ValueError(
                f"edge_preset: need 0 <= low_threshold <= high_threshold <= 255, got low_threshold="
                f"{self.low_threshold}, high_threshold={self.high_threshold} (preset {self.name!r})"
            )
        if self.min_area < 0:
            raise ValueError(f"edge_preset.min_area must be >= 0, got {self.min_area} (preset {self.name!r})")
        if not isinstance(self.grayscale, bool):
            raise ValueError(f"edge_preset.grayscale must be true or false, got {self.grayscale!r}")
        if self.mode not in MODES:
            raise ValueError(f"edge_preset.mode must be one of {', '.join(MODES)}; got {self.mode!r}")

    @property
    def is_identity(self) -> bool:
        """True for ``none``: images pass through untouched."""
        return self.name == NONE

    def describe(self) -> str:
        """Short human summary, e.g. ``medium (gray Canny 125-200, min area 150, overlay)``."""
        if self.is_identity:
            return NONE
        source = "gray" if self.grayscale else "RGB"
        return (
            f"{self.name} ({source} Canny {self.low_threshold}-{self.high_threshold}, "
            f"min area {self.min_area}, {self.mode})"
        )


# The identity preset (``conf/edge_preset/none.yaml``): images pass through, its numbers are unused.
NO_EDGES = EdgePreset(NONE, low_threshold=0, high_threshold=0, min_area=0, grayscale=False, mode="overlay")
PRESET_DIR = Path(__file__).resolve().parents[1] / "conf" / "edge_preset"


def preset_names() -> list[str]:
    """The shipped presets (the options of the ``edge_preset`` config group)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name: str) -> EdgePreset:
    """The shipped preset ``name`` from ``conf/edge_preset/<name>.yaml`` (read once per process)."""
    return EdgePreset(**dict(_preset_values(name)))


@functools.cache
def _preset_values(name: str) -> tuple[tuple[str, Any], ...]:
    import yaml

    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown edge preset {name!r}; valid presets: {', '.join(preset_names())}")
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(values, dict):
        raise ValueError(f"{path}: not a mapping of preset values")
    values.pop("defaults", None)
    fields = {f.name for f in dataclasses.fields(EdgePreset)}
    missing, unknown = sorted(fields - set(values)), sorted(set(values) - fields)
    if missing or unknown:
        raise ValueError(
            f"{path}: "
            + "; ".join(
                [f"missing {', '.join(missing)}"] * bool(missing) + [f"unknown {', '.join(unknown)}"] * bool(unknown)
            )
        )
    return tuple(sorted(values.items()))


def read_preset(record: EdgePreset | Mapping[str, Any] | str | None) -> EdgePreset:
    """The preset an export or a command line names: a preset, a name, or a stored record.

    Exports written before the numbers moved into the config stored ``name`` plus null values meaning
    "the preset's own"; those follow the shipped file, given values replace its numbers. None is ``none``.
    """
    if isinstance(record, EdgePreset):
        return record
    if record is None or isinstance(record, str):
        return load_preset(record or NONE)
    if not isinstance(record, Mapping):
        raise ValueError(f"edge preset must be a name or a mapping, got {type(record).__name__}")
    values = {k: v for k, v in record.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(EdgePreset)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"edge preset {values.get('name')!r}: unknown option(s) {unknown}")
    if set(values) == fields:  # every number stored: the preset it was trained with, whatever its name
        return EdgePreset(**values)
    base = load_preset(str(values.pop("name", NONE)))
    return dataclasses.replace(base, **values)


def edge_map(rgb: np.ndarray, preset: EdgePreset) -> np.ndarray:
    """Binary edge map of an (H, W, 3) uint8 RGB array -> uint8 (H, W) in {0, 255}.

    Canny runs on the RGB array (``grayscale=False``, OpenCV takes the strongest
    channel gradient) or on its grayscale conversion; then every 8-connected
    edge component with fewer than ``min_area`` pixels is removed. ``none`` gives
    an all-zero map.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ValueError(f"edge_map expects an (H, W, 3) uint8 array, got shape {shape}")
    if preset.is_identity:
        return np.zeros(rgb.shape[:2], dtype=np.uint8)
    source = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if preset.grayscale else np.ascontiguousarray(rgb)
    edges = cv2.Canny(source, preset.low_threshold, preset.high_threshold)
    if preset.min_area > 0:
        edges = drop_small_components(edges, preset.min_area)
    return edges


def drop_small_components(edges: np.ndarray, min_area: int) -> np.ndarray:
    """Zero every 8-connected component of ``edges`` (uint8 (H, W)) with area < min_area."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False  # label 0 is the background
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def apply_edge_preset(img: Image.Image, preset: EdgePreset) -> Image.Image:
    """Apply a preset to a domain-A PIL image; returns an RGB image of the same size.

    ``none`` returns ``img`` itself; ``overlay`` sets edge pixels to black;
    ``replace`` returns the edge map as a 3-channel image (white edges on black).
    """
    if preset.is_identity:
        return img
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    edges = edge_map(rgb, preset)
    if preset.mode == "replace":
        return Image.fromarray(np.repeat(edges[:, :, None], 3, axis=2))
    outlined = rgb.copy()
    outlined[edges > 0] = 0
    return Image.fromarray(outlined)
