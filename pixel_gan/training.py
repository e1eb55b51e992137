"""What ``python train.py`` does: validate, build from config, fit, export, translate samples."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from pixel_gan.config import ConfigError, validate_config
from pixel_gan.export import save_translator
from pixel_gan.logging_utils import quiet_libraries
from pixel_gan.module import PixelGANModule

log = logging.getLogger(__name__)


def resolve_ckpt_path(cfg: DictConfig, output_dir: Path) -> str | None:
    """``ckpt_path``: a file, or ``last`` (this run's last.ckpt, else the newest run of this task);
    ``resume=true`` does the same but starts fresh when there is nothing to resume."""
    wanted = cfg.get("ckpt_path")
    if wanted and wanted != "last":
        path = Path(str(wanted)).expanduser()
        if not path.is_file():
            raise ConfigError(f"ckpt_path={wanted!r} is not a file")
        return str(path)
    if wanted != "last" and not cfg.get("resume"):
        return None
    candidates = [output_dir / "checkpoints" / "last.ckpt"]
    task_dir = Path(cfg.paths.log_dir) / cfg.task_name
    if task_dir.is_dir():
        candidates += sorted(task_dir.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        if path.is_file():
            log.info("resuming from %s", path)
            return str(path)
    if wanted == "last":
        raise ConfigError(f"ckpt_path=last but no last.ckpt found in {output_dir}/checkpoints or {task_dir}/*/checkpoints")
    log.info("resume=true but no checkpoint of task %s yet: starting fresh", cfg.task_name)
    return None


def translator_meta(cfg: DictConfig, prompts: tuple[str, str], step: int) -> dict[str, Any]:
    """What ``translator.yaml`` records: base model, adapters, captions, resolution, edge preset."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    return {
        "model": {k: model[k] for k in ("name", "backbone", "pretrained", "cache_dir", "lora")},
        "prompts": list(prompts),
        "resolution": int(cfg.resolution.size),
        "edge_preset": OmegaConf.to_container(cfg.edge_preset, resolve=True),
        "loss": cfg.loss.name,
        "experiment": cfg.task_name,
        "step": int(step),
    }


@rank_zero_only
def export_and_sample(module: PixelGANModule, datamodule: Any, cfg: DictConfig, output_dir: Path) -> Path:
    """Write the translator export and translate the first test_A images with it."""
    from pixel_gan.data.images import list_images, load_rgb
    from pixel_gan.translate import Translator

    export_dir = save_translator(output_dir / "translator", module.generator.trainable_state_dict(),
                                 translator_meta(cfg, datamodule.prompts, module.global_step))
    samples = output_dir / "samples"
    samples.mkdir(exist_ok=True)
    translator = Translator.from_pretrained(export_dir, device="cpu")
    for path in list_images(Path(datamodule.root) / "test_A")[: int(cfg.get("sample_count", 3))]:
        out = translator.translate(load_rgb(path))
        out.save(samples / f"{Path(path).stem}.png")
    log.info("translator exported to %s, samples in %s", export_dir, samples)
    return export_dir


def train(cfg: DictConfig) -> dict[str, float]:
    """Run one training job; returns the final logged metrics (what a sweeper optimizes)."""
    quiet_libraries()
    validate_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    ckpt_path = resolve_ckpt_path(cfg, output_dir)

    datamodule = hydra.utils.instantiate(
        cfg.data, resolution=cfg.resolution.size, seed=cfg.seed,
        edge_preset=OmegaConf.to_container(cfg.edge_preset, resolve=True), _convert_="all")
    datamodule.prepare_data()
    module = PixelGANModule(model=cfg.model, loss=cfg.loss, optim=cfg.optim, prompts=datamodule.prompts,
                            resolution=cfg.resolution.size, image_log_every_n_steps=cfg.image_log_every_n_steps,
                            max_consecutive_skips=cfg.max_consecutive_skips)
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    log.info("data: %s", datamodule.describe())
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    if cfg.get("export", True):
        export_and_sample(module, datamodule, cfg, output_dir)
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
