"""Shared pieces of the UI tests: the app built without leaking its environment, and headless chromium flags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Flags for a chromium that runs in a container without a GPU, a sandbox or a network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def gradio_env_restored() -> Iterator[None]:
    """``build_app`` points Gradio's folder variables at its work folder, and the server reads them
    while it serves: build and serve inside this block, and they are put back after it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", "unset")
        mp.setenv("GRADIO_EXAMPLES_CACHE", "unset")
        yield
