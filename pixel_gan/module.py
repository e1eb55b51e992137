"""PixelGANModule: the CycleGAN-Turbo training step on Lightning, with manual optimization.

One iteration reads like the DESIGN data flow:

    generator step   fake_b = G(a, a2b), rec_a = G(fake_b, b2a), idt_a = G(a, b2a)   (terms from a)
                     fake_a = G(b, b2a), rec_b = G(fake_a, a2b), idt_b = G(b, a2b)   (terms from b)
                     loss = cycle + GAN + identity [+ palette] → backward → clip → one step
    discriminator    D_A, D_B on the generator's own fakes (detached) and the reals → one step

``loss.split_backward`` (default) backpropagates the summed loss in four parts (the translation
terms from a, the identity term of a, then the same from b) into the same gradients: identical to
one backward on the sum, with at most 2 generator passes of activations alive instead of 6.
``loss.name=separate`` keeps the reference's three backward/step phases as baseline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from diffusers.optimization import get_scheduler
from lightning.pytorch.strategies import ParallelStrategy
from torch import Tensor, nn
from torchvision.utils import make_grid

from pixel_gan.config import ConfigError, plain_dict
from pixel_gan.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss
from pixel_gan.losses.palette import palette_loss
from pixel_gan.losses.perceptual import PerceptualLoss
from pixel_gan.models.backbone import build_backbone
from pixel_gan.models.discriminator import build_discriminator
from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

OTHER = {"a": "b", "b": "a"}
GT_KEYS = ("gt", "gt_cell", "gt_palette")  # validation batches of a paired test split (see FixedValidationSet)


class TrainingDivergedError(FloatingPointError, ConfigError):
    """The loss stayed non-finite for ``max_consecutive_skips`` iterations: a config (lr) or data problem."""


class CheckpointMismatchError(ConfigError):
    """A checkpoint whose trained tensors do not fit this model config (another LoRA rank or discriminator)."""


class StepRollback:
    """What one optimizer step changes (its parameters and its state), kept so that the step can be undone.

    A step can turn finite weights non-finite (a huge learning rate, an overflow in the moments)
    even when the loss and gradients were finite; such weights must never reach a checkpoint or
    an export. Only the optimizer's own (trainable) tensors are copied, with one foreach copy into
    buffers that are reused from step to step.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self._saved: list[Tensor] = []
        self._buffers: list[Tensor] = []
        self._without_state: list[Tensor] = []

    def _params(self) -> list[Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def save(self) -> None:
        params, state = self._params(), self.optimizer.state
        per_param = [state.get(p) for p in params]
        tensors = params + [t for s in per_param if s for t in s.values() if isinstance(t, Tensor)]
        if len(tensors) != len(self._saved) or any(a is not b for a, b in zip(tensors, self._saved, strict=True)):
            self._buffers = [torch.empty_like(t) for t in tensors]  # new state tensors (first step, a resume)
        with torch.no_grad():
            torch._foreach_copy_(self._buffers, tensors)
        self._saved = tensors
        self._without_state = [p for p, s in zip(params, per_param, strict=True) if not s]

    def max_abs_weights(self) -> Tensor:
        """The largest |weight| of each parameter: non-finite exactly when a weight is NaN or infinite."""
        with torch.no_grad():
            return torch.stack([n.float() for n in torch._foreach_norm(self._params(), float("inf"))])

    def restore(self) -> None:
        """Parameters and optimizer state as they were at :meth:`save`."""
        with torch.no_grad():
            torch._foreach_copy_(self._saved, self._buffers)
        for p in self._without_state:  # the state this step created did not exist before it
            self.optimizer.state.pop(p, None)


def cast_frozen_(*modules: nn.Module, dtype: torch.dtype) -> None:
    """Hold the frozen (requires_grad=False) parameters of ``modules`` in ``dtype``; trainable ones keep theirs."""
    for module in modules:
        for p in module.parameters():
            if not p.requires_grad:
                p.data = p.data.to(dtype)


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] → [0, 1]."""
    return (x.float() + 1) / 2


class PixelGANModule(L.LightningModule):
    """Generator (CycleGAN-Turbo), one discriminator per domain, and the losses that train them."""

    def __init__(
        self,
        model: Mapping,
        loss: Mapping,
        optim: Mapping,
        prompts: tuple[str, str] = ("a photo", "pixel art"),
        resolution: int = 256,
        image_log_every_n_steps: int = 100,
        max_consecutive_skips: int = 10,
        metrics: Mapping | None = None,
    ) -> None:
        super().__init__()
        model, loss, optim, metrics = plain_dict(model), plain_dict(loss), plain_dict(optim), plain_dict(metrics)
        self.save_hyperparameters(
            {
                "model": model,
                "loss": loss,
                "optim": optim,
                "prompts": list(prompts),
                "resolution": resolution,
                "image_log_every_n_steps": image_log_every_n_steps,
                "max_consecutive_skips": max_consecutive_skips,
                "metrics": metrics,
            }
        )
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints hold only what is trained; the frozen base is rebuilt
        self.model_cfg, self.loss_cfg, self.optim_cfg = model, loss, optim

        backbone = build_backbone(model["backbone"], model.get("pretrained"), model.get("cache_dir", ".cache"))
        self.generator = CycleGANTurbo.from_backbone(
            backbone, prompts[0], prompts[1], LoraSettings(**model.get("lora", {}))
        )
        del backbone  # the text encoder was only needed for the two caption embeddings
        self.generator.set_grad_checkpointing(bool(model.get("grad_ckpt", False)))
        if model.get("channels_last"):
            self.generator.to(memory_format=torch.channels_last)
        if model.get("compile"):
            self.generator.unet.compile()  # in place: parameter names and checkpoints are unchanged
        self.discriminators = nn.ModuleDict(self._build_discriminators(model, resolution))
        self.lpips = PerceptualLoss(
            loss.get("lpips_net", "vgg"),
            loss.get("lpips_backbone_weights"),
            random_backbone=model["backbone"] in ("demo", "tiny"),
        )
        self.dino_struct = self._build_dino_struct(metrics)
        self.skipped_steps = 0  # optimizer steps skipped (non-finite loss) or undone (non-finite weights)
        self.consecutive_skips = 0  # iterations in a row with a skipped optimizer step
        self._iteration_skipped = False
        self._rollbacks: dict[int, StepRollback] = {}
        self._val_outputs: list[dict[str, Tensor]] = []

    @staticmethod
    def _build_discriminators(model: dict, resolution: int) -> dict[str, nn.Module]:
        kind = model.get("discriminator", "patchgan")
        kwargs: dict[str, Any] = {}
        if kind == "clip":
            from pixel_gan.models.discriminator import load_clip_tower

            kwargs["clip_tower"] = load_clip_tower(model.get("clip_pretrained"))  # one frozen tower, shared
        return {domain: build_discriminator(kind, resolution, **kwargs) for domain in ("a", "b")}

    def on_fit_start(self) -> None:
        """Frozen bases (UNet, VAE base, LPIPS net, CLIP tower) in ``model.frozen_dtype`` for bf16 on GPU.

        Trainable adapters stay fp32 (their optimizer steps need the precision); autocast runs the
        frozen matmuls in bf16 either way, so holding the frozen weights in bf16 halves their memory.
        """
        name = self.model_cfg.get("frozen_dtype")
        if name and self.device.type == "cuda" and "bf16" in str(self.trainer.precision):
            dtype = getattr(torch, {"bf16": "bfloat16", "fp16": "float16"}.get(name, name))
            cast_frozen_(self.generator, self.discriminators, self.lpips, dtype=dtype)

    # --- optimizers ----------------------------------------------------------------------
    def configure_optimizers(self):
        o = self.optim_cfg
        adam = dict(
            betas=tuple(o.get("betas", (0.9, 0.999))), weight_decay=o.get("weight_decay", 1e-2), eps=o.get("eps", 1e-8)
        )
        d_params = list({id(p): p for d in self.discriminators.values() for p in d.trainable_parameters()}.values())
        opt_g = torch.optim.AdamW(self._generator_param_groups(o["lr"], o.get("lr_vae")), lr=o["lr"], **adam)
        opt_d = torch.optim.AdamW(d_params, lr=o.get("lr_disc") or o["lr"], **adam)
        total = max(int(self.trainer.max_steps), 1) if self._trainer is not None else 1
        scheds = [
            get_scheduler(
                o.get("scheduler", "constant_with_warmup"),
                opt,
                num_warmup_steps=o.get("warmup_steps", 0),
                num_training_steps=total,
            )
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

    # --- loss terms ----------------------------------------------------------------------
    def _reconstruction(self, out: Tensor, target: Tensor, lpips_weight: float) -> Tensor:
        """L1 + λ·LPIPS, the reference's cycle and identity criterion."""
        loss = F.l1_loss(out, target)
        if lpips_weight:
            loss = loss + lpips_weight * self.lpips(out, target).mean()
        return loss

    def _translation_terms(self, x: Tensor, domain: str, real_other: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Cycle, GAN [and palette] terms from image x of ``domain`` (2 generator passes).

        Returns the weighted terms and the translation into the other domain (for the D step).
        """
        c, other = self.loss_cfg, OTHER[domain]
        fake = self.generator(x, f"{domain}2{other}")
        rec = self.generator(fake, f"{other}2{domain}")
        terms = {
            "cycle": c["lambda_cycle"] * self._reconstruction(rec, x, c["lambda_cycle_lpips"]),
            "gan": c["lambda_gan"] * generator_adversarial_loss(self.discriminators[other](fake)),
        }
        if other == "b" and c.get("lambda_palette", 0):
            terms["palette"] = c["lambda_palette"] * palette_loss(
                to_unit(fake), to_unit(real_other), c.get("palette_bins", 16), c.get("palette_sigma")
            )
        return terms, fake

    def _identity_terms(self, x: Tensor, domain: str) -> dict[str, Tensor]:
        """The identity term (1 generator pass): the generator into x's own domain should keep x."""
        c = self.loss_cfg
        idt = self.generator(x, f"{OTHER[domain]}2{domain}")
        return {"idt": c["lambda_idt"] * self._reconstruction(idt, x, c["lambda_idt_lpips"])}

    def _terms_from(self, x: Tensor, domain: str, real_other: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """All generator terms that start from image x of ``domain`` (3 generator passes)."""
        terms, fake = self._translation_terms(x, domain, real_other)
        return {**terms, **self._identity_terms(x, domain)}, fake

    def _optimizer_step(self, opt, losses: list[Tensor], counts: bool = False) -> bool:
        """Backward each loss into the shared gradients, clip, step; skip the step if any is non-finite."""
        opt.zero_grad(set_to_none=True)
        if not self._finite_on_all_ranks(*losses):
            self._record_skip()
            return False
        for loss in losses:
            self.manual_backward(loss)
        self._clip_and_step(opt, counts)
        return True

    def _parallel_strategy(self) -> ParallelStrategy | None:
        strategy = self._trainer.strategy if self._trainer is not None else None
        return strategy if isinstance(strategy, ParallelStrategy) and strategy.world_size > 1 else None

    def _finite_on_all_ranks(self, *losses: Tensor) -> bool:
        """Whether every loss is finite on every rank.

        Under DDP the skip decision must be collective: a rank that skips its backward while the
        others run theirs would leave their gradient all-reduce waiting forever.
        """
        finite = all(bool(torch.isfinite(loss.detach()).all()) for loss in losses)
        strategy = self._parallel_strategy()
        return strategy.reduce_boolean_decision(finite, all=True) if strategy is not None else finite

    @contextmanager
    def _local_backward(self) -> Iterator[None]:
        """A backward whose gradients a later backward of the same step completes: no DDP all-reduce.

        DDP all-reduces in every backward by default; the split generator backward would average the
        a-branch gradients and then the accumulated sum again. Under ``no_sync`` the first backward
        only accumulates locally and the second one all-reduces the full sum once.
        """
        strategy = self._parallel_strategy()
        if strategy is None:
            yield
        else:
            with strategy.block_backward_sync():
                yield

    def _clip_and_step(self, opt, counts: bool) -> None:
        """Clip to ``optim.max_grad_norm``, step, and undo the step if it left a non-finite weight.

        Lightning counts every ``LightningOptimizer.step`` as a global step; exactly one step per
        iteration (the generator's) is counted so that ``trainer.max_steps``, checkpoint and
        validation intervals mean training iterations. The others step the wrapped optimizer
        directly (equivalent for 32-true and bf16-mixed, which need no gradient scaler).
        """
        self.clip_gradients(
            opt, gradient_clip_val=self.optim_cfg.get("max_grad_norm", 10.0), gradient_clip_algorithm="norm"
        )
        rollback = self._rollbacks.get(id(opt.optimizer))
        if rollback is None:
            rollback = self._rollbacks[id(opt.optimizer)] = StepRollback(opt.optimizer)
        rollback.save()
        (opt if counts else opt.optimizer).step()
        if not self._finite_on_all_ranks(rollback.max_abs_weights()):
            rollback.restore()  # the step made a weight NaN/inf: undo it and count it as skipped
            self._record_skip()

    def _record_skip(self) -> None:
        self.skipped_steps += 1
        self._iteration_skipped = True

    def _end_iteration(self) -> None:
        """Count iterations with a skipped step in a row (any optimizer); stop at ``max_consecutive_skips``.

        Counted per iteration, not per optimizer step: a generator loss that stays NaN while the
        discriminator still steps must stop training too.
        """
        self.consecutive_skips = self.consecutive_skips + 1 if self._iteration_skipped else 0
        self._iteration_skipped = False
        limit = self.hparams.max_consecutive_skips
        if limit and self.consecutive_skips >= limit:
            raise TrainingDivergedError(
                f"loss was non-finite for {self.consecutive_skips} consecutive iterations (step {self.global_step}, "
                f"{self.skipped_steps} optimizer steps skipped in all); stopping. Lower optim.lr, check the data, "
                "or raise max_consecutive_skips."
            )

    # --- the training iteration ------------------------------------------------------------
    def generator_step(self, a: Tensor, b: Tensor, opt_g) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Update G on the summed loss; returns the logged terms and the fakes (fake_a, fake_b)."""
        if self.loss_cfg["name"] == "separate":
            return self._generator_step_separate(a, b, opt_g)
        if self.loss_cfg.get("split_backward", True):
            return self._generator_step_split(a, b, opt_g)
        terms_a, fake_b = self._terms_from(a, "a", b)
        terms_b, fake_a = self._terms_from(b, "b", a)
        self._optimizer_step(opt_g, [sum(terms_a.values()) + sum(terms_b.values())], counts=True)
        logs = {k: terms_a.get(k, 0) + terms_b.get(k, 0) for k in {*terms_a, *terms_b}}
        return logs, {"a": fake_a.detach(), "b": fake_b.detach()}

    def _generator_step_split(self, a: Tensor, b: Tensor, opt_g) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The summed-loss update with its backward split into four parts that share no activations.

        In forward order (so the random draws equal the single backward's): fake_b + rec_a (cycle,
        GAN, palette), idt_a, fake_a + rec_b, idt_b. Each part is backpropagated as soon as it is
        built, into the same gradients, so at most 2 generator passes of activations are alive; the
        sum of the parts' gradients is the gradient of the sum. One optimizer step at the end.
        """
        opt_g.zero_grad(set_to_none=True)
        parts = (
            lambda: self._translation_terms(a, "a", b),
            lambda: (self._identity_terms(a, "a"), None),
            lambda: self._translation_terms(b, "b", a),
            lambda: (self._identity_terms(b, "b"), None),
        )
        logs: dict[str, Tensor] = {}
        fakes: list[Tensor] = []
        losses: list[Tensor] = []
        finite = True
        for index, build in enumerate(parts):
            terms, fake = build()
            if fake is not None:
                fakes.append(fake.detach())
            for key, value in terms.items():
                logs[key] = logs[key] + value.detach() if key in logs else value.detach()
            loss = sum(terms.values())
            losses.append(loss)
            if index < len(parts) - 1:
                finite = finite and bool(torch.isfinite(loss.detach()))
                if finite:
                    with self._local_backward():  # the gradients are all-reduced once, in the last backward
                        self.manual_backward(loss)
            elif self._finite_on_all_ranks(*losses):
                self.manual_backward(loss)
                self._clip_and_step(opt_g, counts=True)
            else:
                opt_g.zero_grad(set_to_none=True)
                self._record_skip()
        fake_b, fake_a = fakes
        return logs, {"a": fake_a, "b": fake_b}

    def _generator_step_separate(self, a: Tensor, b: Tensor, opt_g) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The reference schedule: cycle → step, GAN → step, identity → step (8 generator passes)."""
        c, G = self.loss_cfg, self.generator
        rec_a, rec_b = G(G(a, "a2b"), "b2a"), G(G(b, "b2a"), "a2b")
        cycle = c["lambda_cycle"] * (
            self._reconstruction(rec_a, a, c["lambda_cycle_lpips"])
            + self._reconstruction(rec_b, b, c["lambda_cycle_lpips"])
        )
        self._optimizer_step(opt_g, [cycle])
        fake_b, fake_a = G(a, "a2b"), G(b, "b2a")
        gan = c["lambda_gan"] * (
            generator_adversarial_loss(self.discriminators["b"](fake_b))
            + generator_adversarial_loss(self.discriminators["a"](fake_a))
        )
        logs = {"cycle": cycle, "gan": gan}
        gan_total = gan
        if c.get("lambda_palette", 0):
            logs["palette"] = c["lambda_palette"] * palette_loss(
                to_unit(fake_b), to_unit(b), c.get("palette_bins", 16), c.get("palette_sigma")
            )
            gan_total = gan + logs["palette"]
        self._optimizer_step(opt_g, [gan_total])
        idt = c["lambda_idt"] * (
            self._reconstruction(G(a, "b2a"), a, c["lambda_idt_lpips"])
            + self._reconstruction(G(b, "a2b"), b, c["lambda_idt_lpips"])
        )
        self._optimizer_step(opt_g, [idt], counts=True)
        logs["idt"] = idt
        return logs, {"a": fake_a.detach(), "b": fake_b.detach()}

    def discriminator_step(self, a: Tensor, b: Tensor, fakes: dict[str, Tensor], opt_d) -> Tensor:
        """D_A and D_B on the reals and the generator's detached fakes: no generator pass here."""
        reals = {"a": a, "b": b}
        loss = (
            sum(
                discriminator_adversarial_loss(self.discriminators[d](reals[d]), self.discriminators[d](fakes[d]))
                for d in ("a", "b")
            )
            * self.loss_cfg["lambda_gan"]
        )
        self._optimizer_step(opt_d, [loss])
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        a, b = batch["a"], batch["b"]
        self._iteration_skipped = False
        opt_g, opt_d = self.optimizers()
        with self.toggled_optimizer(opt_g):  # D parameters get no gradient in the G step
            g_logs, fakes = self.generator_step(a, b, opt_g)
        with self.toggled_optimizer(opt_d):
            d_loss = self.discriminator_step(a, b, fakes, opt_d)
        for sched in self.lr_schedulers():
            sched.step()
        logs = {f"train/{k}": v.detach() for k, v in g_logs.items()}
        logs["train/g_total"] = sum(g_logs.values()).detach()
        logs["train/d_loss"] = d_loss.detach()
        logs["train/skipped_steps"] = float(self.skipped_steps)
        self.log_dict(logs, prog_bar=False, batch_size=a.shape[0])
        self.log("train/g", logs["train/g_total"], prog_bar=True, logger=False, batch_size=a.shape[0])
        every = self.hparams.image_log_every_n_steps
        if every and self.global_step % every == 0:
            self._log_images("train/images", a, fakes["b"], b, fakes["a"])
        self._end_iteration()

    # --- validation ----------------------------------------------------------------------
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fake_b = self.generator(batch["a"], "a2b", sample_posterior=False)
        rec_a = self.generator(fake_b, "b2a", sample_posterior=False)
        self._val_outputs.append(
            {
                "a": batch["a"].cpu(),
                "fake_b": fake_b.cpu(),
                "rec_a": rec_a.cpu(),
                "b": batch["b"].cpu(),
                **{k: batch[k].cpu() for k in GT_KEYS if k in batch},
            }
        )

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs:
            return
        cat = {k: torch.cat([o[k] for o in self._val_outputs]) for k in self._val_outputs[0]}
        self._val_outputs.clear()
        metrics = self.validation_metrics(cat["a"], cat["fake_b"], cat["b"])
        rows = [cat["a"], cat["fake_b"], cat["rec_a"]]
        if "gt" in cat:  # a paired test split: how far the a2b translations are from their targets
            from pixel_gan.metrics.ground_truth import ground_truth_metrics

            metrics.update(
                ground_truth_metrics(
                    to_unit(cat["fake_b"]).clamp(0, 1),
                    to_unit(cat["gt"]).clamp(0, 1),
                    cat["gt_cell"],
                    cat["gt_palette"][0],
                )
            )
            rows.append(cat["gt"])
        self.log_dict({f"val/{k}": float(v) for k, v in metrics.items()}, batch_size=cat["a"].shape[0])
        self._log_images("val/images", *rows)

    @staticmethod
    def _build_dino_struct(metrics: dict) -> nn.Module | None:
        """DINO-struct when ``metrics.dino.pretrained`` is set, else None (the metric is then not logged).

        Loaded here, at start-up, so that a wrong path stops the run with a WeightsNotFoundError naming
        ``metrics.dino.pretrained`` before any training, not at the first validation. Frozen, so it
        never enters the checkpoints (see ``on_save_checkpoint``).
        """
        source = (metrics.get("dino") or {}).get("pretrained")
        if not source:
            return None
        from pixel_gan.metrics.dino_struct import DinoStruct

        return DinoStruct.from_pretrained(str(source))

    def validation_metrics(self, a: Tensor, fake_b: Tensor, b: Tensor) -> dict[str, float]:
        """The evaluation report's metrics on the validation images; inputs/outputs in [-1, 1].

        Keys match ``pixel_gan.metrics.pixel_art.METRIC_DIRECTIONS`` (+ ``dino_struct`` when DINO weights are
        configured), so TensorBoard's ``val/<key>``, metrics.jsonl and the report share names. The input
        ``a`` carries the edge overlay the generator saw, so edge_f1/color_drift are measured against it.
        ``palette_distance`` uses the training loss's bins/sigma (the sweep objective).
        """
        from pixel_gan.metrics.pixel_art import pixel_art_metrics

        a, fake_b, b = (to_unit(x).clamp(0, 1) for x in (a, fake_b, b))
        metrics = pixel_art_metrics(a, fake_b)
        metrics["palette_distance"] = palette_loss(
            fake_b, b, self.loss_cfg.get("palette_bins", 16), self.loss_cfg.get("palette_sigma")
        ).item()
        if self.dino_struct is not None:
            with torch.autocast(device_type=self.device.type, enabled=False):  # a metric, not a bf16 estimate
                metrics["dino_struct"] = self.dino_struct(a, fake_b).mean().item()
        return metrics

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
        checkpoint["pixel_gan"] = {"skipped_steps": self.skipped_steps, "consecutive_skips": self.consecutive_skips}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["state_dict"]
        expected = set(self.state_dict()) - self._frozen_keys(self.state_dict())
        missing = sorted(expected - set(state))
        if missing:
            raise CheckpointMismatchError(
                f"checkpoint does not match this model config: {len(missing)} trained tensors missing, "
                f"e.g. {missing[:3]} (check model.lora / model.discriminator)"
            )
        own = self.state_dict()
        wrong = sorted(k for k in expected & set(state) if tuple(state[k].shape) != tuple(own[k].shape))
        if wrong:
            raise CheckpointMismatchError(
                f"checkpoint does not match this model config: {len(wrong)} trained tensors have other shapes, e.g. "
                f"{wrong[0]} is {tuple(state[wrong[0]].shape)} there and {tuple(own[wrong[0]].shape)} here "
                "(check model.lora ranks / model.discriminator)"
            )
        counters = checkpoint.get("pixel_gan", {})
        self.skipped_steps = counters.get("skipped_steps", 0)
        self.consecutive_skips = counters.get("consecutive_skips", 0)
