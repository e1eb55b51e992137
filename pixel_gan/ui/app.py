"""``pixel-gan app``: a local web UI to compare trained translators on your own images.

Pick one or several exported translators, upload an image (or click an example), choose the
native size, edge preset, palette and upscale, and get the results side by side with the input,
each downloadable as a PNG at native size and upscaled.

Safety model: the app binds to 127.0.0.1 unless told otherwise; every file it serves lives in
its own work folder (Gradio's upload/cache folder and the per-session result folders); every
path-like value that reaches a handler is checked against that folder; uploads are limited in
bytes and pixels before anything is decoded.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixel_gan.inference.images import Resolution
from pixel_gan.ui.choices import (
    A2B,
    CSS,
    DIRECTION_LABELS,
    EDGE_CHOICES,
    MAX_EXAMPLES,
    MAX_PALETTE_FILE_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    NATIVE_SIZES,
    PALETTE_CHOICES,
    SESSION_RE,
    TRAINED,
    UPSCALE_CHOICES,
    check_upload,
    inside,
    offered,
    shown_name,
    slug,
    ui_error,
)
from pixel_gan.ui.translators import TranslatorCache, TranslatorEntry, find_translators

__all__ = ["PixelApp", "TranslatorEntry", "build_app", "find_translators", "launch_app"]


@dataclass
class Settings:
    """One conversion request, validated."""

    resolution: Resolution
    edge_preset: str | None
    palette: Any
    dither: bool
    upscale: int
    direction: str


class PixelApp:
    """State and handlers behind the UI; ``build()`` lays out the Blocks."""

    def __init__(
        self,
        entries: Sequence[TranslatorEntry],
        work_dir: Path,
        examples: Sequence[Path] = (),
        max_bytes: int = MAX_UPLOAD_BYTES,
        max_pixels: int = MAX_UPLOAD_PIXELS,
        device: str = "auto",
    ) -> None:
        self.entries = {e.label: e for e in entries}
        self.work_dir = work_dir.resolve()
        self.upload_dir = self.work_dir / "gradio"
        self.sessions_dir = self.work_dir / "sessions"
        self.examples = list(examples)
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self.cache = TranslatorCache(device)

    # -- validation -------------------------------------------------------------------------
    def _session_dir(self, request: Any) -> Path:
        """A fresh result folder for this conversion, inside this browser session's folder."""
        session = getattr(request, "session_hash", None) or "local"
        if not SESSION_RE.match(str(session)):
            session = "local"
        folder = self.sessions_dir / str(session) / f"{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _input_path(self, image_path: Any) -> Path:
        if not image_path:
            raise ui_error("upload an image first (or click one of the examples)")
        path = inside(str(image_path), self.upload_dir)
        if not path.is_file():
            raise ui_error(f"{shown_name(Path(str(image_path)).name)}: the uploaded image is gone; upload it again")
        check_upload(path, self.max_bytes, self.max_pixels)
        return path

    def _palette(self, palette: Any, palette_file: Any):
        from pixel_gan.inference.palettes import load_palette_file, resolve_palette

        if palette_file:
            path = inside(str(palette_file), self.upload_dir)
            if path.stat().st_size > MAX_PALETTE_FILE_BYTES:
                raise ui_error("palette file is too large (use a .hex, .gpl or a small swatch image)")
            try:
                return load_palette_file(path)
            except (ValueError, OSError) as error:
                raise ui_error(f"cannot read the palette file: {error}") from None
        return resolve_palette(offered(palette or "none", PALETTE_CHOICES, "palette"))

    def _settings(
        self,
        resolution: Any,
        edge_preset: Any,
        palette: Any,
        palette_file: Any,
        dither: Any,
        upscale: Any,
        direction: Any,
    ) -> Settings:
        from pixel_gan.inference.images import parse_resolution

        size = offered(resolution or TRAINED, NATIVE_SIZES, "output size")
        edges = offered(edge_preset or TRAINED, EDGE_CHOICES, "edge preset")
        return Settings(
            resolution=None if size == TRAINED else parse_resolution(size),
            edge_preset=None if edges == TRAINED else edges,
            palette=self._palette(palette, palette_file),
            dither=bool(dither),
            upscale=int(offered(upscale or "1", UPSCALE_CHOICES, "upscale")),
            direction=DIRECTION_LABELS[offered(direction or A2B, list(DIRECTION_LABELS), "direction")],
        )

    def _entries(self, labels: Any) -> list[TranslatorEntry]:
        if isinstance(labels, str):
            labels = [labels]
        if not labels:
            raise ui_error("choose at least one translator")
        return [self.entries[offered(label, list(self.entries), "translator")] for label in labels]

    # -- handlers ---------------------------------------------------------------------------
    def convert(
        self,
        image_path: Any,
        labels: Any,
        resolution: Any = TRAINED,
        edge_preset: Any = TRAINED,
        palette: Any = "none",
        palette_file: Any = None,
        dither: Any = False,
        upscale: Any = "8",
        direction: Any = A2B,
        request: Any = None,
    ) -> tuple[list, list[str], str]:
        """Input + settings → (gallery items, download paths, status line)."""
        from pixel_gan.inference.images import load_image, upscaled
        from pixel_gan.inference.pixelize import quantize_native
        from pixel_gan.safe_io import png_writer, write_files

        entries = self._entries(labels)
        settings = self._settings(resolution, edge_preset, palette, palette_file, dither, upscale, direction)
        source = self._input_path(image_path)
        try:
            image = load_image(source)
        except ValueError as error:
            raise ui_error(f"cannot read {shown_name(source.name)}: {getattr(error, 'reason', error)}") from None
        out_dir = self._session_dir(request)
        stem = slug(Path(source).stem, 30)
        gallery: list[tuple[str, str]] = [(str(source), f"input {image.width}×{image.height}")]
        files: list[str] = []
        notes = []
        for entry in entries:
            start = time.perf_counter()
            try:
                translator = self.cache.get(entry.path)
                native = translator.render_native(
                    [image], settings.resolution, settings.direction, settings.edge_preset
                )[0]
                final = quantize_native(native, settings.palette, settings.dither)
            except Exception as error:  # noqa: BLE001 - shown to the user as one line
                raise ui_error(f"{entry.label}: {type(error).__name__}: {error}") from None
            name = f"{stem}_{slug(entry.config.experiment, 24)}_{len(files)}"
            results = [(out_dir / f"{name}.png", final)]
            if settings.upscale > 1:
                try:
                    results.append((out_dir / f"{name}_x{settings.upscale}.png", upscaled(final, settings.upscale)))
                except ValueError as error:
                    raise ui_error(f"{entry.label}: {error}") from None
            write_files([(path, png_writer(image)) for path, image in results], inputs=[source])
            files.extend(str(path) for path, _ in results)
            shown = results[-1][0]
            gallery.append((str(shown), f"{entry.label} · {final.width}×{final.height}"))
            notes.append(f"{entry.config.experiment}: {time.perf_counter() - start:.1f} s")
        return gallery, files, "Done — " + ", ".join(notes)

    def drop_session(self, request: Any = None) -> None:
        """Delete a closed tab's results (Gradio's own cache is pruned by ``delete_cache``)."""
        session = getattr(request, "session_hash", None)
        if session and SESSION_RE.match(str(session)):
            shutil.rmtree(self.sessions_dir / str(session), ignore_errors=True)

    def build(self) -> Any:
        from pixel_gan.ui.layout import build_blocks

        return build_blocks(self)


