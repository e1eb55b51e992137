"""``python train.py`` with a config that cannot work: a clear message naming the key, no traceback,
and nothing heavy started (no model is built).

The cases run through ``train.py``'s own entry point (``run()``: argv → Hydra → ``train``) in this
process, so one import serves them all; the exit code is the one the command would return.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest
import torch
from unsafe_payloads import evil_checkpoint

ROOT = Path(__file__).resolve().parents[2]
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")

# (id, overrides, exit code, a fragment of the first stderr line). ``{data}``: a good dataset,
# ``{tmp}``: this test's folder, ``{evil}``: a checkpoint that carries code.
CASES = [
    ("resolution-not-multiple-of-8", ["resolution.size=60"], 2,
     "error: resolution.size must be a multiple of 8 (the VAE downsamples by 8), got 60"),
    ("resolution-wrong-type", ["resolution.size=abc"], 2, "error: resolution.size must be an integer, got 'abc' (str)"),
    ("batch-size-wrong-type", ["data.batch_size=two"], 2, "error: data.batch_size must be an integer, got 'two'"),
    ("batch-size-float", ["data.batch_size=1.5"], 2, "error: data.batch_size must be an integer, got 1.5"),
    ("lr-wrong-type", ["optim.lr=fast"], 2, "error: optim.lr must be a number, got 'fast'"),
    ("negative-workers", ["data.num_workers=-1"], 2, "error: data.num_workers must be >= 0, got -1"),
    ("unknown-loss-name", ["loss.name=fancy"], 2, "error: loss.name must be one of separate, combined, palette"),
    ("unknown-experiment", ["experiment=no_such_experiment"], 1,
     "In 'train': Could not find 'experiment/no_such_experiment'"),
    ("unknown-resolution-choice", ["resolution=100"], 1, "In 'train': Could not find 'resolution/100'"),
    ("misspelled-key", ["trainer.max_stepz=3"], 1, "Could not override 'trainer.max_stepz'."),
    ("pretrained-missing-folder", ["model=sd_turbo", "trainer=cpu", "model.pretrained={tmp}/sd-turbo"], 2,
     "error: Pretrained weights not found for `model.pretrained` = '{tmp}/sd-turbo'."),
    ("pretrained-incomplete-folder", ["model=sd_turbo", "trainer=cpu", "model.pretrained={tmp}"], 2,
     "error: Pretrained weights not found for `model.pretrained` = '{tmp}'."),
    ("pretrained-null", ["model=sd_turbo", "trainer=cpu", "model.pretrained=null"], 2,
     "error: model.pretrained must name a hub id (stabilityai/sd-turbo) or a local directory"),
    pytest.param("gpu-accelerator-without-gpu", ["trainer.accelerator=gpu"], 2,
                 "error: trainer.accelerator=gpu but no CUDA GPU is available here; use trainer=cpu", marks=NO_GPU),
    pytest.param("gpu-trainer-without-gpu", ["trainer=gpu"], 2,
                 "error: trainer.accelerator=gpu but no CUDA GPU is available here", marks=NO_GPU),
    ("fp16-precision", ["trainer.precision=16-mixed"], 2, "error: trainer.precision=16-mixed is not supported"),
    ("missing-data-root", ["resolution=64", "data.root={tmp}/nowhere"], 2,
     "error: data.root='{tmp}/nowhere' does not exist"),
    ("long-data-root-with-brackets", ["data.root='{tmp}/" + "a-rather-long-folder-name-" * 3 + "/photos [2024]'"], 2,
     "error: data.root='{tmp}/" + "a-rather-long-folder-name-" * 3 + "/photos [2024]' does not exist; expected a "
     "folder with train_A, train_B, test_A, test_B"),  # one line however long, brackets kept as typed
    ("data-root-without-folders", ["data.root={tmp}"], 2, "error: data.root='{tmp}' lacks train_A, train_B"),
    ("ckpt-path-missing", ["ckpt_path={tmp}/missing.ckpt"], 2, "error: ckpt_path='{tmp}/missing.ckpt' is not a file"),
    ("ckpt-path-carrying-code", ["ckpt_path={evil}"], 2,
     "error: ckpt_path='{evil}' holds pickled objects beyond tensors and plain containers (builtins.exec); refusing"),
    ("ckpt-path-last-without-run", ["ckpt_path=last", "task_name=never_ran"], 2,
     "error: ckpt_path=last but no last.ckpt found in"),
]


def params(case):
    return case if hasattr(case, "values") else pytest.param(*case)


def case_id(case) -> str:
    return (case.values if hasattr(case, "values") else case)[0]


@pytest.fixture(scope="module")
def train_entry():
    """``train.py`` imported; ``run()`` is what the command runs. Its task function counts as ``__main__``
    so Hydra finds conf/ beside the file, as it does for the command."""
    spec = importlib.util.spec_from_file_location("pixel_gan_train_entry", ROOT / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main.__wrapped__.__module__ = "__main__"
    return module


@pytest.fixture
def run_train(train_entry, small_data, cache_dir, tmp_path, monkeypatch, capsys):
    """Run ``python train.py experiment=smoke <good data> *overrides`` here; returns (exit code, stderr).

    Building the model fails the test: every fault must be reported before that.
    """
    from hydra.core.global_hydra import GlobalHydra

    def model_built(*args, **kwargs):
        raise AssertionError("the model was built before the config fault was reported")

    monkeypatch.setattr("pixel_gan.training.PixelGANModule", model_built)
    monkeypatch.setenv("PIXEL_GAN_CACHE", str(cache_dir))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    def run(*overrides: str) -> tuple[int, str]:
        argv = ["train.py", "experiment=smoke", f"data.root={small_data}", "data.generate_demo=false",
                f"hydra.run.dir={tmp_path / 'run'}", f"paths.log_dir={tmp_path / 'outputs'}", *overrides]
        monkeypatch.setattr(sys, "argv", argv)
        capsys.readouterr()
        try:
            with pytest.raises(SystemExit) as info:
                train_entry.run()
        finally:
            GlobalHydra.instance().clear()
            root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        return info.value.code, capsys.readouterr().err

    return run


@pytest.mark.parametrize("case_id_, overrides, code, first_line", [params(c) for c in CASES],
                         ids=[case_id(c) for c in CASES])
def test_a_config_fault_stops_train_py_with_a_clear_message(case_id_, overrides, code, first_line, run_train,
                                                           tmp_path):
    evil, marker = evil_checkpoint(tmp_path / "ckpt")
    fill = {"tmp": tmp_path, "evil": evil}
    got, err = run_train(*(o.format(**fill) for o in overrides))
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == code, err
    assert lines and lines[0].startswith(first_line.format(**fill)), err
    assert "Traceback" not in err and "AssertionError" not in err
    if code == 2 and "Pretrained weights" not in err:  # pixel-gan's own checks: exactly one line
        assert len(lines) == 1, err
    assert not marker.exists()
    assert not (tmp_path / "run" / "checkpoints").exists()

