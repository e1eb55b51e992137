"""Checkpoints that survive crashes and pre-emption, and that never run code when loaded.

- :class:`SafeCheckpointIO` writes through a temporary file in the target folder and
  ``os.replace``: ``last.ckpt`` is always the previous complete file or the new complete one,
  whatever kills the process. It reads with ``torch.load(weights_only=True)`` only.
- :class:`RngStateCheckpoint` keeps the torch/numpy/python (and CUDA) RNG states in the checkpoint.
  Lightning does not save them; without them a resumed run draws different VAE posterior noise
  and discriminator augmentations than an uninterrupted one.
- :class:`PreemptionCheckpoint` turns SIGTERM (SLURM pre-emption; Lightning's own handler sets
  ``trainer.received_sigterm``) and SIGINT (Ctrl-C) into: finish the current batch, save
  ``last.ckpt``, stop. A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Any, cast

import lightning as L
import numpy as np
import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_info

from pixel_gan.config import ConfigError
from pixel_gan.safe_io import remove_stale_temporaries, write_file

log = logging.getLogger(__name__)

LAST_NAME = "last.ckpt"


class UnsafeCheckpointError(ConfigError):
    """A checkpoint that is not a plain tensor/container file (or not a checkpoint at all)."""


# --- safe, atomic file IO --------------------------------------------------------------------
def check_checkpoint_file(path: _PATH) -> None:
    """Refuse, before anything is unpickled or built, a file that is not an intact, safe torch checkpoint.

    Every member of the zip archive is read once to check its CRC (flipped bytes, a partial copy),
    then only the pickle stream is parsed for the globals that ``weights_only=True`` would have to
    import.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} is not a torch checkpoint (not a zip archive: "
            "truncated, corrupt or a legacy pickle); refusing to load it"
        )
    _check_crc(path)
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as err:  # noqa: BLE001 - any parse failure means the file cannot be trusted
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} cannot be read as a checkpoint ({type(err).__name__}: {err})"
        ) from err
    if unsafe:
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} holds pickled objects beyond tensors and plain "
            f"containers ({', '.join(sorted(unsafe)[:5])}); refusing to load it"
        )


def _check_crc(path: Path) -> None:
    """Every zip member's data against its stored CRC-32 (torch writes them for every tensor)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        bad = f"({type(err).__name__}: {err})"
    if bad is not None:
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} is corrupt: {bad} fails its CRC check (flipped "
            "bytes or an incomplete copy); refusing to load it"
        )


LIGHTNING_KEYS = ("state_dict", "optimizer_states", "global_step", "pytorch-lightning_version")


def check_lightning_checkpoint(path: _PATH) -> None:
    """:func:`check_checkpoint_file`, then the keys a Lightning training checkpoint holds (memory-mapped, no copy)."""
    check_checkpoint_file(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # noqa: BLE001 - the file passed the safety checks but cannot be read
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} cannot be loaded: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}"
        ) from err
    missing = [k for k in LIGHTNING_KEYS if not isinstance(checkpoint, dict) or k not in checkpoint]
    if missing:
        raise UnsafeCheckpointError(
            f"ckpt_path={str(path)!r} is not a Lightning training checkpoint (no "
            f"{', '.join(missing)}); resume from a run's checkpoints/last.ckpt"
        )


def atomic_torch_save(obj: Any, path: _PATH) -> None:
    """``torch.save`` through :func:`pixel_gan.safe_io.write_file`: ``path`` keeps its previous content
    on any failure. Temporary files of an earlier killed save are removed afterwards."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, lambda handle: torch.save(obj, handle))
    remove_stale_temporaries(path)


