"""Test-only callback for the DDP tests, added from the command line of ``train.py``:

    +callbacks.probe._target_=scaleout_probe.ScaleoutProbe +callbacks.probe.out_dir=DIR

(with ``tests/scaleout`` on PYTHONPATH; Lightning's DDP child processes inherit it). Every rank
writes ``rank{R}.safetensors`` (trainable parameters and discriminator buffers at the end of
training), ``rank{R}_init.safetensors`` (the same at the start) and ``rank{R}.json`` (how many
gradient all-reduce rounds each iteration ran, and the optimizer hparams the run used).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import lightning as L
from safetensors.torch import save_file
from torch import Tensor


def trained_state(pl_module: L.LightningModule) -> dict[str, Tensor]:
    """Everything an optimizer updates, plus the spectral-norm power-iteration buffers."""
    state = {n: p.detach().clone().contiguous() for n, p in pl_module.named_parameters() if p.requires_grad}
    discriminators = getattr(pl_module, "discriminators", None)
    if discriminators is not None:
        state.update({f"buffer.{n}": b.detach().clone().contiguous() for n, b in discriminators.named_buffers()})
    return state


class ScaleoutProbe(L.Callback):
    """Dump per-rank state and count DDP all-reduce rounds (one round = one synchronized backward).

    ``sample_posterior=False`` makes the generator use the VAE posterior mode in training: with
    sampling, every rank draws the same noise (same seed) while one process with the whole batch
    draws different noise per image, so a DDP run and a single-process run could not agree.
    """

    def __init__(self, out_dir: str, sample_posterior: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.sample_posterior = sample_posterior
        self.rounds = 0
        self.rounds_per_iteration: list[int] = []
        self._rounds_at_batch_start = 0
        self._init_state: dict[str, Tensor] = {}
        self._grads: dict[str, Tensor] = {}
        self.iteration = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self.sample_posterior:
            generator = pl_module.generator
            generator.forward = functools.partial(type(generator).forward, generator, sample_posterior=False)

    def _count_and_allreduce(self, state, bucket):  # unannotated: DDP checks real annotations only
        """DDP's default all-reduce, counting rounds: the last bucket of each synchronized backward."""
        from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

        if bucket.is_last():
            self.rounds += 1
        return allreduce_hook(None, bucket)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from torch.nn.parallel import DistributedDataParallel

        model = trainer.strategy.model
        if isinstance(model, DistributedDataParallel):
            model.register_comm_hook(state=None, hook=self._count_and_allreduce)
        self._init_state = trained_state(pl_module)
        names = {id(p): n for n, p in pl_module.named_parameters()}
        for index, optimizer in enumerate(trainer.optimizers):
            optimizer.register_step_pre_hook(functools.partial(self._capture_grads, names, index))

    def _capture_grads(self, names: dict[int, str], index: int, optimizer: Any, args: Any, kwargs: Any) -> None:
        """The gradients of the first iteration's steps (after DDP's all-reduce and clipping)."""
        if self.iteration == 0:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._grads[f"opt{index}.{names[id(p)]}"] = p.grad.detach().clone().contiguous()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._rounds_at_batch_start = self.rounds

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.rounds_per_iteration.append(self.rounds - self._rounds_at_batch_start)
        self.iteration += 1

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rank = trainer.global_rank
        save_file(trained_state(pl_module), str(self.out_dir / f"rank{rank}.safetensors"))
        save_file(self._init_state, str(self.out_dir / f"rank{rank}_init.safetensors"))
        save_file(self._grads, str(self.out_dir / f"rank{rank}_grads.safetensors"))
        info = {
            "rank": rank,
            "world_size": trainer.world_size,
            "global_step": trainer.global_step,
            "rounds_per_iteration": self.rounds_per_iteration,
            "optim": dict(pl_module.hparams["optim"]),
        }
        (self.out_dir / f"rank{rank}.json").write_text(json.dumps(info, indent=1))
