"""Unpaired A (photo) / B (pixel art) datasets.

Items are dicts ``{"a": (3, r, r), "b": (3, r, r), "a_path": str, "b_path": str}``
with tensors in [-1, 1]. Each domain has its own transform (domain A's ends with its edge
preset: ``build_transform(..., edge_preset=...)``); the datasets know nothing of presets.
Training samples are a pure function of (seed, epoch, index), so a resumed run sees the same
data as an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pixel_gan.data.ground_truth import GroundTruthInfo, at_size
from pixel_gan.data.images import (
    IMAGE_EXTENSIONS,
    ImageLoadError,
    check_image,
    list_images,
    load_rgb,
)
from pixel_gan.data.transforms import ImageTransform, to_tensor

__all__ = [
    "IMAGE_EXTENSIONS",
    "FixedValidationSet",
    "ImageLoadError",
    "UnpairedImageDataset",
    "filter_readable",
    "list_images",
    "load_rgb",
]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Item = dict[str, torch.Tensor | str]


def filter_readable(domains: dict[str, Sequence[PathLike]]) -> dict[str, list[Path]]:
    """Drop files that fail ``check_image``; one warning names every skipped file.

    ``domains`` maps a domain label ("A", "B") to its files. Raises ValueError
    naming the folder when a domain has no usable file left.
    """
    given = {label: [Path(f) for f in files] for label, files in domains.items()}
    kept: dict[str, list[Path]] = {label: [] for label in given}
    skipped: list[str] = []
    for label, paths in given.items():
        for path in paths:
            reason = check_image(path)
            if reason is None:
                kept[label].append(path)
            else:
                skipped.append(f"{path} ({reason})")
    if skipped:
        warnings.warn(f"skipping {len(skipped)} unreadable image(s): " + "; ".join(skipped), stacklevel=3)
    for label, paths in given.items():
        if not kept[label]:
            detail = f"all {len(paths)} file(s) are unreadable" if paths else "no image files given"
            raise ValueError(f"domain {label} has no usable images in {_folders(paths)}: {detail}")
    return kept


def _folders(paths: Sequence[Path]) -> str:
    parents = sorted({str(p.parent) for p in paths})
    return ", ".join(parents) if parents else "(no folder)"


def _make_item(a_path: Path, b_path: Path, transform_a: ImageTransform, transform_b: ImageTransform) -> Item:
    """Load, transform each domain (PIL, A before B: their random draws come in that order), then
    convert both to [-1, 1] tensors."""
    image_a = transform_a(load_rgb(a_path))
    image_b = transform_b(load_rgb(b_path))
    return {"a": to_tensor(image_a), "b": to_tensor(image_b), "a_path": str(a_path), "b_path": str(b_path)}


class _SkipBadFiles:
    """Shared by both datasets: the readable files and the transform of each domain, and the
    fallback for an item whose file fails to decode (replaced by the next index)."""

    def __init__(
        self,
        files_a: Sequence[PathLike],
        files_b: Sequence[PathLike],
        transform_a: ImageTransform,
        transform_b: ImageTransform,
        **options: Any,
    ) -> None:
        """``options`` are the subclass's own (its ``_configure``); ``count`` also limits the files read."""
        kept = filter_readable({"A": files_a, "B": files_b})
        count = options.get("count")
        self.files_a, self.files_b = kept["A"][:count], kept["B"][:count]
        self.transform_a, self.transform_b = transform_a, transform_b
        self._bad: set[Path] = set()
        self._configure(**options)

    def _configure(self, **options: Any) -> None:
        raise NotImplementedError

    def _item(self, index: int) -> Item:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Item:
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"index {index} out of range for dataset of length {length}")
        index %= length
        for step in range(length):
            try:
                return self._item((index + step) % length)
            except ImageLoadError as error:
                if error.path not in self._bad:
                    self._bad.add(error.path)
                    log.warning("%s; using the next item instead", error)
        raise RuntimeError(f"no readable item left in {type(self).__name__} (bad files: {sorted(self._bad)})")

    def _raise_if_bad(self, *paths: Path) -> None:
        for path in paths:
            if path in self._bad:
                raise ImageLoadError(path, "failed to load earlier")


