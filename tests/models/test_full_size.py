"""The full-size SD-Turbo generator: adapter layout against the reference's rules, a real forward,
and the ``model=sd_turbo`` loading path.

The full-size UNet (866M) and VAE (84M) are built on the meta device, so the layout checks cost
no memory; the expected trainable tensors are derived here from the reference's own selection
rules (src/cyclegan_turbo.py: initialize_unet / initialize_vae) on the *un-wrapped* modules.
"""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from reference_layout import REFERENCE_UNET_GREP, REFERENCE_VAE_TARGETS
from torch import nn

from pixel_gan.config import compose_train_config
from pixel_gan.models.backbone import SD_TURBO_SCHEDULER, SD_TURBO_UNET, SD_TURBO_VAE
from pixel_gan.models.generator import UNET_ADAPTERS, CycleGANTurbo, LoraSettings, add_adapters

REFERENCE_SKIP_CONVS = 512 * 512 + 256 * 512 + 128 * 512 + 128 * 256  # 1×1, bias-free, per direction
TEXT_DIM = 1024


def sd_turbo_lora() -> LoraSettings:
    """The adapter settings of ``model=sd_turbo`` as training builds them."""
    cfg = compose_train_config("model=sd_turbo", cache_dir=".cache")
    return LoraSettings(**cfg.model.lora)


def meta_parts() -> tuple[UNet2DConditionModel, AutoencoderKL]:
    with torch.device("meta"):
        return UNet2DConditionModel(**SD_TURBO_UNET), AutoencoderKL(**SD_TURBO_VAE)


def meta_generator(lora: LoraSettings) -> CycleGANTurbo:
    """Full-size generator with the adapter layout of ``CycleGANTurbo.from_backbone``, weights on meta."""
    unet, vae = meta_parts()
    with torch.device("meta"):
        vae_a2b, vae_b2a = add_adapters(unet, vae, lora)
    emb = torch.zeros(1, 77, TEXT_DIM)  # the caption embeddings need the text encoder, not the layout
    return CycleGANTurbo(unet, vae_a2b, vae_b2a, DDPMScheduler(**SD_TURBO_SCHEDULER), emb, emb)


# --- the reference's rules, applied to plain modules ---------------------------------------------
def lora_numel(module: nn.Module, r: int) -> int:
    """Linear(in, out): r·(in + out); Conv2d(in, out, k): r·in·k·k (A) + out·r (B, 1×1)."""
    if isinstance(module, nn.Linear):
        return r * (module.in_features + module.out_features)
    assert isinstance(module, nn.Conv2d) and module.groups == 1, module
    kh, kw = module.kernel_size
    return r * module.in_channels * kh * kw + module.out_channels * r


def reference_unet_groups(unet: nn.Module) -> dict[str, list[str]]:
    """initialize_unet: parameter names (no bias/norm) matching l_grep, split by where they sit."""
    groups: dict[str, list[str]] = {a: [] for a in UNET_ADAPTERS}
    for n, _ in unet.named_parameters():
        if "bias" in n or "norm" in n:
            continue
        if any(p in n for p in REFERENCE_UNET_GREP):
            where = (
                "default_encoder"
                if "down_blocks" in n or "conv_in" in n
                else "default_decoder"
                if "up_blocks" in n
                else "default_others"
            )
            groups[where].append(n.replace(".weight", ""))
    return groups


def reference_vae_targets(vae: nn.Module) -> list[str]:
    """peft's list matching (name == t or name ends with '.t') of initialize_vae's targets."""
    return [
        n
        for n, m in vae.named_modules()
        if isinstance(m, (nn.Linear, nn.Conv2d)) and any(n == t or n.endswith("." + t) for t in REFERENCE_VAE_TARGETS)
    ]


def categories(name: str) -> list[str]:
    """Which optimizer group(s) a trainable generator tensor belongs to."""
    found = [
        f"unet lora {a}"
        for a in UNET_ADAPTERS
        if name.startswith("unet.") and (f".lora_A.{a}." in name or f".lora_B.{a}." in name)
    ]
    if name in ("unet.conv_in.base_layer.weight", "unet.conv_in.base_layer.bias"):
        found.append("unet conv_in")
    for d in ("a2b", "b2a"):
        if name.startswith(f"vae_{d}.vae.") and ".vae_skip." in name and "lora_" in name:
            found.append(f"vae lora {d}")
        if name.startswith(f"vae_{d}.skip_convs."):
            found.append(f"skip convs {d}")
    return found


