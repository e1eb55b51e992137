import pytest
import torch
from diffusers import DDPMScheduler

from pixel_gan.models.generator import UNET_ADAPTERS, unet_lora_targets
from pixel_gan.models.vae import skip_channels


def test_skip_channels_match_the_reference_for_sd_turbo():
    assert skip_channels((128, 256, 512, 512)) == [(512, 512), (256, 512), (128, 512), (128, 256)]


def test_forward_shapes_and_range(tiny_generator):
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for direction in ("a2b", "b2a"):
        y = tiny_generator(x, direction)
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert tiny_generator(torch.zeros(1, 3, 40, 48), "a2b").shape == (1, 3, 40, 48)


def test_rejects_bad_size_and_direction(tiny_generator):
    with pytest.raises(ValueError, match="multiple of 8"):
        tiny_generator(torch.zeros(1, 3, 30, 32), "a2b")
    with pytest.raises(ValueError, match="direction"):
        tiny_generator(torch.zeros(1, 3, 32, 32), "x2y")


def test_one_step_output_is_the_x0_estimate(tiny_generator, tiny_dir):
    """z_out = (z − √(1−ᾱ)·ε̂)/√ᾱ with ᾱ from the scheduler at t=999, and equal to the scheduler's own x0."""
    sched = DDPMScheduler.from_pretrained(str(tiny_dir), subfolder="scheduler")
    sched.set_timesteps(1)
    assert int(sched.timesteps[0]) == 999 == tiny_generator.timestep
    ab = sched.alphas_cumprod[999].double()
    z, eps = torch.randn(1, 4, 4, 4, dtype=torch.float64), torch.randn(1, 4, 4, 4, dtype=torch.float64)
    by_hand = (z - (1 - ab).sqrt() * eps) / ab.sqrt()
    assert torch.allclose(tiny_generator.one_step_x0(z, eps), by_hand, atol=1e-10)
    via_scheduler = sched.step(eps.float(), 999, z.float()).pred_original_sample
    assert torch.allclose(tiny_generator.one_step_x0(z.float(), eps.float()), via_scheduler, atol=1e-4)

    # and the forward pass uses exactly that: decode(x0(encode(x), unet(...))) with captured z, eps
    gen, captured = tiny_generator.eval(), {}
    gen.unet.register_forward_hook(lambda m, args, kwargs_out: captured.update(z=args[0], eps=kwargs_out.sample))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    out = gen(x, "a2b")
    _, skips = gen.vae_a2b.encode(x, sample=False)
    expected = gen.vae_a2b.decode(gen.one_step_x0(captured["z"], captured["eps"]), skips)
    assert torch.allclose(out, expected, atol=1e-6)


def test_adapter_layout_and_trainable_set(tiny_generator):
    names = tiny_generator.trainable_names()
    assert len(names) == len(set(names))
    for adapter in UNET_ADAPTERS:
        assert any(f".{adapter}." in n for n in names), adapter
    assert "unet.conv_in.base_layer.weight" in names and "unet.conv_in.base_layer.bias" in names
    for d in ("a2b", "b2a"):
        assert sum(f"vae_{d}.skip_convs" in n for n in names) == 4
        assert any(f"vae_{d}.vae.encoder" in n and "vae_skip" in n for n in names)
        assert any(f"vae_{d}.vae.decoder" in n and "vae_skip" in n for n in names)
    frozen_base = [n for n, p in tiny_generator.named_parameters() if not p.requires_grad]
    assert frozen_base and all("lora_" not in n and "skip_convs" not in n for n in frozen_base)
    groups = unet_lora_targets(
        tiny_generator.unet.base_model if hasattr(tiny_generator.unet, "base_model") else tiny_generator.unet
    )
    assert all(groups.values())


def test_gradients_reach_every_trainable_tensor(tiny_generator):
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    # LoRA B matrices start at zero, so nudge them to let gradients reach the A matrices too.
    for n, p in tiny_generator.named_parameters():
        if "lora_B" in n:
            p.data.normal_(0, 0.01)
    (tiny_generator(tiny_generator(x, "a2b"), "b2a").mean()).backward()
    missing = [
        n
        for n, p in tiny_generator.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum())
    ]
    assert not missing, missing[:5]


def test_trainable_state_round_trip(tiny_generator, tiny_dir):
    from pixel_gan.models.backbone import load_backbone
    from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

    for p in tiny_generator.parameters():
        if p.requires_grad:
            p.data.add_(torch.randn_like(p) * 0.01)
    state = tiny_generator.trainable_state_dict()
    fresh = CycleGANTurbo.from_backbone(
        load_backbone(str(tiny_dir)), "a photo", "pixel art", LoraSettings(unet_rank=8, unet_alpha=8)
    )
    fresh.load_trainable_state_dict(state)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    tiny_generator.eval(), fresh.eval()
    assert torch.allclose(tiny_generator(x, "a2b"), fresh(x, "a2b"), atol=1e-6)
    with pytest.raises(KeyError, match="missing"):
        fresh.load_trainable_state_dict({k: v for k, v in list(state.items())[1:]})
