"""The exported translator: ``model.safetensors`` (only trained tensors) + ``translator.yaml``.

A few MB for the tiny model and tens of MB at full size, instead of whole VAEs: the frozen base is
named in the yaml and loaded from its hub id or directory. Both files are checked when read: a
translator with non-finite weights or an impossible ``translator.yaml`` is refused with one line
naming the file and the key, never turned into black or 1×1 images.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

from pixel_gan.safe_io import write_bytes, write_text

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "translator.yaml"


def non_finite_keys(state: Mapping[str, Tensor]) -> list[str]:
    """Names of the tensors holding a NaN or an infinity."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def save_translator(out_dir: str | Path, state: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write the two export files; ``meta`` must name the base (``model.backbone``/``model.pretrained``).

    Non-finite weights are refused: an export is what users run, it must never hold NaN/inf.
    """
    out = Path(out_dir)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in state.items()}
    bad = non_finite_keys(tensors)
    if bad:
        raise ValueError(f"refusing to export {out / WEIGHTS_NAME}: {len(bad)} tensors hold NaN/inf, e.g. {bad[0]}")
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / WEIGHTS_NAME, safetensors_bytes(tensors, metadata={"format": "pt", "producer": "pixel-gan"}))
    write_text(out / CONFIG_NAME, yaml.safe_dump(meta, sort_keys=False))
    return out


def load_translator_files(export_dir: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read and check an export folder; every problem is a ValueError naming the file (and key)."""
    d = Path(export_dir).expanduser()
    missing = [n for n in (WEIGHTS_NAME, CONFIG_NAME) if not (d / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{d} is not a pixel-gan translator folder: missing {', '.join(missing)} "
            f"(expected {WEIGHTS_NAME} + {CONFIG_NAME}, as written at the end of training)"
        )
    try:  # safe_load: a yaml tag that would build Python objects (!!python/object/apply) is refused
        meta = yaml.safe_load((d / CONFIG_NAME).read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{d / CONFIG_NAME} is not a plain translator config: {_first_line(err)}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), dict):
        raise ValueError(f"{d / CONFIG_NAME} is not a translator config (no 'model' section)")
    check_translator_meta(meta, d / CONFIG_NAME)
    try:  # safetensors holds tensors only; a pickle (or anything else) under this name is refused
        state = load_file(str(d / WEIGHTS_NAME))
    except SafetensorError as err:
        raise ValueError(
            f"{d / WEIGHTS_NAME} is not a safetensors file ({_first_line(err)}); "
            "translator weights are read from safetensors only"
        ) from None
    bad = non_finite_keys(state)
    if bad:
        raise ValueError(
            f"{d / WEIGHTS_NAME}: {len(bad)} tensors hold NaN/inf, e.g. {bad[0]}; "
            "the translator is broken (re-export it from a good checkpoint)"
        )
    return state, meta


def check_translator_meta(meta: Mapping[str, Any], path: Path) -> None:
    """The fields the translator uses: a resolution that makes images, known LoRA settings, two captions."""
    from pixel_gan.models.generator import lora_settings

    resolution = meta.get("resolution", 256)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8 or resolution % 8:
        raise ValueError(f"{path}: resolution must be a positive multiple of 8, got {resolution!r}")
    lora = meta["model"].get("lora") or {}
    if not isinstance(lora, dict):
        raise ValueError(f"{path}: model.lora must be a mapping of LoRA settings, got {lora!r}")
    try:
        lora_settings(lora, "model.lora")
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    prompts = meta.get("prompts", ["a photo", "pixel art"])
    if not (isinstance(prompts, list) and len(prompts) == 2 and all(isinstance(p, str) and p.strip() for p in prompts)):
        raise ValueError(f"{path}: prompts must be two non-empty captions [domain A, domain B], got {prompts!r}")


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