# --- layout --------------------------------------------------------------------------------------
def test_trainable_tensors_match_the_reference_rules():
    lora = sd_turbo_lora()
    plain_unet, plain_vae = meta_parts()
    gen = meta_generator(lora)
    trainable = {n: p for n, p in gen.named_parameters() if p.requires_grad}

    expected: dict[str, int] = {}
    ref_groups = reference_unet_groups(plain_unet)
    for adapter, modules in ref_groups.items():
        assert modules, adapter
        expected[f"unet lora {adapter}"] = sum(lora_numel(plain_unet.get_submodule(m), 128) for m in modules)
        wrapped = {n[len("unet.") : n.index(".lora_A.")] for n in trainable if f".lora_A.{adapter}." in n}
        assert wrapped == set(modules), adapter
    expected["unet conv_in"] = plain_unet.conv_in.weight.numel() + plain_unet.conv_in.bias.numel()
    assert expected["unet conv_in"] == 320 * 4 * 3 * 3 + 320
    vae_targets = reference_vae_targets(plain_vae)
    for d in ("a2b", "b2a"):
        expected[f"vae lora {d}"] = sum(lora_numel(plain_vae.get_submodule(m), 4) for m in vae_targets)
        wrapped = {
            n[len(f"vae_{d}.vae.") : n.index(".lora_A.")]
            for n in trainable
            if n.startswith(f"vae_{d}.vae.") and ".lora_A." in n
        }
        assert wrapped == set(vae_targets), d
        expected[f"skip convs {d}"] = REFERENCE_SKIP_CONVS

    got: dict[str, int] = {k: 0 for k in expected}
    for name, p in trainable.items():
        cats = categories(name)
        assert len(cats) == 1, (name, cats)  # every trainable tensor in exactly one group
        got[cats[0]] += p.numel()
    assert got == expected
    assert sum(p.numel() for p in gen.trainable_parameters()) == sum(expected.values())
    # frozen: the whole base, nothing else
    frozen = sum(p.numel() for p in gen.parameters() if not p.requires_grad)
    base = sum(p.numel() for p in plain_unet.parameters()) + 2 * sum(p.numel() for p in plain_vae.parameters())
    assert frozen + expected["unet conv_in"] == base


def test_each_trainable_tensor_is_in_the_optimizer_once():
    gen = meta_generator(sd_turbo_lora())
    params = gen.trainable_parameters()
    opt = torch.optim.AdamW(params, lr=1e-5)
    ids = [id(p) for group in opt.param_groups for p in group["params"]]
    assert len(ids) == len(set(ids)) == len(gen.trainable_names()) == len(params)
    assert len(gen.trainable_names()) == len(set(gen.trainable_names()))


def test_ranks_alphas_and_targets_come_from_lora_settings():
    default = sd_turbo_lora()
    assert (default.unet_rank, default.unet_alpha, default.vae_rank, default.vae_alpha) == (128, 128, 4, 8)
    assert default == LoraSettings()  # config and code agree on the reference's values

    lora = LoraSettings(
        unet_rank=16, unet_alpha=32, vae_rank=2, vae_alpha=6, vae_targets=("conv1", "conv2"), train_conv_in=False
    )
    gen = meta_generator(lora)
    for adapter in UNET_ADAPTERS:
        config = gen.unet.peft_config[adapter]
        assert (config.r, config.lora_alpha) == (16, 32)
    assert gen.unet.conv_in.scaling["default_encoder"] == 2.0
    assert gen.unet.conv_in.lora_A["default_encoder"].weight.shape == (16, 4, 3, 3)
    assert not gen.unet.conv_in.base_layer.weight.requires_grad
    for vae in (gen.vae_a2b, gen.vae_b2a):
        config = vae.vae.peft_config["vae_skip"]
        assert (config.r, config.lora_alpha) == (2, 6)
        wrapped = [n for n, m in vae.vae.named_modules() if hasattr(m, "lora_A")]
        assert wrapped and all(n.rsplit(".", 1)[-1] in ("conv1", "conv2") for n in wrapped)
        assert all(m.scaling["vae_skip"] == 3.0 for n, m in vae.vae.named_modules() if hasattr(m, "lora_A"))


