import math

import pytest
import torch

from pixel_gan.losses.palette import default_sigma, palette_loss, soft_histogram


def reference_histogram(x, bins=16, sigma=None, vmin=0.0, vmax=1.0):
    """The formula written out, materializing (B, C, N, bins)."""
    sigma = default_sigma(bins, vmin, vmax) if sigma is None else sigma
    centers = torch.linspace(vmin, vmax, bins, dtype=x.dtype)
    w = torch.exp(-((x.flatten(2).unsqueeze(-1) - centers) ** 2) / (2 * sigma**2)).sum(2)
    return w / (w.sum(-1, keepdim=True) + 1e-8)


def reference_loss(fake, real, bins=16, sigma=None):
    return (reference_histogram(fake, bins, sigma) - reference_histogram(real, bins, sigma)).abs().sum(-1).mean()


def test_hand_computed_two_pixel_case():
    fake = torch.tensor([[[[0.0, 1.0]]]])  # (1, 1, 1, 2)
    real = torch.tensor([[[[0.0, 0.0]]]])
    e = math.exp(-2.0)  # exp(-(1-0)^2 / (2 * 0.5^2))
    h_fake = soft_histogram(fake, bins=2, sigma=0.5)
    assert torch.allclose(h_fake, torch.tensor([[[0.5, 0.5]]]), atol=1e-6)
    h_real = soft_histogram(real, bins=2, sigma=0.5)
    assert torch.allclose(h_real, torch.tensor([[[1 / (1 + e), e / (1 + e)]]]), atol=1e-6)
    expected = abs(0.5 - 1 / (1 + e)) + abs(0.5 - e / (1 + e))
    assert palette_loss(fake, real, bins=2, sigma=0.5).item() == pytest.approx(expected, abs=1e-6)


def test_rows_sum_to_one_and_identical_images_give_zero():
    x = torch.rand(2, 3, 8, 8)
    assert torch.allclose(soft_histogram(x).sum(-1), torch.ones(2, 3), atol=1e-5)
    assert palette_loss(x, x).item() == pytest.approx(0.0, abs=1e-7)


def test_lean_implementation_matches_formula_in_value_and_gradient():
    torch.manual_seed(0)
    fake = torch.rand(2, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    real = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    lean = palette_loss(fake, real, bins=16, sigma=0.05)
    (g_lean,) = torch.autograd.grad(lean, fake)
    ref = reference_loss(fake, real, bins=16, sigma=0.05)
    (g_ref,) = torch.autograd.grad(ref, fake)
    assert lean.item() == pytest.approx(ref.item(), abs=1e-5)
    assert torch.allclose(g_lean, g_ref, atol=1e-5)
    assert g_lean.abs().sum() > 0


def test_gradcheck():
    x = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_histogram(t, bins=4, sigma=0.2), (x,))


def test_palette_loss_pulls_toward_target_palette():
    """A few gradient steps on a gradient image toward a 2-colour target lower the loss."""
    torch.manual_seed(0)
    target = (torch.rand(1, 3, 8, 8) > 0.5).float()
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.1)
    first = palette_loss(x, target).item()
    for _ in range(50):
        opt.zero_grad()
        palette_loss(x, target).backward()
        opt.step()
        x.data.clamp_(0, 1)
    assert palette_loss(x, target).item() < 0.5 * first


def test_bad_sigma_rejected():
    with pytest.raises(ValueError, match="sigma"):
        soft_histogram(torch.rand(1, 1, 2, 2), sigma=0.0)
