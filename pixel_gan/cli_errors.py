"""Turn the errors a user can fix (config, missing weights, bad files) into one clear line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    from pixel_gan.config import ConfigError
    from pixel_gan.weights import WeightsNotFoundError

    try:
        yield
    except (ConfigError, WeightsNotFoundError) as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False)
        sys.exit(2)