# --- one real forward ---------------------------------------------------------------------------
def materialize_(module: nn.Module, seed: int = 0) -> None:
    """Give every meta parameter real CPU storage: views into one shared random buffer.

    Values do not matter for shapes; sharing storage keeps the 950M-parameter model at the size of
    its largest tensor and skips initialization.
    """
    largest = max(p.numel() for p in module.parameters())
    buffer = torch.randn(largest, generator=torch.Generator().manual_seed(seed)) * 0.02
    for sub in module.modules():
        for name, p in list(sub._parameters.items()):
            if p is not None and p.is_meta:
                sub._parameters[name] = nn.Parameter(buffer[: p.numel()].view(p.shape), requires_grad=p.requires_grad)
    assert not any(t.is_meta for t in (*module.parameters(), *module.buffers()))


def test_full_size_forward_on_cpu():
    gen = meta_generator(sd_turbo_lora())
    materialize_(gen)
    gen.eval()
    encode, seen = gen.vae_a2b.encode, {}

    def recording_encode(x, sample=True, **options):
        seen["z"], seen["skips"] = encode(x, sample=sample, **options)
        return seen["z"], seen["skips"]

    gen.vae_a2b.encode = recording_encode
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        y = gen(x, "a2b")
    assert seen["z"].shape == (1, 4, 8, 8)
    assert [tuple(s.shape[1:]) for s in seen["skips"]] == [(128, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8)]
    assert y.shape == x.shape and torch.isfinite(y).all() and y.abs().max() <= 1


# --- model=sd_turbo with a local directory ------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning:torchvision.*")  # lpips builds VGG with the old argument
def test_hub_layout_dir_loads_through_the_sd_turbo_config(tiny_dir, cache_dir, tmp_path):
    """``model=sd_turbo model.pretrained=<dir>`` builds the training module from that directory.

    The tiny backbone is saved in the hub layout; the CLIP tower and the LPIPS backbone are tiny/random
    files given through their config keys, so every part goes through its real loading code.
    """
    from torchvision.models.vgg import cfgs, make_layers

    from pixel_gan.models.discriminator import build_tiny_clip_tower
    from pixel_gan.training.module import PixelGANModule

    vgg_file = tmp_path / "vgg16_features.pth"
    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}, vgg_file)
    clip_dir = build_tiny_clip_tower(tmp_path / "clip")
    cfg = compose_train_config(
        "model=sd_turbo",
        f"model.pretrained={tiny_dir}",
        f"model.clip_pretrained={clip_dir}",
        f"loss.lpips_backbone_weights={vgg_file}",
        cache_dir=cache_dir,
    )
    assert cfg.model.backbone == "pretrained" and cfg.model.discriminator == "clip"
    module = PixelGANModule(
        model=cfg.model,
        loss=cfg.loss,
        optim=cfg.optim,
        prompts=("a photo", "pixel art"),
        resolution=cfg.resolution.size,
    )

    gen = module.generator
    assert gen.unet.peft_config["default_encoder"].r == cfg.model.lora.unet_rank == 128
    assert gen.vae_a2b.vae.peft_config["vae_skip"].r == cfg.model.lora.vae_rank
    # the frozen base is the directory's weights, unchanged
    for ours, source in (
        (gen.unet, UNet2DConditionModel.from_pretrained(str(tiny_dir), subfolder="unet")),
        (gen.vae_b2a.vae, AutoencoderKL.from_pretrained(str(tiny_dir), subfolder="vae")),
    ):
        base = {k.replace(".base_layer", ""): v for k, v in ours.state_dict().items() if "lora_" not in k}
        expected = source.state_dict()
        assert base.keys() == expected.keys()
        assert all(torch.equal(base[k], expected[k]) for k in expected)
    with torch.no_grad():
        assert gen.eval()(torch.zeros(1, 3, 32, 32), "a2b").shape == (1, 3, 32, 32)
