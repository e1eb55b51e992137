"""The generator updates of one iteration, one function per ``loss.schedule``; read each top to bottom.

    separate  the reference: cycle → step, GAN [+ palette] → step, identity → step (8 generator passes)
    single    one backward on the summed loss, one step (6 passes, all their activations alive at once)
    split     the summed loss backpropagated in four parts as they are built (fake+rec from a, idt of a,
              then the same from b): the gradients of ``single`` with at most 2 passes' activations alive

Each returns the logged (weighted) terms and the detached translations {"a": fake_a, "b": fake_b} for
the discriminator step. How a step is taken (skip on a non-finite loss, clip, roll back non-finite
weights, DDP sync) is the :class:`Updater`'s business: the LightningModule implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor

from pixel_gan.losses.terms import LossNets, Terms, gan_terms, identity_terms, palette_term, reconstruction
from pixel_gan.losses.terms import translation_terms as translation

Fakes = dict[str, Tensor]


class Updater(Protocol):
    """The optimizer mechanics a schedule calls (see ``PixelGANModule``)."""

    def step_optimizer(self, opt: Any, losses: list[Tensor], counts: bool = False) -> bool:
        """Backward ``losses`` into fresh gradients and step, or skip if any is non-finite on any rank."""
        ...

    def backward_part(self, loss: Tensor) -> None:
        """Backward one part of a loss whose last part follows (gradients not yet all-reduced)."""
        ...

    def finish_parts(self, opt: Any, losses: list[Tensor], last: Tensor) -> None:
        """Backward the last part and step, or drop every part's gradients if any part was non-finite."""
        ...


def separate(nets: LossNets, a: Tensor, b: Tensor, opt: Any, up: Updater) -> tuple[Terms, Fakes]:
    """The reference's three phases, each with its own backward and step; only the last one is counted."""
    w, G = nets.weights, nets.generator
    rec_a, rec_b = G(G(a, "a2b"), "b2a"), G(G(b, "b2a"), "a2b")
    cycle = w.lambda_cycle * (
        reconstruction(nets, rec_a, a, w.lambda_cycle_lpips) + reconstruction(nets, rec_b, b, w.lambda_cycle_lpips)
    )
    up.step_optimizer(opt, [cycle])

    fake_b, fake_a = G(a, "a2b"), G(b, "b2a")
    logs = {"cycle": cycle, "gan": gan_terms(nets, fake_a, fake_b)}
    if w.lambda_palette:
        logs["palette"] = palette_term(nets, fake_b, b)
    up.step_optimizer(opt, [logs["gan"] + logs.get("palette", 0)])

    idt = w.lambda_idt * (
        reconstruction(nets, G(a, "b2a"), a, w.lambda_idt_lpips)
        + reconstruction(nets, G(b, "a2b"), b, w.lambda_idt_lpips)
    )
    up.step_optimizer(opt, [idt], counts=True)
    logs["idt"] = idt
    return logs, {"a": fake_a.detach(), "b": fake_b.detach()}


def single(nets: LossNets, a: Tensor, b: Tensor, opt: Any, up: Updater) -> tuple[Terms, Fakes]:
    """Every term from a and from b, summed, one backward, one step."""
    terms_a, fake_b = translation(nets, a, "a", b)
    terms_a.update(identity_terms(nets, a, "a"))
    terms_b, fake_a = translation(nets, b, "b", a)
    terms_b.update(identity_terms(nets, b, "b"))
    up.step_optimizer(opt, [sum(terms_a.values()) + sum(terms_b.values())], counts=True)  # type: ignore[list-item]
    logs = {k: terms_a.get(k, 0) + terms_b.get(k, 0) for k in {*terms_a, *terms_b}}
    return logs, {"a": fake_a.detach(), "b": fake_b.detach()}  # type: ignore[return-value]


def split(nets: LossNets, a: Tensor, b: Tensor, opt: Any, up: Updater) -> tuple[Terms, Fakes]:
    """The summed loss of ``single`` in four parts, each backpropagated as soon as it is built.

    In forward order (so the random draws equal ``single``'s); the parts share no activations, and
    the sum of their gradients is the gradient of the sum. One optimizer step at the end.
    """
    opt.zero_grad(set_to_none=True)
    parts: list[Callable[[], tuple[Terms, Tensor | None]]] = [
        lambda: translation(nets, a, "a", b),
        lambda: (identity_terms(nets, a, "a"), None),
        lambda: translation(nets, b, "b", a),
        lambda: (identity_terms(nets, b, "b"), None),
    ]
    logs: Terms = {}
    fakes: list[Tensor] = []
    losses: list[Tensor] = []
    for index, build in enumerate(parts):
        terms, fake = build()
        if fake is not None:
            fakes.append(fake.detach())
        for key, value in terms.items():
            logs[key] = logs[key] + value.detach() if key in logs else value.detach()
        loss: Tensor = sum(terms.values())  # type: ignore[assignment]
        losses.append(loss)
        if index < len(parts) - 1:
            if all(bool(torch.isfinite(x.detach())) for x in losses):  # a NaN part: no more backward
                up.backward_part(loss)
        else:
            up.finish_parts(opt, losses, loss)
    fake_b, fake_a = fakes
    return logs, {"a": fake_a, "b": fake_b}


SCHEDULES: dict[str, Callable[[LossNets, Tensor, Tensor, Any, Updater], tuple[Terms, Fakes]]] = {
    "separate": separate,
    "single": single,
    "split": split,
}
