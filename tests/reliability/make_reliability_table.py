"""Print (or ``--write`` into docs/reliability.md) the tables of bad inputs and config faults.

Every row comes from the case lists the tests run (``bad_input_cases.FILE_CASES``,
``test_config_faults.CASES``), and the messages of the bad-input table are produced by running
each case through the same code the user reaches, so the document cannot drift from the tests:
``test_reliability_doc.py`` fails when the generated part of the doc is out of date.

    python tests/reliability/make_reliability_table.py --write
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bad_input_cases import FILE_CASES, FileCase  # noqa: E402 - importable once HERE is on sys.path

DOC = HERE.parents[1] / "docs" / "reliability.md"
MARKERS = {
    "bad-inputs": ("<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"),
    "config-faults": ("<!-- config-faults:start -->", "<!-- config-faults:end -->"),
}
FOLDER = "photos"  # every case file is shown as photos/<name>


def cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


@contextmanager
def case_folder() -> Iterator[Path]:
    """A fresh ``photos/`` in a temporary working directory, so messages can show ``photos/<name>``."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            (Path(tmp) / FOLDER).mkdir()
            yield Path(tmp) / FOLDER  # built at an absolute path (a link to itself must really loop)
        finally:
            os.chdir(before)


def data_module_message(case: FileCase, path: Path) -> str:
    """What training logs for the file: listing warning, setup warning, or the decode-time fallback."""
    from pixel_gan.data.images import check_image, display_path, list_images, load_rgb

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("pixel_gan.data.images")
    handler = Keep()
    logger.addHandler(handler)
    try:
        listed = path in list_images(path.parent)
    finally:
        logger.removeHandler(handler)
    if not listed:
        return "warning: " + records[0].getMessage()
    reason = check_image(path)
    if reason is not None:
        return f"warning: skipping 1 unreadable image(s): {display_path(path)} ({reason})"
    try:
        load_rgb(path)
    except ValueError as error:  # found only when decoded: the item is replaced by the next one
        return f"warning: {error}; using the next item instead"
    return "trained on"


def translate_message(case: FileCase, path: Path) -> str:
    """``pixel-gan translate --input <file>``: the one line printed for a file that fails."""
    from pixel_gan.data.images import ImageLoadError, display_path
    from pixel_gan.inference.batch import UsageError, gather_inputs
    from pixel_gan.inference.images import load_image

    try:
        [source] = gather_inputs([str(path)])
    except UsageError as error:
        return f"error: {error} (exit 2)"
    try:
        load_image(source)
    except ImageLoadError as error:
        return f"failed: {display_path(source)}: {error.reason} (exit 1)"
    return "converted"


def app_message(case: FileCase, path: Path, app) -> str:
    """The app's error popup for the upload (checked before any translator is loaded)."""
    import gradio as gr

    try:
        app.convert(str(path), [next(iter(app.entries))], upscale="1")
    except gr.Error as error:
        return f"error: {error.message}"
    return "converted"


def bad_input_rows() -> list[str]:
    import gradio  # noqa: F401 - the app's errors are gradio errors

    from pixel_gan.data.images import load_rgb
    from pixel_gan.inference.translator_config import TranslatorConfig
    from pixel_gan.ui.app import PixelApp, TranslatorEntry

    rows = ["| case | input | data module (training) | `pixel-gan translate` | app |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as work, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in FILE_CASES:
            with case_folder() as folder:
                path = Path(FOLDER) / case.build(folder).name  # shown as the user typed it
                if case.usable:
                    size = "×".join(map(str, load_rgb(path).size))
                    outcome = [f"trained on (RGB {size})", "converted", "converted"]
                else:
                    upload = Path(work) / "gradio" / case.id
                    upload.mkdir(parents=True)
                    app_path = case.build(upload)
                    app = PixelApp(
                        [TranslatorEntry("never loaded", Path(work) / "none", TranslatorConfig())], Path(work)
                    )
                    outcome = [
                        data_module_message(case, path),
                        translate_message(case, path),
                        app_message(case, app_path, app),
                    ]
                name = (
                    os.fsdecode(os.fsencode(path.name))
                    .encode("utf-8", "surrogateescape")
                    .decode("utf-8", "backslashreplace")
                )
                rows.append(
                    f"| {case.id} | {case.what} ({cell(name)}) | "
                    + " | ".join(cell(o) if not o.startswith(("trained", "converted")) else o for o in outcome)
                    + " |"
                )
    return rows


def config_fault_rows() -> list[str]:
    import pytest  # noqa: F401 - the case list uses pytest.param
    from test_config_faults import CASES, SHOWN

    rows = ["| case | `python train.py experiment=smoke ...` | exit | first line on stderr |", "|---|---|---|---|"]
    for case in CASES:
        case_id, overrides, code, first = case.values if hasattr(case, "values") else case
        shown = [o.format(**SHOWN) for o in overrides]
        rows.append(f"| {case_id} | {cell(' '.join(shown))} | {code} | {cell(first.format(**SHOWN) + ' …')} |")
    return rows


def generated() -> dict[str, str]:
    return {"bad-inputs": "\n".join(bad_input_rows()), "config-faults": "\n".join(config_fault_rows())}


def splice(text: str, parts: dict[str, str]) -> str:
    """``text`` with each marked section replaced by its generated table."""
    for key, body in parts.items():
        start, end = MARKERS[key]
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{body}\n{end}{tail}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {DOC.name} in place")
    args = parser.parse_args()
    parts = generated()
    if args.write:
        DOC.write_text(splice(DOC.read_text(), parts))
    else:
        print("\n\n".join(parts.values()))


if __name__ == "__main__":
    main()
