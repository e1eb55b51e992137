"""``pixel-gan weights fetch|check``: the pretrained weights of a config, for machines without internet."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.text import Text

app = typer.Typer(
    help="Pretrained weights of a config: fetch them into one folder for offline runs, or check what is there.",
    no_args_is_help=True,
    add_completion=False,
)

Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="An experiment name or Hydra overrides, e.g. 64_palette or experiment=64_palette model.pretrained=..."
    ),
]

console = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True, highlight=False)


class UserError(Exception):
    """Bad arguments or inputs: reported in one line, exit status 2."""


def hydra_overrides(args: list[str] | None) -> list[str]:
    """A bare word is an experiment name; ``resolution=64`` is quoted like train.py's own CLI does."""
    from pixel_gan.config import normalize_overrides

    return normalize_overrides([a if "=" in a else f"experiment={a}" for a in args or []])


def compose(args: list[str] | None) -> dict[str, Any]:
    """The training config for ``args`` as a plain dict (``hydra.compose`` on the project's conf/)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from pixel_gan.config import compose_train_config, plain_dict

    try:
        cfg = compose_train_config(*hydra_overrides(args))
        return {key: plain_dict(cfg[key]) for key in ("model", "loss", "metrics")}
    except (HydraException, OmegaConfBaseException, ValueError) as err:
        raise UserError(f"config {' '.join(args or []) or '(defaults)'}: {one_line(err)}") from None


def one_line(err: BaseException) -> str:
    """The message of ``err`` in one line (Hydra's search-path listing left out)."""
    text = str(err).split("Config search path")[0]
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or type(err).__name__


def weights_dir(folder: Path | None, default: Path) -> Path:
    """The weights folder: it may not exist yet, but must not be a file."""
    path = (folder or default).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise UserError(f"--dir {path}: not a directory")
    return path


@contextmanager
def user_errors() -> Iterator[None]:
    """One line on stderr and exit status 2 for anything a user can fix; never a traceback."""
    from pixel_gan.weights.fetch import FetchError

    try:
        yield
    except (UserError, FetchError, OSError) as err:
        errors.print(Text.assemble(("error:", "bold red"), " ", one_line(err)))
        raise typer.Exit(2) from None


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    )


def report(statuses: list[Any]) -> None:
    """One block per weight: what it is, the key and source, where it is and its state."""
    for s in statuses:
        mark = Text("✓ ", "green") if s.ok else Text("✗ ", "red")
        console.print(Text.assemble(mark, (s.need.name, "bold"), f"  {s.need.config_key}={s.need.source}"))
        console.print(Text.assemble("    ", str(s.location), ": ", (s.summary(), "green" if s.ok else "red")))


@app.command()
def check(
    overrides: Overrides = None,
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Check a `weights fetch` folder instead of where the config points now."),
    ] = None,
    hashes: Annotated[
        bool, typer.Option("--hashes/--no-hashes", help="Verify published hashes (reads every file).")
    ] = True,
) -> None:
    """Report which weights the config needs, which are present and which are missing (downloads nothing)."""
    from pixel_gan.weights.catalog import needed_weights
    from pixel_gan.weights.status import inspect

    with user_errors():
        cfg = compose(overrides)
        root = weights_dir(folder, Path.cwd()) if folder else None
        with progress_bar() as progress:
            statuses = [inspect(need, root, hashes=hashes, progress=progress) for need in needed_weights(cfg)]
    report(statuses)
    bad = [s for s in statuses if not s.ok]
    if bad:
        errors.print(
            f"{len(bad)} of {len(statuses)} weights missing or damaged: "
            "run `pixel-gan weights fetch` with the same arguments"
        )
        raise typer.Exit(1)
    console.print(f"all {len(statuses)} weights present")


@app.command()
def fetch(
    overrides: Overrides = None,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="The weights folder (default: <project cache>/weights).")
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            help="Where to write the overrides (default: pixel_gan/conf/local/weights.yaml; '-' = print only).",
        ),
    ] = None,
) -> None:
    """Download every weight the config needs that is missing into one folder, verify it, write the overrides."""
    from pixel_gan.config import CONF_DIR
    from pixel_gan.weights.catalog import needed_weights
    from pixel_gan.weights.fetch import fetch_need, overrides_for, write_overrides

    with user_errors():
        cfg = compose(overrides)
        root = weights_dir(folder, default_cache() / "weights")
        root.mkdir(parents=True, exist_ok=True)
        statuses = []
        with progress_bar() as progress:
            for need in needed_weights(cfg):
                errors.print(f"{need.name}: {need.source}")
                statuses.append(fetch_need(need, root, progress))
        report(statuses)
        values = overrides_for(statuses)
        command = shlex.join(["pixel-gan", "weights", "fetch", "--dir", str(root), *(overrides or [])])
        console.print("overrides: " + " ".join(f"{key}={value}" for key, value in values.items()))
        if str(write) != "-":
            target = write_overrides(write or CONF_DIR / "local" / "weights.yaml", values, command)
            console.print(f"wrote {target}: run with HF_HUB_OFFLINE=1 python train.py local=weights ...")


def default_cache() -> Path:
    """The project cache (``PIXEL_GAN_CACHE`` or ``./.cache``), as ``paths.cache_dir`` resolves it."""
    import os

    return Path(os.environ.get("PIXEL_GAN_CACHE") or ".cache")


if __name__ == "__main__":
    sys.exit(app())
