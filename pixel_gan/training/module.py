"""PixelGANModule: the CycleGAN-Turbo training iteration on Lightning, with manual optimization.

One iteration:

    generator step   the ``loss.schedule`` (pixel_gan.training.schedules) over the terms of
                     pixel_gan.losses.terms: cycle + GAN + identity [+ palette] from a and from b
    discriminator    D_A, D_B on the generator's own fakes (detached) and the reals → one step

This class only wires them: it builds the networks and optimizers from the typed configs, takes
safe steps (:class:`~pixel_gan.training.steps.SafeSteps`), logs, validates and keeps checkpoints small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import torch
from diffusers.optimization import get_scheduler
from omegaconf import DictConfig
from torch import Tensor, nn
from torchvision.utils import make_grid

from pixel_gan.config import ConfigError, LossConfig, ModelConfig, OptimConfig, typed
from pixel_gan.losses.perceptual import PerceptualLoss
from pixel_gan.losses.terms import LossNets, discriminator_loss, to_unit
from pixel_gan.metrics.validation import ground_truth_rows, validation_metrics
from pixel_gan.models.backbone import build_backbone
from pixel_gan.models.discriminator import build_discriminator
from pixel_gan.models.generator import CycleGANTurbo, lora_settings
from pixel_gan.training.rollback import cast_frozen_
from pixel_gan.training.schedules import SCHEDULES
from pixel_gan.training.steps import SafeSteps, TrainingDivergedError

GT_KEYS = ("gt", "gt_cell", "gt_palette")  # validation batches of a paired test split (see FixedValidationSet)
Config = DictConfig | Mapping[str, Any]

__all__ = ["CheckpointMismatchError", "PixelGANModule", "TrainingDivergedError", "cast_frozen_"]


class CheckpointMismatchError(ConfigError):
    """A checkpoint whose trained tensors do not fit this model config (another LoRA rank or discriminator)."""


class PixelGANModule(SafeSteps):
    """Generator (CycleGAN-Turbo), one discriminator per domain, and the losses that train them.

    ``model``/``loss``/``optim`` are the typed configs (a composed node or a checkpoint's hparams
    mapping is converted once, here); ``batch_record`` is what ``scaled_optim`` says about the batch.
    """

    def __init__(
        self,
        model: ModelConfig | Config,
        loss: LossConfig | Config,
        optim: OptimConfig | Config,
        prompts: tuple[str, str] = ("a photo", "pixel art"),
        resolution: int = 256,
        image_log_every_n_steps: int = 100,
        max_consecutive_skips: int = 10,
        metrics: Config | None = None,
        batch_record: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model_cfg = typed(ModelConfig, model, "model")
        self.loss_cfg = typed(LossConfig, loss, "loss")
        self.optim_cfg = typed(OptimConfig, optim, "optim")
        dino = dict(dict(metrics or {}).get("dino") or {})
        self.save_hyperparameters(
            {
                "model": asdict(self.model_cfg),
                "loss": asdict(self.loss_cfg),
                "optim": {**asdict(self.optim_cfg), **dict(batch_record or {})},
                "prompts": list(prompts),
                "resolution": resolution,
                "image_log_every_n_steps": image_log_every_n_steps,
                "max_consecutive_skips": max_consecutive_skips,
                "metrics": {"dino": dino},
            }
        )
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints hold only what is trained; the frozen base is rebuilt
        self.max_grad_norm = self.optim_cfg.max_grad_norm
        self.max_consecutive_skips = max_consecutive_skips

        m = self.model_cfg
        backbone = build_backbone(m.backbone, m.pretrained, m.cache_dir)
        lora = lora_settings(m.lora, "model.lora")
        self.generator = CycleGANTurbo.from_backbone(backbone, prompts[0], prompts[1], lora)
        del backbone  # the text encoder was only needed for the two caption embeddings
        self.generator.set_grad_checkpointing(m.grad_ckpt)
        if m.channels_last:
            self.generator.to(memory_format=torch.channels_last)
        if m.compile:
            self.generator.unet.compile()  # in place: parameter names and checkpoints are unchanged
        self.discriminators = nn.ModuleDict(self._build_discriminators(m, resolution))
        self.lpips = PerceptualLoss(
            self.loss_cfg.lpips_net,
            self.loss_cfg.lpips_backbone_weights,
            random_backbone=m.backbone in ("demo", "tiny"),
        )
        self.dino_struct = self._build_dino_struct(dino.get("pretrained"))
        self._val_outputs: list[dict[str, Tensor]] = []

    @property
    def nets(self) -> LossNets:
        return LossNets(self.generator, self.discriminators, self.lpips, self.loss_cfg)

    @staticmethod
    def _build_discriminators(model: ModelConfig, resolution: int) -> dict[str, nn.Module]:
        kwargs: dict[str, Any] = {}
        if model.discriminator == "clip":
            from pixel_gan.models.discriminator import load_clip_tower

            kwargs["clip_tower"] = load_clip_tower(model.clip_pretrained)  # one frozen tower, shared
        return {domain: build_discriminator(model.discriminator, resolution, **kwargs) for domain in ("a", "b")}

    @staticmethod
    def _build_dino_struct(source: str | None) -> nn.Module | None:
        """DINO-struct when ``metrics.dino.pretrained`` is set, else None (the metric is then not logged).

        Loaded here, at start-up, so that a wrong path stops the run with a WeightsNotFoundError naming
        ``metrics.dino.pretrained`` before any training, not at the first validation. Frozen, so it
        never enters the checkpoints (see ``on_save_checkpoint``).
        """
        if not source:
            return None
        from pixel_gan.metrics.dino_struct import DinoStruct

        return DinoStruct.from_pretrained(str(source))

    def on_fit_start(self) -> None:
        """Frozen bases (UNet, VAE base, LPIPS net, CLIP tower) in ``model.frozen_dtype`` for bf16 on GPU.

        Trainable adapters stay fp32 (their optimizer steps need the precision); autocast runs the
        frozen matmuls in bf16 either way, so holding the frozen weights in bf16 halves their memory.
        """
        name = self.model_cfg.frozen_dtype
        if name and self.device.type == "cuda" and "bf16" in str(self.trainer.precision):
            dtype = getattr(torch, {"bf16": "bfloat16", "fp16": "float16"}.get(name, name))
            cast_frozen_(self.generator, self.discriminators, self.lpips, dtype=dtype)

    # --- optimizers ----------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        o = self.optim_cfg
        adam: dict[str, Any] = {"betas": tuple(o.betas), "weight_decay": o.weight_decay, "eps": o.eps}
        discriminators: list[Any] = list(self.discriminators.values())
        d_params = list({id(p): p for d in discriminators for p in d.trainable_parameters()}.values())
        opt_g = torch.optim.AdamW(self._generator_param_groups(o.lr, o.lr_vae), lr=o.lr, **adam)
        opt_d = torch.optim.AdamW(d_params, lr=o.lr_disc or o.lr, **adam)
        total = max(int(self.trainer.max_steps), 1) if self._trainer is not None else 1
        scheds = [
            get_scheduler(o.scheduler, opt, num_warmup_steps=o.warmup_steps, num_training_steps=total)
            for opt in (opt_g, opt_d)
        ]
        return [opt_g, opt_d], [{"scheduler": s, "interval": "step"} for s in scheds]

    def _generator_param_groups(self, lr: float, lr_vae: float | None) -> list[dict[str, Any]]:
        """One group at ``lr``; with ``optim.lr_vae``, the VAE adapters and skip convs get their own.

        The UNet's output is amplified by 1/√ᾱ ≈ 14.6 in the one-step x0, the VAE's is not: a small
        base (the demo) learns its skips in a few hundred steps only with a larger VAE rate.
        """
        named = [(n, p) for n, p in self.generator.named_parameters() if p.requires_grad]
        if lr_vae is None:
            return [{"params": [p for _, p in named], "lr": lr}]
        return [
            {"params": [p for n, p in named if not n.startswith("vae_")], "lr": lr},
            {"params": [p for n, p in named if n.startswith("vae_")], "lr": lr_vae},
        ]

    # --- the training iteration ------------------------------------------------------------
    def generator_step(self, a: Tensor, b: Tensor, opt_g: Any) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Update G by ``loss.schedule``; returns the logged terms and the fakes {"a": fake_a, "b": fake_b}."""
        return SCHEDULES[self.loss_cfg.schedule](self.nets, a, b, opt_g, self)

    def discriminator_step(self, a: Tensor, b: Tensor, fakes: dict[str, Tensor], opt_d: Any) -> Tensor:
        """D_A and D_B on the reals and the generator's detached fakes: no generator pass here."""
        loss = discriminator_loss(self.nets, {"a": a, "b": b}, fakes)
        self.step_optimizer(opt_d, [loss])
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        a, b = batch["a"], batch["b"]
        self._iteration_skipped = False
        opt_g, opt_d = self.optimizers()  # type: ignore[attr-defined]
        with self.toggled_optimizer(opt_g):  # D parameters get no gradient in the G step
            g_logs, fakes = self.generator_step(a, b, opt_g)
        with self.toggled_optimizer(opt_d):
            d_loss = self.discriminator_step(a, b, fakes, opt_d)
        for sched in self.lr_schedulers():  # type: ignore[union-attr]
            sched.step()
        logs: dict[str, Any] = {f"train/{k}": v.detach() for k, v in g_logs.items()}
        logs["train/g_total"] = sum(g_logs.values()).detach()  # type: ignore[union-attr]
        logs["train/d_loss"] = d_loss.detach()
        logs["train/skipped_steps"] = float(self.skipped_steps)
        self.log_dict(logs, prog_bar=False, batch_size=a.shape[0])
        self.log("train/g", logs["train/g_total"], prog_bar=True, logger=False, batch_size=a.shape[0])
        every = self.hparams["image_log_every_n_steps"]
        if every and self.global_step % every == 0:
            self._log_images("train/images", a, fakes["b"], b, fakes["a"])
        self._end_iteration()

    # --- validation ----------------------------------------------------------------------
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fake_b = self.generator(batch["a"], "a2b", sample_posterior=False)
        rec_a = self.generator(fake_b, "b2a", sample_posterior=False)
        kept = {"a": batch["a"], "fake_b": fake_b, "rec_a": rec_a, "b": batch["b"]}
        kept.update({k: batch[k] for k in GT_KEYS if k in batch})
        self._val_outputs.append({k: v.cpu() for k, v in kept.items()})

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs:
            return
        cat = {k: torch.cat([o[k] for o in self._val_outputs]) for k in self._val_outputs[0]}
        self._val_outputs.clear()
        metrics = validation_metrics(cat["a"], cat["fake_b"], cat["b"], self.dino_struct)
        rows = [cat["a"], cat["fake_b"], cat["rec_a"]]
        if "gt" in cat:  # a paired test split: how far the a2b translations are from their targets
            metrics.update(ground_truth_rows(cat))
            rows.append(cat["gt"])
        self.log_dict({f"val/{k}": float(v) for k, v in metrics.items()}, batch_size=cat["a"].shape[0])
        self._log_images("val/images", *rows)

    def _log_images(self, tag: str, *rows: Tensor) -> None:
        """One row per tensor (e.g. input | fake | reconstruction), up to 4 images each."""
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_image"):
            return
        n = min(4, rows[0].shape[0])
        grid = make_grid(torch.cat([to_unit(r[:n]).cpu() for r in rows]), nrow=n, padding=2).clamp(0, 1)
        experiment.add_image(tag, grid, self.global_step)

    # --- checkpoints: only what is trained ------------------------------------------------
    def _frozen_keys(self, state: Mapping[str, Tensor]) -> set[str]:
        frozen = {n for n, p in self.named_parameters(remove_duplicate=False) if not p.requires_grad}
        return frozen | {k for k in state if k.startswith("lpips.")}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["state_dict"]
        for key in self._frozen_keys(state) & set(state):
            del state[key]
        checkpoint["pixel_gan"] = self.skip_counters()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state, own = checkpoint["state_dict"], self.state_dict()
        expected = set(own) - self._frozen_keys(own)
        missing = sorted(expected - set(state))
        if missing:
            raise CheckpointMismatchError(
                f"checkpoint does not match this model config: {len(missing)} trained tensors missing, "
                f"e.g. {missing[:3]} (check model.lora / model.discriminator)"
            )
        wrong = sorted(k for k in expected & set(state) if tuple(state[k].shape) != tuple(own[k].shape))
        if wrong:
            raise CheckpointMismatchError(
                f"checkpoint does not match this model config: {len(wrong)} trained tensors have other shapes, e.g. "
                f"{wrong[0]} is {tuple(state[wrong[0]].shape)} there and {tuple(own[wrong[0]].shape)} here "
                "(check model.lora ranks / model.discriminator)"
            )
        self.load_skip_counters(checkpoint.get("pixel_gan", {}))
