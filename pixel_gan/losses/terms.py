"""The generator's and discriminators' loss terms as functions of the networks and the images.

Each term is weighted by its ``loss.lambda_*``; a schedule (``pixel_gan.training.schedules``) decides
when each is backpropagated. Images are in [-1, 1]; the palette term compares [0, 1] histograms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from pixel_gan.config.schema import LossConfig
from pixel_gan.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss
from pixel_gan.losses.palette import palette_loss
from pixel_gan.losses.perceptual import PerceptualLoss
from pixel_gan.models.generator import CycleGANTurbo

OTHER = {"a": "b", "b": "a"}
Terms = dict[str, Tensor]


@dataclass
class LossNets:
    """What the terms are computed with: the generator, one discriminator per domain, LPIPS and the weights."""

    generator: CycleGANTurbo
    discriminators: nn.ModuleDict
    lpips: PerceptualLoss
    weights: LossConfig


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] → [0, 1]."""
    return (x.float() + 1) / 2


def reconstruction(nets: LossNets, out: Tensor, target: Tensor, lpips_weight: float) -> Tensor:
    """L1 + λ·LPIPS, the reference's cycle and identity criterion."""
    loss = F.l1_loss(out, target)
    if lpips_weight:
        loss = loss + lpips_weight * nets.lpips(out, target).mean()
    return loss


def palette_term(nets: LossNets, fake_b: Tensor, real_b: Tensor) -> Tensor:
    """λ_palette · soft-histogram distance between the translations into B and real B images."""
    w = nets.weights
    return w.lambda_palette * palette_loss(to_unit(fake_b), to_unit(real_b), w.palette_bins, w.palette_sigma)


def translation_terms(nets: LossNets, x: Tensor, domain: str, real_other: Tensor) -> tuple[Terms, Tensor]:
    """Cycle, GAN [and palette, when its weight is on] from image x of ``domain`` (2 generator passes).

    Returns the weighted terms and the translation into the other domain (for the D step).
    """
    w, other, G = nets.weights, OTHER[domain], nets.generator
    fake = G(x, f"{domain}2{other}")
    rec = G(fake, f"{other}2{domain}")
    terms = {
        "cycle": w.lambda_cycle * reconstruction(nets, rec, x, w.lambda_cycle_lpips),
        "gan": w.lambda_gan * generator_adversarial_loss(nets.discriminators[other](fake)),
    }
    if other == "b" and w.lambda_palette:
        terms["palette"] = palette_term(nets, fake, real_other)
    return terms, fake


def identity_terms(nets: LossNets, x: Tensor, domain: str) -> Terms:
    """The identity term (1 generator pass): the generator into x's own domain should keep x."""
    idt = nets.generator(x, f"{OTHER[domain]}2{domain}")
    return {"idt": nets.weights.lambda_idt * reconstruction(nets, idt, x, nets.weights.lambda_idt_lpips)}


def gan_terms(nets: LossNets, fake_a: Tensor, fake_b: Tensor) -> Tensor:
    """λ_gan · the generator's adversarial loss on both translations."""
    D = nets.discriminators
    return nets.weights.lambda_gan * (
        generator_adversarial_loss(D["b"](fake_b)) + generator_adversarial_loss(D["a"](fake_a))
    )


def discriminator_loss(nets: LossNets, reals: Mapping[str, Tensor], fakes: Mapping[str, Tensor]) -> Tensor:
    """λ_gan · D_A and D_B on the reals and the generator's detached fakes (no generator pass)."""
    total = sum(
        discriminator_adversarial_loss(nets.discriminators[d](reals[d]), nets.discriminators[d](fakes[d]))
        for d in ("a", "b")
    )
    return total * nets.weights.lambda_gan  # type: ignore[return-value]
