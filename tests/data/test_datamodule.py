from dataclasses import replace
from pathlib import Path

import lightning as L
import pytest
import torch

from pixel_gan.data.datamodule import UnpairedDataModule
from pixel_gan.data.demo import generate_demo_dataset
from pixel_gan.data.edges import load_preset

R = 32


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_dataset(tmp_path_factory.mktemp("demo"), n_train=6, n_test=4, size=64)


def test_train_batch_shapes_and_range(demo_root: Path) -> None:
    dm = UnpairedDataModule(str(demo_root), resolution=R, edge_preset=load_preset("medium"), batch_size=4)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert [len(b["a_path"]) for b in batches] == [4, 2]  # 6 items, drop_last=False
    batch = batches[0]
    for key in ("a", "b"):
        assert batch[key].shape == (4, 3, R, R)
        assert batch[key].min() >= -1 and batch[key].max() <= 1
    assert sorted(p for b in batches for p in b["a_path"]) == [str(p) for p in dm.train_set.files_a]


def test_prompts_come_from_the_txt_files(demo_root: Path, tmp_path: Path) -> None:
    assert UnpairedDataModule(str(demo_root), R).prompts == (
        "a photo of a landscape",
        "pixel art of a landscape",
    )
    assert UnpairedDataModule(str(tmp_path), R, prompt_a="x", prompt_b="y").prompts == ("x", "y")
    (tmp_path / "fixed_prompt_b.txt").write_text("  16-bit sprite \n")
    assert UnpairedDataModule(str(tmp_path), R, prompt_a="x").prompts == ("x", "16-bit sprite")


def test_validation_set_is_fixed(demo_root: Path) -> None:
    dm = UnpairedDataModule(str(demo_root), resolution=R, val_count=3, batch_size=2)
    dm.setup("fit")
    first, second = list(dm.val_dataloader()), list(dm.val_dataloader())
    assert sum(len(b["a_path"]) for b in first) == 3
    assert [p for b in first for p in b["a_path"]] == [str(demo_root / "test_A" / f"{i:04d}.png") for i in range(3)]
    for one, two in zip(first, second, strict=True):
        torch.testing.assert_close(one["a"], two["a"])
        torch.testing.assert_close(one["b"], two["b"])


def test_edge_preset_config_and_describe(demo_root: Path) -> None:
    dm = UnpairedDataModule(str(demo_root), resolution=R, edge_preset=replace(load_preset("low"), min_area=50))
    assert (dm.edge_preset.low_threshold, dm.edge_preset.min_area, dm.edge_preset.mode) == (
        150,
        50,
        "overlay",
    )
    dm.setup()
    line = dm.describe()
    assert "\n" not in line
    for part in ("train A/B 6/6", "val 3", "resolution 32", "low"):
        assert part in line


def test_generate_demo_fills_an_empty_root(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    dm = UnpairedDataModule(str(root), resolution=R, generate_demo=True, cache_dir=str(tmp_path))
    dm.prepare_data()
    assert len(list((root / "train_B").glob("*.png"))) == 48
    dm.setup()
    assert dm.prompts[1] == "pixel art of a landscape"


def test_missing_data_gives_a_clear_error(tmp_path: Path) -> None:
    dm = UnpairedDataModule(str(tmp_path), resolution=R)
    with pytest.raises(FileNotFoundError, match="train_A"):
        dm.setup()
    for folder in ("train_A", "train_B", "test_A", "test_B"):
        (tmp_path / folder).mkdir()
    with pytest.raises(ValueError, match="no images"):
        dm.setup()
    with pytest.raises(ValueError, match="multiple of 8"):
        UnpairedDataModule(str(tmp_path), resolution=30)


class _Recorder(L.LightningModule):
    """Records which B files each training epoch saw."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: dict[int, list[str]] = {}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        self.seen.setdefault(self.current_epoch, []).extend(batch["b_path"])
        return (self.weight * batch["a"].mean()).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_trainer_epochs_reach_the_dataset(demo_root: Path) -> None:
    dm = UnpairedDataModule(str(demo_root), resolution=R, batch_size=3)
    model = _Recorder()
    trainer = L.Trainer(
        max_epochs=3,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=dm)
    dataset = dm.train_set
    for epoch in range(3):
        sampler = dm.train_dataloader().sampler
        sampler.set_epoch(epoch)
        expected = [str(dataset.files_b[dataset.b_index(i)]) for i in sampler]
        assert model.seen[epoch] == expected
    assert model.seen[0] != model.seen[1]


def test_set_epoch_reaches_persistent_workers(demo_root: Path) -> None:
    dm = UnpairedDataModule(str(demo_root), resolution=R, batch_size=2, num_workers=2)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert loader.persistent_workers and not loader.pin_memory
    dataset = dm.train_set
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        seen = [p for batch in loader for p in batch["b_path"]]
        assert seen == [str(dataset.files_b[dataset.b_index(i)]) for i in loader.sampler]


def test_validation_batches_carry_the_paired_ground_truth_and_training_never_does(demo_root: Path) -> None:
    import json

    import numpy as np
    from PIL import Image

    from pixel_gan.data.demo import PALETTE

    dm = UnpairedDataModule(str(demo_root), resolution=R, val_count=2, batch_size=2)
    dm.setup("fit")
    (batch,) = list(dm.val_dataloader())
    cells = json.loads((demo_root / "test_A_gt" / "ground_truth.json").read_text())["cells"]
    assert batch["gt"].shape == (2, 3, R, R)
    assert batch["gt_cell"].tolist() == [cells[f"{i:04d}.png"] * R // 64 for i in range(2)]  # 64 px data at 32 px
    assert batch["gt_palette"][0].tolist() == PALETTE.tolist()
    for i in range(2):  # NEAREST at half size: every second pixel of the stored target, no new colours
        stored = np.asarray(Image.open(demo_root / "test_A_gt" / f"{i:04d}.png").convert("RGB"))
        got = ((batch["gt"][i].permute(1, 2, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
        np.testing.assert_array_equal(got, stored[1::2, 1::2])
    train_item = dm.train_set[0]
    assert not {"gt", "gt_cell", "gt_palette"} & set(train_item)
    assert all("test_A_gt" not in str(p) for p in dm.train_set.files_a + dm.train_set.files_b)


def test_a_missing_ground_truth_image_stops_setup_with_its_name(demo_root: Path, tmp_path: Path) -> None:
    import shutil

    from pixel_gan.data.ground_truth import GroundTruthError

    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    (root / "test_A_gt" / "0001.png").unlink()
    dm = UnpairedDataModule(str(root), resolution=R, val_count=3)
    with pytest.raises(GroundTruthError, match="no ground truth for 0001.png"):
        dm.setup("fit")
