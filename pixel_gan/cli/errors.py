"""Turn the errors a user can fix into one clear line on stderr and exit 2.

:func:`exit_on_user_error`: config, missing weights, bad files (train.py, evaluate.py). :class:`Group` and
:class:`Command`: bad command-line arguments of every ``pixel-gan`` command and group, which click would
report as a multi-line usage block.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

try:  # recent typer carries its own copy of click: its errors are that copy's classes
    from typer._click.core import Context
    from typer._click.exceptions import UsageError
except ImportError:  # older typer runs on click itself
    from click import Context, UsageError  # type: ignore[assignment]


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    from pixel_gan.config import ConfigError
    from pixel_gan.weights import WeightsNotFoundError

    try:
        yield
    except (ConfigError, WeightsNotFoundError) as err:
        # soft_wrap: a message is never broken at the console width (log files and CI keep it one line);
        # Text: brackets in paths or values ("[Errno 2]", "photo [1].png") are not read as rich markup.
        console = Console(stderr=True, soft_wrap=True, highlight=False)
        console.print(Text.assemble(("error:", "bold red"), " ", str(err)))
        sys.exit(2)


# --------------------------------------------------------------------------- usage errors: one line


def _one_line(error: UsageError, name: str | None) -> typer.Exit:
    """Print a usage error as one line (not click's usage + "Try ..." + "Error: ..." block); the exit to raise."""
    if type(error).__name__ == "NoArgsIsHelpError":  # the help text was shown: not an error line
        raise error
    path = error.ctx.command_path if error.ctx else (name or "pixel-gan")
    typer.echo(f"error: {error.format_message()} (see '{path} --help')", err=True)
    return typer.Exit(2)


class _OneLineUsage:
    """Missing options, bad values and unknown options as one line, exit 2 (mixed into typer's classes)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[misc]
        except UsageError as error:
            raise _one_line(error, info_name) from None


class Command(_OneLineUsage, TyperCommand):
    """A command whose usage errors are one line."""


class Group(_OneLineUsage, TyperGroup):
    """A group whose usage errors, an unknown command's and those of every command below it, are one line."""

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            raise _one_line(error, ctx.info_name) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as error:  # from a command or group below built without these classes
            raise _one_line(error, ctx.info_name) from None


def fail(message: str, prefix: str = "error") -> NoReturn:
    """A command's error after its arguments parsed: one line on stderr, exit status 2."""
    print(f"{prefix}: {message}", file=sys.stderr)
    raise typer.Exit(2)


def command_main(name: str) -> Callable[[Sequence[str] | None], int]:
    """``pixel-gan NAME ARGS`` as a function (tests, scripts): returns the exit code."""

    def main(argv: Sequence[str] | None = None) -> int:
        from pixel_gan.cli import main as cli_main

        return cli_main([name, *(argv or [])])

    main.__doc__ = f"``pixel-gan {name} ARGS`` as a function: the exit code."
    return main
