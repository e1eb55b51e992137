"""Fixed pixel-art palettes and palette files.

A palette is an ``np.ndarray`` of shape (K, 3), dtype uint8, RGB. The built-in
palettes are kept as hex strings so they read like the published lists.
Palette *specs* (what the CLI, config and app pass around) are strings: a
built-in name, a palette file path, or an integer ("16") meaning "k-means with
that many colours"; :func:`resolve_palette` turns a spec into something
:mod:`pixel_gan.inference.pixelize` can use.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

PICO8: list[str] = [
    "#000000",
    "#1d2b53",
    "#7e2553",
    "#008751",
    "#ab5236",
    "#5f574f",
    "#c2c3c7",
    "#fff1e8",
    "#ff004d",
    "#ffa300",
    "#ffec27",
    "#00e436",
    "#29adff",
    "#83769c",
    "#ff77a8",
    "#ffccaa",
]

GAMEBOY: list[str] = ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"]

# The widely used 2C02 table (as in FCEUX / Wikipedia), indices $00-$3F with the
# duplicate blacks removed: 54 distinct colours plus black.
NES: list[str] = [
    "#7c7c7c",
    "#0000fc",
    "#0000bc",
    "#4428bc",
    "#940084",
    "#a80020",
    "#a81000",
    "#881400",
    "#503000",
    "#007800",
    "#006800",
    "#005800",
    "#004058",
    "#000000",
    "#bcbcbc",
    "#0078f8",
    "#0058f8",
    "#6844fc",
    "#d800cc",
    "#e40058",
    "#f83800",
    "#e45c10",
    "#ac7c00",
    "#00b800",
    "#00a800",
    "#00a844",
    "#008888",
    "#f8f8f8",
    "#3cbcfc",
    "#6888fc",
    "#9878f8",
    "#f878f8",
    "#f85898",
    "#f87858",
    "#fca044",
    "#f8b800",
    "#b8f818",
    "#58d854",
    "#58f898",
    "#00e8d8",
    "#787878",
    "#fcfcfc",
    "#a4e4fc",
    "#b8b8f8",
    "#d8b8f8",
    "#f8b8f8",
    "#f8a4c0",
    "#f0d0b0",
    "#fce0a8",
    "#f8d878",
    "#d8f878",
    "#b8f8b8",
    "#b8f8d8",
    "#00fcfc",
    "#f8d8f8",
]

# IBM CGA 16-colour text palette (with the "brown" fix at index 6).
CGA: list[str] = [
    "#000000",
    "#0000aa",
    "#00aa00",
    "#00aaaa",
    "#aa0000",
    "#aa00aa",
    "#aa5500",
    "#aaaaaa",
    "#555555",
    "#5555ff",
    "#55ff55",
    "#55ffff",
    "#ff5555",
    "#ff55ff",
    "#ffff55",
    "#ffffff",
]

ENDESGA32: list[str] = [
    "#be4a2f",
    "#d77643",
    "#ead4aa",
    "#e4a672",
    "#b86f50",
    "#733e39",
    "#3e2731",
    "#a22633",
    "#e43b44",
    "#f77622",
    "#feae34",
    "#fee761",
    "#63c74d",
    "#3e8948",
    "#265c42",
    "#193c3e",
    "#124e89",
    "#0099db",
    "#2ce8f5",
    "#ffffff",
    "#c0cbdc",
    "#8b9bb4",
    "#5a6988",
    "#3a4466",
    "#262b44",
    "#181425",
    "#ff0044",
    "#68386c",
    "#b55088",
    "#f6757a",
    "#e8b796",
    "#c28569",
]

# Canonical name -> hex list; "none" means "no fixed palette".
PALETTES: dict[str, list[str] | None] = {
    "pico8": PICO8,
    "gameboy": GAMEBOY,
    "nes": NES,
    "cga": CGA,
    "endesga32": ENDESGA32,
    "none": None,
}

PaletteSpec = str | int | np.ndarray | None  # a name, a file, a colour count (k-means) or a (K, 3) array
MAX_SWATCH_COLORS = 256
IMAGE_SUFFIXES = {".png", ".gif", ".bmp", ".webp", ".tga", ".tif", ".tiff", ".jpg", ".jpeg"}
_HEX_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")


def hex_to_rgb(colors: list[str]) -> np.ndarray:
    """Parse "#rrggbb" / "rrggbb" strings into a (K, 3) uint8 palette."""
    rows = []
    for c in colors:
        m = _HEX_RE.match(c.strip())
        if m is None:
            raise ValueError(f"not a 6-digit hex colour: {c!r}")
        v = int(m.group(1), 16)
        rows.append(((v >> 16) & 255, (v >> 8) & 255, v & 255))
    return np.asarray(rows, dtype=np.uint8).reshape(-1, 3)


def rgb_to_hex(palette: np.ndarray) -> list[str]:
    """Format a (K, 3) uint8 palette as "#rrggbb" strings."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.asarray(palette, dtype=np.uint8)]


def _normalize_name(name: str) -> str:
    """Make "PICO-8", "pico_8" and "Game Boy" match their canonical keys."""
    return re.sub(r"[\s_\-]", "", name.strip().lower())


def palette_names() -> list[str]:
    """Names accepted by :func:`get_palette`."""
    return list(PALETTES)


def get_palette(name: str) -> np.ndarray | None:
    """Built-in palette by name as (K, 3) uint8, or None for "none".

    Names are matched case-insensitively, ignoring spaces, "-" and "_".
    """
    key = _normalize_name(name)
    if key not in PALETTES:
        raise ValueError(f"unknown palette {name!r}; valid names: {', '.join(palette_names())}")
    colors = PALETTES[key]
    return None if colors is None else hex_to_rgb(colors)


