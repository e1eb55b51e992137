"""The translator object: a trained generator plus the pre/post-processing it was trained with.

Two levels:

- ``Translator.translate(images)`` is the model alone: resize to the working size, apply the edge
  preset, one generator pass, back to PIL (RGB).
- ``Translator.pixel_art(images, resolution=64, palette="pico8", upscale=8)`` is what a game needs:
  the model output snapped to a ``resolution``-pixel grid, quantized to a palette (optionally
  dithered) and upscaled by an exact factor. Transparent inputs keep a binary alpha mask.

``save_pretrained`` / ``from_pretrained`` write and read the export folder through
:mod:`pixel_gan.inference.export`, the one writer and reader of ``translator.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import torch
from PIL import Image
from torch import Tensor

from pixel_gan.data.edges import EdgePreset, apply_edge_preset, read_preset
from pixel_gan.data.transforms import to_pil, to_tensor
from pixel_gan.inference.export import read_translator, resolve_export_dir, write_translator
from pixel_gan.inference.images import (
    OutputSize,
    Resolution,
    fit_size,
    native_size,
    split_composite,
    upscaled,
    with_mask,
)
from pixel_gan.inference.palettes import PaletteSpec, resolve_palette
from pixel_gan.inference.pixelize import PaletteLock, pixelize, quantize_native
from pixel_gan.inference.translator_config import TranslatorConfig
from pixel_gan.models import DIRECTIONS

if TYPE_CHECKING:
    from pixel_gan.models.generator import CycleGANTurbo

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# What a caller may name a preset by at this API boundary (resolved once, by read_preset): a preset, a
# shipped preset's name, or None for the translator's own.
EdgePresetSpec = EdgePreset | str | None


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; asking for CUDA without a GPU is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(device)


def _image_list(image_or_list: Image.Image | Sequence[Image.Image]) -> list[Image.Image]:
    return [image_or_list] if isinstance(image_or_list, Image.Image) else list(image_or_list)


class Translator:
    """A trained generator plus the pre/post-processing it was trained with."""

    def __init__(
        self,
        generator: CycleGANTurbo,
        config: TranslatorConfig,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.device, self.dtype = torch.device(device), dtype
        self.trained_names = generator.trainable_names()  # what save_pretrained writes (frozen below)
        self.generator = generator.eval().requires_grad_(False).to(self.device)
        if dtype != torch.float32:
            self.generator.to(dtype)
        self.config = config
        self.resolution = config.resolution
        self.edge_preset: EdgePreset = config.edge_preset

    @property
    def meta(self) -> dict[str, Any]:
        """The ``translator.yaml`` mapping (edge preset resolved)."""
        return self.config.to_dict()

    @classmethod
    def from_config(
        cls,
        config: TranslatorConfig,
        device: str = "auto",
        dtype: str = "fp32",
        state: dict[str, Tensor] | None = None,
    ) -> Translator:
        """Build the generator ``config`` describes on its base; with ``state`` (trained tensors) loaded,
        else with freshly initialised adapters (LoRA B at zero): the generator at step 0."""
        from pixel_gan.models.backbone import build_backbone
        from pixel_gan.models.generator import CycleGANTurbo

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        base = config.base
        backbone = build_backbone(str(base.backbone), base.pretrained, base.cache_dir)
        generator = CycleGANTurbo.from_backbone(backbone, *config.prompts, config.lora_settings())
        if state is not None:  # before the translator freezes it: the trainable names come from requires_grad
            generator.load_trainable_state_dict(state)
        return cls(generator, config, pick_device(device), DTYPES[dtype])

    @classmethod
    def from_pretrained(
        cls,
        export_dir: str | Path,
        base: str | None = None,
        device: str = "auto",
        dtype: str = "fp32",
        load_weights: bool = True,
    ) -> Translator:
        """Load an export folder, a training run folder holding one, or an export uploaded to the hub (``org/name``).

        ``base`` overrides the base model id/dir recorded in ``translator.yaml``. ``load_weights=False``
        keeps the freshly initialised adapters instead of the trained tensors: the same base, ranks
        and captions, i.e. the generator at step 0 (the untrained baseline of the evaluation report).
        """
        state, config = read_translator(resolve_export_dir(export_dir))
        return cls.from_config(config.with_base(base), device, dtype, state if load_weights else None)

    def save_pretrained(self, out_dir: str | Path) -> Path:
        """Write ``model.safetensors`` (the trained tensors) + ``translator.yaml`` (this config)."""
        return write_translator(out_dir, self.generator.trainable_state_dict(self.trained_names), self.config)

    def _preset(self, edge_preset: EdgePresetSpec) -> EdgePreset:
        """The training preset by default; a name or config mapping overrides it."""
        return self.edge_preset if edge_preset is None else read_preset(edge_preset)

    def work_size(self, resolution: Resolution = None, size: int | None = None) -> int:
        """Model input size: ``size`` if given, else the trained size, raised to fit ``resolution``
        (grid snapping can merge pixels but not invent them)."""
        if size:
            return int(size)
        if isinstance(resolution, int):
            return max(self.resolution, math.ceil(resolution / 8) * 8)
        return self.resolution

    def preprocess(self, image: Image.Image, size: int | None, edge_preset: EdgePresetSpec) -> Image.Image:
        """Composite onto white, resize (longer side ``size``, multiples of 8), draw the edge preset."""
        image, _ = split_composite(image)
        w, h = fit_size(*image.size, size or self.resolution)
        return apply_edge_preset(image.resize((w, h), Image.Resampling.LANCZOS), self._preset(edge_preset))

    @torch.inference_mode()
    def __call__(self, x: Tensor, direction: str = "a2b") -> Tensor:
        """Raw tensor path: x (B, 3, H, W) in [-1, 1] → (B, 3, H, W) in [-1, 1] (on the CPU, float32)."""
        out = self.generator(x.to(self.device, self.dtype), direction, sample_posterior=False)
        return out.float().cpu()

    @overload
    def translate(
        self,
        image_or_list: Image.Image,
        direction: str = "a2b",
        edge_preset: EdgePresetSpec = None,
        size: int | None = None,
        output_size: OutputSize = "native",
        batch_size: int = 8,
    ) -> Image.Image: ...

    @overload
    def translate(
        self,
        image_or_list: Sequence[Image.Image],
        direction: str = "a2b",
        edge_preset: EdgePresetSpec = None,
        size: int | None = None,
        output_size: OutputSize = "native",
        batch_size: int = 8,
    ) -> list[Image.Image]: ...

    def translate(
        self,
        image_or_list: Image.Image | Sequence[Image.Image],
        direction: str = "a2b",
        edge_preset: EdgePresetSpec = None,
        size: int | None = None,
        output_size: OutputSize = "native",
        batch_size: int = 8,
    ) -> Image.Image | list[Image.Image]:
        """PIL image(s) → RGB PIL image(s) at the working size (``native``) or the input's size (``input``).

        Images are batched by working shape, so a folder of mixed aspect ratios still batches well.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if output_size not in ("native", "input"):
            raise ValueError(f"output_size must be 'native' or 'input', got {output_size!r}")
        single = isinstance(image_or_list, Image.Image)
        images = _image_list(image_or_list)
        results: list[Image.Image] = []
        for start in range(0, len(images), max(1, batch_size)):
            chunk = images[start : start + max(1, batch_size)]
            outs = self._translate_chunk(chunk, direction, edge_preset, size)
            if output_size == "input":
                outs = [out.resize(im.size, Image.Resampling.NEAREST) for out, im in zip(outs, chunk, strict=True)]
            results.extend(outs)
        return results[0] if single else results

    def _translate_chunk(
        self, chunk: Sequence[Image.Image], direction: str, edge_preset: EdgePresetSpec, size: int | None
    ) -> list[Image.Image]:
        """One generator pass per distinct working shape in ``chunk``; outputs in input order."""
        prepared = [self.preprocess(im, size, edge_preset) for im in chunk]
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(prepared):
            by_shape.setdefault(im.size, []).append(i)
        outs: list[Image.Image | None] = [None] * len(chunk)
        for idxs in by_shape.values():
            batch = torch.stack([to_tensor(prepared[i]) for i in idxs])
            for i, t in zip(idxs, self(batch, direction), strict=True):
                outs[i] = to_pil(t)
        return [o for o in outs if o is not None]

    def render_native(
        self,
        images: Sequence[Image.Image],
        resolution: Resolution = None,
        direction: str = "a2b",
        edge_preset: EdgePresetSpec = None,
        size: int | None = None,
        batch_size: int = 8,
    ) -> list[Image.Image]:
        """Translate and grid-snap to native pixel art, before any palette step.

        ``resolution``: longer side of the result in art pixels (None → the trained resolution,
        ``"auto"`` → detect the grid in the model output). Inputs with transparency come back RGBA
        with alpha in {0, 255}: the RGB composite is translated, then the input's mask is snapped on
        the same grid.
        """
        work = self.work_size(resolution, size)
        raws = self.translate(list(images), direction, edge_preset, work, batch_size=batch_size)
        natives = []
        for image, raw in zip(images, raws, strict=True):
            _, alpha = split_composite(image)
            masked = with_mask(raw, alpha)
            if resolution == "auto":
                natives.append(pixelize(masked))
            else:
                natives.append(pixelize(masked, size=native_size(*raw.size, resolution or self.resolution)))
        return natives

    def pixel_art(
        self,
        image_or_list: Image.Image | Sequence[Image.Image],
        resolution: Resolution = None,
        palette: PaletteSpec = None,
        dither: bool = False,
        upscale: int = 1,
        direction: str = "a2b",
        edge_preset: EdgePresetSpec = None,
        size: int | None = None,
        lock_palette: bool = True,
        batch_size: int = 8,
    ) -> Image.Image | list[Image.Image]:
        """Images → finished pixel art: translate, snap to ``resolution``, palette, ×``upscale``.

        ``palette``: a built-in name, a palette file, a colour count (k-means) or a (K, 3) array.
        With a colour count and several images, ``lock_palette`` fits one palette over all of them
        so frames of an animation share colours.
        """
        single = isinstance(image_or_list, Image.Image)
        images = _image_list(image_or_list)
        natives = self.render_native(images, resolution, direction, edge_preset, size, batch_size)
        resolved = resolve_palette(palette)
        if isinstance(resolved, int) and lock_palette and len(natives) > 1:
            resolved = PaletteLock().fit(natives, resolved)
        results = [upscaled(quantize_native(n, resolved, dither), int(upscale)) for n in natives]
        return results[0] if single else results

    def describe(self) -> str:
        """One line for logs and the UI: experiment, resolution, edge preset, loss."""
        return self.config.describe()
