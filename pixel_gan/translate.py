"""Load a trained translator and turn images into pixel art: the library API and ``pixel-gan translate``.

Two levels:

- ``Translator.translate(images)`` is the model alone: resize to the working size, apply the edge
  preset, one generator pass, back to PIL (RGB, the DESIGN contract).
- ``Translator.pixel_art(images, resolution=64, palette="pico8", upscale=8)`` is what a game needs:
  the model output snapped to a ``resolution``-pixel grid, quantized to a palette (optionally
  dithered) and upscaled by an exact factor. Transparent inputs keep a binary alpha mask.

The CLI converts files and folders in batches and never leaves a half-written or clobbered file.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from pixel_gan.data.edges import EdgePreset, apply_edge_preset
from pixel_gan.data.edges import read_preset as resolve_preset
from pixel_gan.data.images import IMAGE_EXTENSIONS, ImageLoadError, display_path, list_images, load_rgb
from pixel_gan.data.transforms import to_pil, to_tensor
from pixel_gan.export import CONFIG_NAME, WEIGHTS_NAME, load_translator_files
from pixel_gan.palettes import resolve_palette
from pixel_gan.pixelize import PaletteLock, pixelize, upscale
from pixel_gan.safe_io import file_identity, png_writer, write_files

if TYPE_CHECKING:
    from rich.console import Console

    from pixel_gan.models.generator import CycleGANTurbo

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DIRECTIONS = ("a2b", "b2a")
OutputSize = Literal["native", "input"]
Resolution = int | Literal["auto"] | None
PaletteSpec = str | int | np.ndarray | None
_WHITE = (255, 255, 255, 255)  # transparent pixels are translated as if on white, like training data


class CheckpointError(FileNotFoundError):
    """A ``--checkpoint`` that is neither an export folder nor a run folder holding one."""


def resolve_export_dir(path: str | os.PathLike[str]) -> Path:
    """Accept an export folder (``translator/``) or a training run folder that contains one."""
    given = Path(path).expanduser()
    for candidate in (given, given / "translator"):
        if (candidate / CONFIG_NAME).is_file() and (candidate / WEIGHTS_NAME).is_file():
            return candidate
    if not given.exists():
        raise CheckpointError(f"checkpoint not found: {given}")
    raise CheckpointError(
        f"{given} is not a translator: expected {WEIGHTS_NAME} + {CONFIG_NAME} in it or in {given / 'translator'} "
        "(a training run writes them at the end)"
    )


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; asking for CUDA without a GPU is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(device)


def fit_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Scale so the longer side is ``size``, keeping the aspect ratio, each side a multiple of 8."""
    scale = size / max(width, height)
    return (max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8))


def native_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The pixel-art size for a ``width``×``height`` model output: longer side ``resolution``, same aspect."""
    scale = resolution / max(width, height)
    return (max(1, min(width, round(width * scale))), max(1, min(height, round(height * scale))))


# --------------------------------------------------------------------------- images with alpha


def has_alpha(image: Image.Image) -> bool:
    """Modes that carry transparency (RGBA, LA, PA, or a palette image with a transparent index)."""
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


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


def _with_mask(raw: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """Attach the input's alpha (resized to the model output) so the grid snap decides it per cell."""
    if alpha is None:
        return raw
    rgba = raw.convert("RGBA")
    rgba.putalpha(
        alpha.resize(raw.size, Image.Resampling.BOX if alpha.width >= raw.width else Image.Resampling.NEAREST)
    )
    return rgba


# --------------------------------------------------------------------------- palette step


def _image_list(image_or_list: Image.Image | Sequence[Image.Image]) -> list[Image.Image]:
    return [image_or_list] if isinstance(image_or_list, Image.Image) else list(image_or_list)


