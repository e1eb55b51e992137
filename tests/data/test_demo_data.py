from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixel_gan.data.demo import PALETTE, generate_demo_dataset, main

SIZE = 128
CELL = SIZE // 32  # the finest pixel-art grid is 32x32


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_dataset(tmp_path_factory.mktemp("demo"), n_train=5, n_test=2, size=SIZE, seed=3)


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_layout_counts_and_prompts(demo_root: Path) -> None:
    counts = {
        folder: len(list((demo_root / folder).glob("*.png"))) for folder in ("train_A", "train_B", "test_A", "test_B")
    }
    assert counts == {"train_A": 5, "train_B": 5, "test_A": 2, "test_B": 2}
    assert sorted(p.name for p in (demo_root / "test_A_gt").iterdir()) == ["0000.png", "0001.png", "ground_truth.json"]
    assert (demo_root / "fixed_prompt_a.txt").read_text().strip() == "a photo of a landscape"
    assert (demo_root / "fixed_prompt_b.txt").read_text().strip() == "pixel art of a landscape"
    assert Image.open(demo_root / "train_A" / "0000.png").size == (SIZE, SIZE)


def test_pixel_art_is_block_constant_with_at_most_16_palette_colours(demo_root: Path) -> None:
    palette = {tuple(c) for c in PALETTE.tolist()}
    for path in sorted((demo_root / "train_B").glob("*.png")) + sorted((demo_root / "test_B").glob("*.png")):
        image = _load(path)
        native = image[::CELL, ::CELL]
        np.testing.assert_array_equal(np.repeat(np.repeat(native, CELL, axis=0), CELL, axis=1), image)
        colours = {tuple(c) for c in native.reshape(-1, 3).tolist()}
        assert 3 <= len(colours) <= 16 and colours <= palette


def test_photos_have_many_colours(demo_root: Path) -> None:
    for path in sorted((demo_root / "train_A").glob("*.png")):
        assert len(np.unique(_load(path).reshape(-1, 3), axis=0)) > 1000


def test_generation_is_deterministic_and_idempotent(demo_root: Path, tmp_path: Path) -> None:
    again = generate_demo_dataset(tmp_path / "again", n_train=5, n_test=2, size=SIZE, seed=3)
    other = generate_demo_dataset(tmp_path / "other", n_train=5, n_test=2, size=SIZE, seed=4)
    name = Path("train_B") / "0001.png"
    assert (again / name).read_bytes() == (demo_root / name).read_bytes()
    assert (other / name).read_bytes() != (demo_root / name).read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in again.rglob("*.png")}
    generate_demo_dataset(again, n_train=5, n_test=2, size=SIZE, seed=3)
    assert {p: p.stat().st_mtime_ns for p in again.rglob("*.png")} == stamps
    generate_demo_dataset(again, n_train=2, n_test=1, size=SIZE, seed=3)  # other counts: rewritten
    assert len(list((again / "train_A").glob("*.png"))) == 2


def test_bad_arguments_and_cli(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        generate_demo_dataset(tmp_path, size=48)
    with pytest.raises(ValueError, match="n_train"):
        generate_demo_dataset(tmp_path, n_train=0)
    main([str(tmp_path / "cli"), "--n-train", "1", "--n-test", "1", "--size", "32"])
    assert _load(tmp_path / "cli" / "test_B" / "0000.png").shape == (32, 32, 3)


# Pixel hashes of images written before the paired test split existed (seed 3, 64 px, 2 + 2 per domain):
# adding test_A_gt/ must not change a single existing image.
BEFORE_PAIRED_SPLIT = {
    "test_A/0000.png": "444299d05b1ccd1afd14cbfa2abe5bb19f825b31b986b08d4809133e211fa7eb",
    "test_A/0001.png": "6661e9b4c68c5394d9730b4a5ec5a98c706d855d80776b4f1f69d4eb5b6f5407",
    "test_B/0001.png": "ec440799e9a314a9913f8adca185bb939299a2bcf39be0955afcdd26d685e611",
    "train_A/0000.png": "c72dfa87ab54a5e646a86706dfa5c9995c5892963d7df59171b6202bd28e99a1",
    "train_B/0001.png": "e8249e1e68fbacd45bb3c4c9e9232d1062eaf9e4b8ba994333b11001e28e2ec0",
}


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_dataset(tmp_path_factory.mktemp("paired"), n_train=2, n_test=2, size=64, seed=3)


def test_existing_images_are_unchanged_by_the_paired_split(small_root: Path) -> None:
    import hashlib

    for name, digest in BEFORE_PAIRED_SPLIT.items():
        assert hashlib.sha256(_load(small_root / name).tobytes()).hexdigest() == digest, name


def test_ground_truth_is_the_pixel_art_of_the_test_photo_scene(small_root: Path) -> None:
    from pixel_gan.data.demo import render_photo, render_pixel_art, sample_scene
    from pixel_gan.data.ground_truth import load_ground_truth

    info = load_ground_truth(small_root)
    assert info is not None and info.palette.tolist() == PALETTE.tolist()
    assert sorted(info.cells) == ["0000.png", "0001.png"]
    for index, name in enumerate(sorted(info.cells)):
        rng = np.random.default_rng([3, 0, 1, index])  # (seed, domain A, split test, index): the photo's stream
        scene = sample_scene(rng)
        np.testing.assert_array_equal(render_photo(scene, 64, rng), _load(small_root / "test_A" / name))
        cell = info.cells[name]
        assert cell in (64 // 16, 64 // 32)
        gt = _load(small_root / "test_A_gt" / name)
        assert gt.shape == (64, 64, 3)
        np.testing.assert_array_equal(render_pixel_art(scene, 64 // cell, 64), gt)


def test_an_old_demo_folder_gets_the_ground_truth_added(small_root: Path, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(small_root, old)
    shutil.rmtree(old / "test_A_gt")
    stamps = {p: p.stat().st_mtime_ns for p in old.rglob("*.png")}
    generate_demo_dataset(old, n_train=2, n_test=2, size=64, seed=3)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing else rewritten
    for name in ("0000.png", "0001.png", "ground_truth.json"):
        assert (old / "test_A_gt" / name).read_bytes() == (small_root / "test_A_gt" / name).read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no ground_truth.json"),
        ("{not json", "ground_truth.json is not valid JSON"),
        ('{"cells": {}}', "must be an object with 'palette' and 'cells'"),
        ('{"palette": [[1, 2]], "cells": {}}', "'palette' must be"),
        ('{"palette": [[1, 2, 3]], "cells": {"0000.png": 0}}', "'cells' must map"),
    ],
)
def test_a_broken_ground_truth_file_is_one_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    from pixel_gan.data.ground_truth import GroundTruthError, load_ground_truth

    assert load_ground_truth(tmp_path) is None  # no paired split: nothing to measure, not an error
    (tmp_path / "test_A_gt").mkdir()
    if content is not None:
        (tmp_path / "test_A_gt" / "ground_truth.json").write_text(content)
    with pytest.raises(GroundTruthError, match=message):
        load_ground_truth(tmp_path)


def test_a_photo_without_its_ground_truth_image_is_named(tmp_path: Path) -> None:
    from pixel_gan.data.ground_truth import GroundTruthError, load_ground_truth, write_ground_truth_info

    write_ground_truth_info(tmp_path / "test_A_gt", [(1, 2, 3)], {"0000.png": 4})
    with pytest.raises(GroundTruthError, match="no ground truth for 0000.png"):
        load_ground_truth(tmp_path).image_for(tmp_path / "test_A" / "0000.png")
