"""Shared pieces of the UI tests: the app built without leaking its environment, and headless chromium flags."""

from __future__ import annotations

from typing import Any

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


def build_test_app(*args: Any, **kwargs: Any) -> Any:
    """``build_app(...)``: it points Gradio's folder variables at its work folder; they are put back after."""
    from pixel_gan.ui.app import build_app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", "unset")
        mp.setenv("GRADIO_EXAMPLES_CACHE", "unset")
        return build_app(*args, **kwargs)
