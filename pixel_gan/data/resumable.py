"""A training DataLoader that Lightning can checkpoint in the middle of an epoch.

Lightning saves ``state_dict()`` of any train loader that has one and hands it back to
``load_state_dict`` on resume. The state is (epoch, batches served in that epoch); on resume the
sampler starts after those batches, so they are neither trained on twice nor decoded again.
Items are a pure function of (seed, epoch, index) (see ``datasets.py``), so the resumed batches
equal those an uninterrupted run would have drawn.

Iterating never touches the global torch RNG: the loader's own generator, reseeded from the
epoch, gives the worker base seed. A resumed run creates its iterators at other moments than an
uninterrupted one, and a draw from the global RNG there would shift every later random number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

_GENERATOR_SEED = 0x5EED


class ResumableDataLoader(DataLoader):
    """DataLoader over a sampler with ``epoch``, ``set_epoch`` and ``start_at`` (:class:`EpochSampler`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("generator") is None:
            kwargs["generator"] = torch.Generator()
        super().__init__(*args, **kwargs)
        for name in ("epoch", "set_epoch", "start_at"):
            if not hasattr(self.sampler, name):
                raise TypeError(
                    f"ResumableDataLoader needs a sampler with {name!r} (an EpochSampler), "
                    f"got {type(self.sampler).__name__}"
                )
        self._served = 0  # batches of the current epoch handed out (skipped ones included)
        self._resume: tuple[int, int] | None = None  # (epoch, batches to skip) for the next iterator

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self.sampler.epoch), "batches": int(self._served)}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        epoch, batches = int(state_dict["epoch"]), int(state_dict["batches"])
        if batches >= len(self):  # that epoch was complete: the next one starts at its beginning
            epoch, batches = epoch + 1, 0
        self.sampler.set_epoch(epoch)
        self._resume = (epoch, batches)

    def __iter__(self) -> Iterator[Any]:
        # A generator: runs at the first ``next``, after Lightning's ``set_epoch`` for this epoch.
        skip = 0
        if self._resume is not None:
            # The saved position wins over Lightning's ``set_epoch``: from a checkpoint taken at an
            # epoch's end Lightning restarts with the sampler one epoch ahead of the data trained on.
            epoch, skip = self._resume
            self._resume = None
            self.sampler.set_epoch(epoch)
        epoch = int(self.sampler.epoch)
        self.sampler.start_at(skip * (self.batch_size or 1))
        self.generator.manual_seed(_GENERATOR_SEED + epoch)
        self._served = skip
        for batch in super().__iter__():
            self._served += 1
            yield batch
