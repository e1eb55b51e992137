"""Image I/O around the translator: transparency, working sizes, exact upscaling, ``--resolution``.

One definition of each: :func:`upscaled` (with its size limit), the transparency test
(:func:`pixel_gan.data.images.has_alpha`, which decoding uses too) and the direction names
(:data:`pixel_gan.models.DIRECTIONS`).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from pixel_gan.data.images import ImageLoadError, has_alpha, load_rgb
from pixel_gan.models import DIRECTIONS

__all__ = ["DIRECTIONS", "has_alpha", "load_image", "upscaled", "parse_resolution"]

Resolution = int | Literal["auto"] | None
OutputSize = Literal["native", "input"]
MAX_OUTPUT_PIXELS = 256_000_000  # an upscaled result of at most ~1 GB (RGBA) is allocated
_WHITE = (255, 255, 255, 255)  # transparent pixels are translated as if on white, like training data


def split_composite(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(RGB composited onto white, alpha as "L" or None): the model sees the composite, the mask comes back later."""
    if not has_alpha(image):
        return image.convert("RGB"), None
    rgba = image.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return flat, rgba.getchannel("A")


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Decode a file like ``load_rgb`` (size guard, EXIF rotation, clear errors) but keep transparency.

    Returns RGB, or RGBA when the file has an alpha channel or a transparent palette index.
    """
    rgb = load_rgb(path)
    try:
        with Image.open(path) as image:
            if not has_alpha(image):
                return rgb
            image.seek(0)
            alpha = ImageOps.exif_transpose(image).convert("RGBA").getchannel("A")
    except Exception as error:  # the file decoded once already; anything here is a broken alpha channel
        raise ImageLoadError(path, f"cannot read its alpha channel: {type(error).__name__}: {error}") from error
    rgba = rgb.convert("RGBA")
    rgba.putalpha(alpha)
    return rgba


def with_mask(raw: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """Attach the input's alpha (resized to the model output) so the grid snap decides it per cell."""
    if alpha is None:
        return raw
    rgba = raw.convert("RGBA")
    rgba.putalpha(
        alpha.resize(raw.size, Image.Resampling.BOX if alpha.width >= raw.width else Image.Resampling.NEAREST)
    )
    return rgba


def fit_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Scale so the longer side is ``size``, keeping the aspect ratio, each side a multiple of 8."""
    scale = size / max(width, height)
    return (max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8))


def native_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The pixel-art size for a ``width``×``height`` model output: longer side ``resolution``, same aspect."""
    scale = resolution / max(width, height)
    return (max(1, min(width, round(width * scale))), max(1, min(height, round(height * scale))))


def check_upscale(width: int, height: int, k: int) -> None:
    """Refuse, before anything is allocated, a factor below 1 or an upscaled size over :data:`MAX_OUTPUT_PIXELS`."""
    if k < 1:
        raise ValueError(f"upscale factor must be >= 1, got {k}")
    pixels = width * k * height * k
    if pixels > MAX_OUTPUT_PIXELS:
        raise ValueError(
            f"upscale x{k} would make a {width * k}x{height * k} image ({pixels} pixels), over the "
            f"limit of {MAX_OUTPUT_PIXELS}; use a smaller --upscale"
        )


def upscale_array(img: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour ×k of an (H, W[, C]) array: every pixel becomes a k×k block."""
    img = np.asarray(img)
    check_upscale(img.shape[1], img.shape[0], k)
    return img if k == 1 else np.repeat(np.repeat(img, k, axis=0), k, axis=1)


def upscaled(image: Image.Image, k: int) -> Image.Image:
    """Exact nearest-neighbour ×k of a PIL image (every art pixel becomes a k×k block)."""
    check_upscale(image.width, image.height, k)
    return image if k == 1 else Image.fromarray(upscale_array(np.asarray(image), k))


def parse_resolution(value: str | int | None) -> Resolution:
    """``64`` → 64, ``auto`` → detect the grid, None → the translator's own resolution."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"resolution must be a number of pixels such as 64, or 'auto'; got {value!r}") from None
    if number < 1:
        raise ValueError(f"resolution must be a positive number of pixels or 'auto', got {value!r}")
    return number