class UnpairedImageDataset(_SkipBadFiles, Dataset):
    """Training pairs: A[i % len(A)] with a B image drawn from (seed, epoch, i).

    The default length is max(len(A), len(B)) (the reference used the sum; pass
    ``length`` to choose). The random crop/flip of both images is seeded from
    the same (seed, epoch, i), so an item never depends on worker or call order.
    The epoch lives in shared memory: ``set_epoch`` reaches persistent
    DataLoader workers too.
    """

    def _configure(self, seed: int = 0, length: int | None = None) -> None:  # type: ignore[override]
        """``UnpairedImageDataset(files_a, files_b, transform_a, transform_b, seed=0, length=None)``."""
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = seed
        self.length = max(len(self.files_a), len(self.files_b)) if length is None else length
        if self.length < 1:
            raise ValueError(f"length must be >= 1, got {self.length}")
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return self.length

    @property
    def epoch(self) -> int:
        return int(self._epoch.item())

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose B draws and augmentations ``__getitem__`` returns."""
        self._epoch.fill_(epoch)

    def _draw(self, index: int) -> tuple[int, int]:
        """(index into files_b, torch seed for the augmentations), fixed by (seed, epoch, index)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(len(self.files_b))), int(rng.integers(2**63 - 1))

    def b_index(self, index: int) -> int:
        """Which B file item ``index`` pairs with in the current epoch."""
        return self._draw(index)[0]

    def _item(self, index: int) -> Item:
        b_index, torch_seed = self._draw(index)
        a_path, b_path = self.files_a[index % len(self.files_a)], self.files_b[b_index]
        self._raise_if_bad(a_path, b_path)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            return _make_item(a_path, b_path, self.transform_a, self.transform_b)


class FixedValidationSet(_SkipBadFiles, Dataset):
    """The first ``count`` readable test images of each domain, paired by position.

    Length is min(count, max(len(A), len(B))); the shorter domain wraps around.
    Use with eval transforms (A's with the edge preset, B's without) so the set is identical at every
    validation.
    With ``ground_truth`` (a paired test split) items also hold ``gt`` (the A image's target,
    NEAREST-resized to the transformed A's size, in [-1, 1]), ``gt_cell`` (its cell size there)
    and ``gt_palette`` ((K, 3) uint8).
    """

    def _configure(self, count: int, ground_truth: GroundTruthInfo | None = None) -> None:  # type: ignore[override]
        """``FixedValidationSet(files_a, files_b, transform_a, transform_b, count, ground_truth=None)``."""
        if count < 1:
            raise ValueError(f"validation count must be >= 1, got {count}")
        self.count = min(count, max(len(self.files_a), len(self.files_b)))
        self.ground_truth = ground_truth
        if ground_truth is not None:  # a missing target stops the run now, not at the first validation
            for path in self.files_a:
                ground_truth.image_for(path)

    def __len__(self) -> int:
        return self.count

    def _item(self, index: int) -> Item:
        a_path = self.files_a[index % len(self.files_a)]
        b_path = self.files_b[index % len(self.files_b)]
        self._raise_if_bad(a_path, b_path)
        item = _make_item(a_path, b_path, self.transform_a, self.transform_b)
        if self.ground_truth is not None:
            size = (item["a"].shape[-1], item["a"].shape[-2])
            gt, cell = at_size(load_rgb(self.ground_truth.image_for(a_path)), self.ground_truth.cell_for(a_path), size)
            item.update(gt=to_tensor(gt), gt_cell=cell, gt_palette=torch.from_numpy(self.ground_truth.palette))
        return item
