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

import argparse
import atexit
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from pixel_gan.export import CONFIG_NAME, WEIGHTS_NAME
from pixel_gan.palettes import palette_names

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
MAX_PALETTE_FILE_BYTES = 256 * 1024
MAX_EXAMPLES = 8
TRAINED = "as trained"
NATIVE_SIZES = [TRAINED, "auto", "16", "24", "32", "48", "64", "96", "128", "192", "256"]
EDGE_CHOICES = [TRAINED, "none", "default", "medium", "low"]
KMEANS_CHOICES = ["4", "8", "16", "32"]
PALETTE_CHOICES = ["none", *(name for name in palette_names() if name != "none"), *KMEANS_CHOICES]
UPSCALE_CHOICES = ["1", "2", "4", "8", "16"]
A2B = "photo → pixel art"
DIRECTIONS = {A2B: "a2b", "pixel art → photo": "b2a"}
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CSS = """
.pixelated img, .pixelated canvas { image-rendering: pixelated; image-rendering: crisp-edges; }
"""


# --------------------------------------------------------------------------- translators on disk


@dataclass(frozen=True)
class TranslatorEntry:
    """An export folder found on disk and how the UI names it."""

    label: str
    path: Path
    meta: dict[str, Any]


def _read_meta(export_dir: Path) -> dict[str, Any] | None:
    """translator.yaml as a mapping, or None when it is unreadable (such folders are left out)."""
    try:
        meta = yaml.safe_load((export_dir / CONFIG_NAME).read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(meta, dict) or "model" not in meta or not (export_dir / WEIGHTS_NAME).is_file():
        return None
    return meta


def _export_dirs(root: Path) -> list[Path]:
    """Export folders at ``root``: itself, its ``translator/``, or any below it (recursive)."""
    for candidate in (root, root / "translator"):
        if (candidate / CONFIG_NAME).is_file():
            return [candidate]
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob(CONFIG_NAME) if p.parent.name == "translator")


def _run_name(export_dir: Path, roots: Sequence[Path]) -> str:
    """The run folder relative to the root it was found under (``smoke/2026-11-25_05-58-36``)."""
    run = export_dir.parent if export_dir.name == "translator" else export_dir
    for root in roots:
        try:
            rel = run.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        if str(rel) != ".":
            return rel.as_posix()
    return run.name


def find_translators(
    outputs_root: str | Path | None = "outputs", checkpoints: Sequence[str | Path] = ()
) -> list[TranslatorEntry]:
    """Exported translators under ``outputs_root`` (recursively) plus the given folders, labelled
    ``experiment · resolution · edges · loss — run`` from their translator.yaml; newest run first."""
    from pixel_gan.translate import describe_meta

    roots = [Path(c).expanduser() for c in checkpoints]
    if outputs_root:
        roots.append(Path(outputs_root).expanduser())
    seen: set[Path] = set()
    found: list[tuple[float, Path, dict[str, Any]]] = []
    for root in roots:
        for export_dir in _export_dirs(root):
            key = export_dir.resolve()
            meta = None if key in seen else _read_meta(export_dir)
            if meta is not None:
                seen.add(key)
                found.append(((export_dir / WEIGHTS_NAME).stat().st_mtime, export_dir, meta))
    found.sort(key=lambda item: -item[0])
    entries: list[TranslatorEntry] = []
    labels: set[str] = set()
    for _, export_dir, meta in found:
        label = f"{describe_meta(meta)} — {_run_name(export_dir, roots)}"
        base, n = label, 2
        while label in labels:
            label, n = f"{base} ({n})", n + 1
        labels.add(label)
        entries.append(TranslatorEntry(label, export_dir, meta))
    return entries


class TranslatorCache:
    """Load translators on first use and keep the last few (each holds a full base model)."""

    def __init__(self, device: str = "auto", max_items: int = 3) -> None:
        self.device, self.max_items = device, max_items
        self._items: OrderedDict[Path, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path):
        from pixel_gan.translate import Translator

        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
            translator = Translator.from_pretrained(path, device=self.device)
            self._items[path] = translator
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return translator

    def __len__(self) -> int:
        return len(self._items)


# --------------------------------------------------------------------------- checks


def _error(message: str) -> Exception:
    import gradio as gr

    return gr.Error(message)


def inside(path: str | Path, folder: Path) -> Path:
    """``path`` resolved (symlinks and ``..`` included) if it lies inside ``folder``, else an error."""
    from pixel_gan.data.images import display_path

    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise _error(f"refused: {display_path(Path(path).name)} is a symlink loop") from None
    if not resolved.is_relative_to(folder.resolve()):
        raise _error(f"refused: {display_path(Path(path).name or path)} is not a file this app received")
    return resolved


