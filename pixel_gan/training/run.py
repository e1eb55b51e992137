"""What ``python train.py`` does: validate, build from config, fit, export, translate samples."""

from __future__ import annotations

import dataclasses
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from pixel_gan.config import ConfigError, OptimConfig, Settings, validate_config
from pixel_gan.data.edges import EdgePreset
from pixel_gan.inference.export import save_translator
from pixel_gan.logging_utils import quiet_libraries
from pixel_gan.safe_io import png_writer, write_file
from pixel_gan.training.callbacks import StepProgressBar
from pixel_gan.training.checkpointing import (
    PreemptionCheckpoint,
    RngStateCheckpoint,
    SafeCheckpointIO,
    check_lightning_checkpoint,
)
from pixel_gan.training.module import CheckpointMismatchError, PixelGANModule

log = logging.getLogger(__name__)


def resolve_ckpt_path(cfg: DictConfig, output_dir: Path) -> str | None:
    """``ckpt_path``: a file, or ``last`` (this run's last.ckpt, else the newest run of this task);
    ``resume=true`` does the same but starts fresh when there is nothing to resume."""
    wanted = cfg.get("ckpt_path")
    if wanted and wanted != "last":
        path = Path(str(wanted)).expanduser()
        if not path.is_file():
            raise ConfigError(f"ckpt_path={wanted!r} is not a file")
        check_lightning_checkpoint(path)
        return str(path)
    if wanted != "last" and not cfg.get("resume"):
        return None
    candidates = [output_dir / "checkpoints" / "last.ckpt"]
    task_dir = Path(cfg.paths.log_dir) / cfg.task_name
    if task_dir.is_dir():
        candidates += sorted(task_dir.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        if path.is_file():
            check_lightning_checkpoint(path)
            log.info("resuming from %s", path)
            return str(path)
    if wanted == "last":
        raise ConfigError(
            f"ckpt_path=last but no last.ckpt found in {output_dir}/checkpoints or {task_dir}/*/checkpoints"
        )
    log.info("resume=true but no checkpoint of task %s yet: starting fresh", cfg.task_name)
    return None


def translator_meta(cfg: DictConfig, typed: Settings, prompts: tuple[str, str], step: int) -> dict[str, Any]:
    """What ``translator.yaml`` records: base model, adapters, captions, resolution, the resolved edge preset."""
    model, loss = dataclasses.asdict(typed.model), typed.loss
    return {
        "model": {k: model[k] for k in ("name", "backbone", "pretrained", "cache_dir", "lora")},
        "prompts": list(prompts),
        "resolution": int(cfg.resolution.size),
        "edge_preset": dataclasses.asdict(typed.edge_preset),  # the numbers, not a name to look up later
        "loss": loss.schedule + (f" + palette {loss.lambda_palette:g}" if loss.lambda_palette else ""),
        "experiment": cfg.task_name,
        "step": int(step),
    }


@rank_zero_only
def export_and_sample(
    module: PixelGANModule, datamodule: Any, cfg: DictConfig, typed: Settings, output_dir: Path
) -> Path:
    """Write the translator export and translate the first test_A images with it.

    With a paired test split, ``samples/compare.png`` shows input | translation | translation finished at
    the ground truth's grid and palette (as ``pixel-gan translate --resolution N --palette P``) | ground truth.
    """
    from pixel_gan.data.ground_truth import at_size, load_ground_truth
    from pixel_gan.data.images import list_images, load_rgb
    from pixel_gan.evaluation.figures import comparison_grid
    from pixel_gan.evaluation.finish import finish, target_grid
    from pixel_gan.inference.translator import Translator

    export_dir = save_translator(
        output_dir / "translator",
        module.generator.trainable_state_dict(),
        translator_meta(cfg, typed, datamodule.prompts, module.global_step),
    )
    samples = output_dir / "samples"
    samples.mkdir(exist_ok=True)
    translator = Translator.from_pretrained(export_dir, device="cpu")
    ground_truth = load_ground_truth(datamodule.root)
    lines = []
    for path in list_images(Path(datamodule.root) / "test_A")[: int(cfg.get("sample_count", 3))]:
        photo = load_rgb(path)
        out = translator.translate(photo)
        write_file(samples / f"{Path(path).stem}.png", png_writer(out), inputs=[path])
        if ground_truth is not None:
            stored, cell = load_rgb(ground_truth.image_for(path)), ground_truth.cell_for(path)
            target, _ = at_size(stored, cell, out.size)
            lines.append([photo, out, finish(out, target_grid(stored, cell), ground_truth.palette), target])
    if lines:
        write_file(samples / "compare.png", png_writer(comparison_grid(lines)))
    log.info("translator exported to %s, samples in %s", export_dir, samples)
    return export_dir


def scaled_optim(optim: OptimConfig, batch_per_device: int, world_size: int) -> tuple[OptimConfig, dict[str, Any]]:
    """The optimizer config with ``optim.lr_scaling`` applied for the effective (global) batch.

    global_batch = data.batch_size × world size (devices × nodes). ``fixed`` keeps ``lr``;
    ``linear`` multiplies ``lr`` (and ``lr_disc``, ``lr_vae`` if set) by global_batch / ``base_batch``, the batch
    the configured LR was chosen for. The returned record holds the batch sizes and the configured
    LRs, so the run's hparams say what it trained with.
    """
    global_batch = int(batch_per_device) * int(world_size)
    factor = global_batch / optim.base_batch if optim.lr_scaling == "linear" else 1.0
    record: dict[str, Any] = {
        "base_lr": optim.lr,
        "batch_per_device": int(batch_per_device),
        "world_size": int(world_size),
        "global_batch": global_batch,
    }
    for key in ("lr_disc", "lr_vae"):
        if getattr(optim, key):
            record[f"base_{key}"] = getattr(optim, key)
    scaled = dataclasses.replace(
        optim,
        lr=optim.lr * factor,
        lr_disc=optim.lr_disc * factor if optim.lr_disc else optim.lr_disc,
        lr_vae=optim.lr_vae * factor if optim.lr_vae else optim.lr_vae,
    )
    rank_zero_info(
        f"batch {batch_per_device} per device x {world_size} processes = global batch {global_batch}; "
        f"lr {optim.lr:g} -> {scaled.lr:g} (optim.lr_scaling={optim.lr_scaling}, base_batch={optim.base_batch})"
    )
    return scaled, record


def check_process_launch(trainer: L.Trainer) -> None:
    """Refuse a Hydra multirun job in which Lightning would start the other DDP processes itself.

    Lightning's process launcher re-runs the command line once per extra local device; inside a
    multirun that command line holds ``-m`` and the sweep, so every extra rank would start the
    whole sweep again. Under SLURM (submitit_slurm, one task per device) the ranks already exist.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

    strategy = trainer.strategy
    spawns_itself = (
        isinstance(getattr(strategy, "launcher", None), _SubprocessScriptLauncher)
        and not getattr(strategy, "cluster_environment").creates_processes_externally  # noqa: B009 - not on Strategy
    )
    if (
        spawns_itself
        and trainer.num_devices > 1
        and HydraConfig.initialized()
        and HydraConfig.get().mode == RunMode.MULTIRUN
    ):
        raise ConfigError(
            f"trainer.devices={trainer.num_devices} in a multirun (-m) job started without a cluster launcher: "
            "Lightning would re-run the whole sweep for each extra device. Use hydra/launcher=submitit_slurm "
            "(one SLURM task per device), or train one config without -m."
        )


def hold_submitit_signal(preemption: PreemptionCheckpoint) -> Callable[[], None]:
    """Under submitit, turn its pre-emption/time-limit signal (USR2) into: save last.ckpt, then requeue.

    submitit's own handler requeues the job and exits at once, in the middle of a batch, so the
    steps since the last periodic checkpoint would be lost. Here the signal only asks
    ``preemption`` to save after the current batch and stop; the returned function then runs
    submitit's handler (rank 0 requeues with the same overrides and exits).
    """
    try:
        from submitit.core.job_environment import JobEnvironment, SignalHandler
    except ImportError:
        return lambda: None
    signum = JobEnvironment._usr_sig()
    original = signal.getsignal(signum)
    if not isinstance(getattr(original, "__self__", None), SignalHandler):
        return lambda: None

    def defer(received: int, frame: Any) -> None:
        log.warning("%s received: saving last.ckpt after this batch, then requeueing", signal.Signals(received).name)
        preemption.signum = received

    signal.signal(signum, defer)

    def requeue() -> None:
        signal.signal(signum, original)
        if preemption.signum == signum and callable(original):
            original(signum, None)

    return requeue


def build_datamodule(cfg: DictConfig, edge_preset: EdgePreset) -> Any:
    """``cfg.data``'s datamodule at ``resolution.size`` with the resolved preset (handed over as it is)."""
    build = hydra.utils.instantiate(cfg.data, _partial_=True, _convert_="all")
    return build(resolution=int(cfg.resolution.size), seed=int(cfg.seed), edge_preset=edge_preset)


def build_module(cfg: DictConfig, typed: Settings, prompts: tuple[str, str], world_size: int = 1) -> PixelGANModule:
    """The LightningModule of ``cfg`` (the LR rule applied for ``world_size`` processes)."""
    optim, batch_record = scaled_optim(typed.optim, int(cfg.data.batch_size), world_size)
    return PixelGANModule(
        model=typed.model,
        loss=typed.loss,
        optim=optim,
        batch_record=batch_record,
        prompts=prompts,
        resolution=int(cfg.resolution.size),
        image_log_every_n_steps=int(cfg.image_log_every_n_steps),
        max_consecutive_skips=int(cfg.max_consecutive_skips),
        metrics=cfg.get("metrics"),
    )


def train(cfg: DictConfig) -> dict[str, float]:
    """Run one training job; returns the final logged metrics (what a sweeper optimizes)."""
    quiet_libraries()
    typed = validate_config(cfg)  # the typed groups, resolved once: what the rest of the run is given
    if cfg.get("cpu_threads"):
        torch.set_num_threads(int(cfg.cpu_threads))
    output_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    ckpt_path = resolve_ckpt_path(cfg, output_dir)

    datamodule = build_datamodule(cfg, typed.edge_preset)
    datamodule.prepare_data()
    try:  # list and check the image files now: an empty or unreadable folder stops before any model is built
        datamodule.setup("fit")
    except (ValueError, FileNotFoundError) as err:
        raise ConfigError(f"data.root={cfg.data.root}: {err}") from err
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    preemption = PreemptionCheckpoint()
    callbacks += [RngStateCheckpoint(), preemption]
    if cfg.trainer.get("enable_progress_bar", True):
        callbacks.append(StepProgressBar())
    requeue_if_signalled = hold_submitit_signal(preemption)
    trainer: L.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers, plugins=[SafeCheckpointIO()]
    )
    check_process_launch(trainer)
    module = build_module(cfg, typed, datamodule.prompts, trainer.world_size)  # the LR rule needs the world size
    log.info("data: %s", datamodule.describe())
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except CheckpointMismatchError as err:
        raise ConfigError(f"ckpt_path={ckpt_path!r}: {err}") from err
    except SIGTERMException:
        preemption.signum = preemption.signum or int(signal.SIGTERM)
    if preemption.signum is not None:
        log.warning(
            "stopped by %s at step %d; %s holds this state: continue with ckpt_path=last",
            signal.Signals(preemption.signum).name,
            trainer.global_step,
            preemption.saved_path,
        )
        requeue_if_signalled()
        raise SystemExit(128 + preemption.signum)
    if cfg.get("export", True):
        export_and_sample(module, datamodule, cfg, typed, output_dir)
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