def quantize_native(native: Image.Image, palette: PaletteSpec, dither: bool = False, seed: int = 0) -> Image.Image:
    """Palette step at native size (one dither cell = one art pixel); ``palette`` None keeps the colours."""
    if palette is None:
        return native
    return pixelize(native, size=native.size, palette=palette, dither=dither, seed=seed)


MAX_OUTPUT_PIXELS = 256_000_000  # an upscaled result of at most ~1 GB (RGBA) is allocated


def check_upscale(width: int, height: int, k: int) -> None:
    """Refuse, before anything is allocated, an upscaled size over :data:`MAX_OUTPUT_PIXELS`."""
    pixels = width * k * height * k
    if pixels > MAX_OUTPUT_PIXELS:
        raise ValueError(
            f"upscale x{k} would make a {width * k}x{height * k} image ({pixels} pixels), over the "
            f"limit of {MAX_OUTPUT_PIXELS}; use a smaller --upscale"
        )


def upscaled(image: Image.Image, k: int) -> Image.Image:
    """Exact nearest-neighbour ×k (every art pixel becomes a k×k block)."""
    check_upscale(image.width, image.height, k)
    return image if k == 1 else Image.fromarray(upscale(np.asarray(image), k))


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


# --------------------------------------------------------------------------- translator


