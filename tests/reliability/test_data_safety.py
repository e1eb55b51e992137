"""pixel-gan never touches a user's files: demo data only in its own cache folder, outputs never over
inputs, nothing half-written, nothing that hangs. Each test hashes the user's files before and after."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from broken_files import png_header_only, tree_hashes, user_dataset
from PIL import Image

from pixel_gan.cli.translate import main as translate
from pixel_gan.data.datamodule import UnpairedDataModule
from pixel_gan.data.demo_cache import MARKER, DemoDataError, ensure_demo_dataset, owns_demo_root
from pixel_gan.safe_io import OutputIsInputError, write_file

SMALL = {"n_train": 2, "n_test": 1, "size": 32}


# --- demo data ----------------------------------------------------------------------------------
def test_demo_data_is_never_written_into_a_users_dataset(tmp_path):
    mine = user_dataset(tmp_path / "my-dataset", empty="test_B")
    before = tree_hashes(mine)
    dm = UnpairedDataModule(str(mine), resolution=32, generate_demo=True, cache_dir=str(tmp_path / "cache"))
    dm.prepare_data()
    with pytest.raises(ValueError, match="no images"):
        dm.setup()
    with pytest.raises(DemoDataError, match="refusing to write demo data"):
        ensure_demo_dataset(mine, tmp_path / "cache", **SMALL)
    assert tree_hashes(mine) == before


def test_a_complete_user_dataset_is_read_not_written(tmp_path):
    mine = user_dataset(tmp_path / "my-dataset")
    before = tree_hashes(mine)
    dm = UnpairedDataModule(str(mine), resolution=32, generate_demo=True, cache_dir=str(tmp_path / "cache"))
    dm.prepare_data()
    dm.setup()
    assert dm.prompts == ("my holiday photos", "my sprites")
    assert len(dm.train_set.files_a) == 2
    assert tree_hashes(mine) == before


def test_a_folder_in_the_cache_without_the_marker_is_not_pixel_gans(tmp_path):
    cache = tmp_path / "cache"
    theirs = user_dataset(cache / "my-data-in-the-cache", empty="train_A")
    before = tree_hashes(theirs)
    assert not owns_demo_root(theirs, cache)
    assert not owns_demo_root(tmp_path / "elsewhere", cache)  # not in the cache, even if absent
    assert not owns_demo_root(cache, cache)  # the cache itself holds the backbone too
    with pytest.raises(DemoDataError):
        ensure_demo_dataset(theirs, cache, **SMALL)
    assert tree_hashes(theirs) == before


def test_demo_data_is_generated_once_atomically_even_by_concurrent_processes(tmp_path):
    cache, root = tmp_path / "cache", tmp_path / "cache" / "demo-data"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            ensure_demo_dataset(root, cache, seed=1, **SMALL)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in cache.iterdir()) == ["demo-data"]  # no temporary folder left beside it
    assert (root / MARKER).is_file()
    assert {d: len(list((root / d).glob("*.png"))) for d in ("train_A", "train_B", "test_A", "test_B")} == {
        "train_A": 2,
        "train_B": 2,
        "test_A": 1,
        "test_B": 1,
    }
    before = tree_hashes(root)
    ensure_demo_dataset(root, cache, seed=1, **SMALL)  # present: nothing is rewritten
    assert tree_hashes(root) == before
    ensure_demo_dataset(root, cache, seed=1, n_train=3, n_test=1, size=32)  # other counts: replaced whole
    assert len(list((root / "train_A").glob("*.png"))) == 3
    assert sorted(p.name for p in cache.iterdir()) == ["demo-data"]


# --- translate: inputs are never outputs, nothing hangs, nothing half-written -------------------------
def photos(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
    return folder


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory, tiny_export) -> Path:
    run = tmp_path_factory.mktemp("run")
    tiny_export(run)
    return run


def one_line_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def translate_folder(run: Path, folder: Path, out: Path, *flags: str) -> int:
    """``pixel-gan translate --checkpoint run --input folder --output out *flags`` -> its exit code."""
    return translate(["--checkpoint", str(run), "--input", str(folder), "--output", str(out), *flags])


def test_output_folder_equal_to_the_input_folder_is_refused_whatever_the_flags(translator_run, tmp_path, capsys):
    folder = photos(tmp_path / "D")
    before = tree_hashes(folder)
    for flags in ([], ["--overwrite"], ["--overwrite", "--upscale", "2"]):
        code = translate_folder(translator_run, folder, folder, *flags)
        assert code == 2
        assert "would overwrite the input" in one_line_error(capsys)
    assert tree_hashes(folder) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_an_output_that_is_a_link_to_an_input_is_refused(translator_run, tmp_path, capsys, link):
    source = photos(tmp_path / "in", n=1) / "photo0.png"
    out = tmp_path / "out"
    out.mkdir()
    (os.symlink if link == "symlink" else os.link)(source, out / "photo0.png")
    other = photos(tmp_path / "elsewhere", n=1) / "photo0.png"  # an input of the same name in another folder
    before = source.read_bytes()
    code = translate(
        ["--checkpoint", str(translator_run), "--input", str(other), str(source), "--output", str(out), "--overwrite"]
    )
    assert code == 2 and "would overwrite the input" in one_line_error(capsys)
    assert source.read_bytes() == before


def test_the_safe_writer_refuses_a_target_that_is_an_input(tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(b"precious")
    os.link(source, tmp_path / "alias.png")
    for target in (source, tmp_path / "alias.png"):
        with pytest.raises(OutputIsInputError):
            write_file(target, lambda handle: handle.write(b"pixel art"), inputs=[source])
    assert source.read_bytes() == b"precious"


@pytest.mark.timeout(60)
def test_a_fifo_input_is_refused_without_opening_it(translator_run, tmp_path, capsys):
    folder = photos(tmp_path / "in", n=1)
    fifo = folder / "f.png"
    os.mkfifo(fifo)
    code = translate(
        [
            "--checkpoint",
            str(translator_run),
            "--input",
            str(fifo),
            str(folder / "photo0.png"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "f.png: not a regular file (a FIFO)" in err and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photo0.png"]


def test_an_impossible_upscale_is_refused_before_anything_is_written(translator_run, tmp_path, capsys):
    folder = photos(tmp_path / "in", n=1)
    code = translate_folder(translator_run, folder, tmp_path / "out", "--upscale", "100000")
    assert code == 2 and "--upscale 100000" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_a_failed_image_leaves_none_of_its_outputs_and_is_retried(translator_run, tmp_path, capsys):
    folder, out = photos(tmp_path / "in", n=1), tmp_path / "out"
    args = ["--checkpoint", str(translator_run), "--input", str(folder), "--output", str(out), "--upscale", "2000"]
    for _ in range(2):  # the rerun does not skip the file: nothing of it was left behind
        assert translate(args) == 1
        err = capsys.readouterr().err
        assert "photo0.png: ValueError: upscale x2000 would make a" in err and "Traceback" not in err
        assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--output", "/proc/pixel-gan-out"], "--output /proc/pixel-gan-out: cannot create the folder"),
        (["--palette", "{tmp}/huge.png"], "exceeds the limit of"),
    ],
)
def test_bad_output_and_palette_are_one_line_errors(translator_run, tmp_path, capsys, args, message):
    png_header_only(tmp_path / "huge.png", 20000, 20000)
    folder = photos(tmp_path / "in", n=1)
    base = {"--checkpoint": str(translator_run), "--input": str(folder), "--output": str(tmp_path / "out")}
    base.update({k: v.format(tmp=tmp_path) for k, v in zip(args[::2], args[1::2], strict=True)})
    before = tree_hashes(folder)
    assert translate([item for pair in base.items() for item in pair]) == 2
    assert message in one_line_error(capsys)
    assert tree_hashes(folder) == before


def test_outputs_follow_the_umask(translator_run, tmp_path):
    old = os.umask(0o027)
    try:
        folder = photos(tmp_path / "in", n=1)
        assert translate_folder(translator_run, folder, tmp_path / "out", "--upscale", "2") == 0
        write_file(tmp_path / "plain.bin", lambda handle: handle.write(b"x"))
    finally:
        os.umask(old)
    written = [*(tmp_path / "out").iterdir(), tmp_path / "plain.bin"]
    assert len(written) == 3
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(0o640)}