def check_upload(path: Path, max_bytes: int, max_pixels: int) -> None:
    """Size in bytes, then pixel count from the header alone, before any decoding."""
    from pixel_gan.data.images import describe_load_error, display_path

    name = display_path(path.name)
    size = path.stat().st_size
    if size > max_bytes:
        raise _error(f"{name}: image is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below is stricter
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise _error(f"{name}: image has too many pixels; the limit is {max_pixels / 1e6:.0f} megapixels") from None
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for non-images
        raise _error(f"{name}: not a readable image: {describe_load_error(path, error)}") from None
    if width * height > max_pixels:
        raise _error(
            f"{name}: image is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f}"
        )


def _display(name: str) -> str:
    from pixel_gan.data.images import display_path

    return display_path(name)


def _choice(value: Any, choices: Sequence[str], what: str) -> str:
    """Dropdown values come from the browser: accept only the offered ones."""
    text = str(value)
    if text not in choices:
        raise _error(f"unknown {what}: {text[:40]!r}")
    return text


def _slug(text: str, limit: int = 40) -> str:
    """A file-name-safe fragment (browsers and users see these names on download)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return (slug or "image")[:limit]


# --------------------------------------------------------------------------- the app


@dataclass
class Settings:
    """One conversion request, validated."""

    resolution: int | str | None
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
        if not _SESSION_RE.match(str(session)):
            session = "local"
        folder = self.sessions_dir / str(session) / f"{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _input_path(self, image_path: Any) -> Path:
        if not image_path:
            raise _error("upload an image first (or click one of the examples)")
        path = inside(str(image_path), self.upload_dir)
        if not path.is_file():
            raise _error(f"{_display(Path(str(image_path)).name)}: the uploaded image is gone; upload it again")
        check_upload(path, self.max_bytes, self.max_pixels)
        return path

    def _palette(self, palette: Any, palette_file: Any):
        from pixel_gan.palettes import load_palette_file, resolve_palette

        if palette_file:
            path = inside(str(palette_file), self.upload_dir)
            if path.stat().st_size > MAX_PALETTE_FILE_BYTES:
                raise _error("palette file is too large (use a .hex, .gpl or a small swatch image)")
            try:
                return load_palette_file(path)
            except (ValueError, OSError) as error:
                raise _error(f"cannot read the palette file: {error}") from None
        return resolve_palette(_choice(palette or "none", PALETTE_CHOICES, "palette"))

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
        from pixel_gan.translate import parse_resolution

        size = _choice(resolution or TRAINED, NATIVE_SIZES, "output size")
        edges = _choice(edge_preset or TRAINED, EDGE_CHOICES, "edge preset")
        return Settings(
            resolution=None if size == TRAINED else parse_resolution(size),
            edge_preset=None if edges == TRAINED else edges,
            palette=self._palette(palette, palette_file),
            dither=bool(dither),
            upscale=int(_choice(upscale or "1", UPSCALE_CHOICES, "upscale")),
            direction=DIRECTIONS[_choice(direction or A2B, list(DIRECTIONS), "direction")],
        )

    def _entries(self, labels: Any) -> list[TranslatorEntry]:
        if isinstance(labels, str):
            labels = [labels]
        if not labels:
            raise _error("choose at least one translator")
        return [self.entries[_choice(label, list(self.entries), "translator")] for label in labels]

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
        from pixel_gan.safe_io import png_writer, write_files
        from pixel_gan.translate import load_image, quantize_native, upscaled

        entries = self._entries(labels)
        settings = self._settings(resolution, edge_preset, palette, palette_file, dither, upscale, direction)
        source = self._input_path(image_path)
        try:
            image = load_image(source)
        except ValueError as error:
            raise _error(f"cannot read {_display(source.name)}: {getattr(error, 'reason', error)}") from None
        out_dir = self._session_dir(request)
        stem = _slug(Path(source).stem, 30)
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
                raise _error(f"{entry.label}: {type(error).__name__}: {error}") from None
            name = f"{stem}_{_slug(entry.meta.get('experiment', 'translator'), 24)}_{len(files)}"
            results = [(out_dir / f"{name}.png", final)]
            if settings.upscale > 1:
                try:
                    results.append((out_dir / f"{name}_x{settings.upscale}.png", upscaled(final, settings.upscale)))
                except ValueError as error:
                    raise _error(f"{entry.label}: {error}") from None
            write_files([(path, png_writer(image)) for path, image in results], inputs=[source])
            files.extend(str(path) for path, _ in results)
            shown = results[-1][0]
            gallery.append((str(shown), f"{entry.label} · {final.width}×{final.height}"))
            notes.append(f"{entry.meta.get('experiment', 'translator')}: {time.perf_counter() - start:.1f} s")
        return gallery, files, "Done — " + ", ".join(notes)

    def drop_session(self, request: Any = None) -> None:
        """Delete a closed tab's results (Gradio's own cache is pruned by ``delete_cache``)."""
        session = getattr(request, "session_hash", None)
        if session and _SESSION_RE.match(str(session)):
            shutil.rmtree(self.sessions_dir / str(session), ignore_errors=True)

    # -- layout -----------------------------------------------------------------------------
    def build(self):
        import gradio as gr

        labels = list(self.entries)
        with gr.Blocks(title="pixel-gan", delete_cache=(1800, 3600)) as blocks:
            gr.Markdown(
                "# pixel-gan\nPhoto → pixel art with your trained translators. Upload an image, "
                "pick one or more translators, convert, and download the PNGs."
            )
            with gr.Row():
                with gr.Column(scale=1):
                    image = gr.Image(
                        label="Input image",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard"],
                        elem_id="input-image",
                        height=280,
                    )
                    if self.examples:
                        gr.Examples([[str(p)] for p in self.examples], inputs=[image], label="Examples")
                    checkpoints = gr.CheckboxGroup(labels, value=labels[:1], label="Translators", elem_id="translators")
                    with gr.Row():
                        resolution = gr.Dropdown(
                            NATIVE_SIZES, value=TRAINED, label="Output size (art pixels)", elem_id="native-size"
                        )
                        upscale = gr.Dropdown(UPSCALE_CHOICES, value="8", label="Upscale ×", elem_id="upscale")
                    with gr.Row():
                        palette = gr.Dropdown(
                            PALETTE_CHOICES, value="none", label="Palette (name or k-means colours)", elem_id="palette"
                        )
                        edges = gr.Dropdown(EDGE_CHOICES, value=TRAINED, label="Edge preset", elem_id="edge-preset")
                    with gr.Accordion("More options", open=False):
                        palette_file = gr.File(
                            label="Palette file (.hex, .gpl or swatch image)",
                            file_types=[".hex", ".gpl", ".png"],
                            type="filepath",
                        )
                        dither = gr.Checkbox(False, label="Dither (ordered 4×4)")
                        direction = gr.Radio(list(DIRECTIONS), value=A2B, label="Direction")
                    run = gr.Button("Convert", variant="primary", elem_id="convert")
                with gr.Column(scale=2):
                    gallery = gr.Gallery(
                        label="Input and results",
                        columns=3,
                        object_fit="contain",
                        height=420,
                        elem_classes="pixelated",
                        elem_id="results",
                    )
                    downloads = gr.File(
                        label="Downloads (PNG: native size and upscaled)",
                        file_count="multiple",
                        elem_id="downloads",
                        interactive=False,
                    )
                    status = gr.Markdown(elem_id="status")
            run.click(
                self.convert,
                [image, checkpoints, resolution, edges, palette, palette_file, dither, upscale, direction],
                [gallery, downloads, status],
                api_name="convert",
                concurrency_limit=1,
            )
            blocks.unload(self.drop_session)
        blocks.pixel_app = self  # launch_app reads the folders and limits from here
        return blocks


# --------------------------------------------------------------------------- building and serving


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixel-gan app", description="Web UI: compare translators on your images.")
    parser.add_argument(
        "--checkpoints",
        nargs="*",
        default=[],
        help="translator folders, run folders, or folders of runs (in addition to --outputs-root)",
    )
    parser.add_argument("--outputs-root", default="outputs", help="searched recursively for <run>/translator/")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--examples", default=None, help="folder of example images (default: demo test_A if present)")
    parser.add_argument("--work-dir", default=None, help="where uploads and results go (default: a temporary folder)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_BYTES / 1024 / 1024)
    parser.add_argument("--max-megapixels", type=float, default=MAX_UPLOAD_PIXELS / 1e6)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``pixel-gan app``: exit 2 with one line when there is nothing to serve."""
    from pixel_gan.logging_utils import quiet_libraries

    args = build_parser().parse_args(argv)
    quiet_libraries()
    try:
        blocks = build_app(
            args.checkpoints,
            args.outputs_root,
            args.work_dir,
            args.examples,
            int(args.max_upload_mb * 1024 * 1024),
            int(args.max_megapixels * 1e6),
            args.device,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach this address can use the app", file=sys.stderr)
    print(f"{len(blocks.pixel_app.entries)} translator(s): " + "; ".join(blocks.pixel_app.entries))
    # SIGTERM (service managers, `kill`) exits like Ctrl-C, so the temporary work folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    launch_app(blocks, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
