"""Start-up validation of the composed config: clear messages before any heavy work starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pixel_gan.config.errors import ConfigError, check_number
from pixel_gan.config.schema import LossConfig, ModelConfig, OptimConfig, typed
from pixel_gan.data.edges import EdgePreset
from pixel_gan.data.images import DATASET_LAYOUT, IMAGE_EXTENSIONS

DATA_FOLDERS = ("train_A", "train_B", "test_A", "test_B")


@dataclass
class Settings:
    """The typed groups of one training config, resolved once; what the run passes down."""

    model: ModelConfig
    loss: LossConfig
    optim: OptimConfig
    edge_preset: EdgePreset


def _get(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception as err:  # MissingMandatoryValue, interpolation errors
        raise ConfigError(f"{key} must be set ({err.__class__.__name__}: {err})") from err


def _number(cfg: DictConfig, key: str, *, allow_none: bool = False, **limits: Any) -> Any:
    value = _get(cfg, key)
    if value is None and allow_none:
        return None
    return check_number(key, value, **limits)


def settings(cfg: DictConfig) -> Settings:
    """The typed groups of ``cfg`` (each checks its own ranges as it is built)."""
    return Settings(
        model=typed(ModelConfig, cfg.model, "model"),
        loss=typed(LossConfig, cfg.loss, "loss"),
        optim=typed(OptimConfig, cfg.optim, "optim"),
        edge_preset=typed(EdgePreset, cfg.edge_preset, "edge_preset"),
    )


def validate_config(cfg: DictConfig) -> Settings:
    """Raise :class:`ConfigError` for the first value that cannot work; returns the typed groups."""
    from pixel_gan.data.transforms import validate_resolution  # torchvision: imported when a run starts

    size = _number(cfg, "resolution.size", integer=True, minimum=8)
    try:
        validate_resolution(size)
    except ValueError:
        raise ConfigError(f"resolution.size must be a multiple of 8 (the VAE downsamples by 8), got {size}") from None
    typed_groups = settings(cfg)
    if typed_groups.model.backbone == "pretrained":
        _check_local_weights(str(typed_groups.model.pretrained))
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
    return typed_groups


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
