"""The lean training step: same gradients as one backward, no hidden generator passes, frozen D in the G step.

Everything runs on the tiny backbone at 32 px.
"""

from __future__ import annotations

import copy

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from pixel_gan.losses.palette import default_sigma, palette_loss
from pixel_gan.training.module import PixelGANModule
from pixel_gan.training.rollback import cast_frozen_

RES = 32  # the smoke experiment's


def batches(n: int, batch_size: int = 1) -> DataLoader:
    g = torch.Generator().manual_seed(1)
    data = [
        {
            "a": torch.rand(batch_size, 3, RES, RES, generator=g) * 2 - 1,
            "b": torch.rand(batch_size, 3, RES, RES, generator=g) * 2 - 1,
        }
        for _ in range(n)
    ]
    return DataLoader(data, batch_size=None)


@pytest.fixture
def fit(cpu_trainer):
    """``fit(module, steps, precision)``: ``steps`` iterations on random batches; returns the trainer."""

    def run(module: PixelGANModule, steps: int, precision: str = "32-true") -> L.Trainer:
        trainer = cpu_trainer(steps, devices=1, precision=precision, num_sanity_val_steps=0)
        trainer.fit(module, train_dataloaders=batches(steps))
        return trainer

    return run


# --- (a) the domain-split backward --------------------------------------------------------------------


def generator_grads(module: PixelGANModule, state: dict, a, b, schedule: str) -> dict[str, torch.Tensor]:
    """Gradients of one generator step (backward only: no clipping, no optimizer step).

    Starts from ``state``: every forward advances the discriminators' spectral-norm power iteration.
    """
    module.load_state_dict(state)
    module.loss_cfg.schedule = schedule
    opt = torch.optim.SGD(module.generator.trainable_parameters(), lr=0.0)
    torch.manual_seed(123)  # same posterior samples and DiffAugment draws in both schedules
    module.generator_step(a, b, opt)
    return {n: p.grad.clone() for n, p in module.generator.named_parameters() if p.requires_grad}


def test_split_backward_gradients_equal_single_backward_fp64(build_module, monkeypatch):
    module = build_module("loss=palette")[0].double()
    monkeypatch.setattr(module, "manual_backward", lambda loss: loss.backward())
    monkeypatch.setattr(module, "_clip_and_step", lambda opt, counts: None)
    g = torch.Generator().manual_seed(0)
    a, b = (torch.rand(1, 3, RES, RES, generator=g, dtype=torch.float64) * 2 - 1 for _ in range(2))

    state = copy.deepcopy(module.state_dict())

    single = generator_grads(module, state, a, b, "single")
    split = generator_grads(module, state, a, b, "split")

    assert single.keys() == split.keys() and len(single) > 10
    nonzero = [n for n, grad in single.items() if grad.abs().max() > 0]
    assert len(nonzero) > len(single) // 2  # a comparison of zeros would prove nothing
    for name in single:
        torch.testing.assert_close(split[name], single[name], atol=1e-6, rtol=0, msg=name)


# --- (b) the lean palette loss against the formula written out ------------------------------------------


def naive_palette_loss(fake: torch.Tensor, real: torch.Tensor, bins: int, sigma: float) -> torch.Tensor:
    """The formula: per-channel soft histograms from the full (B, C, H, W, bins) weight tensor, L1 between them."""
    centers = torch.linspace(0, 1, bins, dtype=torch.float64)

    def hist(x):
        w = torch.exp(-((x.double()[..., None] - centers) ** 2) / (2 * sigma**2))  # (B, C, H, W, bins)
        counts = w.sum(dim=(2, 3))
        return counts / (counts.sum(-1, keepdim=True) + 1e-8)

    h_fake, h_real = hist(fake), hist(real).mean(0, keepdim=True)  # real: domain B's palette over its batch
    return (h_fake - h_real).abs().sum(-1).mean()


def test_lean_palette_loss_equals_formula_at_training_size():
    """fp32 32-px images, default sigma, a real batch of another size (the batch-averaged palette)."""
    torch.manual_seed(0)
    fake = torch.rand(2, 3, RES, RES, requires_grad=True)
    real = (torch.rand(3, 3, RES, RES) * 4).round() / 4  # a few flat levels, like pixel art
    bins = 16
    lean = palette_loss(fake, real, bins)
    (g_lean,) = torch.autograd.grad(lean, fake)
    ref = naive_palette_loss(fake, real, bins, default_sigma(bins))
    (g_ref,) = torch.autograd.grad(ref, fake)
    assert abs(lean.item() - ref.item()) < 1e-5
    assert ref.item() > 0.1
    # Per-pixel gradients are ~1e-3 here, so 1e-5 is taken relative to the largest one.
    scale = g_ref.abs().max()
    assert scale > 1e-4
    assert (g_lean - g_ref).abs().max() <= 1e-5 * scale


