"""Batches for a list of images of mixed sizes: one generator pass needs one shape."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def plan_batches(sizes: Sequence[Hashable], batch_size: int) -> list[list[int]]:
    """Indices of ``sizes`` grouped by equal size, each group cut into batches of at most ``batch_size``.

    Groups come in the order their size first appears and keep the input order inside, so a folder
    of one size is read front to back; every index appears exactly once. Grouping over the whole
    list (not per chunk) keeps batches full when sizes alternate.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    groups: dict[Hashable, list[int]] = {}
    for index, size in enumerate(sizes):
        groups.setdefault(size, []).append(index)
    return [
        members[start : start + batch_size]
        for members in groups.values()
        for start in range(0, len(members), batch_size)
    ]
