"""``pixel-gan translate``: convert files and folders with a trained translator.

Exit codes: 0 all converted or skipped, 1 some files failed, 2 nothing could start (one line on
stderr), 130 interrupted. The model code is imported only once the options are checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pixel_gan.cli.errors import command_main
from pixel_gan.inference.options import PRECISION_NAMES, InferenceOptions
from pixel_gan.models import DIRECTIONS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from pixel_gan.inference.batch import ConvertSettings
    from pixel_gan.inference.translator import Translator

DTYPE_NAMES = PRECISION_NAMES  # the one precision table (inference.precision maps it to dtypes)
HELP = (
    "Convert photos to pixel art with a trained translator. Writes <stem>.png at native size and "
    "<stem>_x<k>.png when --upscale k > 1."
)


@dataclass(frozen=True)
class TranslateOptions:
    """The command line, typed; checked by :func:`settings` before anything heavy is loaded."""

    checkpoint: str
    inputs: list[str]
    output: str
    resolution: str | None = None
    edge_preset: str | None = None
    palette: str | None = None
    dither: bool = False
    upscale: int = 1
    direction: str = "a2b"
    batch_size: int = 8
    device: str = "auto"
    dtype: str | None = None  # fp32, or a merged export's stored precision
    base: str | None = None
    overwrite: bool = False
    inference: InferenceOptions = InferenceOptions()


def one_of(values: Sequence[str]) -> dict:
    """typer keyword arguments that accept only ``values`` (None passes: the default applies)."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return {"callback": check, "metavar": "[" + "|".join(values) + "]"}


def command(
    checkpoint: Annotated[
        str,
        typer.Option(
            "--checkpoint", metavar="DIR", help="translator folder, or a training run folder containing translator/"
        ),
    ],
    inputs: Annotated[
        list[str],
        typer.Option("--input", metavar="PATH", help="image file(s) and/or folder(s) of images: --input A [B ...]"),
    ],
    output: Annotated[str, typer.Option("--output", metavar="DIR", help="folder for the results (created if missing)")],
    more_inputs: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="more inputs, as after --input", show_default=False)
    ] = None,
    resolution: Annotated[
        str | None,
        typer.Option(
            metavar="N|auto",
            help="native size: longer side in art pixels (default: the translator's training size; "
            "'auto' detects the grid in the model output)",
        ),
    ] = None,
    edge_preset: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="edge preset for the input: none, default, medium, low "
            "(default: the one the translator was trained with)",
        ),
    ] = None,
    palette: Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="built-in name (pico8, gameboy, nes, cga, endesga32), a .hex/.gpl/image palette file, "
            "or a colour count such as 16 (k-means; one palette shared by all inputs)",
        ),
    ] = None,
    dither: Annotated[bool, typer.Option("--dither", help="ordered (Bayer 4x4) dithering in the palette step")] = False,
    upscale: Annotated[int, typer.Option(metavar="K", help="also write an exact nearest-neighbour xK copy")] = 1,
    direction: Annotated[str, typer.Option(**one_of(DIRECTIONS), help="a2b: photo → pixel art (default)")] = "a2b",
    batch_size: Annotated[int, typer.Option(metavar="N", help="images per generator pass")] = 8,
    device: Annotated[str, typer.Option(metavar="DEVICE", help="auto, cpu, cuda, cuda:1, ...")] = "auto",
    dtype: Annotated[
        str | None,
        typer.Option(
            "--precision",
            "--dtype",
            **one_of(PRECISION_NAMES),
            help="inference precision (default fp32, or a merged export's own; bf16/fp16 halve the weights, "
            "fp16 is for GPUs)",
        ),
    ] = None,
    base: Annotated[
        str | None, typer.Option(metavar="ID|DIR", help="override the base model id/dir recorded in translator.yaml")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace existing outputs (default: skip those inputs)")
    ] = False,
    merge: Annotated[
        bool, typer.Option("--merge/--no-merge", help="fold the adapters into the base weights at load (faster)")
    ] = True,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the generator (pays off on GPUs)")] = False,
    channels_last: Annotated[bool, typer.Option("--channels-last", help="channels-last memory layout")] = False,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="sample the VAE posterior as the original CycleGAN-Turbo (default: its mode, deterministic)",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(metavar="S", help="seed of --sample (same seed, same output)")] = 0,
) -> None:
    options = TranslateOptions(
        checkpoint, [*inputs, *(more_inputs or [])], output, resolution, edge_preset, palette, dither, upscale,
        direction, batch_size, device, dtype, base, overwrite,
        InferenceOptions(merge=merge, channels_last=channels_last, compile=compile, sample=sample, seed=seed),
    )  # fmt: skip
    code = run(options)
    if code:
        raise typer.Exit(code)