class SafeCheckpointIO(TorchCheckpointIO):
    """Atomic saves; loads refuse anything but tensors and plain containers (``weights_only=True``)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = lambda storage, loc: storage, weights_only: bool | None = None
    ) -> dict[str, Any]:
        # ``weights_only`` is ignored on purpose: a checkpoint is data, never code.
        if not Path(path).is_file():
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        check_checkpoint_file(path)
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as err:
            raise UnsafeCheckpointError(
                f"cannot load checkpoint {path}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            ) from err


# --- RNG state -------------------------------------------------------------------------------
def collect_rng_states() -> dict[str, Any]:
    """All global RNG states as tensors and plain Python values (loadable with weights_only=True)."""
    legacy = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())  # legacy=True: a tuple
    kind, keys, pos, has_gauss, cached = legacy
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`collect_rng_states`; CUDA states are restored when the device count matches."""
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class RngStateCheckpoint(L.Callback):
    """Save the RNG states with every checkpoint; restore them just before the first resumed batch.

    Restoring at the batch start (not at load time) leaves out whatever set-up draws happen
    between loading and training, which an uninterrupted run does not make.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return collect_rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._pending is not None:
            set_rng_states(self._pending)
            self._pending = None


# --- pre-emption -----------------------------------------------------------------------------
def last_checkpoint_path(trainer: L.Trainer) -> Path:
    """Where ``last.ckpt`` lives: the ModelCheckpoint folder, else ``<default_root_dir>/checkpoints``."""
    callback = trainer.checkpoint_callback
    dirpath = getattr(callback, "dirpath", None)
    return Path(dirpath or Path(trainer.default_root_dir) / "checkpoints") / LAST_NAME


class PreemptionCheckpoint(L.Callback):
    """On SIGTERM or SIGINT: end the current batch, save ``last.ckpt``, stop training.

    SIGTERM is Lightning's: its handler sets ``trainer.received_sigterm`` (and broadcasts it
    under DDP), and its loop raises ``SIGTERMException`` after the batch; this callback saves
    first. SIGINT gets a handler here that only sets a flag; a second SIGINT raises
    KeyboardInterrupt for Lightning's immediate shutdown. ``signum`` tells the caller which
    signal stopped the run (None if none).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.saved_path: Path | None = None
        self._saved_step: int | None = None
        self._previous_sigint: Any = None

    # signal plumbing
    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        log.warning(
            "interrupt received: saving %s after this batch and stopping (press Ctrl-C again to abort)", LAST_NAME
        )

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def _requested(self, trainer: L.Trainer) -> bool:
        if trainer.received_sigterm and self.signum is None:
            self.signum = int(signal.SIGTERM)
        local = self.signum is not None
        if trainer.world_size > 1:  # every rank must stop at the same batch
            return bool(trainer.strategy.reduce_boolean_decision(local, all=False))
        return local

    def _already_saved(self, trainer: L.Trainer) -> bool:
        """Whether last.ckpt already holds this step (saved here, or by ModelCheckpoint with save_last)."""
        if self._saved_step == trainer.global_step:
            return True
        callback = trainer.checkpoint_callback
        return (
            getattr(callback, "save_last", False)
            and getattr(callback, "_last_global_step_saved", None) == trainer.global_step
            and last_checkpoint_path(trainer).is_file()
        )

    def _save(self, trainer: L.Trainer) -> None:
        if self._already_saved(trainer):
            return
        path = last_checkpoint_path(trainer)
        trainer.save_checkpoint(path, weights_only=False)  # full state: optimizers, loops, RNG
        self._saved_step, self.saved_path = trainer.global_step, path
        callback = trainer.checkpoint_callback
        if callback is not None and hasattr(callback, "_last_global_step_saved"):
            callback._last_global_step_saved = trainer.global_step  # ModelCheckpoint need not save this step again
        rank_zero_info(f"saved {path} at step {trainer.global_step}")

    # hooks
    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._requested(trainer):
            self.signum = self.signum or int(signal.SIGTERM)
            self._save(trainer)
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A signal that arrived during the last batch's validation: save here, before Lightning marks
        # the epoch complete. A checkpoint taken after that point resumes one epoch too far.
        if self._requested(trainer):
            self.signum = self.signum or int(signal.SIGTERM)
            self._save(trainer)
            trainer.should_stop = True

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        # Lightning raises SIGTERMException between batches (DDP broadcast) or during validation:
        # the trained state is consistent there, so it is saved too.
        if isinstance(exception, SIGTERMException):
            self.signum = self.signum or int(signal.SIGTERM)
            self._save(trainer)
