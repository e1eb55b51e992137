"""GAN losses over multi-level discriminator outputs ("multilevel sigmoid").

A discriminator returns a list of logits tensors, one per level (a PatchGAN map, or one
score per CLIP token at several depths). Each level is scored with BCE-with-logits
averaged over its own elements, and the levels are **summed**, as the reference's
``multilevel_sigmoid`` does: a level's weight does not depend on how many tokens or
patches it has, and the loss scale (hence ``loss.lambda_gan`` = 0.5) carries over from
the reference. A single-level PatchGAN gives the plain mean BCE.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def multilevel_bce(logits: Sequence[Tensor] | Tensor, target: float) -> Tensor:
    """Σ_levels mean BCE(logits, target); target 1.0 = "real", 0.0 = "fake". Scalar tensor.

    Public so a training step can score reals and fakes in separate backward passes.
    """
    levels = [logits] if isinstance(logits, Tensor) else list(logits)
    if not levels:
        raise ValueError("discriminator returned no logits")
    losses = [F.binary_cross_entropy_with_logits(level, torch.full_like(level, target)) for level in levels]
    return torch.stack(losses).sum()


def generator_adversarial_loss(fake_logits: Sequence[Tensor] | Tensor) -> Tensor:
    """Non-saturating generator loss: push D's logits on fakes towards "real".

    -log σ(D(G(x))) keeps a useful gradient when D confidently rejects the fakes, unlike
    the minimax log(1 - σ(D(G(x)))).
    """
    return multilevel_bce(fake_logits, 1.0)


def discriminator_adversarial_loss(
    real_logits: Sequence[Tensor] | Tensor, fake_logits: Sequence[Tensor] | Tensor
) -> Tensor:
    """Real images towards 1, (detached) fakes towards 0.

    The two terms are summed, not halved, matching the reference, which back-propagates its
    fake and real losses separately.
    """
    return multilevel_bce(real_logits, 1.0) + multilevel_bce(fake_logits, 0.0)
