"""Exact and near duplicates: identical pixels, or a perceptual hash (DCT pHash) a few bits apart.

The hash is the classic 64-bit pHash: grey, resized to 32x32, 2-D DCT, the 8x8 lowest frequencies
compared with their median. Re-encoding, rescaling or a slight colour change moves it by a few
bits; different pictures differ in about half of the 64 (see the module's thresholds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

NEAR_DUPLICATE_BITS = 6  # pHash distance (of 64) at or below which two images are one picture
RELATED_BITS = 10  # looser: such images are kept, but always land in the same split
_CHUNK = 1024


def phash(rgb: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a uint8 (H, W, 3) image."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def pixel_digest(rgb: np.ndarray) -> str:
    """SHA-256 of the decoded pixels and their shape: equal for the same picture in any file format."""
    digest = hashlib.sha256(repr(rgb.shape).encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()


def close_pairs(hashes: Sequence[int], max_bits: int) -> list[tuple[int, int, int]]:
    """Every (i, j, distance) with i < j whose hashes differ in at most ``max_bits`` bits."""
    codes = np.array(hashes, dtype=np.uint64)
    pairs = []
    for start in range(0, len(codes), _CHUNK):
        block = codes[start : start + _CHUNK]
        distance = np.bitwise_count(block[:, None] ^ codes[None, :])
        for i, j in zip(*np.nonzero(distance <= max_bits), strict=True):
            if start + i < j:
                pairs.append((int(start + i), int(j), int(distance[i, j])))
    return pairs


def connected_groups(count: int, pairs: Sequence[tuple[int, int, int]]) -> list[int]:
    """Group label (the smallest member index) of each item, joining every pair transitively."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        a, b = root(i), root(j)
        parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(count)]


def find_duplicates(digests: Sequence[str], hashes: Sequence[int], areas: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Items to drop: ``{dropped: (kept, pHash distance)}``; distance -1 marks identical pixels.

    Exact copies and images within NEAR_DUPLICATE_BITS form groups (transitively); each group
    keeps its largest image (source pixels), the first in order on a tie.
    """
    pairs = close_pairs(hashes, NEAR_DUPLICATE_BITS)
    first_of: dict[str, int] = {}
    for i, digest in enumerate(digests):
        j = first_of.setdefault(digest, i)
        if j != i:
            pairs.append((j, i, 0))
    labels = connected_groups(len(digests), pairs)
    keeper: dict[int, int] = {}
    for i, label in enumerate(labels):
        best = keeper.get(label)
        if best is None or areas[i] > areas[best]:
            keeper[label] = i
    dropped = {}
    for i, label in enumerate(labels):
        kept = keeper[label]
        if kept != i:
            exact = digests[i] == digests[kept]
            dropped[i] = (kept, -1 if exact else int(np.bitwise_count(np.uint64(hashes[i] ^ hashes[kept]))))
    return dropped
