"""Find training run folders and read what the report needs from them.

A run folder is what ``python train.py`` writes: ``translator/`` (the export), ``.hydra/`` (the
composed config), ``metrics.jsonl``, ``checkpoints/``. ``runs=`` may name runs, multirun folders
(their job folders are the runs), any folder above them, or globs of these. Folders that look like
runs but have no export (training unfinished, ``export=false``) are reported as skipped, not fatal:
one broken job should not hide a sweep's other results.
"""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pixel_gan.config import ConfigError
from pixel_gan.inference.export import CONFIG_NAME, RUN_EXPORT, WEIGHTS_NAME, is_export_dir, read_config
from pixel_gan.training.callbacks import METRICS_FILE, read_metrics_jsonl

log = logging.getLogger(__name__)

GLOB_CHARS = re.compile(r"[*?\[]")
HYDRA_INTERPOLATION = re.compile(r"\$\{hydra:([\w.]+)\}")
MAX_DEPTH = 3  # outputs/ → multirun/ → <time>/ → <job>: deep enough for every layout train.py writes


class NoRunsError(ConfigError):
    """``runs=`` matched no evaluable run folder."""


@dataclass
class Run:
    """One trained run: its folder, export and (if present) composed config and metric history."""

    path: Path
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def translator_dir(self) -> Path:
        return self.path / RUN_EXPORT

    @property
    def resolution(self) -> int:
        return int(self.meta.get("resolution", 256))

    @property
    def step(self) -> int | None:
        step = self.meta.get("step")
        return None if step is None else int(step)

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    def history(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl (empty when the run predates it or never validated)."""
        return read_metrics_jsonl(self.metrics_file) if self.metrics_file.is_file() else []

    @cached_property
    def config(self) -> tuple[DictConfig | None, str]:
        """(resolved config or None, note) — see :func:`load_run_config`."""
        return load_run_config(self.path)

    def data_root(self, override: str | None = None) -> Path | None:
        """The dataset root: ``override`` if given, else ``data.root`` of the run's config."""
        if override:
            return Path(str(override)).expanduser()
        root = self.config_value("data.root")
        return Path(str(root)).expanduser() if root else None

    def config_value(self, key: str, default: Any = None) -> Any:
        """One key of the resolved config (``default`` when absent, or when the config did not resolve)."""
        cfg, note = self.config
        if cfg is None or note:
            return default
        value = OmegaConf.select(cfg, key, default=default)
        return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


@dataclass
class Discovery:
    runs: list[Run]
    skipped: list[tuple[Path, str]]

    def skipped_lines(self) -> list[str]:
        return [f"skipped {path}: {reason}" for path, reason in self.skipped]


def is_run(path: Path) -> bool:
    """A folder holding a complete translator export."""
    return is_export_dir(path / RUN_EXPORT)


def looks_like_run(path: Path) -> bool:
    """A training output folder, finished or not."""
    return (
        (path / ".hydra" / "config.yaml").is_file() or (path / "checkpoints").is_dir() or (path / "translator").is_dir()
    )


def _expand(pattern: str) -> tuple[list[Path], bool]:
    """(paths, from_glob): a glob expands to its sorted matches; a plain path is kept as given."""
    pattern = str(Path(pattern).expanduser())
    if GLOB_CHARS.search(pattern):
        return [Path(p) for p in sorted(glob.glob(pattern, recursive=True))], True
    return [Path(pattern)], False


def _collect(path: Path, depth: int, runs: list[Path], skipped: list[tuple[Path, str]], explicit: bool) -> bool:
    """Add the runs at or below ``path``; returns whether anything (run or skip) was found there."""
    if is_run(path):
        runs.append(path)
        return True
    if looks_like_run(path):
        skipped.append((path, f"no translator/{CONFIG_NAME} + {WEIGHTS_NAME} (training unfinished, or export=false)"))
        return True
    found = False
    if depth < MAX_DEPTH:
        for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            found |= _collect(child, depth + 1, runs, skipped, explicit=False)
    if not found and explicit:
        skipped.append((path, "no run folders in it (a run folder has translator/translator.yaml)"))
    return found


def discover_runs(patterns: str | Sequence[str] | None) -> Discovery:
    """Expand ``runs=`` (a path, a glob, or a list of them) into run folders, in order, without duplicates.

    Raises :class:`NoRunsError` when nothing evaluable is found; the message lists what was skipped.
    """
    if patterns is None or (isinstance(patterns, str) and not patterns.strip()):
        raise NoRunsError(
            "runs= is required: a run folder, a multirun folder, a glob, or a list of them "
            "(e.g. runs='outputs/multirun/2026-01-01_12-00-00')"
        )
    items = [patterns] if isinstance(patterns, (str, Path)) else [str(p) for p in patterns]
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        paths, from_glob = _expand(str(item))
        if not paths:
            skipped.append((Path(str(item)), "the pattern matched nothing"))
        for path in paths:
            if not path.exists():
                skipped.append((path, "does not exist"))
            elif not path.is_dir():
                if not from_glob:  # a glob like outputs/multirun/*/* also matches multirun.yaml files
                    skipped.append((path, "not a folder"))
            else:
                _collect(path, 0, found, skipped, explicit=True)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    runs = [Run(path=p, meta=_read_meta(p)) for p in unique.values()]
    for run, name in zip(runs, unique_names([r.path for r in runs]), strict=True):
        run.name = name
    if not runs:
        details = "".join(f"\n  {line}" for line in Discovery([], skipped).skipped_lines())
        raise NoRunsError(f"runs={patterns!r} matched no run folder with a translator export{details}")
    return Discovery(runs, skipped)


def _read_meta(path: Path) -> dict[str, Any]:
    """The run's translator.yaml as a mapping (edge preset resolved); empty when it cannot be read."""
    try:
        return read_config(path / RUN_EXPORT).to_dict()
    except (OSError, ValueError):
        return {}


def unique_names(paths: Sequence[Path]) -> list[str]:
    """Shortest path suffixes that tell the runs apart: ``0_64_palette``, or ``<time>/0_64_palette``."""
    parts = [p.resolve().parts for p in paths]
    names = []
    for i, own in enumerate(parts):
        for n in range(1, len(own) + 1):
            suffix = own[-n:]
            if all(other[-n:] != suffix for j, other in enumerate(parts) if j != i):
                break
        names.append("/".join(suffix))
    return names


# --------------------------------------------------------------------------- config


def _substitute_hydra(value: Any, hydra_cfg: DictConfig | None, run_dir: Path) -> Any:
    """Replace ``${hydra:...}`` in a saved config with the values of the run that wrote it.

    Outside that run Hydra's resolver would answer for the *current* process (the evaluation's
    cwd and output folder), so they come from the run's .hydra/hydra.yaml; ``runtime.output_dir``
    is the run folder itself, which stays right when the folder has been moved.
    """
    if isinstance(value, dict):
        return {k: _substitute_hydra(v, hydra_cfg, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_hydra(v, hydra_cfg, run_dir) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        key = match.group(1)
        if key == "runtime.output_dir":
            return str(run_dir)
        found = OmegaConf.select(hydra_cfg, f"hydra.{key}") if hydra_cfg is not None else None
        if found is None:
            raise KeyError(f"${{hydra:{key}}} is not recorded in .hydra/hydra.yaml")
        return str(found)

    return HYDRA_INTERPOLATION.sub(lookup, value)


def load_run_config(run_dir: str | Path) -> tuple[DictConfig | None, str]:
    """The run's composed config with interpolations resolved, and a note for the report.

    ``${oc.env:...}`` resolves in this environment (e.g. PIXEL_GAN_CACHE), as it did for training.
    When something cannot be resolved the unresolved config is returned with the reason as note.
    """
    run_dir = Path(run_dir)
    config_file = run_dir / ".hydra" / "config.yaml"
    if not config_file.is_file():
        return None, f"{config_file} not found"
    raw = OmegaConf.to_container(OmegaConf.load(config_file), resolve=False)
    hydra_file = run_dir / ".hydra" / "hydra.yaml"
    hydra_cfg = OmegaConf.load(hydra_file) if hydra_file.is_file() else None
    try:
        cfg = OmegaConf.create(_substitute_hydra(raw, hydra_cfg, run_dir))
        OmegaConf.resolve(cfg)
        return cfg, ""
    except (OmegaConfBaseException, KeyError, ValueError) as err:  # an interpolation this environment cannot answer
        return OmegaConf.create(raw), f"shown unresolved: {err}"
