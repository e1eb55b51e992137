"""Optimizer steps that are safe to take: skipped on a non-finite loss, undone on non-finite weights,
decided together on every DDP rank, and counted so that training stops when it keeps diverging.

:class:`SafeSteps` is mixed into the LightningModule; it is the ``Updater`` the schedules call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.strategies import ParallelStrategy
from torch import Tensor

from pixel_gan.config import ConfigError
from pixel_gan.training.rollback import StepRollback


class TrainingDivergedError(FloatingPointError, ConfigError):
    """The loss stayed non-finite for ``max_consecutive_skips`` iterations: a config (lr) or data problem."""


class SafeSteps(L.LightningModule):
    """Skip/roll back/count optimizer steps; ``max_grad_norm`` and ``max_consecutive_skips`` set by the subclass."""

    max_grad_norm: float
    max_consecutive_skips: int

    def __init__(self) -> None:
        super().__init__()
        self.skipped_steps = 0  # optimizer steps skipped (non-finite loss) or undone (non-finite weights)
        self.consecutive_skips = 0  # iterations in a row with a skipped optimizer step
        self._iteration_skipped = False
        self._rollbacks: dict[int, StepRollback] = {}

    # --- the Updater the schedules call -----------------------------------------------------
    def step_optimizer(self, opt: Any, losses: list[Tensor], counts: bool = False) -> bool:
        """Backward each loss into the shared gradients, clip, step; skip the step if any is non-finite."""
        opt.zero_grad(set_to_none=True)
        if not self._finite_on_all_ranks(*losses):
            self._record_skip()
            return False
        for loss in losses:
            self.manual_backward(loss)
        self._clip_and_step(opt, counts)
        return True

    def backward_part(self, loss: Tensor) -> None:
        """A backward whose gradients a later backward of the same step completes: no DDP all-reduce.

        DDP all-reduces in every backward by default; the split generator backward would average the
        a-branch gradients and then the accumulated sum again. Under ``no_sync`` the first backward
        only accumulates locally and the last one all-reduces the full sum once.
        """
        with self._local_backward():
            self.manual_backward(loss)

    def finish_parts(self, opt: Any, losses: list[Tensor], last: Tensor) -> None:
        """The last part's backward and the step, or no step if any part was non-finite on any rank."""
        if self._finite_on_all_ranks(*losses):
            self.manual_backward(last)
            self._clip_and_step(opt, counts=True)
        else:
            opt.zero_grad(set_to_none=True)
            self._record_skip()

    # --- mechanics ----------------------------------------------------------------------------
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
        strategy = self._parallel_strategy()
        if strategy is None:
            yield
        else:
            with strategy.block_backward_sync():
                yield

    def _clip_and_step(self, opt: Any, counts: bool) -> None:
        """Clip to ``optim.max_grad_norm``, step, and undo the step if it left a non-finite weight.

        Lightning counts every ``LightningOptimizer.step`` as a global step; exactly one step per
        iteration (the generator's) is counted so that ``trainer.max_steps``, checkpoint and
        validation intervals mean training iterations. The others step the wrapped optimizer
        directly (equivalent for 32-true and bf16-mixed, which need no gradient scaler).
        """
        self.clip_gradients(opt, gradient_clip_val=self.max_grad_norm, gradient_clip_algorithm="norm")
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
        limit = self.max_consecutive_skips
        if limit and self.consecutive_skips >= limit:
            raise TrainingDivergedError(
                f"loss was non-finite for {self.consecutive_skips} consecutive iterations (step {self.global_step}, "
                f"{self.skipped_steps} optimizer steps skipped in all); stopping. Lower optim.lr, check the data, "
                "or raise max_consecutive_skips."
            )

    def skip_counters(self) -> dict[str, int]:
        """What a checkpoint keeps of the counters (a resumed run stops at the same skip)."""
        return {"skipped_steps": self.skipped_steps, "consecutive_skips": self.consecutive_skips}

    def load_skip_counters(self, counters: dict[str, int]) -> None:
        self.skipped_steps = counters.get("skipped_steps", 0)
        self.consecutive_skips = counters.get("consecutive_skips", 0)
