"""A shuffling sampler that also tells the dataset which epoch it is.

Lightning calls ``sampler.set_epoch`` at the start of every training epoch.
Subclassing DistributedSampler gives a shuffle order fixed by (seed, epoch),
so a resumed run sees the same order, and Lightning keeps it as is under DDP
(it only injects its own sampler when the sampler is not distributed).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sized
from typing import Protocol

from torch.utils.data import DistributedSampler


class EpochAware(Sized, Protocol):
    def set_epoch(self, epoch: int) -> None: ...


class EpochSampler(DistributedSampler):
    """DistributedSampler (shuffle by seed + epoch) that forwards ``set_epoch`` to the dataset.

    ``num_replicas``/``rank`` are given explicitly so no process group is needed
    for single-process runs.
    """

    def __init__(
        self,
        dataset: EpochAware,
        seed: int = 0,
        shuffle: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(
            dataset,  # type: ignore[arg-type]
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=False,
        )
        self._start = 0

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.dataset.set_epoch(epoch)  # type: ignore[attr-defined]

    def start_at(self, position: int) -> None:
        """Begin the next iteration (only) at ``position`` of this epoch's order.

        A resumed run skips the samples it already trained on without loading them.
        """
        self._start = max(int(position), 0)

    def __iter__(self) -> Iterator[int]:
        start, self._start = self._start, 0
        return itertools.islice(super().__iter__(), start, None)
