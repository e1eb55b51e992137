"""Turn the errors a user can fix (config, missing weights, bad files) into one clear message and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


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
