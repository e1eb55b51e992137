"""Importing img2img-turbo CycleGAN-Turbo checkpoints (``pixel-gan convert``).

The checkpoints here are written in the original's exact layout from a tiny pixel-gan generator:
UNet adapter state dicts from peft's ``get_peft_model_state_dict``, and whole original-style VAEs
(skip convs as decoder attributes, peft-wrapped by the original's target list, default alpha).
A converted translator must reproduce both the directly-built generator and the original's own
forward pass on that checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from reference_layout import REFERENCE_UNET_GREP, REFERENCE_VAE_TARGETS
from safetensors.torch import load_file
from torch import nn

from pixel_gan.cli.convert import main
from pixel_gan.inference.import_original import ConversionWarning, merge_1x1_lora
from pixel_gan.models.backbone import load_backbone
from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

UNET_RANK, VAE_RANK = 8, 4
PROMPTS = ("a photo", "pixel art")


# --- writing a checkpoint the way img2img-turbo does ---------------------------------------------
def reference_unet_groups(unet: nn.Module) -> tuple[list[str], list[str], list[str]]:
    """initialize_unet's loop: parameter names → (encoder, decoder, others) module names."""
    enc, dec, others = [], [], []
    for n, _ in unet.named_parameters():
        if "bias" in n or "norm" in n:
            continue
        for pattern in REFERENCE_UNET_GREP:
            if pattern in n and ("down_blocks" in n or "conv_in" in n):
                enc.append(n.replace(".weight", ""))
                break
            if pattern in n and "up_blocks" in n:
                dec.append(n.replace(".weight", ""))
                break
            if pattern in n:
                others.append(n.replace(".weight", ""))
                break
    return enc, dec, others


def reference_vae(tiny_dir: Path, rank: int) -> AutoencoderKL:
    """initialize_vae: the base VAE + skip_conv_1..4 on the decoder, then one peft adapter on all of it."""
    vae = AutoencoderKL.from_pretrained(str(tiny_dir), subfolder="vae")
    enc_ch = vae.config.block_out_channels
    pairs = [(enc_ch[2], enc_ch[3]), (enc_ch[1], enc_ch[3]), (enc_ch[0], enc_ch[3]), (enc_ch[0], enc_ch[2])]
    for i, (c_in, c_out) in enumerate(pairs, start=1):  # 512→512, 256→512, 128→512, 128→256 at full size
        setattr(vae.decoder, f"skip_conv_{i}", nn.Conv2d(c_in, c_out, kernel_size=1, bias=False))
    vae.add_adapter(
        LoraConfig(r=rank, init_lora_weights="gaussian", target_modules=REFERENCE_VAE_TARGETS), adapter_name="vae_skip"
    )
    return vae


class VAEPair(nn.Module):
    """The original's VAE_encode / VAE_decode: both hold the two VAEs as ``vae`` and ``vae_b2a``."""

    def __init__(self, vae: nn.Module, vae_b2a: nn.Module) -> None:
        super().__init__()
        self.vae, self.vae_b2a = vae, vae_b2a


