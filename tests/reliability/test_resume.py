"""Lose no work: a run killed (SIGKILL) or pre-empted (SIGTERM) at a random step and resumed with
``ckpt_path=last`` ends with exactly the weights of an uninterrupted run of the same length."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

STEPS = 8  # 3 training pairs at batch 1: the runs cross epoch boundaries after steps 3 and 6


def last_ckpt(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.ckpt"


def saved_step(path: Path) -> int | None:
    """The global step in a checkpoint, or None while there is none (files are replaced atomically)."""
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])
    except FileNotFoundError:
        return None


def signal_after_step(proc: subprocess.Popen, run_dir: Path, step: int, signum: int, timeout: float = 240) -> int:
    """Send ``signum`` once last.ckpt holds ``step`` or later; returns the step seen then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run ended before step {step}:\n{proc.stdout.read()}")
        seen = saved_step(last_ckpt(run_dir))
        if seen is not None and seen >= step:
            proc.send_signal(signum)
            return seen
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no checkpoint of step {step} within {timeout} s")


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def assert_same_training_state(resumed: Path, reference: Path, context: str) -> None:
    got = torch.load(resumed, map_location="cpu", weights_only=True)
    want = torch.load(reference, map_location="cpu", weights_only=True)
    assert got["global_step"] == want["global_step"] == STEPS, context
    assert set(got["state_dict"]) == set(want["state_dict"]), context
    for key, value in want["state_dict"].items():
        torch.testing.assert_close(
            got["state_dict"][key],
            value,
            rtol=0,
            atol=1e-6,
            msg=lambda m: f"{key}: {m}; {context}",  # noqa: B023 - called inside assert_close
        )
    for got_opt, want_opt in zip(got["optimizer_states"], want["optimizer_states"], strict=True):
        for index, state in want_opt["state"].items():
            for name in ("exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(got_opt["state"][index][name], state[name], rtol=0, atol=1e-6)
    assert [s["last_epoch"] for s in got["lr_schedulers"]] == [s["last_epoch"] for s in want["lr_schedulers"]]


@pytest.mark.slow
def test_killed_or_preempted_run_resumes_to_the_uninterrupted_weights(train_cli, tmp_path):
    seed = random.randrange(2**31)
    rng = random.Random(seed)
    kill_at, term_at = rng.randint(1, STEPS - 2), rng.randint(1, STEPS - 2)
    context = f"seed {seed}: SIGKILL after step {kill_at}, SIGTERM after step {term_at}"
    steps = f"trainer.max_steps={STEPS}"
    reference, killed, preempted = tmp_path / "reference", tmp_path / "killed", tmp_path / "preempted"

    runs = {
        name: train_cli.start_in(run_dir, steps)
        for name, run_dir in (("reference", reference), ("killed", killed), ("preempted", preempted))
    }
    signal_after_step(runs["killed"], killed, kill_at, signal.SIGKILL)
    term_seen = signal_after_step(runs["preempted"], preempted, term_at, signal.SIGTERM)
    results = {name: finish(proc) for name, proc in runs.items()}

    code, out = results["reference"]
    assert code == 0, out
    assert results["killed"][0] == -signal.SIGKILL
    code, out = results["preempted"]
    assert code == 128 + signal.SIGTERM, out
    stopped_at = saved_step(last_ckpt(preempted))
    assert stopped_at is not None and term_seen <= stopped_at < STEPS, out
    assert f"stopped by SIGTERM at step {stopped_at}" in out, out
    assert "Traceback" not in out, out
    interrupted_at = saved_step(last_ckpt(killed))
    assert interrupted_at is not None and kill_at <= interrupted_at, context

    resumed = {
        name: train_cli.start_in(run_dir, steps, "ckpt_path=last")
        for name, run_dir in (("killed", killed), ("preempted", preempted))
    }
    for name, proc in resumed.items():
        code, out = finish(proc)
        assert code == 0, f"{name}: {out}"
        assert "dataloader is not resumable" not in out, out
        assert_same_training_state(last_ckpt(tmp_path / name), last_ckpt(reference), f"{name}; {context}")
        assert not list((tmp_path / name / "checkpoints").glob(".*.tmp")), "temporary checkpoint file left behind"


@pytest.fixture(scope="module")
def reference_run(train_cli, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("reference")
    result = train_cli.run_in(run_dir, f"trainer.max_steps={STEPS}")
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dir


@pytest.mark.parametrize("hook", ["on_train_batch_end", "on_validation_batch_end", "on_train_epoch_end"])
def test_sigterm_at_an_epoch_end_or_during_validation_resumes_exactly(train_cli, reference_run, tmp_path, hook):
    """Step 6 ends the second epoch and runs validation; periodic checkpoints every 4 steps, so the
    state of step 6 exists only through the pre-emption save."""
    overrides = (f"trainer.max_steps={STEPS}", "callbacks.model_checkpoint.every_n_train_steps=4")
    signal_at = (
        "+callbacks.signal._target_=signal_points.SignalAt",
        "+callbacks.signal.step=6",
        f"+callbacks.signal.hook={hook}",
    )
    stopped = train_cli.run_in(tmp_path, *overrides, *signal_at)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stdout + stopped.stderr
    assert saved_step(last_ckpt(tmp_path)) == 6
    resumed = train_cli.run_in(tmp_path, *overrides, "ckpt_path=last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_same_training_state(last_ckpt(tmp_path), last_ckpt(reference_run), hook)
