"""Listing and robust loading of dataset images.

Scraped photo and pixel-art folders hold every kind of file: palette images
with transparency, 16-bit PNGs, CMYK JPEGs, rotated phone photos, animated
GIFs, truncated downloads, huge panoramas. Everything here turns them into
plain RGB or fails with an ``ImageLoadError`` that names the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MAX_IMAGE_PIXELS = 64_000_000  # decompression-bomb guard: 64 MP is far above any training size
DATASET_LAYOUT = "train_A/, train_B/, test_A/, test_B/ (A = photos, B = pixel art)"

_BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white


class ImageLoadError(ValueError):
    """An image file that cannot be used; ``path`` and ``reason`` are kept for reports."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot load image {self.path}: {reason}")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder`` (not recursive), sorted by name.

    Extensions match IMAGE_EXTENSIONS case-insensitively; hidden files and
    anything that is not a regular file (directories, dangling or looping
    symlinks) are ignored.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder not found: {folder}. A dataset root must contain {DATASET_LAYOUT}"
        )
    files = [
        entry
        for entry in folder.iterdir()
        if not entry.name.startswith(".") and entry.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file()
    ]
    return sorted(files)


def _open_checked(path: Path) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before any decoding."""
    with warnings.catch_warnings():
        # Pillow's own bomb warning fires above ~89 MP; our stricter limit below handles it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageLoadError(
            path,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {MAX_IMAGE_PIXELS} "
            "(possible decompression bomb)",
        )
    return image


def check_image(path: str | os.PathLike[str]) -> str | None:
    """Cheap validity check without decoding pixels: None if usable, else the reason.

    Catches non-image files, broken headers, PNG chunk corruption and oversized
    images; a truncated JPEG body is only found when it is decoded (``load_rgb``).
    """
    path = Path(path)
    try:
        with _open_checked(path) as image:
            image.verify()
    except ImageLoadError as error:
        return error.reason
    except Exception as error:  # Pillow raises many types (OSError, SyntaxError, struct.error, ...)
        return f"{type(error).__name__}: {error}"
    return None


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Decode ``path`` into an RGB PIL image, upright (EXIF orientation), first frame only.

    Raises ImageLoadError for unreadable, truncated, non-image or oversized files.
    """
    path = Path(path)
    try:
        with _open_checked(path) as image:
            image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _to_rgb(upright)
    except ImageLoadError:
        raise
    except Exception as error:
        raise ImageLoadError(path, f"{type(error).__name__}: {error}") from error


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency composited onto white, 16-bit scaled to 8-bit."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image.copy()
    if image.mode.startswith("I") or image.mode == "F":
        sixteen_bit = image.mode.startswith("I;16")
        return Image.fromarray(_to_uint8(np.asarray(image), sixteen_bit)).convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_uint8(values: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    """Single-channel 16/32-bit or float data -> uint8.

    16-bit data is scaled by 255/65535; 32-bit and float data is taken as 8-bit
    unless it exceeds 255, in which case it is treated as 16-bit.
    """
    values = values.astype(np.float64)
    if sixteen_bit or (values.size and values.max() > 255):
        values = values / 257.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
