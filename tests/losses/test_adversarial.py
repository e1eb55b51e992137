"""Multilevel sigmoid GAN losses: hand-computed values."""

import math

import pytest
import torch

from pixel_gan.losses.adversarial import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    multilevel_bce,
)

LN2 = math.log(2.0)


def test_zero_logits_give_ln2_per_level():
    one_level = [torch.zeros(2, 1, 6, 6)]
    two_levels = [torch.zeros(2, 1, 6, 6), torch.zeros(2, 17)]
    assert generator_adversarial_loss(one_level).item() == pytest.approx(LN2)
    # levels are summed, not averaged
    assert generator_adversarial_loss(two_levels).item() == pytest.approx(2 * LN2)
    # real term + fake term, each ln 2
    assert discriminator_adversarial_loss(one_level, one_level).item() == pytest.approx(2 * LN2)
    assert discriminator_adversarial_loss(two_levels, two_levels).item() == pytest.approx(4 * LN2)


def test_confident_correct_discriminator_has_near_zero_loss():
    real = [torch.full((2, 1, 6, 6), 30.0), torch.full((2, 17), 30.0)]
    fake = [torch.full((2, 1, 6, 6), -30.0), torch.full((2, 17), -30.0)]
    assert discriminator_adversarial_loss(real, fake).item() < 1e-6
    # and the generator is then maximally wrong: BCE(-30, 1) ≈ 30 per level
    assert generator_adversarial_loss(fake).item() == pytest.approx(60.0, rel=1e-6)
    # swapped labels: D maximally wrong
    assert discriminator_adversarial_loss(fake, real).item() == pytest.approx(120.0, rel=1e-6)


def test_each_level_is_averaged_on_its_own():
    # level 1: 4 elements at logit 0 (ln 2 each); level 2: 1000 confident-real elements (≈0).
    # A mean pooled over all elements would give ≈ ln2·4/1004; per-level means give ln 2.
    levels = [torch.zeros(1, 4), torch.full((1, 1000), 30.0)]
    assert generator_adversarial_loss(levels).item() == pytest.approx(LN2, rel=1e-6)


def test_known_bce_value():
    # BCE(x=1, target 1) = log(1 + e^-1); BCE(x=1, target 0) = log(1 + e^1)
    x = [torch.ones(3, 5)]
    assert multilevel_bce(x, 1.0).item() == pytest.approx(math.log1p(math.exp(-1)))
    assert multilevel_bce(x, 0.0).item() == pytest.approx(math.log1p(math.exp(1)))


def test_generator_loss_is_non_saturating():
    # When D rejects the fakes confidently, d loss / d logit stays ≈ -1/N (σ(x) - 1), not ≈ 0.
    logits = torch.full((2, 8), -20.0, requires_grad=True)
    generator_adversarial_loss([logits]).backward()
    assert torch.allclose(logits.grad, torch.full_like(logits, -1 / 16), rtol=1e-6)


def test_single_tensor_and_empty_list():
    x = torch.zeros(2, 3)
    assert generator_adversarial_loss(x).item() == pytest.approx(LN2)
    with pytest.raises(ValueError):
        generator_adversarial_loss([])
