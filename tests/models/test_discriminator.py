"""Discriminators (PatchGAN, CLIP vision-aided) and DiffAugment."""

import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils import parametrize

from pixel_gan.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss
from pixel_gan.models.diffaug import cutout, diff_augment, translation
from pixel_gan.models.discriminator import (
    CLIP_MEAN,
    CLIP_STD,
    PatchGANDiscriminator,
    VisionAidedDiscriminator,
    build_discriminator,
    build_tiny_clip_tower,
    default_levels,
    load_clip_tower,
)
from pixel_gan.weights import WeightsNotFoundError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- PatchGAN


@pytest.mark.parametrize(("resolution", "side"), [(32, 6), (64, 6), (256, 30)])
def test_patchgan_output_shape(resolution, side):
    d = build_discriminator("patchgan", resolution, base_channels=8)
    (logits,) = d(torch.randn(2, 3, resolution, resolution))
    assert logits.shape == (2, 1, side, side)


def test_patchgan_small_images_get_fewer_layers():
    assert build_discriminator("patchgan", 32).n_layers == 2
    assert build_discriminator("patchgan", 256).n_layers == 3
    assert build_discriminator("patchgan", 32, n_layers=3, base_channels=8)(torch.randn(1, 3, 32, 32))[0].shape[-1] == 2


def test_patchgan_has_spectral_norm_and_no_batchnorm():
    d = PatchGANDiscriminator(base_channels=8)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(parametrize.is_parametrized(conv, "weight") for conv in convs)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())


def test_patchgan_gradients_reach_input_and_params():
    d = PatchGANDiscriminator(base_channels=8, n_layers=2, policy="color,translation,cutout")
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    generator_adversarial_loss(d(x)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    trainable = list(d.trainable_parameters())
    assert len(trainable) == len(list(d.parameters()))
    assert all(p.grad is not None for p in trainable)


# ----------------------------------------------------------------------------- DiffAugment


@pytest.mark.parametrize("policy", ["", "color", "translation", "cutout", "color,translation,cutout"])
def test_diff_augment_keeps_shape(policy):
    x = torch.randn(3, 3, 16, 24)
    assert diff_augment(x, policy, _gen()).shape == x.shape


def test_diff_augment_empty_policy_is_identity_and_unknown_raises():
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="blur"):
        diff_augment(x, "color,blur")


def test_diff_augment_is_reproducible_with_a_generator():
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(diff_augment(x, generator=_gen(1)), diff_augment(x, generator=_gen(1)))
    assert not torch.equal(diff_augment(x, generator=_gen(1)), diff_augment(x, generator=_gen(2)))


def test_diff_augment_gradcheck():
    x = torch.randn(2, 3, 8, 8, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: diff_augment(t, generator=_gen(3)), (x,))


def test_cutout_zeroes_one_clipped_half_size_rectangle():
    x = torch.ones(16, 1, 16, 16)
    out = cutout(x, _gen(4))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    for sample in out[:, 0]:
        holes = (sample == 0).nonzero()
        # an 8×8 hole, possibly cut by the border down to 4×4 (center anywhere in the image)
        assert 16 <= len(holes) <= 64
        rows, cols = holes[:, 0], holes[:, 1]
        assert len(holes) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a rectangle
        assert 4 <= rows.max() - rows.min() + 1 <= 8 and 4 <= cols.max() - cols.min() + 1 <= 8


def test_translation_is_a_zero_padded_shift_of_at_most_one_eighth():
    x = torch.arange(1, 1 + 16 * 16, dtype=torch.float).view(1, 1, 16, 16).repeat(8, 1, 1, 1)
    out = translation(x, _gen(5))
    for sample in out[:, 0]:
        matches = []
        for ty in range(-2, 3):
            for tx in range(-2, 3):
                expected = torch.zeros(16, 16)
                src = x[0, 0, max(0, -ty) : 16 - max(0, ty), max(0, -tx) : 16 - max(0, tx)]
                expected[max(0, ty) : 16 - max(0, -ty), max(0, tx) : 16 - max(0, -tx)] = src
                matches.append(torch.equal(sample, expected))
        assert sum(matches) == 1


