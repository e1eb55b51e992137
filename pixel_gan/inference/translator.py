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
from pixel_gan.inference.options import InferenceOptions
from pixel_gan.inference.palettes import PaletteSpec, resolve_palette
from pixel_gan.inference.pixelize import PaletteLock, pixelize, quantize_native
from pixel_gan.inference.translator_config import TranslatorConfig
from pixel_gan.models import DIRECTIONS

if TYPE_CHECKING:
    from pixel_gan.models.generator import CycleGANTurbo

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
    """A trained generator plus the pre/post-processing it was trained with.

    By default every adapter is merged into the base weights at load (same function, the base
    layers' cost); ``merge=False`` keeps the unmerged reference computation. ``dtype`` is one of
    ``fp32``/``bf16``/``fp16`` (or a torch dtype); the other keywords are :class:`InferenceOptions`.
    """

    def __init__(
        self,
        generator: CycleGANTurbo,
        config: TranslatorConfig,
        device: torch.device | str = "cpu",
        dtype: torch.dtype | str = torch.float32,
        **options: Any,
    ) -> None:
        from pixel_gan.inference.merge import lora_layers, merge_adapters
        from pixel_gan.inference.precision import precision_dtype, prepare_for_inference

        self.options = InferenceOptions(**options)
        self.device, self.dtype = torch.device(device), precision_dtype(dtype)
        self.trained_names = generator.trainable_names()  # what save_pretrained writes (frozen below)
        # The trained tensors are kept apart (tens of MB): merging changes the base weights in place.
        self._trained = (
            {k: v.detach().clone() for k, v in generator.trainable_state_dict(self.trained_names).items()}
            if lora_layers(generator)
            else {}  # a merged export: nothing apart from the base weights
        )
        self.generator = generator.eval().requires_grad_(False).to(self.device)
        if self.options.merge and lora_layers(self.generator):
            merge_adapters(self.generator, inplace=True)
        prepare_for_inference(self.generator, self.dtype, self.options.channels_last, self.options.sdpa)
        self._forward = torch.compile(self.generator) if self.options.compile else self.generator
        self.config = config
        self.resolution = config.resolution
        self.edge_preset: EdgePreset = config.edge_preset

    @property
    def merged(self) -> bool:
        """Whether the generator runs with its adapters folded into the base weights."""
        from pixel_gan.inference.merge import lora_layers

        return not lora_layers(self.generator)

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
        **options: Any,
    ) -> Translator:
        """Build the generator ``config`` describes on its base; with ``state`` (trained tensors) loaded,
        else with freshly initialised adapters (LoRA B at zero): the generator at step 0."""
        from pixel_gan.inference.precision import precision_dtype
        from pixel_gan.models.backbone import build_backbone
        from pixel_gan.models.generator import CycleGANTurbo

        precision_dtype(dtype)  # a bad name fails before the base is loaded
        base = config.base
        backbone = build_backbone(str(base.backbone), base.pretrained, base.cache_dir)
        generator = CycleGANTurbo.from_backbone(backbone, *config.prompts, config.lora_settings())
        if state is not None:  # before the translator freezes it: the trainable names come from requires_grad
            generator.load_trainable_state_dict(state)
        return cls(generator, config, pick_device(device), dtype, **options)

    @classmethod
    def from_pretrained(
        cls,
        export_dir: str | Path,
        base: str | None = None,
        device: str = "auto",
        dtype: str | None = None,
        load_weights: bool = True,
        **options: Any,
    ) -> Translator:
        """Load an export folder, a training run folder holding one, an export uploaded to the hub
        (``org/name``), or a merged standalone export (``merged.json``: no base, no peft).

        ``base`` overrides the base model id/dir recorded in ``translator.yaml``. ``load_weights=False``
        keeps the freshly initialised adapters instead of the trained tensors: the same base, ranks
        and captions, i.e. the generator at step 0 (the untrained baseline of the evaluation report).
        ``dtype`` None: fp32, or a merged export's stored precision (fp32 on a CPU for an fp16 export).
        ``options``: :class:`InferenceOptions` (``merge``, ``channels_last``, ``sdpa``, ``compile``,
        ``sample``, ``seed``).
        """
        from pixel_gan.inference.merged_export import is_merged_export, load_merged_translator

        if is_merged_export(export_dir):
            if base or not load_weights or not options.get("merge", True):
                raise ValueError(
                    f"{export_dir} is a merged export: it holds its own base weights with the adapters folded in, "
                    "so a --base override, load_weights=False and merge=False do not apply"
                )
            generator, config, stored = load_merged_translator(export_dir, pick_device(device))
            return cls(generator, config, generator.unet.conv_in.weight.device, dtype or stored, **options)
        state, config = read_translator(resolve_export_dir(export_dir))
        return cls.from_config(
            config.with_base(base), device, dtype or "fp32", state if load_weights else None, **options
        )

    def save_pretrained(self, out_dir: str | Path) -> Path:
        """Write ``model.safetensors`` (the trained tensors) + ``translator.yaml`` (this config)."""
        if not self._trained:
            raise ValueError("this translator was loaded from a merged export: it has no adapters to save")
        return write_translator(out_dir, self._trained, self.config)

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
        from pixel_gan.inference.precision import prepare_input

        rng = None
        if self.options.sample:  # one generator per image: its draw does not depend on the batch
            rng = [torch.Generator(self.device).manual_seed(self.options.seed) for _ in range(x.shape[0])]
        out = self._forward(prepare_input(x, self.generator), direction, self.options.sample, rng)
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

        Images are grouped by working shape over the whole list and run ``batch_size`` at a time, so a
        folder of mixed aspect ratios still fills its batches.
        """
        from pixel_gan.inference.batching import plan_batches

        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if output_size not in ("native", "input"):
            raise ValueError(f"output_size must be 'native' or 'input', got {output_size!r}")
        single = isinstance(image_or_list, Image.Image)
        images = _image_list(image_or_list)
        preset = self._preset(edge_preset)  # resolved once for the whole list
        prepared = [self.preprocess(im, size, preset) for im in images]
        outs: list[Image.Image] = list(prepared)  # replaced one by one below
        for idxs in plan_batches([im.size for im in prepared], max(1, batch_size)):
            batch = torch.stack([to_tensor(prepared[i]) for i in idxs])
            for i, t in zip(idxs, self(batch, direction), strict=True):
                outs[i] = to_pil(t)
        if output_size == "input":
            outs = [out.resize(im.size, Image.Resampling.NEAREST) for out, im in zip(outs, images, strict=True)]
        return outs[0] if single else outs

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
