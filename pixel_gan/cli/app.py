"""``pixel-gan app``: the web UI. Exit 2 with one line when there is nothing to serve."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from pixel_gan.cli.errors import command_main

HELP = "Web UI: pick checkpoints, upload images, download pixel art."
MAX_UPLOAD_MB = 20.0  # the defaults of pixel_gan.ui.app.MAX_UPLOAD_BYTES / MAX_UPLOAD_PIXELS, without importing it
MAX_MEGAPIXELS = 40.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def command(
    checkpoints: Annotated[
        list[str] | None,
        typer.Option(
            metavar="DIR", help="translator folders, run folders, or folders of runs (in addition to --outputs-root)"
        ),
    ] = None,
    more_checkpoints: Annotated[
        list[str] | None, typer.Argument(metavar="DIR", help="more folders, as after --checkpoints", show_default=False)
    ] = None,
    outputs_root: Annotated[str, typer.Option(help="searched recursively for <run>/translator/")] = "outputs",
    host: Annotated[str, typer.Option(help="interface to bind (default: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 7860,
    examples: Annotated[
        str | None, typer.Option(help="folder of example images (default: demo test_A if present)")
    ] = None,
    work_dir: Annotated[
        str | None, typer.Option(help="where uploads and results go (default: a temporary folder)")
    ] = None,
    device: Annotated[str, typer.Option()] = "auto",
    max_upload_mb: Annotated[float, typer.Option()] = MAX_UPLOAD_MB,
    max_megapixels: Annotated[float, typer.Option()] = MAX_MEGAPIXELS,
) -> None:
    from pixel_gan.logging_utils import quiet_libraries
    from pixel_gan.ui.app import build_app, launch_app

    quiet_libraries()
    try:
        blocks = build_app(
            [*(checkpoints or []), *(more_checkpoints or [])],
            outputs_root,
            work_dir,
            examples,
            int(max_upload_mb * 1024 * 1024),
            int(max_megapixels * 1e6),
            device,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(2) from None
    if host not in LOCAL_HOSTS:
        print(f"warning: serving on {host}: anyone who can reach this address can use the app", file=sys.stderr)
    print(f"{len(blocks.pixel_app.entries)} translator(s): " + "; ".join(blocks.pixel_app.entries))
    # SIGTERM (service managers, `kill`) exits like Ctrl-C, so the temporary work folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    launch_app(blocks, host, port)


main = command_main("app")
