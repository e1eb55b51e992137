"""What the UI offers and the checks on everything that comes back from the browser.

Every dropdown value is checked against the offered choices, every path against the app's own
folder, every upload against the byte and pixel limits before it is decoded.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from pixel_gan.data.edges import preset_names
from pixel_gan.inference.palettes import palette_names
from pixel_gan.models import DIRECTIONS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
MAX_PALETTE_FILE_BYTES = 256 * 1024
MAX_EXAMPLES = 8
TRAINED = "as trained"
NATIVE_SIZES = [TRAINED, "auto", "16", "24", "32", "48", "64", "96", "128", "192", "256"]
EDGE_CHOICES = [TRAINED, *preset_names()]
KMEANS_CHOICES = ["4", "8", "16", "32"]
PALETTE_CHOICES = ["none", *(name for name in palette_names() if name != "none"), *KMEANS_CHOICES]
UPSCALE_CHOICES = ["1", "2", "4", "8", "16"]
A2B = "photo → pixel art"
DIRECTION_LABELS = dict(zip((A2B, "pixel art → photo"), DIRECTIONS, strict=True))
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CSS = """
.pixelated img, .pixelated canvas { image-rendering: pixelated; image-rendering: crisp-edges; }
"""


def ui_error(message: str) -> Exception:
    import gradio as gr

    return gr.Error(message)


def inside(path: str | Path, folder: Path) -> Path:
    """``path`` resolved (symlinks and ``..`` included) if it lies inside ``folder``, else an error."""
    from pixel_gan.data.images import display_path

    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise ui_error(f"refused: {display_path(Path(path).name)} is a symlink loop") from None
    if not resolved.is_relative_to(folder.resolve()):
        raise ui_error(f"refused: {display_path(Path(path).name or path)} is not a file this app received")
    return resolved


def check_upload(path: Path, max_bytes: int, max_pixels: int) -> None:
    """Size in bytes, then pixel count from the header alone, before any decoding."""
    from pixel_gan.data.images import describe_load_error, display_path

    name = display_path(path.name)
    size = path.stat().st_size
    if size > max_bytes:
        raise ui_error(f"{name}: image is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below is stricter
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise ui_error(f"{name}: image has too many pixels; the limit is {max_pixels / 1e6:.0f} megapixels") from None
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for non-images
        raise ui_error(f"{name}: not a readable image: {describe_load_error(path, error)}") from None
    if width * height > max_pixels:
        raise ui_error(
            f"{name}: image is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f}"
        )


def shown_name(name: str) -> str:
    from pixel_gan.data.images import display_path

    return display_path(name)


def offered(value: Any, choices: Sequence[str], what: str) -> str:
    """Dropdown values come from the browser: accept only the offered ones."""
    text = str(value)
    if text not in choices:
        raise ui_error(f"unknown {what}: {text[:40]!r}")
    return text


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe fragment (browsers and users see these names on download)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return (slug or "image")[:limit]
