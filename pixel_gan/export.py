"""The exported translator: ``model.safetensors`` (only trained tensors) + ``translator.yaml``.

A few MB for the tiny model and tens of MB at full size, instead of whole VAEs: the frozen base is
named in the yaml and loaded from its hub id or directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "translator.yaml"


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_translator(out_dir: str | Path, state: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write the two export files; ``meta`` must name the base (``model.backbone``/``model.pretrained``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in state.items()}
    _atomic_write(out / WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata={"format": "pt", "producer": "pixel-gan"}))
    _atomic_write(out / CONFIG_NAME, lambda p: Path(p).write_text(yaml.safe_dump(meta, sort_keys=False)))
    return out


def load_translator_files(export_dir: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read an export folder; a missing file gives an error naming what a translator folder holds."""
    d = Path(export_dir).expanduser()
    missing = [n for n in (WEIGHTS_NAME, CONFIG_NAME) if not (d / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{d} is not a pixel-gan translator folder: missing {', '.join(missing)} "
                                f"(expected {WEIGHTS_NAME} + {CONFIG_NAME}, as written at the end of training)")
    try:  # safe_load: a yaml tag that would build Python objects (!!python/object/apply) is refused
        meta = yaml.safe_load((d / CONFIG_NAME).read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{d / CONFIG_NAME} is not a plain translator config: {_first_line(err)}") from None
    if not isinstance(meta, dict) or "model" not in meta:
        raise ValueError(f"{d / CONFIG_NAME} is not a translator config (no 'model' section)")
    try:  # safetensors holds tensors only; a pickle (or anything else) under this name is refused
        state = load_file(str(d / WEIGHTS_NAME))
    except SafetensorError as err:
        raise ValueError(f"{d / WEIGHTS_NAME} is not a safetensors file ({_first_line(err)}); "
                         "translator weights are read from safetensors only") from None
    return state, meta


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
