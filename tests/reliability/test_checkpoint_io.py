"""Checkpoint files: written atomically, read without running code, RNG and data position kept."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from unsafe_payloads import evil_checkpoint

from pixel_gan.config import ConfigError
from pixel_gan.training.checkpointing import (
    SafeCheckpointIO,
    UnsafeCheckpointError,
    check_checkpoint_file,
    collect_rng_states,
    set_rng_states,
)


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


# --- atomic writes -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "failure", [OSError("No space left on device"), KeyboardInterrupt()], ids=["disk-full", "interrupted"]
)
def test_a_failed_save_keeps_the_previous_checkpoint_and_no_temporary(tmp_path, monkeypatch, failure):
    io, path = SafeCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, path)
    before = path.read_bytes()

    def write_half_then_fail(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise failure

    monkeypatch.setattr(torch, "save", write_half_then_fail)
    with pytest.raises(type(failure)):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(3)}, path)
    assert path.read_bytes() == before
    assert io.load_checkpoint(path)["global_step"] == 1
    assert temporaries(tmp_path) == []


def test_a_save_replaces_the_file_whole_and_clears_leftovers_of_a_killed_save(tmp_path):
    io, path = SafeCheckpointIO(), tmp_path / "sub" / "last.ckpt"
    io.save_checkpoint({"global_step": 1}, path)
    leftover = path.parent / ".last.ckpt.k1ll3d.tmp"  # what SIGKILL during a save leaves
    leftover.write_bytes(b"partial")
    io.save_checkpoint({"global_step": 2}, path)
    assert io.load_checkpoint(path)["global_step"] == 2
    assert temporaries(path.parent) == []
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# --- loading refuses code --------------------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True], ids=["torch-zip", "plain-pickle"])
def test_a_checkpoint_carrying_code_is_refused_and_its_payload_never_runs(tmp_path, legacy):
    path, marker = evil_checkpoint(tmp_path, legacy)
    with pytest.raises(UnsafeCheckpointError, match="refusing to load") as info:
        check_checkpoint_file(path)
    assert isinstance(info.value, ConfigError)  # the CLI prints it as one line and exits 2
    with pytest.raises(UnsafeCheckpointError):
        SafeCheckpointIO().load_checkpoint(path, weights_only=False)  # the override is ignored
    assert not marker.exists()
    if not legacy:
        assert "builtins.exec" in str(info.value)


def test_resolve_ckpt_path_refuses_an_unsafe_or_truncated_file_before_any_model_is_built(tmp_path):
    from omegaconf import OmegaConf

    from pixel_gan.training import resolve_ckpt_path

    path, marker = evil_checkpoint(tmp_path)
    cfg = OmegaConf.create(
        {"ckpt_path": str(path), "resume": False, "task_name": "t", "paths": {"log_dir": str(tmp_path)}}
    )
    with pytest.raises(ConfigError, match="refusing"):
        resolve_ckpt_path(cfg, tmp_path)
    assert not marker.exists()

    good = tmp_path / "good.ckpt"
    SafeCheckpointIO().save_checkpoint({"global_step": 1, "w": torch.ones(1000)}, good)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cfg.ckpt_path = str(truncated)
    with pytest.raises(ConfigError, match="truncated, corrupt"):
        resolve_ckpt_path(cfg, tmp_path)
    cfg.ckpt_path = str(tmp_path / "missing.ckpt")
    with pytest.raises(ConfigError, match="is not a file"):
        resolve_ckpt_path(cfg, tmp_path)


# --- RNG states --------------------------------------------------------------------------------------
def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's state
    path = tmp_path / "rng.ckpt"
    SafeCheckpointIO().save_checkpoint({"rng": collect_rng_states()}, path)
    expected = (torch.rand(4), np.random.standard_normal(3), random.random())
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    set_rng_states(SafeCheckpointIO().load_checkpoint(path)["rng"])
    got = (torch.rand(4), np.random.standard_normal(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


# --- data position -------------------------------------------------------------------------------------
class CountingDataset(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n, self.loaded, self.epoch = n, [], 0

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> torch.Tensor:
        self.loaded.append(index)
        return torch.tensor([self.epoch, index])


def test_the_train_loader_resumes_mid_epoch_without_loading_the_skipped_items():
    from pixel_gan.data.resumable import ResumableDataLoader
    from pixel_gan.data.sampler import EpochSampler

    def loader(dataset):
        return ResumableDataLoader(dataset, sampler=EpochSampler(dataset, seed=5), batch_size=2)

    first = loader(CountingDataset(7))
    first.sampler.set_epoch(1)
    epoch_1 = list(first)
    it = iter(first)
    next(it), next(it)
    state = first.state_dict()
    assert state == {"epoch": 1, "batches": 2}

    dataset = CountingDataset(7)
    second = loader(dataset)
    second.load_state_dict(state)
    rest = list(second)
    assert [b.tolist() for b in rest] == [b.tolist() for b in epoch_1[2:]]
    assert len(dataset.loaded) == 3  # only the items of the remaining batches were read
    assert torch.equal(torch.cat(list(second)), torch.cat(epoch_1))  # the next pass is whole again

    finished = loader(CountingDataset(7))
    finished.load_state_dict({"epoch": 1, "batches": len(first)})  # saved at the end of epoch 1
    assert finished.sampler.epoch == 2 and len(list(finished)) == len(first)


def test_iterating_the_loaders_draws_nothing_from_the_global_rng():
    from pixel_gan.data.resumable import ResumableDataLoader
    from pixel_gan.data.sampler import EpochSampler

    dataset = CountingDataset(4)
    loader = ResumableDataLoader(dataset, sampler=EpochSampler(dataset, seed=0), batch_size=2)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    iter(loader).__next__()
    assert torch.equal(torch.rand(1), expected)