def write_original_checkpoint(gen: CycleGANTurbo, tiny_dir: Path, path: Path, seed: int = 1) -> dict:
    """A checkpoint with exactly the original's keys, whose model equals ``gen`` (but for conv_in).

    Skip convs: random LoRA A/B and base = ours − scale·B@A, with scale from peft's own layer.
    """
    torch.manual_seed(seed)
    enc, dec, others = reference_unet_groups(UNet2DConditionModel.from_pretrained(str(tiny_dir), subfolder="unet"))
    vaes = []
    for ours in (gen.vae_a2b, gen.vae_b2a):
        orig = reference_vae(tiny_dir, VAE_RANK)
        ours_state = ours.vae.state_dict()
        with torch.no_grad():
            for name, p in orig.named_parameters():
                if "skip_conv_" not in name:
                    p.copy_(ours_state[name])
            for i in range(1, 5):
                conv = orig.decoder.get_submodule(f"skip_conv_{i}")
                a, b = conv.lora_A["vae_skip"].weight, conv.lora_B["vae_skip"].weight
                a.normal_(0, 0.3), b.normal_(0, 0.3)
                delta = conv.scaling["vae_skip"] * (b[:, :, 0, 0] @ a[:, :, 0, 0])
                conv.base_layer.weight.copy_(ours.skip_convs[i - 1].weight - delta[:, :, None, None])
        vaes.append(orig)
    pair = VAEPair(*vaes)
    sd = {
        "l_target_modules_encoder": enc,
        "l_target_modules_decoder": dec,
        "l_modules_others": others,
        "rank_unet": UNET_RANK,
        "sd_encoder": get_peft_model_state_dict(gen.unet, adapter_name="default_encoder"),
        "sd_decoder": get_peft_model_state_dict(gen.unet, adapter_name="default_decoder"),
        "sd_other": get_peft_model_state_dict(gen.unet, adapter_name="default_others"),
        "rank_vae": VAE_RANK,
        "vae_lora_target_modules": REFERENCE_VAE_TARGETS,
        "sd_vae_enc": pair.state_dict(),
        "sd_vae_dec": pair.state_dict(),
    }
    torch.save(sd, path)
    return sd


# --- running a checkpoint the way img2img-turbo does --------------------------------------------
def load_like_original(sd: dict, tiny_dir: Path) -> tuple[UNet2DConditionModel, VAEPair]:
    """CycleGAN_Turbo.load_ckpt_from_url: three UNet adapters filled by name, VAEs via load_state_dict."""
    unet = UNet2DConditionModel.from_pretrained(str(tiny_dir), subfolder="unet")
    for adapter, targets in (
        ("default_encoder", "l_target_modules_encoder"),
        ("default_decoder", "l_target_modules_decoder"),
        ("default_others", "l_modules_others"),
    ):
        unet.add_adapter(
            LoraConfig(
                r=sd["rank_unet"], init_lora_weights="gaussian", target_modules=sd[targets], lora_alpha=sd["rank_unet"]
            ),
            adapter_name=adapter,
        )
    with torch.no_grad():
        for adapter, key in (
            ("default_encoder", "sd_encoder"),
            ("default_decoder", "sd_decoder"),
            ("default_others", "sd_other"),
        ):
            for n, p in unet.named_parameters():
                if "lora" in n and adapter in n:
                    p.copy_(sd[key][n.replace(f".{adapter}.weight", ".weight")])
    unet.set_adapters(["default_encoder", "default_decoder", "default_others"])
    vae = reference_vae(tiny_dir, sd["rank_vae"])
    pair = VAEPair(vae, copy.deepcopy(vae))
    pair.load_state_dict(sd["sd_vae_enc"])
    pair.load_state_dict(sd["sd_vae_dec"])
    return unet.eval(), pair.eval()


@torch.no_grad()
def original_forward(x: torch.Tensor, direction: str, unet, pair: VAEPair, emb: torch.Tensor, tiny_dir: Path):
    """my_vae_encoder_fwd → UNet at t=999 → one-step scheduler → my_vae_decoder_fwd (posterior mode)."""
    vae = pair.vae if direction == "a2b" else pair.vae_b2a
    enc, dec = vae.encoder, vae.decoder
    h, down = enc.conv_in(x), []
    for block in enc.down_blocks:
        down.append(h)
        h = block(h)
    h = enc.conv_out(enc.conv_act(enc.conv_norm_out(enc.mid_block(h))))
    z = DiagonalGaussianDistribution(vae.quant_conv(h)).mode() * vae.config.scaling_factor
    sched = DDPMScheduler.from_pretrained(str(tiny_dir), subfolder="scheduler")
    sched.set_timesteps(1)
    t = torch.tensor([999])
    eps = unet(z, t, encoder_hidden_states=emb).sample
    z0 = sched.step(eps, t, z, generator=torch.Generator().manual_seed(0)).prev_sample
    h = dec.mid_block(dec.conv_in(vae.post_quant_conv(z0 / vae.config.scaling_factor)), None)
    skips = [dec.skip_conv_1, dec.skip_conv_2, dec.skip_conv_3, dec.skip_conv_4]
    for i, block in enumerate(dec.up_blocks):
        h = block(h + skips[i](down[::-1][i] * 1.0), None)
    return dec.conv_out(dec.conv_act(dec.conv_norm_out(h))).clamp(-1, 1)


