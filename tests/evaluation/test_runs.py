"""Run discovery: paths, globs, multirun folders, and folders that cannot be evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pixel_gan.config import ConfigError
from pixel_gan.evaluation.runs import NoRunsError, discover_runs, load_run_config, unique_names


def make_run(path: Path, export: bool = True, config: str = "data:\n  root: /data\n") -> Path:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text(config)
    (path / "checkpoints").mkdir()
    if export:
        (path / "translator").mkdir()
        (path / "translator" / "translator.yaml").write_text(yaml.safe_dump({"model": {}, "resolution": 64}))
        (path / "translator" / "model.safetensors").write_bytes(b"")
    return path


@pytest.fixture
def multirun(tmp_path: Path) -> Path:
    """outputs/multirun/<time>/{0_a, 1_b, 2_c (unfinished)} + multirun.yaml, like a Hydra sweep."""
    sweep = tmp_path / "multirun" / "2026-01-01_12-00-00"
    make_run(sweep / "0_a")
    make_run(sweep / "1_b")
    make_run(sweep / "2_c", export=False)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return sweep


def test_a_run_folder_is_one_run(multirun: Path) -> None:
    found = discover_runs(str(multirun / "0_a"))
    assert [r.path for r in found.runs] == [multirun / "0_a"]
    assert found.runs[0].resolution == 64 and found.skipped == []


def test_a_multirun_folder_expands_to_its_jobs_and_skips_unfinished_ones(multirun: Path) -> None:
    found = discover_runs(str(multirun))
    assert [r.name for r in found.runs] == ["0_a", "1_b"]
    assert [p for p, _ in found.skipped] == [multirun / "2_c"]
    assert "no translator/translator.yaml" in found.skipped_lines()[0]


def test_a_folder_above_multiruns_is_searched(multirun: Path) -> None:
    assert [r.name for r in discover_runs(str(multirun.parent.parent)).runs] == ["0_a", "1_b"]


def test_glob_and_list_without_duplicates(multirun: Path, tmp_path: Path) -> None:
    other = make_run(tmp_path / "single" / "0_a")
    found = discover_runs([str(multirun / "*"), str(multirun / "1_b"), str(other)])
    assert [r.path for r in found.runs] == [multirun / "0_a", multirun / "1_b", other]
    # two runs named 0_a: names grow until they differ
    assert [r.name for r in found.runs] == ["2026-01-01_12-00-00/0_a", "1_b", "single/0_a"]
    assert [p for p, _ in found.skipped] == [multirun / "2_c"]  # multirun.yaml (a file from the glob) is ignored


def test_missing_paths_are_reported(multirun: Path, tmp_path: Path) -> None:
    found = discover_runs([str(multirun / "0_a"), str(tmp_path / "nope"), str(tmp_path / "nope-*")])
    reasons = dict(found.skipped)
    assert reasons[tmp_path / "nope"] == "does not exist"
    assert reasons[tmp_path / "nope-*"] == "the pattern matched nothing"


def test_nothing_evaluable_is_a_config_error(tmp_path: Path) -> None:
    make_run(tmp_path / "unfinished", export=False)
    with pytest.raises(NoRunsError, match="matched no run folder") as err:
        discover_runs(str(tmp_path / "*"))
    assert isinstance(err.value, ConfigError)  # evaluate.py exits with code 2 on it
    assert "unfinished" in str(err.value)
    with pytest.raises(NoRunsError, match="runs= is required"):
        discover_runs(None)


def test_unique_names() -> None:
    assert unique_names([Path("/a/x/run"), Path("/b/x/run"), Path("/b/y")]) == ["a/x/run", "b/x/run", "y"]


def test_saved_config_resolves_with_the_runs_own_hydra_values(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "moved-run",
        config=(
            "paths:\n  root_dir: ${hydra:runtime.cwd}\n  output_dir: ${hydra:runtime.output_dir}\n"
            "data:\n  root: ${paths.root_dir}/data\nckpt: ${paths.output_dir}/checkpoints\n"
        ),
    )
    (run / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  runtime:\n    cwd: /somewhere/repo\n    output_dir: /old/place\n"
    )
    cfg, note = load_run_config(run)
    assert note == ""
    assert cfg.data.root == "/somewhere/repo/data"
    assert cfg.ckpt == f"{run}/checkpoints"  # the folder where the run is now, not where it was written


def test_unresolvable_config_is_shown_unresolved(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", config="data:\n  root: ${hydra:runtime.cwd}/data\n")
    cfg, note = load_run_config(run)  # no hydra.yaml
    assert cfg is not None and "unresolved" in note