def default_examples_dir() -> Path | None:
    """The demo data's test_A photos, where ``make demo`` or the smoke run put them."""
    cache = Path(os.environ.get("PIXEL_GAN_CACHE") or ".cache")
    folder = cache / "demo-data" / "test_A"
    return folder if folder.is_dir() else None


def _use_work_dir(work_dir: Path) -> None:
    """Point Gradio's upload and example caches into the app's own folder (read when Blocks are built)."""
    os.environ["GRADIO_TEMP_DIR"] = str(work_dir / "gradio")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(work_dir / "examples-cache")


def build_app(
    checkpoints: Sequence[str | Path] = (),
    outputs_root: str | Path | None = "outputs",
    work_dir: str | Path | None = None,
    examples_dir: str | Path | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_UPLOAD_PIXELS,
    device: str = "auto",
):
    """The UI as a ``gr.Blocks``; launch it with :func:`launch_app` (which applies the file rules).

    ``work_dir`` holds everything the app writes and serves (a fresh temporary folder by default,
    removed at exit). Raises FileNotFoundError when no translator is found.
    """
    from pixel_gan.data.images import list_images

    entries = find_translators(outputs_root, checkpoints)
    if not entries:
        where = ", ".join(str(p) for p in [*checkpoints, outputs_root] if p)
        raise FileNotFoundError(
            f"no exported translators found in {where or 'nothing'} (a training run writes "
            "<run>/translator/; try: python train.py experiment=smoke)"
            " — or pass --checkpoints DIR"
        )
    if work_dir is None:
        work_dir = Path(tempfile.mkdtemp(prefix="pixel-gan-app-"))
        atexit.register(shutil.rmtree, work_dir, True)
    work = Path(work_dir).expanduser().resolve()
    (work / "sessions").mkdir(parents=True, exist_ok=True)
    _use_work_dir(work)
    folder = Path(examples_dir) if examples_dir else default_examples_dir()
    examples = list_images(folder)[:MAX_EXAMPLES] if folder and folder.is_dir() else []
    return PixelApp(entries, work, examples, max_bytes, max_pixels, device).build()


def launch_app(
    blocks, host: str = "127.0.0.1", port: int = 7860, prevent_thread_lock: bool = False, quiet: bool = False
):
    """Serve with the file rules: only the session result folder is an extra allowed path, uploads are
    capped in bytes at the server too, nothing is shared publicly."""
    app: PixelApp = blocks.pixel_app
    return blocks.launch(
        server_name=host,
        server_port=port,
        share=False,
        prevent_thread_lock=prevent_thread_lock,
        allowed_paths=[str(app.sessions_dir)],
        max_file_size=app.max_bytes,
        css=CSS,
        quiet=quiet,
        show_error=True,
        footer_links=[],
        ssr_mode=False,
    )
