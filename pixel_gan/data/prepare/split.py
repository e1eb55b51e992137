"""Deterministic train/test split over groups of related images.

Related images (pHash within RELATED_BITS, transitively) are one group and go to one side, so no
picture and no near copy of it is in both train and test. The order of groups comes from their
content (the smallest pixel digest in each), shuffled by the seed: the same images and seed give
the same split whatever the file names or listing order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixel_gan.data.prepare.dedup import RELATED_BITS, close_pairs, connected_groups


class SplitError(ValueError):
    """Too few independent images to have both a train and a test side."""


def split_test(digests: Sequence[str], hashes: Sequence[int], fraction: float, seed: int) -> list[bool]:
    """Whether each image goes to test: at most ``fraction`` of the images (at least one), never all.

    Groups are taken in seeded order while they fit the target count, so a large group of related
    images (pHash links can chain) stays in train instead of swelling the test side.
    """
    count = len(digests)
    labels = connected_groups(count, close_pairs(hashes, RELATED_BITS))
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    if len(members) < 2:
        raise SplitError(f"{count} image(s) in {len(members)} group(s) of related images; a split needs at least 2")
    groups = sorted(members.values(), key=lambda group: min(digests[i] for i in group))
    order = np.random.default_rng(seed).permutation(len(groups))
    target = max(1, round(fraction * count))
    chosen: list[int] = []
    taken = 0
    for g in order:
        if taken + len(groups[g]) <= target:  # a group that would overshoot stays in train
            chosen.append(g)
            taken += len(groups[g])
    if not chosen:  # every group is larger than the target: the smallest one (train keeps the others)
        chosen.append(min(order, key=lambda g: len(groups[g])))
    test = [False] * count
    for g in chosen:
        for i in groups[g]:
            test[i] = True
    return test
