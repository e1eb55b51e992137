"""The web UI in a real browser: upload, convert, see the result, download the PNG, screenshot.

Needs Debian's chromium (``apt-get install chromium``; ``.ci/run`` installs it). Without a
browser that starts, the test is skipped with the reason, never passed silently.
"""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reference_palettes import PICO8_SET
from ui_support import CHROMIUM_ARGS, gradio_env_restored

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("PIXEL_GAN_CHROMIUM", "/usr/bin/chromium")
# The README picture: written only on request (PIXEL_GAN_UPDATE_SCREENSHOT=1), so a test run leaves the tree as it was.
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ui.png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WAIT_MS = 90_000
PICO8 = PICO8_SET


def scene(size: int = 160) -> Image.Image:
    """A small landscape: sky gradient, sun, hills, a house."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = np.zeros((size, size, 3))
    rgb[...] = np.stack([90 + 100 * yy, 150 + 60 * yy, 235 - 30 * yy], axis=2)
    rgb[(yy - 0.22) ** 2 + (xx - 0.75) ** 2 < 0.008] = (255, 215, 80)
    hills = yy > 0.62 + 0.08 * np.sin(xx * 7)
    rgb[hills] = np.stack([60 + 40 * xx, 140 + 50 * yy, 60 + 0 * xx], axis=2)[hills]
    rgb[(yy > 0.5) & (yy < 0.75) & (xx > 0.2) & (xx < 0.42)] = (190, 90, 60)
    rgb[(yy > 0.38) & (yy <= 0.5) & (np.abs(xx - 0.31) < (yy - 0.38) * 1.1)] = (120, 40, 40)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.skip(f"playwright is not installed: {error}")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as error:  # noqa: BLE001 - any launch failure means: skip, with the reason
            pytest.skip(f"chromium could not start: {str(error).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_export):
    from pixel_gan.ui.app import build_app, launch_app

    root = tmp_path_factory.mktemp("browser")
    # A real translator makes a better README picture; the tiny one proves the UI works.
    given = os.environ.get("PIXEL_GAN_SCREENSHOT_CHECKPOINT")
    export = (
        Path(given) if given else tiny_export(root / "runs" / "64_palette", loss="palette", experiment="64_palette")
    )
    examples = root / "examples"
    examples.mkdir()
    scene().save(examples / "landscape.png")
    scene(120).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(examples / "flipped.png")
    with gradio_env_restored():
        blocks = build_app(
            [export.parent], outputs_root=None, work_dir=root / "work", examples_dir=examples, device="cpu"
        )
        port = free_port()
        launch_app(blocks, port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/", examples / "landscape.png"
        finally:
            blocks.close()


def choose(page, elem_id: str, option: str) -> None:
    """Pick a value in a Gradio dropdown the way a person does: open it, click the option."""
    page.locator(f"#{elem_id} input").click()
    page.locator(f"#{elem_id}").get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def test_upload_convert_download(browser, server, tmp_path):
    url, image = server
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=WAIT_MS)
        page.locator("#convert").wait_for(timeout=WAIT_MS)
        page.locator("#input-image input[type=file]").set_input_files(str(image))
        page.locator("#input-image img").first.wait_for(timeout=WAIT_MS)
        choose(page, "palette", "pico8")
        choose(page, "native-size", "32")
        page.locator("#convert").click()

        results = page.locator("#results img")
        page.wait_for_function("document.querySelectorAll('#results img').length >= 2", timeout=WAIT_MS)
        assert results.count() >= 2  # the input and one result
        link = page.locator("#downloads a[href]").first
        link.wait_for(timeout=WAIT_MS)
        assert " px · edges " in page.locator("#results").inner_text()  # labelled with the translator

        response = page.request.get(link.get_attribute("href"))
        assert response.ok
        body = response.body()
        assert body.startswith(PNG_SIGNATURE)
        native = Image.open(io.BytesIO(body))
        assert native.size == (32, 32)  # the size picked in the UI, not the default
        assert {tuple(c) for c in np.asarray(native.convert("RGB")).reshape(-1, 3)} <= PICO8
        names = page.locator("#downloads").inner_text()
        assert "landscape_" in names and "_0_x8" in names

        page.wait_for_timeout(500)  # let the gallery finish laying out before the picture
        shot = README_SCREENSHOT if os.environ.get("PIXEL_GAN_UPDATE_SCREENSHOT") == "1" else tmp_path / "ui.png"
        page.screenshot(path=str(shot), full_page=True)
        assert Image.open(shot).size[0] >= 1000
    finally:
        page.close()