command.__doc__ = HELP


def settings(options: TranslateOptions) -> ConvertSettings:
    """Validate the cheap options before the model is loaded."""
    from pixel_gan.data.edges import read_preset
    from pixel_gan.inference.batch import ConvertSettings, UsageError
    from pixel_gan.inference.images import check_upscale, parse_resolution
    from pixel_gan.inference.palettes import resolve_palette

    if options.upscale < 1:
        raise UsageError(f"--upscale must be >= 1, got {options.upscale}")
    try:  # the smallest result, one art pixel, already too large: nothing could be written
        check_upscale(1, 1, options.upscale)
    except ValueError as error:
        raise UsageError(f"--upscale {options.upscale}: {error}") from None
    if options.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {options.batch_size}")
    try:
        resolution = parse_resolution(options.resolution)
        palette = resolve_palette(options.palette)
        preset = None if options.edge_preset is None else read_preset(options.edge_preset)
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None
    return ConvertSettings(
        resolution, palette, options.dither, options.upscale, options.direction, preset, options.batch_size
    )


def prepare(options: TranslateOptions) -> tuple[ConvertSettings, list[Path], Path, Translator]:
    """Everything that can fail as a whole (exit 2) happens here, cheapest checks first."""
    from pixel_gan.config import ConfigError
    from pixel_gan.data.images import display_path
    from pixel_gan.inference.batch import UsageError, gather_inputs, refuse_outputs_over_inputs
    from pixel_gan.inference.export import resolve_export_dir
    from pixel_gan.inference.merged_export import MergedExportError, is_merged_export
    from pixel_gan.inference.translator import Translator
    from pixel_gan.weights import WeightsNotFoundError

    convert = settings(options)
    files = gather_inputs(options.inputs)
    out_dir = Path(options.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output {out_dir} exists and is not a folder")
    refuse_outputs_over_inputs(files, out_dir, convert.upscale)
    export_dir = options.checkpoint if is_merged_export(options.checkpoint) else resolve_export_dir(options.checkpoint)
    try:
        translator = Translator.from_pretrained(
            export_dir,
            base=options.base,
            device=options.device,
            dtype=options.dtype,
            **dataclasses.asdict(options.inference),
        )
    except (WeightsNotFoundError, ConfigError) as error:
        raise UsageError(str(error).splitlines()[0] + f" (checkpoint {export_dir})") from None
    except MergedExportError as error:
        raise UsageError(str(error)) from None
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise UsageError(f"cannot load translator {export_dir}: {error}") from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"--output {display_path(out_dir)}: cannot create the folder ({error.strerror or error})"
        ) from None
    return convert, files, out_dir, translator


def progress_bar(console: Console) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("translating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def run(options: TranslateOptions) -> int:
    """Convert everything ``options`` names; returns the exit code."""
    from rich.console import Console

    from pixel_gan.inference.batch import Report, UsageError, convert, plan_jobs
    from pixel_gan.inference.export import CheckpointError
    from pixel_gan.logging_utils import quiet_libraries

    err, out = Console(stderr=True, soft_wrap=True), Console(soft_wrap=True, highlight=False)
    quiet_libraries()
    try:
        convert_settings, files, out_dir, translator = prepare(options)
    except (UsageError, CheckpointError, RuntimeError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 2
    report = Report()
    jobs = plan_jobs(files, out_dir, convert_settings.upscale, options.overwrite, report, err)
    try:
        with progress_bar(err) as progress:
            task = progress.add_task("translate", total=len(jobs))
            convert(translator, jobs, convert_settings, report, err, lambda n: progress.advance(task, n))
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


main = command_main("translate")
