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
        folder: len(list((demo_root / folder).glob("*.png")))
        for folder in ("train_A", "train_B", "test_A", "test_B")
    }
    assert counts == {"train_A": 5, "train_B": 5, "test_A": 2, "test_B": 2}
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
