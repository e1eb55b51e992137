"""submitit's pre-emption signal (USR2) → last.ckpt saved after the batch → job requeued → resumed.

submitit_local requeues like SLURM does (the job exits with its requeue code and is started again
with the same overrides), so the whole chain runs on one machine.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import torch

STEPS = 6


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (Linux /proc)."""
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


def submitit_task(pid: int) -> int | None:
    for child in descendants(pid):
        try:
            if b"submitit.core._submit" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def saved_step(path: Path) -> int | None:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return None


@pytest.mark.slow
def test_usr2_saves_requeues_and_resumes(train_command, tmp_path):
    sweep = tmp_path / "sweep"
    last = sweep / "0_smoke" / "checkpoints" / "last.ckpt"
    proc = train_command.start(
        "-m",
        "hydra/launcher=submitit_local",
        "resume=true",
        f"trainer.max_steps={STEPS}",
        "callbacks.model_checkpoint.every_n_train_steps=2",
        "+trainer.limit_val_batches=0",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"hydra.sweep.dir={sweep}",
    )
    try:
        deadline = time.monotonic() + 180
        while (saved_step(last) or 0) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint of step 2"
            time.sleep(0.05)
        task = submitit_task(proc.pid)
        assert task is not None
        signalled_after = saved_step(last)
        os.kill(task, signal.SIGUSR2)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-4000:]
    submitit_log = "".join(p.read_text() for p in sorted((sweep / ".submitit").glob("*/*_log.*")))  # INFO goes to .out
    train_log = (sweep / "0_smoke" / "train.log").read_text()  # both attempts append to it
    assert train_log.count("SIGUSR2 received: saving last.ckpt after this batch") == 1, train_log[-4000:]
    stopped = [int(s) for s in re.findall(r"stopped by SIGUSR2 at step (\d+)", train_log)]
    assert len(stopped) == 1 and signalled_after <= stopped[0] < STEPS, train_log[-4000:]
    assert f"saved {last} at step {stopped[0]}" in train_log
    assert "Requeued job" in submitit_log, submitit_log[-4000:]
    assert train_log.count(f"resuming from {last}") == 1  # only the requeued attempt had one to resume
    assert saved_step(last) == STEPS