def _parse_hex_lines(lines: list[str], path: Path) -> list[str]:
    """Keep hex colour lines; skip blanks and comments (";", "//", "# text")."""
    colors = []
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if _HEX_RE.match(s):
            colors.append(s)
        elif s.startswith((";", "//", "#")):
            continue
        else:
            raise ValueError(f"{path}:{i}: not a hex colour: {s!r}")
    return colors


def _load_hex(path: Path) -> np.ndarray:
    """.hex: one "rrggbb" per line (the Lospec format)."""
    return hex_to_rgb(_parse_hex_lines(path.read_text().splitlines(), path))


def _load_gpl(path: Path) -> np.ndarray:
    """.gpl: GIMP palette, "R G B [name]" lines after a "GIMP Palette" header."""
    lines = path.read_text().splitlines()
    if not lines or not lines[0].strip().startswith("GIMP Palette"):
        raise ValueError(f"{path}: missing 'GIMP Palette' header")
    rows = []
    for i, line in enumerate(lines[1:], 2):
        s = line.strip()
        if not s or s.startswith("#") or re.match(r"^(Name|Columns)\s*:", s):
            continue
        parts = s.split()
        try:
            rgb = [int(p) for p in parts[:3]]
        except ValueError as e:
            raise ValueError(f"{path}:{i}: expected 'R G B [name]', got {s!r}") from e
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise ValueError(f"{path}:{i}: expected three values in 0..255, got {s!r}")
        rows.append(rgb)
    return np.asarray(rows, dtype=np.uint8).reshape(-1, 3)


def _load_swatch(path: Path, alpha_threshold: int = 128) -> np.ndarray:
    """Image swatch: the unique opaque colours in first-seen (row-major) order."""
    from pixel_gan.data.images import open_checked

    with open_checked(path) as im:  # the pixel limit is checked from the header, before decoding
        rgba = np.asarray(im.convert("RGBA"))
    pixels = rgba[..., :3][rgba[..., 3] >= alpha_threshold]
    _, first = np.unique(pixels, axis=0, return_index=True)
    if len(first) > MAX_SWATCH_COLORS:
        raise ValueError(
            f"{path}: swatch has {len(first)} colours; a palette image may have at most "
            f"{MAX_SWATCH_COLORS} (use an integer spec for k-means instead)"
        )
    return pixels[np.sort(first)].astype(np.uint8).reshape(-1, 3)


def load_palette_file(path: str | Path) -> np.ndarray:
    """Read a palette from .hex, .gpl or a small image swatch -> (K, 3) uint8."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".hex":
        palette = _load_hex(path)
    elif suffix == ".gpl":
        palette = _load_gpl(path)
    elif suffix in IMAGE_SUFFIXES:
        palette = _load_swatch(path)
    else:
        raise ValueError(f"{path}: unsupported palette file type {suffix!r} (use .hex, .gpl or an image)")
    if len(palette) == 0:
        raise ValueError(f"{path}: palette file has no colours")
    return palette


def save_palette_file(palette: np.ndarray, path: str | Path, name: str = "pixel-gan") -> Path:
    """Write a palette as .hex, .gpl or a 1-pixel-per-colour PNG strip (inverse of load)."""
    path = Path(path)
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    suffix = path.suffix.lower()
    if suffix == ".hex":
        path.write_text("".join(h[1:] + "\n" for h in rgb_to_hex(palette)))
    elif suffix == ".gpl":
        body = "".join(
            f"{r:3d} {g:3d} {b:3d}\t{h}\n" for (r, g, b), h in zip(palette, rgb_to_hex(palette), strict=True)
        )
        path.write_text(f"GIMP Palette\nName: {name}\nColumns: {min(len(palette), 16)}\n#\n{body}")
    elif suffix in IMAGE_SUFFIXES:
        from PIL import Image

        Image.fromarray(palette[None]).save(path)
    else:
        raise ValueError(f"{path}: unsupported palette file type {suffix!r} (use .hex, .gpl or an image)")
    return path


def _looks_like_path(spec: str) -> bool:
    """A spec names a file if it has a palette-file suffix or a path separator."""
    suffix = Path(spec).suffix.lower()
    return suffix in IMAGE_SUFFIXES | {".hex", ".gpl"} or "/" in spec or "\\" in spec


def resolve_palette(spec: PaletteSpec) -> np.ndarray | int | None:
    """Turn a palette spec into a fixed palette, a k-means colour count, or None.

    - None, "" or "none"       -> None (no quantization)
    - an int or "16"           -> 16 (k-means with that many colours, 2..256)
    - a path to .hex/.gpl/image -> the palette in that file
    - a built-in name          -> that palette (see :func:`palette_names`)
    - a (K, 3) array           -> returned as uint8
    """
    if spec is None:
        return None
    if isinstance(spec, np.ndarray):
        if spec.ndim != 2 or spec.shape[1] != 3 or len(spec) == 0:
            raise ValueError(f"palette array must have shape (K, 3), got {spec.shape}")
        return spec.astype(np.uint8)
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().isdigit()):
        n = int(spec)
        if not 2 <= n <= MAX_SWATCH_COLORS:
            raise ValueError(f"k-means palette size must be in 2..{MAX_SWATCH_COLORS}, got {n}")
        return n
    spec = str(spec).strip()
    if spec == "":
        return None
    if Path(spec).is_file():
        return load_palette_file(spec)
    if _looks_like_path(spec):
        raise FileNotFoundError(f"palette file not found: {spec}")
    try:
        return get_palette(spec)
    except ValueError:
        raise ValueError(
            f"unknown palette {spec!r}; use one of {', '.join(palette_names())}, "
            "a .hex/.gpl/image file path, or a colour count such as '16'"
        ) from None