# --- fixtures -------------------------------------------------------------------------------------
def build_generator(tiny_dir: Path) -> CycleGANTurbo:
    torch.manual_seed(0)
    return CycleGANTurbo.from_backbone(
        load_backbone(str(tiny_dir)),
        *PROMPTS,
        LoraSettings(unet_rank=UNET_RANK, unet_alpha=UNET_RANK, vae_rank=VAE_RANK),
    )


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def converted(tiny_dir, cache_dir, tmp_path_factory):
    """A randomized tiny generator (conv_in base untouched), its original-layout .pkl and the conversion."""
    gen = build_generator(tiny_dir)
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if not p.requires_grad or name.startswith("unet.conv_in.base_layer"):
                continue  # the original cannot carry a trained conv_in: keep the base's
            if "lora_" in name:
                p.normal_(0, 0.05)
            else:
                p.add_(torch.randn_like(p) * 0.05)
    root = tmp_path_factory.mktemp("convert")
    pkl = root / "model_1001.pkl"
    sd = write_original_checkpoint(gen, tiny_dir, pkl)
    rc, stdout, stderr = run_cli([str(pkl), str(root / "out"), "--base", "tiny", "--cache-dir", cache_dir])
    return dict(gen=gen.eval(), pkl=pkl, sd=sd, out=root / "out", rc=rc, stdout=stdout, stderr=stderr, root=root)


@pytest.fixture(scope="module")
def translator(converted):
    """The converted folder loaded the way users load it (base from translator.yaml: the tiny one), with the
    adapters unmerged: the computation the original runs (the merged default is checked against it below)."""
    from pixel_gan.inference.translator import Translator

    assert converted["rc"] == 0, converted["stderr"]
    return Translator.from_pretrained(converted["out"], device="cpu", merge=False)


# --- the round trip -------------------------------------------------------------------------------
def test_converted_translator_matches_the_directly_built_model(converted, translator):
    assert translator.generator.unet.peft_config["default_encoder"].r == UNET_RANK
    gen = converted["gen"]
    torch.manual_seed(5)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for direction in ("a2b", "b2a"):
            expected = gen(x, direction, sample_posterior=False)
            got = translator.generator(x, direction, sample_posterior=False)
            assert (expected.abs() < 0.99).float().mean() > 0.5, "outputs saturated: the comparison would be vacuous"
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_merged_default_matches_the_unmerged_converted_translator(converted, translator):
    from pixel_gan.inference.translator import Translator

    merged = Translator.from_pretrained(converted["out"], device="cpu")
    assert merged.merged and not translator.merged
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(7)) * 2 - 1
    for direction in ("a2b", "b2a"):
        torch.testing.assert_close(merged(x, direction), translator(x, direction), atol=1e-4, rtol=0)


def test_converted_translator_matches_the_original_forward(converted, translator, tiny_dir):
    """The original's own model on the .pkl (peft-wrapped skip convs, scale 8/4) = the converted one."""
    unet, pair = load_like_original(converted["sd"], tiny_dir)
    torch.manual_seed(6)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    for direction in ("a2b", "b2a"):
        emb = translator.generator.emb_a2b if direction == "a2b" else translator.generator.emb_b2a
        expected = original_forward(x, direction, unet, pair, emb, tiny_dir)
        torch.testing.assert_close(translator(x, direction), expected, atol=1e-5, rtol=0)

    # the skip-conv LoRA matters at this size: dropping it (base weights only) changes the output
    gen = copy.deepcopy(translator.generator)
    base = converted["sd"]["sd_vae_dec"]
    with torch.no_grad():
        for i, conv in enumerate(gen.vae_a2b.skip_convs, start=1):
            conv.weight.copy_(base[f"vae.decoder.skip_conv_{i}.base_layer.weight"])
        assert (gen(x, "a2b", sample_posterior=False) - translator(x, "a2b")).abs().max() > 1e-3


