"""``pixel-gan data prepare`` / ``pixel-gan data check``: a typer group the main command mounts as ``data``.

Heavy modules are imported inside the commands, so ``--help`` stays fast. Every user error is one
line on stderr and exit status 2; ``check`` exits 1 when it found problems (one line each).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from pixel_gan.cli.errors import Command, Group

T = TypeVar("T")


app = typer.Typer(
    cls=Group,
    help="Turn scraped photos and pixel art into a clean unpaired dataset (prepare), or validate one (check).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _rich_track(items: Sequence[T], description: str) -> Iterable[T]:
    """A rich progress bar on a terminal, nothing otherwise (logs, pipes, tests)."""
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    return track(items, description=description, console=console, transient=True, disable=not console.is_terminal)


@app.command(cls=Command)
def prepare(
    photos: Annotated[Path, typer.Option("--photos", help="Folder of photos (domain A); only read.")],
    pixel_art: Annotated[Path, typer.Option("--pixel-art", help="Folder of pixel art (domain B); only read.")],
    out: Annotated[Path, typer.Option("--out", help="New dataset folder (must not exist, or be empty).")],
    test_fraction: Annotated[float, typer.Option(help="Share of each domain put in test_A/ and test_B/.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed of the train/test split.")] = 0,
    max_colors: Annotated[int, typer.Option(help="Most distinct colours a pixel-art image may have.")] = 256,
) -> None:
    """Decode, deduplicate, reduce pixel art to its native grid, split, and write DATASET with report.md."""
    from pixel_gan.data.prepare.build import prepare_dataset
    from pixel_gan.data.prepare.pipeline import Settings
    from pixel_gan.data.prepare.sources import PrepareError

    settings = Settings(photos, pixel_art, out, test_fraction, seed, max_colors)
    try:
        domains = prepare_dataset(settings, _rich_track)
    except PrepareError as error:
        _fail(str(error))
    for d in domains:
        test = sum(k.test for k in d.kept)
        typer.echo(f"{d.label}: {len(d.kept) - test} train, {test} test, {len(d.rejected)} left out")
    typer.echo(f"dataset written to {out} (see {out / 'report.md'})")


@app.command(cls=Command)
def check(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder with train_A/ train_B/ test_A/ test_B/.")],
    max_colors: Annotated[int, typer.Option(help="Most distinct colours a pixel-art image may have.")] = 256,
) -> None:
    """Validate a dataset folder by the rules of prepare, changing nothing: one line per problem, exit 1 if any."""
    from pixel_gan.data.prepare.check import check_dataset
    from pixel_gan.data.prepare.sources import PrepareError

    try:
        problems, summary = check_dataset(dataset, _rich_track, max_colors)
    except PrepareError as error:
        _fail(str(error))
    for problem in problems:
        typer.echo(problem)
    if problems:
        typer.echo(f"{summary}: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{summary}: ok")
