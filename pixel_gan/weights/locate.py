"""Locating pretrained weights, with errors a person can act on.

Every pretrained part (SD-Turbo, CLIP, DINO, LPIPS, Inception) comes from a hub id
or a local path set in config. When it cannot be found we fail loudly with the
config key to change and the layout expected on disk, rather than letting a
library quietly build a randomly initialised model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights missing; the message names the config key and layout."""

    def __init__(self, config_key: str, source: str, layout: str, detail: str = "") -> None:
        self.config_key = config_key
        self.source = source
        self.layout = layout
        self.detail = detail
        lines = [f"Pretrained weights not found for `{config_key}` = {source!r}."]
        if detail:
            lines.append(detail)
        lines.append(f"Expected: {layout}")
        lines.append(
            f"Fix: set {config_key}=<hub id or local path>. Offline, use a local path "
            "or a pre-filled Hugging Face cache with HF_HUB_OFFLINE=1."
        )
        super().__init__("\n".join(lines))


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE asks loaders to use only the local cache."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def looks_like_path(source: str) -> bool:
    """A local path rather than a hub id ('org/name'): exists, or starts with '/', '.', '~'."""
    return source.startswith(("/", ".", "~")) or Path(source).expanduser().exists()


def resolve_pretrained(source: str, config_key: str, layout: str, required_files: Sequence[str]) -> str:
    """Check a local weights path, or pass a hub id through unchanged.

    `required_files` are relative to `source` (a directory); an entry "a|b" is
    satisfied by either file (e.g. safetensors or a legacy .bin). With no
    required files `source` may be a single file. Returns the expanded path.
    """
    if not source:
        raise WeightsNotFoundError(config_key, str(source), layout, "No path or hub id was given.")
    if not looks_like_path(source):
        return source
    path = Path(source).expanduser()
    if not path.exists():
        raise WeightsNotFoundError(config_key, source, layout, f"{path} does not exist.")
    if required_files and not path.is_dir():
        raise WeightsNotFoundError(config_key, source, layout, f"{path} is not a directory.")
    missing = [entry for entry in required_files if not any((path / alt).is_file() for alt in entry.split("|"))]
    if missing:
        raise WeightsNotFoundError(config_key, source, layout, f"Missing in {path}: {', '.join(missing)}.")
    return str(path)


def load_or_explain(fn: Callable[[], T], source: str, config_key: str, layout: str) -> T:
    """Run a loader; turn its OSError (missing file, hub unreachable) into WeightsNotFoundError."""
    try:
        return fn()
    except WeightsNotFoundError:
        raise
    except OSError as err:
        raise WeightsNotFoundError(config_key, source, layout, f"Loading failed: {err}") from err


class UnsafeWeightsError(ValueError):
    """A weights file that is not plain tensors (a pickle asking for code or objects, or corrupt)."""


def load_error_detail(err: Exception) -> str:
    """The informative part of a ``torch.load`` error, in one line (e.g. the global a pickle asked for)."""
    import re

    text = str(err)
    match = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if match:
        return f"it asks for the Python object {match.group(1)}"
    match = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", text, re.DOTALL)
    detail = match.group(1) if match else (text.splitlines() or [type(err).__name__])[0]
    return " ".join(detail.split())[:200]


def load_tensors(path: str | Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU; anything else is refused in one line naming ``what``.

    torch's own refusal runs to a page and suggests ``weights_only=False``, which must never be
    followed for a file from elsewhere.
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for code/objects, RuntimeError/EOFError for corrupt files
        raise UnsafeWeightsError(
            f"refusing {what} {path}: not a weights-only torch file ({load_error_detail(err)}); "
            "pixel-gan never runs code from a pickle"
        ) from None