class Translator:
    """A trained generator plus the pre/post-processing it was trained with."""

    def __init__(
        self, generator: CycleGANTurbo, meta: dict[str, Any], device: torch.device, dtype: torch.dtype
    ) -> None:
        self.generator = generator.eval().requires_grad_(False).to(device)
        if dtype != torch.float32:
            self.generator.to(dtype)
        self.meta, self.device, self.dtype = meta, device, dtype
        self.resolution = int(meta.get("resolution", 256))
        self.edge_preset = meta.get("edge_preset", {"name": "none"})

    @classmethod
    def from_pretrained(
        cls,
        export_dir: str | Path,
        base: str | None = None,
        device: str = "auto",
        dtype: str = "fp32",
        load_weights: bool = True,
    ) -> Translator:
        """``base`` overrides the base model id/dir recorded in ``translator.yaml``; a run folder also works.

        ``load_weights=False`` keeps the freshly initialised adapters instead of the trained tensors:
        the same base, ranks and captions, LoRA B matrices at zero, i.e. the generator at step 0
        (the untrained baseline of the evaluation report).
        """
        from pixel_gan.models.backbone import build_backbone
        from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        state, meta = load_translator_files(resolve_export_dir(export_dir))
        model = dict(meta["model"])
        if base:
            model["backbone"], model["pretrained"] = "pretrained", base
        backbone = build_backbone(model["backbone"], model.get("pretrained"), model.get("cache_dir", ".cache"))
        prompts = meta.get("prompts", ["a photo", "pixel art"])
        generator = CycleGANTurbo.from_backbone(backbone, prompts[0], prompts[1], LoraSettings(**model.get("lora", {})))
        if load_weights:
            generator.load_trainable_state_dict(state)
        return cls(generator, meta, pick_device(device), DTYPES[dtype])

    def _preset(self, edge_preset: str | dict | None) -> EdgePreset:
        """The training preset by default; a name or config mapping overrides it."""
        return resolve_preset(self.edge_preset if edge_preset is None else edge_preset)

    def work_size(self, resolution: Resolution = None, size: int | None = None) -> int:
        """Model input size: ``size`` if given, else the trained size, raised to fit ``resolution``
        (grid snapping can merge pixels but not invent them)."""
        if size:
            return int(size)
        if isinstance(resolution, int):
            return max(self.resolution, math.ceil(resolution / 8) * 8)
        return self.resolution

    def preprocess(self, image: Image.Image, size: int | None, edge_preset: str | dict | None) -> Image.Image:
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
        edge_preset: str | dict | None = None,
        size: int | None = None,
        output_size: OutputSize = "native",
        batch_size: int = 8,
    ) -> Image.Image: ...

    @overload
    def translate(
        self,
        image_or_list: Sequence[Image.Image],
        direction: str = "a2b",
        edge_preset: str | dict | None = None,
        size: int | None = None,
        output_size: OutputSize = "native",
        batch_size: int = 8,
    ) -> list[Image.Image]: ...

    def translate(
        self,
        image_or_list: Image.Image | Sequence[Image.Image],
        direction: str = "a2b",
        edge_preset: str | dict | None = None,
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
        self, chunk: Sequence[Image.Image], direction: str, edge_preset: str | dict | None, size: int | None
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
        edge_preset: str | dict | None = None,
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
            masked = _with_mask(raw, alpha)
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
        edge_preset: str | dict | None = None,
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
        return describe_meta(self.meta)


def describe_meta(meta: dict[str, Any]) -> str:
    """``smoke · 32 px · edges default · loss palette`` from a translator.yaml mapping."""
    edges = meta.get("edge_preset")
    edge_name = edges.get("name", "none") if isinstance(edges, dict) else (edges or "none")
    return (
        f"{meta.get('experiment', 'translator')} · {meta.get('resolution', '?')} px · edges {edge_name}"
        f" · loss {meta.get('loss', '?')}"
    )


# --------------------------------------------------------------------------- CLI: planning


@dataclass
class Job:
    """One input file and the files it becomes."""

    source: Path
    outputs: list[Path]


@dataclass
class Report:
    """What happened to every input, for the summary line and the exit code."""

    converted: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"converted {len(self.converted)}, skipped {len(self.skipped)}, failed {len(self.failed)}"


class UsageError(ValueError):
    """A command-line mistake: reported as one line, exit code 2."""


def gather_inputs(paths: Sequence[str]) -> list[Path]:
    """Files as given, folders expanded to the images directly inside them (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(list_images(path))
        elif path.exists() or path.is_symlink():  # a broken link fails as that file, with the reason
            files.append(path)
        else:
            raise UsageError(f"input not found: {display_path(path)}")
    if not files:
        raise UsageError(
            f"no images found in {', '.join(display_path(p) for p in paths)} (looked for {' '.join(IMAGE_EXTENSIONS)})"
        )
    return files


def output_paths(source: Path, out_dir: Path, k: int) -> list[Path]:
    """``<stem>.png`` at native size, plus ``<stem>_x{k}.png`` when upscaling."""
    native = out_dir / f"{source.stem}.png"
    return [native] if k == 1 else [native, out_dir / f"{source.stem}_x{k}.png"]


def refuse_outputs_over_inputs(files: Sequence[Path], out_dir: Path, k: int) -> None:
    """Refuse the whole run when an output would be one of the inputs (same path, symlink or hard link).

    Checked for every input whatever ``--overwrite`` says: a translation must never replace a photo.
    """
    inputs = {file_identity(f): f for f in files}
    for source in files:
        for out in output_paths(source, out_dir, k):
            victim = inputs.get(file_identity(out))
            if victim is not None:
                raise UsageError(
                    f"--output {display_path(out_dir)}: {display_path(out)} would overwrite the input "
                    f"{display_path(victim)}; choose an --output folder apart from the inputs"
                )


def plan_jobs(
    files: Sequence[Path], out_dir: Path, k: int, overwrite: bool, report: Report, console: Console
) -> list[Job]:
    """Skip inputs whose outputs exist (unless ``overwrite``); refuse two inputs with one output name."""
    jobs: list[Job] = []
    claimed: dict[Path, Path] = {}
    for source in files:
        outputs = output_paths(source, out_dir, k)
        if outputs[0] in claimed:
            _fail(report, console, source, f"same output name as {claimed[outputs[0]]}")
            continue
        claimed[outputs[0]] = source
        if not overwrite and any(p.exists() for p in outputs):
            report.skipped.append(source)
            continue
        jobs.append(Job(source, outputs))
    return jobs


def _fail(report: Report, console: Console, source: Path, reason: str) -> None:
    """Record a failure and say so on one line that names the file."""
    report.failed.append((source, reason))
    console.print(f"failed: {display_path(source)}: {reason}", markup=False, highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- CLI: running


@dataclass(frozen=True)
class ConvertSettings:
    """Everything about a run except the files."""

    resolution: Resolution
    palette: np.ndarray | int | None
    dither: bool
    upscale: int
    direction: str
    edge_preset: str | None
    batch_size: int


def _batches(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    for start in range(0, len(jobs), size):
        yield list(jobs[start : start + size])


def _load_batch(batch: Sequence[Job], report: Report, console: Console) -> list[tuple[Job, Image.Image]]:
    """Decode a batch; a file that cannot be read is reported and left out, the rest go on."""
    loaded = []
    for job in batch:
        try:
            loaded.append((job, load_image(job.source)))
        except ImageLoadError as error:
            _fail(report, console, job.source, error.reason)
        except OSError as error:
            _fail(report, console, job.source, f"{type(error).__name__}: {error}")
    return loaded


def _write(
    job: Job, native: Image.Image, settings: ConvertSettings, palette: PaletteSpec, report: Report, console: Console
) -> None:
    """Palette step, upscale, then both files or neither; a failure here costs only this file."""
    try:
        final = quantize_native(native, palette, settings.dither)
        images = [final] + ([upscaled(final, settings.upscale)] if settings.upscale > 1 else [])
        write_files(
            [(path, png_writer(image)) for path, image in zip(job.outputs, images, strict=True)], inputs=[job.source]
        )
    except Exception as error:  # noqa: BLE001 - one unwritable file must not stop the folder
        _fail(report, console, job.source, f"{type(error).__name__}: {error}")
        return
    report.converted.append(job.source)


def convert(
    translator: Translator,
    jobs: Sequence[Job],
    settings: ConvertSettings,
    report: Report,
    console: Console,
    advance=lambda n: None,
) -> None:
    """Translate ``jobs`` batch by batch and write them; a k-means palette is locked over all frames.

    Locking needs every frame before the first can be written, so those runs keep the (small)
    native images in memory and write at the end.
    """
    lock = isinstance(settings.palette, int) and len(jobs) > 1
    pending: list[tuple[Job, Image.Image]] = []
    for batch in _batches(jobs, settings.batch_size):
        loaded = _load_batch(batch, report, console)
        natives: list[Image.Image] = []
        if loaded:
            try:
                natives = translator.render_native(
                    [im for _, im in loaded],
                    settings.resolution,
                    settings.direction,
                    settings.edge_preset,
                    batch_size=settings.batch_size,
                )
            except Exception as error:  # noqa: BLE001 - a failed batch fails its files, not the run
                for job, _ in loaded:
                    _fail(report, console, job.source, f"translation failed: {type(error).__name__}: {error}")
        for (job, _), native in zip(loaded, natives, strict=True):
            if lock:
                pending.append((job, native))
            else:
                _write(job, native, settings, settings.palette, report, console)
        advance(len(batch))
    if pending and isinstance(settings.palette, int):  # pending fills only when the palette is locked
        palette = PaletteLock().fit([n for _, n in pending], int(settings.palette))
        for job, native in pending:
            _write(job, native, settings, palette, report, console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixel-gan translate",
        description="Convert photos to pixel art with a trained translator. Writes <stem>.png at native "
        "size and <stem>_x<k>.png when --upscale k > 1.",
    )
    parser.add_argument(
        "--checkpoint", required=True, help="translator folder, or a training run folder containing translator/"
    )
    parser.add_argument("--input", required=True, nargs="+", help="image file(s) and/or folder(s) of images")
    parser.add_argument("--output", required=True, help="folder for the results (created if missing)")
    parser.add_argument(
        "--resolution",
        default=None,
        help="native size: longer side in art pixels (default: the translator's training size; "
        "'auto' detects the grid in the model output)",
    )
    parser.add_argument(
        "--edge-preset",
        default=None,
        choices=["none", "default", "medium", "low"],
        help="edge preset for the input (default: the one the translator was trained with)",
    )
    parser.add_argument(
        "--palette",
        default=None,
        help="built-in name (pico8, gameboy, nes, cga, endesga32), a .hex/.gpl/image palette file, "
        "or a colour count such as 16 (k-means; one palette shared by all inputs)",
    )
    parser.add_argument("--dither", action="store_true", help="ordered (Bayer 4x4) dithering in the palette step")
    parser.add_argument("--upscale", type=int, default=1, help="also write an exact nearest-neighbour xK copy")
    parser.add_argument("--direction", default="a2b", choices=DIRECTIONS, help="a2b: photo → pixel art (default)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per generator pass")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    parser.add_argument("--base", default=None, help="override the base model id/dir recorded in translator.yaml")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing outputs (default: skip those inputs)"
    )
    return parser


def _settings(args: argparse.Namespace) -> ConvertSettings:
    """Validate the cheap options before the model is loaded."""
    if args.upscale < 1:
        raise UsageError(f"--upscale must be >= 1, got {args.upscale}")
    try:  # the smallest result, one art pixel, already too large: nothing could be written
        check_upscale(1, 1, args.upscale)
    except ValueError as error:
        raise UsageError(f"--upscale {args.upscale}: {error}") from None
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        resolution = parse_resolution(args.resolution)
        palette = resolve_palette(args.palette)
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None
    return ConvertSettings(
        resolution, palette, args.dither, args.upscale, args.direction, args.edge_preset, args.batch_size
    )


def _prepare(args: argparse.Namespace, console: Console) -> tuple[ConvertSettings, list[Path], Path, Translator]:
    """Everything that can fail as a whole (exit 2) happens here, cheapest checks first."""
    from pixel_gan.config import ConfigError
    from pixel_gan.weights import WeightsNotFoundError

    settings = _settings(args)
    files = gather_inputs(args.input)
    out_dir = Path(args.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output {out_dir} exists and is not a folder")
    refuse_outputs_over_inputs(files, out_dir, settings.upscale)
    export_dir = resolve_export_dir(args.checkpoint)
    try:
        translator = Translator.from_pretrained(export_dir, base=args.base, device=args.device, dtype=args.dtype)
    except (WeightsNotFoundError, ConfigError) as error:
        raise UsageError(str(error).splitlines()[0] + f" (checkpoint {export_dir})") from None
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise UsageError(f"cannot load translator {export_dir}: {error}") from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"--output {display_path(out_dir)}: cannot create the folder ({error.strerror or error})"
        ) from None
    return settings, files, out_dir, translator


def _progress(console: Console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("translating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``pixel-gan translate``: 0 all converted or skipped, 1 some failed, 2 nothing could start."""
    from rich.console import Console

    from pixel_gan.logging_utils import quiet_libraries

    args = build_parser().parse_args(argv)
    err, out = Console(stderr=True, soft_wrap=True), Console(soft_wrap=True, highlight=False)
    quiet_libraries()
    try:
        settings, files, out_dir, translator = _prepare(args, err)
    except (UsageError, CheckpointError, RuntimeError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 2
    report = Report()
    jobs = plan_jobs(files, out_dir, settings.upscale, args.overwrite, report, err)
    try:
        with _progress(err) as progress:
            task = progress.add_task("translate", total=len(jobs))
            convert(translator, jobs, settings, report, err, lambda n: progress.advance(task, n))
    except KeyboardInterrupt:
        err.print(f"interrupted: {report.summary()}", markup=False, highlight=False)
        return 130
    if report.skipped:
        err.print(
            f"skipped {len(report.skipped)} input(s) whose output already exists (use --overwrite to replace)",
            markup=False,
            highlight=False,
        )
    out.print(f"{report.summary()} → {out_dir}", markup=False)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
