"""``pixel-gan``: the one command-line entry (typer), with a subcommand per job (built in :mod:`.entry`).

Training is ``python train.py experiment=...``. The entry is imported on first use, so the command
groups that live next to their code can import :mod:`pixel_gan.cli.errors` without a cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    from pixel_gan.cli.entry import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