def test_export_holds_only_the_trained_tensors(converted):
    gen, out = converted["gen"], converted["out"]
    tensors = load_file(str(out / "model.safetensors"))
    assert set(tensors) == set(gen.trainable_state_dict())
    assert all("lora_" in k or "skip_convs" in k or k.startswith(("unet.conv_in.", "emb_")) for k in tensors)
    numel = sum(t.numel() for t in tensors.values())
    size = (out / "model.safetensors").stat().st_size
    assert size < 4 * numel + 64 * 1024
    assert size < converted["pkl"].stat().st_size / 2  # the original also stores two whole VAEs, twice
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "translator.yaml"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_translator_yaml_records_base_prompts_and_settings(converted, cache_dir):
    import yaml

    meta = yaml.safe_load((converted["out"] / "translator.yaml").read_text())
    assert meta["model"]["backbone"] == "tiny" and meta["model"]["pretrained"] is None
    assert Path(meta["model"]["cache_dir"]) == Path(cache_dir).resolve()
    assert meta["model"]["lora"] == {
        "unet_rank": UNET_RANK,
        "unet_alpha": UNET_RANK,
        "unet_init": "gaussian",
        "vae_rank": VAE_RANK,
        "vae_alpha": 8,
        "vae_init": "gaussian",
        "train_conv_in": True,
        "skip_gamma": 1.0,
    }
    assert meta["prompts"] == list(PROMPTS)
    assert meta["resolution"] == 256 and meta["edge_preset"]["name"] == "none"


def test_missing_conv_in_is_reported_as_a_warning(converted):
    assert "warning:" in converted["stderr"] and "conv_in" in converted["stderr"]
    assert "translator written to" in converted["stdout"]


