"""Where the configs live, and composing the training config outside ``train.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from pixel_gan.config.schema import register


def plain_dict(cfg: Any) -> dict[str, Any]:
    """A config node as a plain dict with interpolations resolved (a mapping is copied, None is empty)."""
    if isinstance(cfg, DictConfig):
        return cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    return dict(cfg or {})


CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
_NUMERIC_CHOICE = re.compile(r"^(?P<key>[+~]{0,2}(?P<group>[A-Za-z_]\w*))=(?P<values>\d+(?:,\d+)*)$")


_PRESET_BY_NAME = re.compile(r"^edge_preset\.name=(?P<name>[A-Za-z_]\w*)$")


def normalize_overrides(overrides: list[str]) -> list[str]:
    """Command-line overrides as Hydra should read them.

    - ``resolution=64`` → ``resolution='64'`` (also sweeps: ``resolution=32,64``): Hydra parses ``64``
      as an int, and a config-group override that is not a string fails with a traceback; the option
      files of ``resolution/`` are named by numbers, so such values are quoted.
    - ``edge_preset.name=medium`` → ``edge_preset=medium``: a preset's name selects its file, whose
      numbers come with it (relabelling another preset's numbers would train with the wrong edges).
    """
    groups = {d.name for d in CONF_DIR.iterdir() if d.is_dir()}
    normalized = []
    for item in overrides:
        match = _NUMERIC_CHOICE.match(item)
        if match and match["group"] in groups:
            item = f"{match['key']}=" + ",".join(f"'{v}'" for v in match["values"].split(","))
        preset = _PRESET_BY_NAME.match(item)
        if preset:
            item = f"edge_preset={preset['name']}"
        normalized.append(item)
    return normalized


def compose_train_config(
    *overrides: str, output_dir: str = "outputs/interactive", cache_dir: str | None = None
) -> DictConfig:
    """The training config as ``train.py`` would see it, for notebooks, tools and tests.

    ``hydra:runtime.*`` only resolves inside a running Hydra app, so the paths are pinned here.
    """
    from hydra import compose, initialize_config_dir

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=normalize_overrides(list(overrides)))
    OmegaConf.set_struct(cfg, False)
    cfg.paths.root_dir = "."
    cfg.paths.output_dir = output_dir
    if cache_dir is not None:
        cfg.paths.cache_dir = cache_dir
    return cfg
