"""``pixel-gan``: the one command-line entry (typer), with a subcommand per job.

Each subcommand lives in its own module and imports the heavy parts (torch, diffusers, gradio)
inside its body, so ``pixel-gan --help`` stays fast. Training is ``python train.py experiment=...``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from pixel_gan.cli import app as app_command
from pixel_gan.cli import convert, translate
from pixel_gan.data.prepare.cli import app as data_app
from pixel_gan.weights.cli import app as weights_app

app = typer.Typer(
    name="pixel-gan",
    help="Photo → pixel-art translators: convert images, serve the web UI, import original checkpoints. "
    "Training: python train.py experiment=...",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click errors: one "Error: ..." line after the usage, no boxes
)
app.command("translate", help=translate.HELP)(translate.command)
app.command("app", help=app_command.HELP)(app_command.command)
app.command("convert", help=convert.HELP)(convert.command)

# Command groups: each is a typer.Typer() next to its code, added here. Importing one must stay light
# (no torch, cv2 or model code at module level), or every `pixel-gan --help` pays for it.
app.add_typer(weights_app, name="weights")
app.add_typer(data_app, name="data")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]  # no command: the overview, exit 0
    try:
        app(args=args, prog_name="pixel-gan")
    except SystemExit as done:  # click ends every run with SystemExit, success included
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
