"""Start-up validation of the composed config: clear messages before any heavy work starts."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, ListConfig, OmegaConf

from pixel_gan.data.edges import PRESETS, resolve_preset
from pixel_gan.data.images import DATASET_LAYOUT, IMAGE_EXTENSIONS

LOSS_NAMES = ("separate", "combined", "palette")
BACKBONES = ("pretrained", "demo", "tiny", "random")
DISCRIMINATORS = ("patchgan", "clip")
DATA_FOLDERS = ("train_A", "train_B", "test_A", "test_B")
# diffusers' schedules that need only the warm-up and total steps (piecewise_constant needs its rules)
SCHEDULERS_WITHOUT_EXTRA_ARGS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
)


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and what would."""


def plain_dict(cfg: Any) -> dict[str, Any]:
    """A config node as a plain dict with interpolations resolved (a mapping is copied, None is empty)."""
    if isinstance(cfg, DictConfig):
        return cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    return dict(cfg or {})


def _get(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception as err:  # MissingMandatoryValue, interpolation errors
        raise ConfigError(f"{key} must be set ({err.__class__.__name__}: {err})") from err


def _number(
    cfg: DictConfig,
    key: str,
    *,
    integer: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    allow_none: bool = False,
) -> Any:
    """A finite number (``integer``: an int) with ``minimum <= value``, ``above < value``, ``value < below``."""
    value = _get(cfg, key)
    if value is None and allow_none:
        return None
    return check_number(key, value, integer=integer, minimum=minimum, above=above, below=below)


def check_number(
    key: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """``value`` of config key ``key`` if it is a finite number in range, else a ConfigError naming the key."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(
            f"{key} must be {'an integer' if integer else 'a number'}, got {value!r} ({type(value).__name__})"
        )
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key} must be >= {minimum}, got {value}")
    if above is not None and value <= above:
        raise ConfigError(f"{key} must be > {above}, got {value}")
    if below is not None and value >= below:
        raise ConfigError(f"{key} must be < {below}, got {value}")
    return value


def _choice(cfg: DictConfig, key: str, choices: tuple[str, ...]) -> str:
    value = _get(cfg, key)
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    return value


def validate_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` for the first value that cannot work."""
    size = _number(cfg, "resolution.size", integer=True, minimum=8)
    if size % 8:
        raise ConfigError(f"resolution.size must be a multiple of 8 (the VAE downsamples by 8), got {size}")

    _choice(cfg, "edge_preset.name", tuple(PRESETS))
    _choice(cfg, "edge_preset.mode", ("overlay", "replace"))
    for key in ("low_threshold", "high_threshold", "min_area"):
        _number(cfg, f"edge_preset.{key}", integer=True, minimum=0, allow_none=True)
    try:
        resolve_preset(cast(dict[str, Any], OmegaConf.to_container(cfg.edge_preset, resolve=True)))
    except ValueError as err:
        raise ConfigError(f"edge_preset: {err}") from err

    name = _choice(cfg, "loss.name", LOSS_NAMES)
    for key in sorted(k for k in _get(cfg, "loss") if str(k).startswith("lambda_")):
        _number(cfg, f"loss.{key}", minimum=0)
    lam_pal = _get(cfg, "loss.lambda_palette")
    if name != "palette" and lam_pal:
        raise ConfigError(
            f"loss.lambda_palette is {lam_pal} but loss.name={name}; use loss=palette for the palette term"
        )
    _number(cfg, "loss.palette_bins", integer=True, minimum=2)
    sigma = _number(cfg, "loss.palette_sigma", allow_none=True)
    if sigma is not None and sigma <= 0:
        raise ConfigError(f"loss.palette_sigma must be > 0 (or null for the default), got {sigma}")

    backbone = _choice(cfg, "model.backbone", BACKBONES)
    if backbone == "pretrained" and not _get(cfg, "model.pretrained"):
        raise ConfigError("model.pretrained must name a hub id (stabilityai/sd-turbo) or a local directory")
    if backbone == "pretrained":
        _check_local_weights(str(_get(cfg, "model.pretrained")))
    _choice(cfg, "model.discriminator", DISCRIMINATORS)
    _check_lora(cfg)
    _check_optim(cfg)
    _number(cfg, "data.batch_size", integer=True, minimum=1)
    _number(cfg, "data.num_workers", integer=True, minimum=0)
    _number(cfg, "seed", integer=True, minimum=0)
    _number(cfg, "max_consecutive_skips", integer=True, minimum=1)
    _number(cfg, "cpu_threads", integer=True, minimum=1, allow_none=True)
    _number(cfg, "trainer.max_steps", integer=True, minimum=1)
    _number(cfg, "trainer.val_check_interval", above=0)
    _number(cfg, "trainer.log_every_n_steps", integer=True, minimum=1)

    precision = str(_get(cfg, "trainer.precision"))
    if precision in ("16", "16-mixed", "fp16"):
        raise ConfigError(
            "trainer.precision=16-mixed is not supported (adapters need no loss scaling in bf16): "
            "use bf16-mixed on GPU or 32-true"
        )
    _check_accelerator(cfg)
    _check_data_root(cfg)


def _check_lora(cfg: DictConfig) -> None:
    from pixel_gan.models.generator import lora_settings

    values = _get(cfg, "model.lora")
    try:
        lora_settings(plain_dict(values) if isinstance(values, DictConfig) else values, "model.lora")
    except (ValueError, TypeError) as err:
        raise ConfigError(str(err)) from None


def _check_optim(cfg: DictConfig) -> None:
    """Every optimizer number finite and in the range AdamW and the schedule accept."""
    from diffusers.optimization import SchedulerType

    _number(cfg, "optim.lr", above=0)
    _number(cfg, "optim.lr_disc", above=0, allow_none=True)
    _number(cfg, "optim.lr_vae", above=0, allow_none=True)
    _number(cfg, "optim.max_grad_norm", above=0)
    _number(cfg, "optim.weight_decay", minimum=0)
    _number(cfg, "optim.eps", above=0)
    _number(cfg, "optim.warmup_steps", integer=True, minimum=0)
    betas = _get(cfg, "optim.betas")
    if not isinstance(betas, ListConfig | list | tuple) or len(betas) != 2:
        raise ConfigError(f"optim.betas must be two numbers in [0, 1), got {betas!r}")
    for i, beta in enumerate(betas):
        check_number(f"optim.betas[{i}]", beta, minimum=0, below=1)
    names = tuple(t.value for t in SchedulerType if t.value in SCHEDULERS_WITHOUT_EXTRA_ARGS)
    _choice(cfg, "optim.scheduler", names)


def _check_local_weights(source: str) -> None:
    """A local ``model.pretrained`` must be a complete SD-Turbo folder (hub ids are checked when loaded)."""
    from pixel_gan.weights import looks_like_path, resolve_pretrained

    if looks_like_path(source):
        from pixel_gan.models.backbone import _REQUIRED, SD_TURBO_LAYOUT

        resolve_pretrained(source, "model.pretrained", SD_TURBO_LAYOUT, _REQUIRED)


def _check_accelerator(cfg: DictConfig) -> None:
    import torch

    accelerator = str(_get(cfg, "trainer.accelerator") or "auto")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={accelerator} but no CUDA GPU is available here; use trainer=cpu")


def _check_data_root(cfg: DictConfig) -> None:
    """Demo data goes only into a folder pixel-gan owns; any other root must be a complete dataset.

    A dataset folder is never written to, so a missing or incomplete one is an error naming it
    (not a folder to fill with generated images).
    """
    from pixel_gan.data.demo_cache import owns_demo_root

    root = _get(cfg, "data.root")
    if not root:
        raise ConfigError("data.root must point at a folder with train_A/ train_B/ test_A/ test_B/")
    if _get(cfg, "data.generate_demo") and owns_demo_root(str(root), _get(cfg, "paths.cache_dir")):
        return
    path = Path(str(root)).expanduser()
    if not path.is_dir():
        raise ConfigError(f"data.root={root!r} does not exist; expected a folder with {', '.join(DATA_FOLDERS)}")
    missing = [d for d in DATA_FOLDERS if not (path / d).is_dir()]
    if missing:
        raise ConfigError(
            f"data.root={root!r} lacks {', '.join(missing)}; expected {', '.join(DATA_FOLDERS)} "
            "(A = photos, B = pixel art)"
        )
    empty = [str(path / d) for d in DATA_FOLDERS if not _holds_images(path / d)]
    if empty:
        raise ConfigError(
            f"data.root={root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(empty)}; "
            f"a dataset root must contain {DATASET_LAYOUT}. pixel-gan only reads it, never fills it"
        )


def _holds_images(folder: Path) -> bool:
    return any(
        not e.name.startswith(".") and e.suffix.lower() in IMAGE_EXTENSIONS and e.is_file() for e in folder.iterdir()
    )


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

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    OmegaConf.set_struct(cfg, False)
    cfg.paths.root_dir = "."
    cfg.paths.output_dir = output_dir
    if cache_dir is not None:
        cfg.paths.cache_dir = cache_dir
    return cfg
