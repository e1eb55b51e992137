"""Every file in the bad-input matrix, through every place images enter pixel-gan.

Each case must end as a correct conversion or as one line that names the file: no traceback,
no batch lost to one bad file, no partial output left behind.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from bad_input_cases import CASE_IDS, FILE_CASES, FileCase, good_image
from PIL import Image
from ui_support import gradio_env_restored

from pixel_gan.cli.translate import main
from pixel_gan.data.datamodule import UnpairedDataModule
from pixel_gan.data.edges import load_preset
from pixel_gan.data.images import ImageLoadError, display_path, load_rgb
from pixel_gan.inference.translator import Translator

gr = pytest.importorskip("gradio")

BAD = [case for case in FILE_CASES if not case.usable]
SKIPPED_BY_LISTING = {"symlink-loop", "dangling-symlink", "folder-named-png"}  # not regular files: never listed


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory, tiny_export) -> Path:
    """A tiny translator (32 px, default edges) in the layout training writes."""
    return tiny_export(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def loaded_once(export_dir):
    """``pixel-gan translate`` reuses one loaded translator (loading is not what these tests are about)."""
    translator = Translator.from_pretrained(export_dir, device="cpu")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Translator, "from_pretrained", classmethod(lambda cls, *a, **k: translator))
        yield translator


@pytest.fixture(scope="module")
def app(export_dir, loaded_once, tmp_path_factory):
    from pixel_gan.ui.app import build_app

    with gradio_env_restored():
        yield build_app([export_dir], None, work_dir=tmp_path_factory.mktemp("app"), device="cpu").pixel_app


def orientation(size: tuple[int, int]) -> int:
    return int(np.sign(size[0] - size[1]))


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def one_line_naming(message: str, path: Path, reason: str) -> None:
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert display_path(path.name) in message and reason in message, (message, reason)


# --- the decoder every entry point shares ---------------------------------------------------------------
@pytest.mark.parametrize("case", FILE_CASES, ids=CASE_IDS)
def test_load_rgb_converts_or_names_the_file(case: FileCase, tmp_path):
    path = case.build(tmp_path)
    if case.usable:
        case.check(load_rgb(path))
    else:
        with pytest.raises(ImageLoadError) as info:
            load_rgb(path)
        one_line_naming(str(info.value), path, case.reason)
        assert info.value.reason.startswith(case.reason) or case.reason in info.value.reason


# --- entry point 1: the training data module -------------------------------------------------------------
def dataset_root(folder: Path, case: FileCase) -> tuple[Path, Path]:
    """train_A holds three good photos and the case's file; the other folders one good image each."""
    for name in ("train_A", "train_B", "test_A", "test_B"):
        (folder / name).mkdir(parents=True)
        good_image(folder / name, f"good-{name}.png")
    for extra in ("good-2.png", "good-3.png"):
        good_image(folder / "train_A", extra)
    return folder, case.build(folder / "train_A")


@pytest.mark.parametrize("case", FILE_CASES, ids=CASE_IDS)
def test_data_module_trains_on_the_file_or_skips_it_with_one_line(case: FileCase, tmp_path, caplog):
    """A bad file is dropped (when its header fails) or replaced by the next readable item (when its
    body fails to decode); either way every batch of the epoch is full and holds only good pixels."""
    root, path = dataset_root(tmp_path, case)
    dm = UnpairedDataModule(str(root), resolution=32, edge_preset=load_preset("default"), batch_size=3, val_count=1)
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.setup("fit")
        batches = list(dm.train_dataloader())
        next(iter(dm.val_dataloader()))
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    naming = [m for m in messages if display_path(path.name) in m]
    seen = [name for batch in batches for name in batch["a_path"]]

    assert len(dm.train_set) in (3, 4)  # 3 good files, plus the case's file unless its header is refused
    assert [len(b["a_path"]) for b in batches] == ([3] if len(dm.train_set) == 3 else [3, 1])  # whole batches
    for batch in batches:
        assert batch["a"].shape[1:] == (3, 32, 32) and torch.isfinite(batch["a"]).all()
        assert batch["a"].abs().max() <= 1.0
    assert (str(path) in seen) == case.usable
    if case.usable:
        assert naming == [], naming
    else:
        assert naming, messages
        for message in naming:
            assert "\n" not in message and case.reason in message, message


