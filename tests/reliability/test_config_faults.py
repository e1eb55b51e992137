"""``python train.py`` with a config that cannot work: a clear message naming the key, no traceback,
and nothing heavy started (no model is built).

The cases run through ``train.py``'s own entry point (``run()``: argv → Hydra → ``train``) in this
process, so one import serves them all; the exit code is the one the command would return.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from broken_files import flipped_checkpoint, plain_torch_file, tree_hashes, user_dataset
from unsafe_payloads import evil_checkpoint, marker_for

ROOT = Path(__file__).resolve().parents[2]
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")

# Values out of range or of the wrong kind: (id, overrides, 2, "error: <message>") from config_fault_values.yaml.
VALUE_CASES = [
    (c["id"], c["overrides"], 2, f"error: {c['message']}")
    for c in yaml.safe_load((Path(__file__).with_name("config_fault_values.yaml")).read_text(encoding="utf-8"))
]
# (id, overrides, exit code, a fragment of the first stderr line). ``{tmp}``: this test's folder,
# ``{evil}``: a checkpoint that carries code, ``{plain}``: torch weights without Lightning state,
# ``{flipped}``: a checkpoint with a flipped byte, ``{partial}``: a user dataset whose test_B is empty.
CASES = [
    (
        "resolution-not-multiple-of-8",
        ["resolution.size=60"],
        2,
        "error: resolution.size must be a multiple of 8 (the VAE downsamples by 8), got 60",
    ),
    ("resolution-wrong-type", ["resolution.size=abc"], 2, "error: resolution.size must be an integer, got 'abc' (str)"),
    ("batch-size-wrong-type", ["data.batch_size=two"], 2, "error: data.batch_size must be an integer, got 'two'"),
    ("batch-size-float", ["data.batch_size=1.5"], 2, "error: data.batch_size must be an integer, got 1.5"),
    ("lr-wrong-type", ["optim.lr=fast"], 1, "Error merging override optim.lr=fast"),
    ("negative-workers", ["data.num_workers=-1"], 2, "error: data.num_workers must be >= 0, got -1"),
    (
        "unknown-loss-schedule",
        ["loss.schedule=fancy"],
        2,
        "error: loss.schedule must be one of separate, single, split; got 'fancy'",
    ),
    ("misspelt-loss-key", ["loss.lambda_palete=1"], 1, "Could not override 'loss.lambda_palete'."),
    (
        "unknown-experiment",
        ["experiment=no_such_experiment"],
        1,
        "In 'train': Could not find 'experiment/no_such_experiment'",
    ),
    ("unknown-resolution-choice", ["resolution=100"], 1, "In 'train': Could not find 'resolution/100'"),
    ("misspelled-key", ["trainer.max_stepz=3"], 1, "Could not override 'trainer.max_stepz'."),
    (
        "pretrained-missing-folder",
        ["model=sd_turbo", "trainer=cpu", "model.pretrained={tmp}/sd-turbo"],
        2,
        "error: Pretrained weights not found for `model.pretrained` = '{tmp}/sd-turbo'.",
    ),
    (
        "pretrained-incomplete-folder",
        ["model=sd_turbo", "trainer=cpu", "model.pretrained={tmp}"],
        2,
        "error: Pretrained weights not found for `model.pretrained` = '{tmp}'.",
    ),
    (
        "pretrained-null",
        ["model=sd_turbo", "trainer=cpu", "model.pretrained=null"],
        2,
        "error: model.pretrained must name a hub id (stabilityai/sd-turbo) or a local directory",
    ),
    pytest.param(
        "gpu-accelerator-without-gpu",
        ["trainer.accelerator=gpu"],
        2,
        "error: trainer.accelerator=gpu but no CUDA GPU is available here; use trainer=cpu",
        marks=NO_GPU,
    ),
    pytest.param(
        "gpu-trainer-without-gpu",
        ["trainer=gpu"],
        2,
        "error: trainer.accelerator=gpu but no CUDA GPU is available here",
        marks=NO_GPU,
    ),
    ("fp16-precision", ["trainer.precision=16-mixed"], 2, "error: trainer.precision=16-mixed is not supported"),
    (
        "missing-data-root",
        ["resolution=64", "data.root={tmp}/nowhere"],
        2,
        "error: data.root='{tmp}/nowhere' does not exist",
    ),
    (
        "long-data-root-with-brackets",
        ["data.root='{tmp}/" + "a-rather-long-folder-name-" * 3 + "/photos [2024]'"],
        2,
        "error: data.root='{tmp}/" + "a-rather-long-folder-name-" * 3 + "/photos [2024]' does not exist; expected a "
        "folder with train_A, train_B, test_A, test_B",
    ),  # one line however long, brackets kept as typed
    ("data-root-without-folders", ["data.root={tmp}"], 2, "error: data.root='{tmp}' lacks train_A, train_B"),
    ("ckpt-path-missing", ["ckpt_path={tmp}/missing.ckpt"], 2, "error: ckpt_path='{tmp}/missing.ckpt' is not a file"),
    (
        "ckpt-path-carrying-code",
        ["ckpt_path={evil}"],
        2,
        "error: ckpt_path='{evil}' holds pickled objects beyond tensors and plain containers (builtins.exec); refusing",
    ),
    (
        "ckpt-path-last-without-run",
        ["ckpt_path=last", "task_name=never_ran"],
        2,
        "error: ckpt_path=last but no last.ckpt found in",
    ),
    (
        "ckpt-path-not-lightning",
        ["ckpt_path={plain}"],
        2,
        "error: ckpt_path='{plain}' is not a Lightning training checkpoint (no state_dict, optimizer_states, "
        "global_step, pytorch-lightning_version)",
    ),
    (
        "ckpt-path-flipped-bytes",
        ["ckpt_path={flipped}"],
        2,
        "error: ckpt_path='{flipped}' is corrupt: flipped/data/0 fails its CRC check",
    ),
    *VALUE_CASES,
    (
        "demo-experiment-on-an-incomplete-dataset",
        ["data.generate_demo=true", "data.root={partial}"],
        2,
        "error: data.root={partial}: no images (.png, .jpg, .jpeg, .webp, .bmp, .gif) in {partial}/test_B; a dataset "
        "root must contain",
    ),
    (
        "demo-experiment-on-a-missing-dataset",
        ["data.generate_demo=true", "data.root={tmp}/typo"],
        2,
        "error: data.root='{tmp}/typo' does not exist",
    ),
]
# How the placeholders appear in docs/reliability.md.
SHOWN = {
    "tmp": "<dir>",
    "evil": "<dir>/evil.ckpt",
    "plain": "<dir>/weights.pt",
    "flipped": "<dir>/flipped.ckpt",
    "partial": "<dir>/my-dataset",
}


def placeholders(tmp_path: Path) -> dict[str, Path]:
    """The files the cases name, built in ``tmp_path``."""
    return {
        "tmp": tmp_path,
        "evil": evil_checkpoint(tmp_path / "ckpt")[0],
        "plain": plain_torch_file(tmp_path / "weights.pt"),
        "flipped": flipped_checkpoint(tmp_path / "flipped.ckpt"),
        "partial": user_dataset(tmp_path / "my-dataset", empty="test_B"),
    }


def params(case):
    return case if hasattr(case, "values") else pytest.param(*case)


def case_id(case) -> str:
    return (case.values if hasattr(case, "values") else case)[0]


@pytest.mark.parametrize(
    "case_id_, overrides, code, first_line", [params(c) for c in CASES], ids=[case_id(c) for c in CASES]
)
def test_a_config_fault_stops_train_py_with_a_clear_message(case_id_, overrides, code, first_line, run_train, tmp_path):
    fill = placeholders(tmp_path)
    before = tree_hashes(fill["partial"])
    got, err = run_train(*(o.format(**fill) for o in overrides))
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == code, err
    assert lines and lines[0].startswith(first_line.format(**fill)), err
    assert "Traceback" not in err and "AssertionError" not in err
    if code == 2 and "Pretrained weights" not in err:  # pixel-gan's own checks: exactly one line
        assert len(lines) == 1, err
    assert not marker_for(fill["evil"]).exists()
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert tree_hashes(fill["partial"]) == before  # a user's dataset is never written to
    assert not (tmp_path / "typo").exists()
