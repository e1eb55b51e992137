"""hydra/launcher=submitit_slurm: the composed launcher config and the sbatch script submitit generates.

The second test runs the real multirun path (Hydra sweeper → SlurmLauncher → submitit) with a fake
``sbatch`` on PATH that keeps the script it is given and refuses the submission, so the sweep stops
right after submitit has written the job parameters.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from pixel_gan.config import CONF_DIR

ROOT = Path(__file__).resolve().parents[2]
STUDY = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml") if p.stem not in ("demo", "smoke"))
SWEEP = "experiment=glob(*,exclude=[demo,smoke])"


def launcher_config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train", overrides=["hydra/launcher=submitit_slurm", *overrides], return_hydra_config=True
        )
    return cfg


def test_the_study_has_eleven_experiments():
    assert len(STUDY) == 11
    assert {"64_default", "64_palette", "128_low", "256_palette"} <= set(STUDY)


def test_launcher_follows_trainer_devices_and_nodes():
    cfg = launcher_config("experiment=64_palette", "trainer=ddp", "trainer.devices=8", "trainer.num_nodes=2")
    launcher = cfg.hydra.launcher  # its folder and name need a running Hydra app; these keys do not
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["tasks_per_node"] == launcher["gpus_per_node"] == cfg.trainer.devices == 8
    assert launcher["nodes"] == cfg.trainer.num_nodes == 2
    assert launcher["signal_delay_s"] > 0 and launcher["max_num_timeout"] > 0
    assert launcher.additional_parameters.requeue is True
    assert launcher["timeout_min"] * 60 > launcher["signal_delay_s"]

    one_gpu = launcher_config("experiment=64_palette").hydra.launcher
    assert one_gpu["tasks_per_node"] == one_gpu["gpus_per_node"] == 1 and one_gpu["nodes"] == 1


def fake_slurm(folder: Path) -> Path:
    """An ``sbatch`` that copies its script to folder/submitted.sh and fails (nothing to submit to);
    an ``srun`` that only exists (submitit checks for it before it writes anything)."""
    folder.mkdir()
    tools = {"sbatch": f'cp "$1" "{folder}/submitted.sh"\necho "no cluster here" >&2\nexit 1', "srun": "exit 1"}
    for name, body in tools.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.mark.subprocess
def test_sweep_of_the_eleven_experiments_generates_one_slurm_array(tmp_path):
    bin_dir = fake_slurm(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("SUBMITIT_PREEMPT_SIGNAL", None)
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "hydra/launcher=submitit_slurm",
        SWEEP,
        "trainer=ddp",
        "trainer.devices=8",
        "trainer.num_nodes=2",
        "resume=true",
        "hydra.launcher.partition=gpu",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    result = subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "no cluster here" in out, out[-3000:]

    jobs = re.findall(r"#(\d+) : (.*)", out)
    assert [int(n) for n, _ in jobs] == list(range(11))
    assert sorted(re.search(r"experiment=(\S+)", line).group(1) for _, line in jobs) == STUDY

    script = (bin_dir / "submitted.sh").read_text()
    flags = dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(\S+))?$", script, flags=re.M))
    assert flags["array"] == "0-10%11"  # one array task per experiment, all allowed to run at once
    assert flags["nodes"] == "2"
    assert flags["ntasks-per-node"] == "8"  # one SLURM task (= one DDP rank) per GPU
    assert flags["gpus-per-node"] == "8"
    assert flags["partition"] == "gpu"
    assert flags["time"] == "1440"
    assert flags["signal"] == "USR2@120"  # submitit's pre-emption / time-limit signal, 2 min ahead
    assert "requeue" in flags  # SLURM may requeue the job after pre-emption
    assert re.search(r"^srun .*submitit\.core\._submit", script, flags=re.M)
