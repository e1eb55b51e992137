"""Published palettes written out here, so palette tests check the code against an independent copy."""

from __future__ import annotations

import numpy as np

# PICO-8's 16 colours, in its own order (lexaloffle.com/pico-8.php?page=manual, "Colours").
PICO8_HEX = [
    "000000",
    "1d2b53",
    "7e2553",
    "008751",
    "ab5236",
    "5f574f",
    "c2c3c7",
    "fff1e8",
    "ff004d",
    "ffa300",
    "ffec27",
    "00e436",
    "29adff",
    "83769c",
    "ff77a8",
    "ffccaa",
]
PICO8 = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in PICO8_HEX], dtype=np.uint8)
PICO8_SET = {tuple(int(v) for v in c) for c in PICO8}
