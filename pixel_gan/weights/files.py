"""Where weight files live, how they are verified, and how they are downloaded.

Two layouts, the ones the loaders already read:

- the Hugging Face hub cache (``<cache>/models--org--name/{refs,snapshots,blobs}``): a snapshot
  file links to a blob named by its hash — the sha256 of the content for large (LFS) files, the
  git blob sha1 for small ones — so every file there can be verified offline;
- torch hub checkpoints (``<torch home>/hub/checkpoints/<file>``): torchvision's file names end in
  the first hex digits of the file's sha256, which torchvision itself checks.

A download is written to a temporary file and renamed into place only when complete and verified.
"""

from __future__ import annotations

import hashlib
import re
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pixel_gan.safe_io import write_file
from pixel_gan.weights.locate import WeightsNotFoundError, hub_offline

CHUNK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX40 = re.compile(r"[0-9a-f]{40}")


class DownloadError(OSError):
    """A download that failed or did not match its published hash; nothing was written."""


def hub_cache_dir(root: Path | None = None) -> Path:
    """``<root>/hub`` for a weights folder, else the cache the hub libraries use (HF_HUB_CACHE/HF_HOME)."""
    if root is not None:
        return root / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def checkpoints_dir(root: Path | None = None) -> Path:
    """``<root>/torch/hub/checkpoints`` for a weights folder, else torch's (``$TORCH_HOME/hub/checkpoints``)."""
    if root is not None:
        return root / "torch" / "hub" / "checkpoints"
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_repo_dir(cache: Path, repo_id: str) -> Path:
    """The cache folder of a model repo: ``models--org--name``."""
    return cache / ("models--" + repo_id.replace("/", "--"))


def hub_snapshot(cache: Path, repo_id: str, revision: str = "main") -> Path | None:
    """The snapshot folder that offline loading of ``repo_id`` at ``revision`` reads, or None."""
    repo = hub_repo_dir(cache, repo_id)
    ref = repo / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file's content (what the hub names its small files' blobs by)."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    return _digest_into(digest, path, None)


def sha256_file(path: Path, progress: Any = None) -> str:
    return _digest_into(hashlib.sha256(), path, progress)


def _digest_into(digest: Any, path: Path, progress: Any) -> str:
    task = progress.add_task(f"hash {path.name}", total=path.stat().st_size) if progress is not None else None
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if task is not None:
                progress.advance(task, len(chunk))
    if task is not None:
        progress.remove_task(task)
    return digest.hexdigest()


def verify_file(path: Path, sha256_prefix: str | None = None, progress: Any = None) -> str:
    """'' when ``path`` matches the hash it can be checked against, else what is wrong.

    A file inside a hub cache is checked against its blob's name; a torch hub file against the
    sha256 prefix in its name (``sha256_prefix``). Other files have no published hash to check.
    """
    blob = path.resolve()
    if blob.parent.name == "blobs" and _HEX64.fullmatch(blob.name):
        actual = sha256_file(blob, progress)
        return "" if actual == blob.name else f"sha256 {actual[:12]}… differs from its blob name {blob.name[:12]}…"
    if blob.parent.name == "blobs" and _HEX40.fullmatch(blob.name):
        actual = git_blob_sha1(blob)
        return "" if actual == blob.name else f"git sha1 {actual[:12]}… differs from its blob name {blob.name[:12]}…"
    if sha256_prefix:
        actual = sha256_file(blob, progress)
        return "" if actual.startswith(sha256_prefix) else f"sha256 {actual[:12]}… does not start with {sha256_prefix}"
    return ""


def remove_hub_file(path: Path) -> None:
    """Remove a snapshot file and the blob it links to (a damaged download, to be fetched again)."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path and blob.parent.name == "blobs":
        blob.unlink(missing_ok=True)


def download_hub(repo_id: str, cache: Path, allow_patterns: Sequence[str]) -> None:
    """Download the files of ``repo_id`` matching ``allow_patterns`` into the hub cache ``cache``.

    The hub library writes each blob as ``.incomplete`` and renames it when done, so an interrupted
    download leaves no file that looks complete.
    """
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id, cache_dir=str(cache), allow_patterns=list(allow_patterns))


def open_url(url: str) -> Any:
    """The response of a GET (a file-like object with ``headers``)."""
    return urllib.request.urlopen(url, timeout=60)  # noqa: S310 - weight URLs come from the catalogue or config


def download_url(url: str, dest: Path, sha256_prefix: str | None = None, progress: Any = None) -> Path:
    """Stream ``url`` into ``dest`` (temporary file + rename); refuse it when its sha256 does not match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        response = open_url(url)
    except OSError as err:
        raise DownloadError(f"cannot download {url}: {err}") from err
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        task = progress.add_task(f"download {dest.name}", total=total) if progress is not None else None

        def write(handle: IO[bytes]) -> None:
            digest = hashlib.sha256()
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
                if task is not None:
                    progress.advance(task, len(chunk))
            actual = digest.hexdigest()
            if sha256_prefix and not actual.startswith(sha256_prefix):
                raise DownloadError(f"{url}: sha256 {actual[:12]}… does not start with {sha256_prefix}; not saved")

        try:
            write_file(dest, write)
        finally:
            if task is not None:
                progress.remove_task(task)
    return dest


def url_hash_prefix(url: str) -> str | None:
    """torch hub's convention: ``name-<sha256 prefix>.ext`` (torchvision checks it on download)."""
    match = re.search(r"-([a-f0-9]{8,})\.", url.rsplit("/", 1)[-1])
    return match.group(1) if match else None


def cached_url_file(url: str, config_key: str, layout: str, sha256_prefix: str | None = None) -> Path:
    """The torch hub cache's copy of ``url``, downloaded there first when missing and online.

    With ``HF_HUB_OFFLINE=1`` (the project's switch for "cache only") a missing file is a
    :class:`WeightsNotFoundError` naming ``config_key``, never a download attempt.
    """
    path = checkpoints_dir() / url.rsplit("/", 1)[-1]
    if path.is_file():
        return path
    if hub_offline():
        raise WeightsNotFoundError(
            config_key, url, layout, f"{path} is missing and HF_HUB_OFFLINE=1 forbids downloading it."
        )
    try:
        return download_url(url, path, sha256_prefix)
    except OSError as err:
        raise WeightsNotFoundError(config_key, url, layout, str(err)) from err
