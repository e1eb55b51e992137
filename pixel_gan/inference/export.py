"""The exported translator folder: ``model.safetensors`` (only trained tensors) + ``translator.yaml``.

A few MB for the tiny model and tens of MB at full size, instead of whole VAEs: the frozen base is
named in the yaml and loaded from its hub id or directory. This module is the one writer
(:func:`write_translator`) and the one reader (:func:`read_config`, :func:`read_translator`) of
that folder, and the one place that finds such folders on disk. Both files are checked when read:
a translator with non-finite weights or an impossible ``translator.yaml`` is refused with one line
naming the file and the key, never turned into black or 1×1 images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

from pixel_gan.inference.translator_config import TranslatorConfig
from pixel_gan.safe_io import write_bytes, write_text

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "translator.yaml"
RUN_EXPORT = "translator"  # the export's folder name inside a training run
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # org/name; a relative path that does not exist reads the same


class CheckpointError(FileNotFoundError):
    """A path that is neither an export folder nor a run folder holding one."""


def non_finite_keys(state: Mapping[str, Tensor]) -> list[str]:
    """Names of the tensors holding a NaN or an infinity."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def write_translator(out_dir: str | Path, state: Mapping[str, Tensor], config: TranslatorConfig) -> Path:
    """Write the two export files (the edge preset with its numbers resolved).

    Non-finite weights are refused: an export is what users run, it must never hold NaN/inf.
    """
    out = Path(out_dir)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in state.items()}
    bad = non_finite_keys(tensors)
    if bad:
        raise ValueError(f"refusing to export {out / WEIGHTS_NAME}: {len(bad)} tensors hold NaN/inf, e.g. {bad[0]}")
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / WEIGHTS_NAME, safetensors_bytes(tensors, metadata={"format": "pt", "producer": "pixel-gan"}))
    write_text(out / CONFIG_NAME, yaml.safe_dump(config.to_dict(), sort_keys=False))
    return out


def save_translator(out_dir: str | Path, state: Mapping[str, Tensor], meta: Mapping[str, Any]) -> Path:
    """:func:`write_translator` from a ``translator.yaml`` mapping (checked first, as a reader would)."""
    return write_translator(out_dir, state, TranslatorConfig.from_dict(meta, Path(out_dir) / CONFIG_NAME))


def read_config(export_dir: str | Path) -> TranslatorConfig:
    """``translator.yaml`` of an export folder, checked; every problem is a ValueError naming the file (and key)."""
    d = Path(export_dir).expanduser()
    missing = [n for n in (WEIGHTS_NAME, CONFIG_NAME) if not (d / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{d} is not a pixel-gan translator folder: missing {', '.join(missing)} "
            f"(expected {WEIGHTS_NAME} + {CONFIG_NAME}, as written at the end of training)"
        )
    try:  # safe_load: a yaml tag that would build Python objects (!!python/object/apply) is refused
        meta = yaml.safe_load((d / CONFIG_NAME).read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ValueError(f"{d / CONFIG_NAME} is not a plain translator config: {_first_line(err)}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), dict):
        raise ValueError(f"{d / CONFIG_NAME} is not a translator config (no 'model' section)")
    return TranslatorConfig.from_dict(meta, d / CONFIG_NAME)


def read_translator(export_dir: str | Path) -> tuple[dict[str, Tensor], TranslatorConfig]:
    """The trained tensors and the config of an export folder, both checked."""
    d = Path(export_dir).expanduser()
    config = read_config(d)
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
    return state, config


# --------------------------------------------------------------------------- finding export folders


def is_export_dir(path: Path) -> bool:
    """Both export files are there (their contents are checked when read)."""
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def resolve_export_dir(path: str | Path) -> Path:
    """Accept an export folder (``translator/``), a training run folder that contains one, or the hub id
    (``org/name``) of an uploaded export folder, fetched into the Hugging Face cache."""
    given = Path(path).expanduser()
    for candidate in (given, given / RUN_EXPORT):
        if is_export_dir(candidate):
            return candidate
    if not given.exists() and HUB_ID.fullmatch(str(path)):
        return fetch_export(str(path))
    if not given.exists():
        raise CheckpointError(f"checkpoint not found: {given}")
    raise CheckpointError(
        f"{given} is not a translator: expected {WEIGHTS_NAME} + {CONFIG_NAME} in it or in {given / RUN_EXPORT} "
        "(a training run writes them at the end)"
    )


def fetch_export(repo_id: str) -> Path:
    """The two export files of a hub repository (``HF_HUB_OFFLINE=1``: from the local cache only)."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=[WEIGHTS_NAME, CONFIG_NAME]))
    except Exception as err:  # noqa: BLE001 - offline, unknown repo, no access: one line either way
        raise CheckpointError(
            f"checkpoint not found: {repo_id} is not a local folder, and the hub did not provide it "
            f"({type(err).__name__}: {_first_line(err)})"
        ) from None
    if not is_export_dir(folder):
        raise CheckpointError(f"{repo_id} on the hub is not a translator: expected {WEIGHTS_NAME} + {CONFIG_NAME}")
    return folder


def find_export_dirs(root: Path) -> list[Path]:
    """Export folders at ``root``: itself, its ``translator/``, or any run export below it (recursive)."""
    for candidate in (root, root / RUN_EXPORT):
        if (candidate / CONFIG_NAME).is_file():
            return [candidate]
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob(CONFIG_NAME) if p.parent.name == RUN_EXPORT)


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
