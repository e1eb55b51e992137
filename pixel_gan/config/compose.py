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


def quote_numeric_choices(overrides: list[str]) -> list[str]:
    """``resolution=64`` → ``resolution='64'`` (also sweeps: ``resolution=32,64``).

    Hydra parses ``64`` as an int, and a config-group override that is not a string fails with a
    traceback; the option files of ``resolution/`` are named by numbers, so quote such values.
    """
    groups = {d.name for d in CONF_DIR.iterdir() if d.is_dir()}
    quoted = []
    for item in overrides:
        match = _NUMERIC_CHOICE.match(item)
        if match and match["group"] in groups:
            item = f"{match['key']}=" + ",".join(f"'{v}'" for v in match["values"].split(","))
        quoted.append(item)
    return quoted


def compose_train_config(
    *overrides: str, output_dir: str = "outputs/interactive", cache_dir: str | None = None
) -> DictConfig:
    """The training config as ``train.py`` would see it, for notebooks, tools and tests.

    ``hydra:runtime.*`` only resolves inside a running Hydra app, so the paths are pinned here.
    """
    from hydra import compose, initialize_config_dir

    register()

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    OmegaConf.set_struct(cfg, False)
    cfg.paths.root_dir = "."
    cfg.paths.output_dir = output_dir
    if cache_dir is not None:
        cfg.paths.cache_dir = cache_dir
    return cfg
