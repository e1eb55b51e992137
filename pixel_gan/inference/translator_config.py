"""What ``translator.yaml`` says: the typed config of an exported translator.

The edge preset is stored resolved (its numbers, not only its name), so an export keeps the
preprocessing it was trained with when the preset table changes. Exports written before that
(``edge_preset: {name: medium, low_threshold: null, ...}`` or a bare name) are resolved once,
when read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixel_gan.data.edges import NO_EDGES, EdgePreset, read_preset

if TYPE_CHECKING:
    from pixel_gan.models.generator import LoraSettings

DEFAULT_PROMPTS = ("a photo", "pixel art")
DEFAULT_RESOLUTION = 256
MODEL_KEYS = ("name", "backbone", "pretrained", "cache_dir")


def check_multiple_of_8(value: Any, what: str) -> int:
    """A working size checked by the one rule (:func:`pixel_gan.data.transforms.validate_resolution`), the
    error naming ``what``."""
    from pixel_gan.data.transforms import validate_resolution

    try:
        validate_resolution(value)
    except ValueError:
        raise ValueError(f"{what} must be a positive multiple of 8, got {value!r}") from None
    return value


@dataclass(frozen=True)
class BaseModel:
    """The frozen base the adapters were trained on: ``model.backbone`` + ``model.pretrained`` (hub id or dir)."""

    name: str | None = None
    backbone: str | None = None
    pretrained: str | None = None
    cache_dir: str = ".cache"


@dataclass(frozen=True)
class TranslatorConfig:
    """Base, adapters, captions, working size, resolved edge preset and a summary of the training loss."""

    base: BaseModel = field(default_factory=BaseModel)
    lora: Mapping[str, Any] = field(default_factory=dict)
    prompts: tuple[str, str] = DEFAULT_PROMPTS
    resolution: int = DEFAULT_RESOLUTION
    edge_preset: EdgePreset = field(default_factory=lambda: dataclasses.replace(NO_EDGES))
    loss: str | None = None
    experiment: str = "translator"
    step: int | None = None
    source: Mapping[str, Any] | None = None  # where an imported translator came from (pixel-gan convert)

    def lora_settings(self) -> LoraSettings:
        from pixel_gan.models.generator import lora_settings

        return lora_settings(self.lora, "model.lora")

    def with_base(self, base: str | None) -> TranslatorConfig:
        """The same translator on another base (a hub id or a local SD-Turbo folder)."""
        if not base:
            return self
        return dataclasses.replace(self, base=dataclasses.replace(self.base, backbone="pretrained", pretrained=base))

    def to_dict(self) -> dict[str, Any]:
        """The ``translator.yaml`` mapping."""
        out: dict[str, Any] = {
            "model": {**dataclasses.asdict(self.base), "lora": dict(self.lora)},
            "prompts": list(self.prompts),
            "resolution": self.resolution,
            "edge_preset": dataclasses.asdict(self.edge_preset),
            "loss": self.loss,
            "experiment": self.experiment,
        }
        if self.step is not None:
            out["step"] = self.step
        if self.source is not None:
            out["source"] = dict(self.source)
        return out

    @classmethod
    def from_dict(cls, meta: Mapping[str, Any], path: Path | str = "translator.yaml") -> TranslatorConfig:
        """Check and type a ``translator.yaml`` mapping; every problem is a ValueError naming ``path`` and the key."""
        model = meta.get("model") or {}
        if not isinstance(model, Mapping):
            raise ValueError(f"{path}: model must be a mapping, got {model!r}")
        lora = model.get("lora") or {}
        if not isinstance(lora, Mapping):
            raise ValueError(f"{path}: model.lora must be a mapping of LoRA settings, got {lora!r}")
        config = cls(
            base=BaseModel(**{k: model[k] for k in MODEL_KEYS if model.get(k) is not None}),
            lora=dict(lora),
            prompts=_prompts(meta.get("prompts", list(DEFAULT_PROMPTS)), path),
            resolution=_checked(check_multiple_of_8, meta.get("resolution", DEFAULT_RESOLUTION), "resolution", path),
            edge_preset=_checked(read_edge_preset, meta.get("edge_preset"), "edge_preset", path),
            loss=None if meta.get("loss") is None else str(meta["loss"]),
            experiment=str(meta.get("experiment", "translator")),
            step=None if meta.get("step") is None else int(meta["step"]),
            source=meta.get("source") if isinstance(meta.get("source"), Mapping) else None,
        )
        try:
            config.lora_settings()
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        return config

    def describe(self) -> str:
        """``smoke · 32 px · edges default · loss palette``: one line for logs and the UI."""
        return f"{self.experiment} · {self.resolution} px · edges {self.edge_preset.name} · loss {self.loss or '?'}"


def _prompts(value: Any, path: Path | str) -> tuple[str, str]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(p, str) and p.strip() for p in value)):
        raise ValueError(f"{path}: prompts must be two non-empty captions [domain A, domain B], got {value!r}")
    return (value[0], value[1])


def read_edge_preset(value: Any, key: str = "edge_preset") -> EdgePreset:
    """A stored preset: its numbers when all are written (exports from now on), else resolved by name."""
    return read_preset(value)


def _checked(check: Any, value: Any, key: str, path: Path | str) -> Any:
    """``check(value, key)``, its ValueError re-raised as one line naming the file and the key."""
    try:
        return check(value, key)
    except ValueError as err:
        message = str(err)
        raise ValueError(f"{path}: {message if message.startswith(key) else f'{key}: {message}'}") from None
