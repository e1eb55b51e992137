import logging
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixel_gan.data.datasets import FixedValidationSet, UnpairedImageDataset
from pixel_gan.data.edges import NO_EDGES, load_preset
from pixel_gan.data.transforms import build_transform

R = 16


def _write(folder: Path, count: int, start: int = 0, ext: str = ".png") -> list[Path]:
    """``count`` noisy 24x20 images; image k has mean colour about 10 * (start + k)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        rng = np.random.default_rng(start + k)
        array = np.clip(10 * (start + k) + rng.integers(0, 40, size=(20, 24, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{start + k:03d}{ext}"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths


def _corrupt(path: Path) -> Path:
    path.write_bytes(b"this is not an image")
    return path


def _dataset(files_a: list[Path], files_b: list[Path], seed: int = 0, **kwargs: object) -> UnpairedImageDataset:
    t = build_transform(R, train=True)
    return UnpairedImageDataset(files_a, files_b, t, t, edge_preset=NO_EDGES, seed=seed, **kwargs)


def test_items_are_tensors_in_range_with_paths(tmp_path: Path) -> None:
    files_a, files_b = _write(tmp_path / "A", 3), _write(tmp_path / "B", 5, start=10, ext=".jpg")
    dataset = _dataset(files_a, files_b)
    assert len(dataset) == 5  # max(len(A), len(B))
    item = dataset[4]
    for key in ("a", "b"):
        assert item[key].shape == (3, R, R) and item[key].dtype == torch.float32
        assert item[key].min() >= -1.0 and item[key].max() <= 1.0
    assert item["a_path"] == str(files_a[4 % 3])
    assert item["b_path"] in {str(p) for p in files_b}
    assert len(_dataset(files_a, files_b, length=7)) == 7


def test_unreadable_files_are_skipped_with_one_warning(tmp_path: Path) -> None:
    files_a = _write(tmp_path / "A", 3)
    files_b = _write(tmp_path / "B", 2)
    bad_a, bad_b = _corrupt(files_a[1]), _corrupt(files_b[0])
    with pytest.warns(UserWarning) as record:
        dataset = _dataset(files_a, files_b)
    assert len(record) == 1
    message = str(record[0].message)
    assert str(bad_a) in message and str(bad_b) in message
    assert dataset.files_a == [files_a[0], files_a[2]] and dataset.files_b == [files_b[1]]


def test_no_warning_when_all_files_are_readable(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _dataset(_write(tmp_path / "A", 2), _write(tmp_path / "B", 2))


def test_domain_without_readable_files_names_its_folder(tmp_path: Path) -> None:
    files_b = [_corrupt(p) for p in _write(tmp_path / "train_B", 2)]
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="train_B"):
        _dataset(_write(tmp_path / "train_A", 2), files_b)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="domain A"):
        _dataset([], files_b)


def test_b_draw_is_fixed_by_seed_epoch_and_index(tmp_path: Path) -> None:
    files_a, files_b = _write(tmp_path / "A", 16), _write(tmp_path / "B", 16, start=20)
    first, second, other_seed = (
        _dataset(files_a, files_b),
        _dataset(files_a, files_b),
        _dataset(files_a, files_b, 1),
    )

    def draws(dataset: UnpairedImageDataset, epoch: int) -> list[int]:
        dataset.set_epoch(epoch)
        return [dataset.b_index(i) for i in range(len(dataset))]

    assert draws(first, 0) == draws(second, 0)
    assert draws(first, 3) == draws(second, 3)
    assert draws(first, 0) != draws(first, 1)
    assert draws(first, 0) != draws(other_seed, 0)
    assert len(set(draws(first, 0))) > 4  # draws spread over B, not one fixed image
    first.set_epoch(2)
    assert first[5]["b_path"] == str(files_b[first.b_index(5)])


def test_items_are_reproducible_including_augmentation(tmp_path: Path) -> None:
    dataset = _dataset(_write(tmp_path / "A", 4), _write(tmp_path / "B", 4, start=8))
    dataset.set_epoch(1)
    torch.manual_seed(0)
    item = dataset[2]
    torch.manual_seed(123)  # the global RNG state must not matter
    again = dataset[2]
    torch.testing.assert_close(item["a"], again["a"])
    torch.testing.assert_close(item["b"], again["b"])
    flips = set()
    for epoch in range(12):
        dataset.set_epoch(epoch)
        a = dataset[0]["a"]
        reference = torch.from_numpy(
            np.asarray(Image.open(dataset.files_a[0]).convert("RGB").resize((R, R), Image.Resampling.LANCZOS)).copy()
        )
        reference = reference.permute(2, 0, 1).float() / 127.5 - 1
        flips.add(bool(torch.equal(a, reference.flip(-1))) and not torch.equal(a, reference))
    assert flips == {True, False}  # the A flip varies with the epoch


def test_edge_preset_is_applied_to_a_only(tmp_path: Path) -> None:
    t = build_transform(R, train=False)
    dataset = UnpairedImageDataset(
        _write(tmp_path / "A", 2),
        _write(tmp_path / "B", 2),
        t,
        t,
        edge_preset=replace(load_preset("default"), mode="replace"),
    )
    item = dataset[0]
    assert set(item["a"].unique().tolist()) <= {-1.0, 1.0}  # a binary edge map
    assert len(item["b"].unique()) > 2  # B keeps its colours


def test_file_going_bad_later_falls_back_to_next_index(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files_a = _write(tmp_path / "A", 3)
    dataset = _dataset(files_a, _write(tmp_path / "B", 3, start=5))
    _corrupt(files_a[0])
    with caplog.at_level(logging.WARNING):
        assert dataset[0]["a_path"] == str(files_a[1])
        assert dataset[0]["a_path"] == str(files_a[1])
    assert sum(str(files_a[0]) in r.getMessage() for r in caplog.records) == 1


def test_fixed_validation_set_takes_the_first_images_in_order(tmp_path: Path) -> None:
    files_a, files_b = _write(tmp_path / "A", 5), _write(tmp_path / "B", 2, start=10)
    val = FixedValidationSet(files_a, files_b, build_transform(R, train=False), NO_EDGES, count=3)
    assert len(val) == 3
    assert [val[i]["a_path"] for i in range(3)] == [str(p) for p in files_a[:3]]
    assert [val[i]["b_path"] for i in range(3)] == [str(files_b[0]), str(files_b[1]), str(files_b[0])]
    torch.manual_seed(5)
    first = val[1]["a"]
    torch.manual_seed(6)
    torch.testing.assert_close(first, val[1]["a"])
    assert first.shape == (3, R, R)
    assert len(FixedValidationSet(files_a[:1], files_b[:1], build_transform(R, False), NO_EDGES, count=3)) == 1