# --- entry point 2: pixel-gan translate --------------------------------------------------------------------
@pytest.mark.parametrize("case", FILE_CASES, ids=CASE_IDS)
def test_translate_cli_converts_the_file_or_fails_it_with_one_line(
    case: FileCase, loaded_once, export_dir, tmp_path, capsys
):
    path, out = case.build(tmp_path), tmp_path / "out"
    code = main(["--checkpoint", str(export_dir), "--input", str(path), "--output", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if case.usable:
        assert code == 0, captured.err
        assert files_under(out) == [f"{path.stem}.png"]
        result = Image.open(out / f"{path.stem}.png")
        assert orientation(result.size) == orientation(load_rgb(path).size)
    elif case.id == "folder-named-png":  # a folder given as input is listed, and it holds no images
        assert code == 2 and "no images found in" in captured.err and display_path(path.name) in captured.err
    else:
        assert code == 1, captured
        [line] = [line for line in captured.err.splitlines() if line.strip()]
        assert line.startswith("failed: ")
        one_line_naming(line, path, case.reason)
        assert files_under(out) == []  # no output and no temporary file


def test_translate_cli_converts_every_good_file_of_a_mixed_folder(loaded_once, export_dir, tmp_path, capsys, caplog):
    """All cases in one folder, in batches of 4: each bad file costs only itself."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    paths = {case.id: case.build(src) for case in FILE_CASES}
    caplog.set_level(logging.WARNING)
    code = main(["--checkpoint", str(export_dir), "--input", str(src), "--output", str(out), "--batch-size", "4"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    usable = [c for c in FILE_CASES if c.usable]
    failing = [c for c in BAD if c.id not in SKIPPED_BY_LISTING]
    assert f"converted {len(usable)}, skipped 0, failed {len(failing)}" in captured.out
    assert files_under(out) == sorted(f"{paths[c.id].stem}.png" for c in usable)
    failed_lines = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == len(failing)
    for case in failing:
        [line] = [line for line in failed_lines if display_path(paths[case.id].name) + ":" in line]
        one_line_naming(line, paths[case.id], case.reason)
    listing = [r.getMessage() for r in caplog.records]
    for case_id in SKIPPED_BY_LISTING:  # not regular files: left out of the folder listing with a warning
        [message] = [m for m in listing if paths[case_id].name in m]
        assert message.startswith("skipping ") and "\n" not in message


# --- entry point 3: the app's conversion function ------------------------------------------------------------
@pytest.mark.parametrize("case", FILE_CASES, ids=CASE_IDS)
def test_app_converts_the_upload_or_refuses_it_with_one_line(case: FileCase, app, tmp_path):
    path = case.build(
        Path(app.upload_dir) / case.id if (Path(app.upload_dir) / case.id).mkdir(parents=True) is None else None
    )
    label = next(iter(app.entries))
    before = files_under(app.sessions_dir)
    if case.usable:
        _, files, status = app.convert(str(path), [label], upscale="1")
        assert status.startswith("Done") and len(files) == 1
        result = Path(files[0])
        assert result.is_file() and result.resolve().is_relative_to(app.sessions_dir)
        assert orientation(Image.open(result).size) == orientation(load_rgb(path).size)
    else:
        with pytest.raises(gr.Error) as info:
            app.convert(str(path), [label], upscale="1")
        one_line_naming(info.value.message, path, case.app_message)
        assert files_under(app.sessions_dir) == before  # nothing written for a refused upload


# --- folders --------------------------------------------------------------------------------------------------
FOLDER_CASES = ["empty", "only-bad-files", "missing", "symlink-loop"]


def make_folder(kind: str, folder: Path) -> Path:
    """A folder of the given kind; returns it (it may not exist, or be a link to itself)."""
    if kind == "missing":
        return folder
    if kind == "symlink-loop":
        folder.symlink_to(folder)
        return folder
    folder.mkdir(parents=True)
    if kind == "only-bad-files":
        for case in BAD[:4]:
            case.build(folder)
    return folder


@pytest.mark.parametrize(
    "kind, message",
    [
        ("empty", "no images (.png, .jpg, .jpeg, .webp, .bmp, .gif) in"),
        ("only-bad-files", "domain A has no usable images in"),
        ("missing", "lacks train_A"),
        ("symlink-loop", "lacks train_A"),
    ],
)
def test_training_stops_on_a_bad_data_folder_with_one_line_before_building_a_model(
    kind, message, tmp_path, cache_dir, monkeypatch
):
    from pixel_gan.config import ConfigError, compose_train_config
    from pixel_gan.training import train

    root = tmp_path / "data"
    for name in ("train_B", "test_A", "test_B"):
        (root / name).mkdir(parents=True)
        good_image(root / name)
    folder = make_folder(kind, root / "train_A")
    monkeypatch.setattr("pixel_gan.training.run.PixelGANModule", None)  # building a model would fail the test
    cfg = compose_train_config(
        "experiment=smoke",
        f"data.root={root}",
        "data.generate_demo=false",
        output_dir=str(tmp_path / "run"),
        cache_dir=cache_dir,
    )
    with pytest.raises(ConfigError) as info:
        train(cfg)
    text = str(info.value)
    assert message in text and "\n" not in text, text
    assert str(folder) in text or "train_A" in text


@pytest.mark.parametrize(
    "kind, code, message",
    [
        ("empty", 2, "error: no images found in"),
        ("only-bad-files", 1, "converted 0, skipped 0, failed 4"),
        ("missing", 2, "error: input not found:"),
        ("symlink-loop", 1, "symlink loop"),
    ],
)
def test_translate_cli_on_a_bad_folder(kind, code, message, loaded_once, export_dir, tmp_path, capsys):
    folder, out = make_folder(kind, tmp_path / "photos"), tmp_path / "out"
    got = main(["--checkpoint", str(export_dir), "--input", str(folder), "--output", str(out)])
    captured = capsys.readouterr()
    assert got == code and message in captured.err + captured.out, captured
    assert "Traceback" not in captured.err
    assert str(folder) in captured.err
    assert files_under(out) == []
