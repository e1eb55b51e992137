"""Every file pixel-gan writes goes through here, so none is ever half-written or an input.

- A file is written to a temporary file in its own folder, flushed and fsynced, then renamed over
  the target (``os.replace``): a reader, a crash or a kill sees the old file or the new one.
- Several files that belong together (an image at native size and upscaled) are all written to
  temporary files first and renamed only when every one of them succeeded.
- A target that is one of the inputs (the same path, or the same file through a symlink or a hard
  link) is refused before anything is written.
- New files get the usual mode (``0o666`` minus the umask), like ``open()`` would create them;
  ``mkstemp`` alone would leave them readable by the owner only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

Writer = Callable[[IO[bytes]], object]
PathLike = str | os.PathLike[str]


class OutputIsInputError(ValueError):
    """An output path that names one of the inputs: writing it would destroy that input."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode ``mkdir()`` gives a new folder under the current umask (``mkdtemp`` alone gives 0700)."""
    return 0o777 & ~_umask()


def file_identity(path: PathLike) -> tuple:
    """(device, inode) of the file ``path`` reaches through any symlinks; its absolute path when there is none."""
    try:
        info = os.stat(path)
    except OSError:  # not there (yet): only the identical path can be the same file
        return ("path", os.path.abspath(path))
    return ("inode", info.st_dev, info.st_ino)


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` are one file: same path, or one reached through a symlink or hard link."""
    return file_identity(a) == file_identity(b)


def refuse_inputs(target: PathLike, inputs: Iterable[PathLike]) -> None:
    """Raise :class:`OutputIsInputError` when ``target`` is one of ``inputs``."""
    for source in inputs:
        if same_file(target, source):
            raise OutputIsInputError(f"output {target} is the input {source}; refusing to overwrite an input")


def temporary_pattern(path: Path) -> str:
    """The glob of the temporary files :func:`write_files` makes for ``path``."""
    return f".{path.name}.*.tmp"


def _write_temporary(path: Path, write: Writer) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def write_files(targets: Sequence[tuple[PathLike, Writer]], inputs: Iterable[PathLike] = ()) -> None:
    """Write every ``(path, writer)`` or none: temporary files first, renamed once all succeeded.

    ``writer`` receives a binary file handle. On any failure the temporary files are removed and
    no target is created or changed (a target already renamed into place is removed again).
    """
    paths = [Path(p) for p, _ in targets]
    inputs = list(inputs)
    for path in paths:
        refuse_inputs(path, inputs)
    temporaries: list[str] = []
    placed: list[Path] = []
    try:
        for path, (_, write) in zip(paths, targets, strict=True):
            temporaries.append(_write_temporary(path, write))
        for tmp, path in zip(temporaries, paths, strict=True):
            os.replace(tmp, path)
            placed.append(path)
    except BaseException:
        leftovers: list[PathLike] = [*temporaries, *placed]
        for leftover in leftovers:
            _unlink(leftover)
        raise
    for folder in {p.parent for p in paths}:
        fsync_dir(folder)


def write_file(path: PathLike, write: Writer, inputs: Iterable[PathLike] = ()) -> None:
    """One file through :func:`write_files`."""
    write_files([(path, write)], inputs)


def write_bytes(path: PathLike, data: bytes) -> None:
    write_file(path, lambda handle: handle.write(data))


def write_text(path: PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def png_writer(image) -> Writer:
    """A writer that saves a PIL image as PNG."""
    return lambda handle: image.save(handle, format="PNG")


def write_folder(
    target: PathLike, build: Callable[[Path], object], already_done: Callable[[Path], bool] | None = None
) -> Path:
    """Build a folder in a temporary sibling and rename it to ``target``: never half a folder there.

    An existing ``target`` is moved aside first and removed once the new one is in place (put
    back if that fails). When another process renamed its own copy into place first,
    ``already_done(target)`` says whether that copy will do.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old = None
    try:
        fresh.chmod(folder_mode())
        build(fresh)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", suffix=".tmp", dir=target.parent))
            os.rename(target, old / "previous")
        try:
            os.rename(fresh, target)
        except OSError:
            if already_done is None or not already_done(target):
                raise
    except BaseException:
        if old is not None and not target.exists():
            os.rename(old / "previous", target)  # put the previous folder back
        raise
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    fsync_dir(target.parent)
    return target


def remove_stale_temporaries(path: PathLike) -> None:
    """Temporary files of ``path`` left by a process killed while writing (SIGKILL, power loss)."""
    path = Path(path)
    for stale in path.parent.glob(temporary_pattern(path)):
        _unlink(stale)


def fsync_dir(folder: PathLike) -> None:
    """Persist a rename itself (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink(path: PathLike) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
