"""Is a needed weight there, complete and intact? Looks only at files: nothing is downloaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixel_gan.weights.catalog import Need
from pixel_gan.weights.files import checkpoints_dir, hub_cache_dir, hub_repo_dir, hub_snapshot, verify_file


@dataclass
class Status:
    """Where a need is (or would be), which of its files are missing, and which failed verification."""

    need: Need
    location: Path
    present: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    damaged: dict[Path, str] = field(default_factory=dict)
    verified: int = 0  # files checked against a published hash

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged

    def summary(self) -> str:
        """One line: 'ok', or what is missing and what is damaged."""
        if self.ok:
            checked = f", {self.verified} verified by hash" if self.verified else ", no published hash"
            return f"ok ({len(self.present)} file{'s' * (len(self.present) != 1)}{checked})"
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(m.replace("|", " or ") for m in self.missing))
        parts += [f"damaged {path.name}: {why}" for path, why in self.damaged.items()]
        return "; ".join(parts)


def locate(need: Need, root: Path | None = None) -> Path:
    """The folder or file that holds ``need`` (with ``root``: inside a ``weights fetch`` folder)."""
    if need.kind == "hub":
        cache = hub_cache_dir(root)
        return hub_snapshot(cache, need.source) or hub_repo_dir(cache, need.source)
    if need.kind == "url":
        return checkpoints_dir(root) / need.filename
    return Path(need.source)


def inspect(need: Need, root: Path | None = None, *, hashes: bool = True, progress: Any = None) -> Status:
    """The status of ``need``; ``hashes`` also checks each present file against its published hash."""
    location = locate(need, root)
    status = Status(need, location)
    if need.files:
        for group in need.files:
            found = next((location / alt for alt in group.split("|") if (location / alt).is_file()), None)
            if found is None:
                status.missing.append(group)
            else:
                status.present.append(found)
    elif location.is_file():
        status.present.append(location)
    else:
        status.missing.append(location.name)
    if hashes:
        for path in status.present:
            problem = verify_file(path, need.sha256_prefix, progress)
            if problem:
                status.damaged[path] = problem
            elif _has_published_hash(path, need):
                status.verified += 1
    return status


def _has_published_hash(path: Path, need: Need) -> bool:
    return bool(need.sha256_prefix) or path.resolve().parent.name == "blobs"