# --- (c), (d) the discriminator step and the frozen discriminators ---------------------------------


def test_d_step_runs_no_generator_pass_and_g_step_leaves_d_grads_alone(build_module, fit, monkeypatch):
    module = build_module("loss=combined")[0]
    calls = {"n": 0}
    module.generator.register_forward_pre_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    d_params = [p for d in module.discriminators.values() for p in d.trainable_parameters()]
    seen: dict[str, list] = {
        "g_passes": [],
        "d_passes": [],
        "d_grad_changed": [],
        "d_trainable_in_g": [],
        "d_grads_after_d": [],
    }

    def snapshot():
        return [None if p.grad is None else p.grad.clone() for p in d_params]

    g_step, d_step = module.generator_step, module.discriminator_step

    def spy_g(*args, **kwargs):
        before, n0 = snapshot(), calls["n"]
        seen["d_trainable_in_g"].append(any(p.requires_grad for p in d_params))
        out = g_step(*args, **kwargs)
        seen["g_passes"].append(calls["n"] - n0)
        seen["d_grad_changed"].append(
            any(
                (x is None) != (y is None) or (x is not None and not torch.equal(x, y))
                for x, y in zip(before, snapshot(), strict=True)
            )
        )
        return out

    def spy_d(*args, **kwargs):
        n0 = calls["n"]
        out = d_step(*args, **kwargs)
        seen["d_passes"].append(calls["n"] - n0)
        seen["d_grads_after_d"].append(sum(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in d_params))
        return out

    monkeypatch.setattr(module, "generator_step", spy_g)
    monkeypatch.setattr(module, "discriminator_step", spy_d)
    fit(module, 2)

    assert seen["d_passes"] == [0, 0]
    assert seen["g_passes"] == [6, 6]  # fake, rec, idt from each domain
    assert seen["d_trainable_in_g"] == [False, False]
    assert seen["d_grad_changed"] == [False, False]  # iteration 2 starts with iteration 1's D grads: untouched
    assert all(n > 0 for n in seen["d_grads_after_d"])  # the D step itself does produce gradients


# --- (e) bf16 --------------------------------------------------------------------------------------


def test_bf16_step_keeps_identity_finite_and_trains(build_module, fit):
    """The GPU recipe on CPU: frozen bases in bf16, adapters fp32, bf16-mixed autocast."""
    module = build_module("loss=palette")[0]
    cast_frozen_(module.generator, module.discriminators, module.lpips, dtype=torch.bfloat16)
    frozen = [p for p in module.generator.parameters() if not p.requires_grad]
    assert frozen and all(p.dtype == torch.bfloat16 for p in frozen)
    assert all(p.dtype == torch.float32 for p in module.generator.trainable_parameters())
    before = {k: v.clone() for k, v in module.generator.trainable_state_dict().items()}

    trainer = fit(module, 2, precision="bf16-mixed")

    idt = trainer.callback_metrics["train/idt"]
    assert torch.isfinite(idt) and idt > 0
    assert module.skipped_steps == 0
    after = module.generator.trainable_state_dict()
    changed = [k for k in before if "lora" in k and not torch.equal(before[k], after[k])]
    assert len(changed) > len([k for k in before if "lora" in k]) // 2
    assert all(p.dtype == torch.float32 for p in module.generator.trainable_parameters())


@pytest.mark.parametrize("switch", ["channels_last", "grad_ckpt"])
def test_speed_switches_keep_the_generator_output(build_module, switch):
    """model.channels_last / model.grad_ckpt change memory layout or recomputation, not the result."""
    plain, switched = build_module()[0], build_module(f"model.{switch}=true")[0]
    switched.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, RES, RES) * 2 - 1
    outs = []
    for module in (plain, switched):
        x_ = x.clone().requires_grad_(True)
        y = module.generator(x_, "a2b", sample_posterior=False)
        y.square().mean().backward()
        outs.append((y.detach(), x_.grad))
    torch.testing.assert_close(outs[1][0], outs[0][0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(outs[1][1], outs[0][1], atol=1e-6, rtol=1e-3)
    if switch == "channels_last":
        conv = switched.generator.unet.conv_in.weight
        assert conv.is_contiguous(memory_format=torch.channels_last)
