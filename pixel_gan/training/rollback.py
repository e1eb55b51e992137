"""Undoing an optimizer step, and holding frozen weights in a lower precision."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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
