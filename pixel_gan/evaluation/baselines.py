"""Classical photo → pixel-art baselines, scored and shown beside the trained runs.

A trained translator is only worth its compute if it beats what a resize and a palette already
give. Each baseline maps a photo to an image of the same size as a run's output (the run
resolution, aspect kept): downscale to ``size / cell`` native pixels, reduce the palette, then
nearest-upscale by ``cell`` (``cell=1``: one output pixel per art pixel).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pixel_gan.inference.pixelize import quantize

Size = tuple[int, int]


def native_size(size: Size, cell: int) -> Size:
    """(w, h) of the art pixels behind an output of ``size`` with ``cell``-px cells."""
    return max(1, size[0] // cell), max(1, size[1] // cell)


def nearest_kmeans(
    photo: Image.Image, size: Size, cell: int = 1, n_colors: int = 16, resample: str = "box", seed: int = 0
) -> Image.Image:
    """Box (or nearest) downscale to native size, k-means palette of ``n_colors``, nearest upscale."""
    filters = {"box": Image.Resampling.BOX, "nearest": Image.Resampling.NEAREST}
    if resample not in filters:
        raise ValueError(f"resample must be one of {sorted(filters)}, got {resample!r}")
    small = photo.convert("RGB").resize(native_size(size, cell), filters[resample])
    art = quantize(np.asarray(small), n_colors=n_colors, seed=seed)
    return Image.fromarray(art).resize(size, Image.Resampling.NEAREST)


def pixeloe_status() -> str:
    """'' when PixelOE can be used, else why not (shown in its row)."""
    if importlib.util.find_spec("pixeloe") is None:
        return "not installed (pip install pixeloe)"
    try:
        import pixeloe.legacy.pixelize  # noqa: F401
    except Exception as err:  # noqa: BLE001 -- a broken third-party install must not stop the report
        return f"unavailable (import failed: {err.__class__.__name__}: {err})"
    return ""


def pixeloe(
    photo: Image.Image,
    size: Size,
    cell: int = 1,
    n_colors: int = 16,
    mode: str = "contrast",
    thickness: int | None = None,
    seed: int = 0,
) -> Image.Image:
    """PixelOE's downscale (contrast-aware, with outline expansion; Yeh 2024), the k-means palette, nearest upscale.

    The OpenCV pipeline (``pixeloe.legacy``) rather than the torch one: same algorithm, several
    times faster on a CPU. PixelOE's own colour step re-matches colours after quantizing (hundreds
    remain), so the palette comes from the same k-means as the other baseline: the two rows then
    differ only in how they downscale. PixelOE works on ``patch`` photo pixels per art pixel, taken
    from the photo's own resolution (at least 4); outlines are ``patch / 4`` px thick unless given.
    """
    from pixeloe.legacy.pixelize import pixelize as oe_pixelize

    native = native_size(size, cell)
    patch = max(4, round(max(photo.size) / max(native)))  # PixelOE's outline kernels need 4+ px per cell
    bgr = np.ascontiguousarray(np.asarray(photo.convert("RGB"))[..., ::-1])
    out = oe_pixelize(
        bgr,
        mode=mode,
        target_size=native,
        patch_size=patch,
        thickness=thickness if thickness is not None else max(1, patch // 4),
        no_upscale=True,
    )
    art = Image.fromarray(np.ascontiguousarray(np.asarray(out, dtype=np.uint8)[..., ::-1]))
    if art.size != native:  # PixelOE sizes by area; keep the grid exact
        art = art.resize(native, Image.Resampling.NEAREST)
    art = Image.fromarray(quantize(np.asarray(art), n_colors=n_colors, seed=seed))
    return art.resize(size, Image.Resampling.NEAREST)


@dataclass
class Baseline:
    """A named photo → pixel-art function; ``status`` is non-empty when it cannot run here."""

    name: str
    fn: Callable[[Image.Image, Size], Image.Image]
    description: str = ""
    status: str = ""

    def __call__(self, photo: Image.Image, size: Size) -> Image.Image:
        return self.fn(photo, size)


def build_baselines(cfg: dict) -> list[Baseline]:
    """The enabled baselines from the ``baselines`` config section (see conf/evaluate.yaml)."""
    out = []
    km = cfg.get("nearest_kmeans") or {}
    if km.get("enabled", True):
        cell, n, resample = int(km.get("cell", 1)), int(km.get("n_colors", 16)), str(km.get("resample", "box"))
        out.append(
            Baseline(
                "nearest + k-means",
                lambda p, s: nearest_kmeans(p, s, cell=cell, n_colors=n, resample=resample),
                f"{resample} downscale to the run resolution / {cell}, k-means palette of {n} colours "
                "(pixel_gan.inference.pixelize.quantize), nearest upscale.",
            )
        )
    oe = cfg.get("pixeloe") or {}
    if oe.get("enabled", True):
        cell, n, mode, thickness = (
            int(oe.get("cell", 1)),
            int(oe.get("n_colors", 16)),
            str(oe.get("mode", "contrast")),
            oe.get("thickness"),
        )
        out.append(
            Baseline(
                "PixelOE",
                lambda p, s: pixeloe(p, s, cell=cell, n_colors=n, mode=mode, thickness=thickness),
                f"PixelOE {mode} downscale with outline expansion (pixeloe.legacy, OpenCV) to the run resolution / "
                f"{cell}, then the same k-means palette of {n} colours, nearest upscale.",
                status=pixeloe_status(),
            )
        )
    return out