def test_merge_of_a_peft_1x1_lora_is_exact():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(6, 5, kernel_size=1, bias=False))
    from peft import inject_adapter_in_model

    model = inject_adapter_in_model(
        LoraConfig(r=4, target_modules=["0"], init_lora_weights="gaussian"), model, adapter_name="vae_skip"
    )
    layer = model[0]
    with torch.no_grad():
        layer.lora_B["vae_skip"].weight.normal_()
    assert layer.scaling["vae_skip"] == 2.0  # peft's default alpha 8 over r 4
    a, b = layer.lora_A["vae_skip"].weight, layer.lora_B["vae_skip"].weight
    merged = merge_1x1_lora(layer.base_layer.weight, a, b, 2.0)
    x = torch.randn(2, 6, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(F.conv2d(x, merged), model(x), atol=1e-5, rtol=1e-5)


# --- refusals and errors ------------------------------------------------------------------------
class Payload:
    """Unpickling this opens (creates) a marker file: stands in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_carrying_code_is_refused_and_never_runs(tmp_path, writer):
    marker, bad, out = tmp_path / "pwned", tmp_path / "evil.pkl", tmp_path / "out"
    payload = {"rank_unet": Payload(marker), "sd_encoder": {}}
    if writer == "torch.save":
        torch.save(payload, bad)
    else:
        bad.write_bytes(pickle.dumps(payload, protocol=2))
    rc, _, err = run_cli([str(bad), str(out), "--base", "tiny"])
    assert rc == 2 and "refusing" in err and "never runs code" in err
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists(), "the pickle's payload ran"
    assert not out.exists()
    # the payload is real: an unrestricted load would have run it
    with open(bad, "rb") as f:
        if writer == "torch.save":
            torch.load(f, weights_only=False)
        else:
            pickle.load(f)
    assert marker.exists()


def _variant(sd: dict, case: str):
    sd = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in sd.items()}
    if case == "not a dict":
        return [1, 2, 3]
    if case == "missing keys":
        del sd["sd_vae_dec"], sd["rank_vae"]
    elif case == "rank mismatch":
        sd["rank_unet"] = UNET_RANK * 2
    elif case == "tensor does not fit":
        key = next(k for k in sd["sd_other"] if k.endswith("lora_A.weight"))
        a = sd["sd_other"][key]
        sd["sd_other"][key] = torch.zeros(a.shape[0], a.shape[1] + 3, *a.shape[2:])
    elif case == "other targets":
        sd["l_modules_others"] = sd["l_modules_others"][1:]
    return sd


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing file", "not found"),
        ("not a dict", "not a dict"),
        ("missing keys", "missing keys ['rank_vae', 'sd_vae_dec']"),
        ("rank mismatch", "rank mismatch"),
        ("tensor does not fit", "expects"),
        ("other targets", "does not match pixel-gan's default_others layout"),
    ],
)
def test_bad_checkpoints_fail_with_one_line_and_write_nothing(converted, cache_dir, tmp_path, case, message):
    path, out = tmp_path / "bad.pkl", tmp_path / "out"
    if case != "missing file":
        torch.save(_variant(converted["sd"], case), path)
    rc, stdout, err = run_cli([str(path), str(out), "--base", "tiny", "--cache-dir", cache_dir])
    assert rc == 2, (stdout, err)
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and sorted(os.listdir(tmp_path)) == (["bad.pkl"] if case != "missing file" else [])


def test_existing_folder_needs_force_and_base_mismatch_warns(converted, cache_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = [str(converted["pkl"]), str(out), "--base", "tiny", "--cache-dir", cache_dir]
    rc, _, err = run_cli(args)
    assert rc == 2 and "--force" in err and (out / "keep.txt").read_text() == "mine"

    sd = _variant(converted["sd"], "none")
    for key in ("sd_vae_enc", "sd_vae_dec"):
        sd[key]["vae.decoder.conv_out.base_layer.weight"] = sd[key]["vae.decoder.conv_out.base_layer.weight"] + 0.5
    torch.save(sd, tmp_path / "other_base.pkl")
    rc, _, err = run_cli(
        [
            str(tmp_path / "other_base.pkl"),
            *args[1:],
            "--force",
            "--prompt-b",
            "16-bit sprite",
            "--resolution",
            "64",
            "--edge-preset",
            "medium",
        ]
    )
    assert rc == 0, err
    assert "differ from this base" in err and "vae_a2b.vae.decoder.conv_out.base_layer.weight" in err
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "translator.yaml"]
    import yaml

    meta = yaml.safe_load((out / "translator.yaml").read_text())
    assert meta["prompts"] == ["a photo", "16-bit sprite"] and meta["resolution"] == 64
    assert meta["edge_preset"]["name"] == "medium"


def test_bad_options_are_rejected(converted, tmp_path):
    rc, _, err = run_cli([str(converted["pkl"]), str(tmp_path / "o"), "--base", "tiny", "--resolution", "60"])
    assert rc == 2 and "multiple of 8" in err
    rc, _, err = run_cli([str(converted["pkl"]), str(tmp_path / "o"), "--base", "tiny", "--edge-preset", "sharp"])
    assert rc == 2 and "unknown edge preset" in err
    rc, _, err = run_cli([str(converted["pkl"]), str(tmp_path / "o"), "--base", str(tmp_path / "nowhere")])
    assert rc == 2 and "base model not found for --base" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_conversion_warning_is_a_python_warning_for_library_callers(converted, cache_dir, tmp_path):
    from pixel_gan.inference.import_original import convert_checkpoint

    with pytest.warns(ConversionWarning, match="conv_in"):
        convert_checkpoint(converted["pkl"], tmp_path / "lib", base="tiny", cache_dir=cache_dir)