# ----------------------------------------------------------------------------- CLIP


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    return build_tiny_clip_tower(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture
def tower(tiny_clip_dir):
    return load_clip_tower(tiny_clip_dir)


def test_default_levels_are_evenly_spaced_and_end_at_last():
    assert default_levels(12) == (3, 6, 9, 12)
    assert default_levels(4) == (1, 2, 3, 4)
    assert default_levels(2) == (1, 2)


def test_clip_discriminator_per_level_logits(tiny_clip_dir):
    d = build_discriminator("clip", 64, clip_pretrained=str(tiny_clip_dir), head_channels=16)
    assert d.levels == (1, 2, 3, 4)
    logits = d(torch.rand(2, 3, 64, 64) * 2 - 1)  # resized to the tower's 32 px
    assert [t.shape for t in logits] == [(2, 17)] * 4  # 1 CLS + (32/8)² patches


def test_clip_input_mapping(tower):
    d = VisionAidedDiscriminator(tower, policy="")
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(1, 3, 48, 48)
    pixels = d.to_clip_input(x)
    assert pixels.shape == (1, 3, 32, 32)
    for c, value in enumerate((0.0, 0.5, 1.0)):
        expected = (value - CLIP_MEAN[c]) / CLIP_STD[c]
        assert torch.allclose(pixels[0, c], torch.full((32, 32), expected), atol=1e-5)


def test_clip_gradients_reach_heads_and_input_not_tower(tower):
    d = VisionAidedDiscriminator(tower, head_channels=16)
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    generator_adversarial_loss(d(x * 2 - 1)).backward()
    assert all(p.grad is None for p in d.tower.parameters())
    heads = list(d.trainable_parameters())
    assert heads and all(p.grad is not None and p.grad.abs().sum() > 0 for p in heads)
    assert not any(p is q for p in heads for q in d.tower.parameters())
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_train_keeps_tower_in_eval(tower):
    d = VisionAidedDiscriminator(tower, head_channels=16)
    nn.ModuleDict({"d": d}).train()  # as a LightningModule would
    assert d.heads.training and not d.tower.training
    assert not any(m.training for m in d.tower.modules())


def test_two_discriminators_share_one_tower(tower):
    d_a = build_discriminator("clip", 32, clip_tower=tower, head_channels=16)
    d_b = build_discriminator("clip", 32, clip_tower=tower, head_channels=16)
    assert d_a.tower is d_b.tower is tower
    assert [id(p) for p in d_a.tower.parameters()] == [id(p) for p in d_b.tower.parameters()]

    parent = nn.ModuleDict({"disc_a": d_a, "disc_b": d_b})
    n_tower = sum(p.numel() for p in tower.parameters())
    n_head = sum(p.numel() for p in d_a.trainable_parameters())
    assert sum(p.numel() for p in parent.parameters()) == n_tower + 2 * n_head
    assert {id(p) for p in d_a.trainable_parameters()}.isdisjoint(id(p) for p in d_b.trainable_parameters())


def test_tower_is_not_checkpointed_and_state_round_trips(tower, tmp_path):
    make = lambda: nn.ModuleDict(  # noqa: E731
        {k: build_discriminator("clip", 32, clip_tower=tower, head_channels=16) for k in ("disc_a", "disc_b")}
    )
    parent = make()
    state = parent.state_dict()
    assert state and not any(".tower." in k for k in state)
    assert parent["disc_a"].trainable_state_dict().keys() == {
        k[len("disc_a.") :] for k in state if k.startswith("disc_a.")
    }
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "d.safetensors")  # no shared tensors

    other = make()
    tower_before = {k: v.clone() for k, v in tower.state_dict().items()}
    other.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    torch.manual_seed(0)
    ref = parent["disc_b"](x)
    torch.manual_seed(0)
    got = other["disc_b"](x)
    assert all(torch.allclose(a, b) for a, b in zip(ref, got, strict=True))
    assert all(torch.equal(v, tower.state_dict()[k]) for k, v in tower_before.items())


def test_clip_discriminator_learns_to_separate(tower):
    """A few steps on the heads lower the D loss: gradients are wired end to end."""
    torch.manual_seed(0)
    d = VisionAidedDiscriminator(tower, head_channels=16, policy="")
    opt = torch.optim.Adam(d.trainable_parameters(), lr=1e-2)
    real, fake = torch.full((4, 3, 32, 32), 0.8), torch.full((4, 3, 32, 32), -0.8)
    losses = []
    for _ in range(15):
        loss = discriminator_adversarial_loss(d(real), d(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_missing_clip_weights_name_the_config_key(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="model.clip_pretrained"):
        build_discriminator("clip", 32, clip_pretrained=str(tmp_path / "no-such-dir"))
    with pytest.raises(WeightsNotFoundError, match="model.clip_pretrained"):
        build_discriminator("clip", 32)  # neither a tower nor a source
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(WeightsNotFoundError, match="model.safetensors"):
        load_clip_tower(tmp_path / "half")


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="patchgan"):
        build_discriminator("stylegan", 32)
