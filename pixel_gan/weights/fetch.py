"""Fill one folder with every weight a config needs, and write the overrides that make runs use it.

``<dir>/hub`` is a Hugging Face hub cache (SD-Turbo, CLIP, DINO), ``<dir>/torch/hub/checkpoints``
holds torch hub files (LPIPS backbone, Inception). The overrides point each config key at its
local copy, so a run on a machine without internet needs only ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pixel_gan.safe_io import write_text
from pixel_gan.weights import files
from pixel_gan.weights.catalog import Need
from pixel_gan.weights.locate import hub_offline
from pixel_gan.weights.status import Status, inspect


class FetchError(RuntimeError):
    """A weight that could not be fetched; the message names it and why."""


def fetch_need(need: Need, root: Path, progress: Any = None) -> Status:
    """Download what ``need`` lacks in ``root`` (damaged files are fetched again), then verify it."""
    status = inspect(need, root, progress=progress)
    if status.ok:
        return status
    if need.kind in ("path", "package"):
        where = (
            "a local path: put the files there or point the key at a hub id"
            if need.kind == "path"
            else ("part of the installed lpips package: reinstall it (pip install --force-reinstall lpips)")
        )
        raise FetchError(f"{need.name} ({need.config_key}={need.source}) {status.summary()}; it is {where}")
    if hub_offline():
        raise FetchError(f"{need.name}: {status.summary()}, and HF_HUB_OFFLINE=1 forbids downloading; unset it")
    for path in status.damaged:
        if need.kind == "hub":
            files.remove_hub_file(path)
        else:
            path.unlink(missing_ok=True)
    try:
        if need.kind == "hub":
            if progress is not None:
                progress.stop()  # the hub library draws its own per-file bars
            try:
                _fetch_hub(need, root)
            finally:
                if progress is not None:
                    progress.start()
        else:
            files.download_url(need.source, status.location, need.sha256_prefix, progress)
    except FetchError:
        raise
    except Exception as err:  # network, HTTP and hub errors: one line naming the weight
        raise FetchError(f"{need.name}: downloading {need.source} failed: {err}".splitlines()[0]) from err
    status = inspect(need, root, progress=progress)
    if not status.ok:
        raise FetchError(f"{need.name} ({need.source}) after downloading: {status.summary()}")
    return status


def _fetch_hub(need: Need, root: Path) -> None:
    """Download the missing files of a hub repo, trying each group's alternatives in order."""
    cache = files.hub_cache_dir(root)
    cache.mkdir(parents=True, exist_ok=True)
    depth = max(len(group.split("|")) for group in need.files)
    for choice in range(depth):
        missing = inspect(need, root, hashes=False).missing
        patterns = [group.split("|")[choice] for group in missing if len(group.split("|")) > choice]
        if not patterns:
            return
        patterns += list(need.extra) if choice == 0 else []
        files.download_hub(need.source, cache, patterns)


def overrides_for(statuses: list[Status]) -> dict[str, str]:
    """``{config key: local copy}`` for every weight but package files (a local path is kept as given)."""
    return {s.need.config_key: str(s.location.resolve()) for s in statuses if s.need.kind != "package"}


def overrides_yaml(overrides: dict[str, str], command: str) -> str:
    """A global-package Hydra config setting ``overrides`` (for ``pixel_gan/conf/local/weights.yaml``)."""
    tree = OmegaConf.from_dotlist([f"{key}={value}" for key, value in overrides.items()])
    header = (
        "# @package _global_\n"
        f"# Written by `{command}`: the weights of that config, fetched into one folder.\n"
        "# Use with: HF_HUB_OFFLINE=1 python train.py local=weights experiment=...\n"
    )
    return header + OmegaConf.to_yaml(tree)


def write_overrides(path: Path, overrides: dict[str, str], command: str) -> Path:
    """Write the overrides file (temporary file + rename: the old one or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, overrides_yaml(overrides, command))
    return path
