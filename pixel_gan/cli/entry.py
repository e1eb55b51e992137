"""The root ``pixel-gan`` command: each subcommand and group added to one typer app.

Each subcommand lives in its own module and imports the heavy parts (torch, diffusers, gradio)
inside its body, so ``pixel-gan --help`` stays fast. Every command and group reports a bad
argument as one line on stderr with exit status 2 (:mod:`pixel_gan.cli.errors`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from pixel_gan.cli import app as app_command
from pixel_gan.cli import convert, export, translate
from pixel_gan.cli.errors import Command, Group
from pixel_gan.data.prepare.cli import app as data_app
from pixel_gan.weights.cli import app as weights_app

app = typer.Typer(
    name="pixel-gan",
    cls=Group,
    help="Photo → pixel-art translators: convert images, serve the web UI, import original checkpoints, "
    "export merged translators. Training: python train.py experiment=...",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
for name, module in (("translate", translate), ("app", app_command), ("convert", convert), ("export", export)):
    app.command(name, help=module.HELP, cls=Command)(module.command)

# Command groups: each is a typer.Typer() next to its code, added here. Importing one must stay light
# (no torch, cv2 or model code at module level), or every `pixel-gan --help` pays for it.
app.add_typer(weights_app, name="weights", cls=Group)
app.add_typer(data_app, name="data", cls=Group)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]  # no command: the overview, exit 0
    try:
        app(args=args, prog_name="pixel-gan")
    except SystemExit as done:  # click ends every run with SystemExit, success included
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0
