"""Convert files and folders in batches: plan the outputs, translate, write each result whole.

What ``pixel-gan translate`` runs. Nothing is half-written or clobbered: an output that would
replace an input refuses the run, existing outputs are skipped unless asked, and a file that fails
costs only that file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from pixel_gan.data.images import IMAGE_EXTENSIONS, ImageLoadError, display_path, list_images
from pixel_gan.inference.batching import plan_batches
from pixel_gan.inference.images import Resolution, fit_size, load_image, upscaled
from pixel_gan.inference.pixelize import PaletteLock, quantize_native
from pixel_gan.safe_io import file_identity, png_writer, write_files

if TYPE_CHECKING:
    from rich.console import Console

    from pixel_gan.data.edges import EdgePreset
    from pixel_gan.inference.palettes import PaletteSpec
    from pixel_gan.inference.translator import Translator


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


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class ConvertSettings:
    """Everything about a run except the files."""

    resolution: Resolution
    palette: np.ndarray | int | None
    dither: bool
    upscale: int
    direction: str
    edge_preset: EdgePreset | None  # None: the translator's own
    batch_size: int


def _header_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the file header (nothing decoded); None when it cannot be read (reported later)."""
    if not path.is_file():  # a FIFO or device would block or stream: decoding refuses it, unopened
        return None
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # noqa: BLE001 - decoding reports it properly, with the reason
        return None


def _batches(jobs: Sequence[Job], size: int, work: int) -> Iterator[list[Job]]:
    """Jobs in batches of one working shape over the whole list (from the headers), so a folder whose
    sizes alternate still fills each generator pass; a file whose header is unreadable goes with its kind."""
    shapes = [(s and fit_size(*s, work)) for s in map(_header_size, (job.source for job in jobs))]
    for indices in plan_batches(shapes, size):
        yield [jobs[i] for i in indices]


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
    advance: Callable[[int], object] = lambda n: None,
) -> None:
    """Translate ``jobs`` batch by batch and write them; a k-means palette is locked over all frames.

    Locking needs every frame before the first can be written, so those runs keep the (small)
    native images in memory and write at the end.
    """
    lock = isinstance(settings.palette, int) and len(jobs) > 1
    pending: list[tuple[Job, Image.Image]] = []
    for batch in _batches(jobs, settings.batch_size, translator.work_size(settings.resolution)):
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
