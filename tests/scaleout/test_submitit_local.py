"""hydra/launcher=submitit_local: a 2-job multirun, each job its own submitit process, each with a checkpoint."""

from __future__ import annotations

import pytest
import torch
import yaml


@pytest.mark.slow
def test_two_job_multirun_through_submitit_local_writes_both_checkpoints(train_command, tmp_path):
    sweep = tmp_path / "sweep"
    result = train_command.run(
        "-m", "hydra/launcher=submitit_local", "seed=1,2", "+trainer.limit_val_batches=0", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 0, result.stdout[-4000:]

    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name for p in jobs] == ["0_smoke", "1_smoke"]
    seeds = []
    for job in jobs:
        ckpt = torch.load(job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        assert ckpt["global_step"] == 2  # experiment=smoke: trainer.max_steps=2
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        seeds += [o for o in overrides if o.startswith("seed=")]
    assert seeds == ["seed=1", "seed=2"]

    # Each job ran through submitit (its own process, its result pickled), not Hydra's basic launcher.
    results = sorted((sweep / ".submitit").glob("*/*_result.pkl"))
    assert len(results) == 2
