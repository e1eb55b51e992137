"""Stand-ins placed where the real weights' defaults point: a Hugging Face hub cache and torch hub files.

The hub cache is written in the layout the hub library itself writes (``refs/main`` → commit,
``snapshots/<commit>/<file>`` → ``../../blobs/<hash>``; large files' blobs named by their sha256,
small ones by their git blob sha1), so loaders and ``weights check`` read it exactly as a real one.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LARGE = (".safetensors", ".bin", ".pth")


def blob_name(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(LARGE):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


def place_in_hub(cache: Path, repo_id: str, source: Path, patterns: Sequence[str] = ("*",)) -> Path:
    """Copy the files of ``source`` matching ``patterns`` into ``cache`` as repo ``repo_id``; the snapshot."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = file.relative_to(source).as_posix()
        if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
            continue
        blob = repo / "blobs" / blob_name(file)
        shutil.copyfile(file, blob)
        link = snapshot / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def vgg16_features_file(path: Path) -> Path:
    """Random VGG16 ``features.*`` tensors (all LPIPS reads from torchvision's file), saved at ``path``."""
    from torchvision.models.vgg import cfgs, make_layers

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}, path)
    return path
