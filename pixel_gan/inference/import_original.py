"""Import an img2img-turbo CycleGAN-Turbo checkpoint (``.pkl``) as a pixel-gan translator folder.

The original saves a dict with ``torch.save``:

- ``rank_unet``; ``l_target_modules_encoder`` / ``_decoder`` / ``l_modules_others`` (UNet module
  names per adapter); ``sd_encoder`` / ``sd_decoder`` / ``sd_other``: peft adapter state dicts with
  the adapter name stripped (``<module>.lora_A.weight``). UNet alpha = rank (scale 1).
- ``rank_vae``, ``vae_lora_target_modules``; ``sd_vae_enc`` / ``sd_vae_dec``: state dicts of its
  encode/decode wrappers, which both hold the two whole VAEs (``vae.*`` = a2b, ``vae_b2a.*``).
  The VAE LoRA uses peft's default alpha 8 (scale 8/rank); its skip convs are peft-wrapped too
  (``decoder.skip_conv_i.base_layer.weight`` + ``lora_A/B.vae_skip.weight``).

pixel-gan keeps the skip convs as plain bias-free 1×1 convs, so their LoRA is merged exactly:
W + scale·B@A. The original checkpoint omits the fully-trained UNet ``conv_in``: the base's
conv_in is kept (its LoRA is imported) and a warning says so. The file is read with
``weights_only=True``: a pickle that would build objects or run code is refused.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import Tensor

from pixel_gan.inference.export import write_translator
from pixel_gan.inference.translator_config import BaseModel, TranslatorConfig, check_multiple_of_8
from pixel_gan.models.generator import VAE_ADAPTER, VAE_LORA_TARGETS, LoraSettings
from pixel_gan.safe_io import write_folder
from pixel_gan.weights import UnsafeWeightsError, load_tensors

PEFT_DEFAULT_ALPHA = 8  # LoraConfig's default lora_alpha, which the original's VAE LoRA relies on
UNET_GROUPS = {  # checkpoint key of the adapter state dict → (adapter name, checkpoint key of its targets)
    "sd_encoder": ("default_encoder", "l_target_modules_encoder"),
    "sd_decoder": ("default_decoder", "l_target_modules_decoder"),
    "sd_other": ("default_others", "l_modules_others"),
}
VAE_DIRECTIONS = {"vae.": "a2b", "vae_b2a.": "b2a"}  # prefix in sd_vae_enc/dec → pixel-gan direction
REQUIRED_KEYS = (
    "rank_unet",
    *(t for _, t in UNET_GROUPS.values()),
    *UNET_GROUPS,
    "rank_vae",
    "vae_lora_target_modules",
    "sd_vae_enc",
    "sd_vae_dec",
)
SKIP_CONVS = 4
DEFAULT_BASE = "stabilityai/sd-turbo"


class ConversionError(ValueError):
    """The checkpoint cannot be imported; the message is one line a user can act on."""


class ConversionWarning(UserWarning):
    """The import works but differs from the original in a way the user should know about."""


# --- reading and checking the original file ----------------------------------------------------
def load_original(path: str | Path) -> dict[str, Any]:
    """Read the ``.pkl`` as weights only and check its layout (keys, types, ranks).

    Raises :class:`ConversionError` for a missing file, a pickle that carries code or objects,
    a non-dict, missing keys, wrong types and LoRA tensors whose rank disagrees with the recorded one.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConversionError(f"checkpoint not found: {path}")
    try:
        ckpt = load_tensors(path, "checkpoint")
    except UnsafeWeightsError as err:
        raise ConversionError(str(err)) from None
    check_layout(ckpt, str(path))
    return ckpt


def check_layout(ckpt: Any, source: str = "checkpoint") -> None:
    """The original's keys and types, and that every LoRA tensor has the recorded rank."""
    if not isinstance(ckpt, Mapping):
        raise ConversionError(
            f"{source} is not an img2img-turbo CycleGAN-Turbo checkpoint: it holds a {type(ckpt).__name__}, not a dict"
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise ConversionError(f"{source} is not an img2img-turbo CycleGAN-Turbo checkpoint: missing keys {missing}")
    for key in ("rank_unet", "rank_vae"):
        if isinstance(ckpt[key], bool) or not isinstance(ckpt[key], int) or ckpt[key] < 1:
            raise ConversionError(f"{source}: {key} must be a positive integer, got {ckpt[key]!r}")
    for key in (*(t for _, t in UNET_GROUPS.values()), "vae_lora_target_modules"):
        if not isinstance(ckpt[key], (list, tuple)) or not all(isinstance(n, str) for n in ckpt[key]):
            raise ConversionError(f"{source}: {key} must be a list of module names")
    for key in (*UNET_GROUPS, "sd_vae_enc", "sd_vae_dec"):
        state = ckpt[key]
        if not isinstance(state, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
        ):
            raise ConversionError(f"{source}: {key} must be a state dict (names → tensors)")
    for key in UNET_GROUPS:
        _check_rank(ckpt[key], ckpt["rank_unet"], f"{source}: {key}", "rank_unet")
    for key in ("sd_vae_enc", "sd_vae_dec"):
        _check_rank(ckpt[key], ckpt["rank_vae"], f"{source}: {key}", "rank_vae")


def _check_rank(state: Mapping[str, Tensor], rank: int, where: str, rank_key: str) -> None:
    """lora_A is (r, in, ...), lora_B is (out, r, ...)."""
    for name, value in state.items():
        dim = 0 if ".lora_A." in name else 1 if ".lora_B." in name else None
        if dim is not None and (value.ndim < 2 or value.shape[dim] != rank):
            raise ConversionError(
                f"{where}[{name}] has shape {tuple(value.shape)}, which does not match "
                f"{rank_key}={rank} (rank mismatch)"
            )


def lora_settings_for(ckpt: Mapping[str, Any]) -> LoraSettings:
    """The adapter settings that reproduce the original: UNet alpha = rank, VAE alpha = peft's default.

    The VAE targets are the original's without ``skip_conv_*`` (pixel-gan's skip convs are not
    LoRA-wrapped: their LoRA is merged into the weight).
    """
    vae_targets = tuple(t for t in ckpt["vae_lora_target_modules"] if not re.fullmatch(r"skip_conv_\d+", t))
    return LoraSettings(
        unet_rank=ckpt["rank_unet"],
        unet_alpha=ckpt["rank_unet"],
        vae_rank=ckpt["rank_vae"],
        vae_alpha=PEFT_DEFAULT_ALPHA,
        vae_targets=vae_targets,
        train_conv_in=True,
    )


# --- mapping onto pixel-gan's generator --------------------------------------------------------
def merge_1x1_lora(weight: Tensor, lora_a: Tensor, lora_b: Tensor, scale: float) -> Tensor:
    """Fold a peft LoRA into a 1×1 conv: W (out, in, 1, 1) + scale · B (out, r) @ A (r, in)."""
    if weight.shape[2:] != (1, 1) or lora_a.shape[2:] != (1, 1) or lora_b.shape[2:] != (1, 1):
        raise ConversionError(
            f"skip conv LoRA must be 1×1, got {tuple(weight.shape)}, {tuple(lora_a.shape)}, {tuple(lora_b.shape)}"
        )
    if lora_b.shape[1] != lora_a.shape[0] or (lora_b.shape[0], lora_a.shape[1]) != tuple(weight.shape[:2]):
        raise ConversionError(
            f"skip conv LoRA shapes do not fit: W {tuple(weight.shape)}, A {tuple(lora_a.shape)}, "
            f"B {tuple(lora_b.shape)}"
        )
    delta = lora_b[:, :, 0, 0].double() @ lora_a[:, :, 0, 0].double()
    return (weight.double() + scale * delta[:, :, None, None]).float()


def _with_adapter(key: str, adapter: str) -> str:
    """``x.lora_A.weight`` → ``x.lora_A.<adapter>.weight`` (keys that already name it pass through)."""
    if f".{adapter}." in key:
        return key
    return re.sub(r"\.(lora_[AB])\.", rf".\1.{adapter}.", key, count=1)


class _Mapper:
    """Collects pixel-gan tensors from the original's, checking names and shapes against the model."""

    def __init__(self, trainable: Mapping[str, Tensor], frozen: Mapping[str, Tensor]) -> None:
        self.trainable, self.frozen = trainable, frozen
        self.out: dict[str, Tensor] = {}
        self.base_mismatch: list[tuple[str, float]] = []

    def put(self, name: str, value: Tensor, source: str) -> None:
        target = self.trainable.get(name)
        if target is None:
            raise ConversionError(
                f"{source} has no place in the pixel-gan model built on this base "
                f"(expected parameter {name}); is --base the model it was trained on?"
            )
        if tuple(value.shape) != tuple(target.shape):
            raise ConversionError(
                f"{source} has shape {tuple(value.shape)} but the model built on this base "
                f"expects {tuple(target.shape)}; is --base the model it was trained on?"
            )
        self.out[name] = value.detach().float()

    def compare_base(self, name: str, value: Tensor, source: str) -> None:
        """Frozen base tensors are not exported; they must fit, and should equal the base's."""
        target = self.frozen.get(name)
        if target is None:
            raise ConversionError(
                f"{source} has no counterpart in the VAE of this base ({name}); is --base the model it was trained on?"
            )
        if tuple(value.shape) != tuple(target.shape):
            raise ConversionError(
                f"{source} has shape {tuple(value.shape)} but this base's VAE has "
                f"{tuple(target.shape)}; is --base the model it was trained on?"
            )
        diff = (value.float() - target.float()).abs().max().item() if value.numel() else 0.0
        if diff > 1e-6:
            self.base_mismatch.append((name, diff))


def map_checkpoint(
    ckpt: Mapping[str, Any], trainable: Mapping[str, Tensor], frozen: Mapping[str, Tensor], lora: LoraSettings
) -> tuple[dict[str, Tensor], list[str]]:
    """Original tensors → pixel-gan trainable names (without conv_in base and caption embeddings).

    ``trainable`` / ``frozen``: name → tensor of the pixel-gan generator built with ``lora``.
    Returns the mapped tensors and the warnings to show.
    """
    m = _Mapper(trainable, frozen)
    for key, (adapter, _) in UNET_GROUPS.items():
        for name, value in ckpt[key].items():
            m.put(f"unet.{_with_adapter(name, adapter)}", value, f"{key}[{name}]")

    vae_state = {**ckpt["sd_vae_enc"], **ckpt["sd_vae_dec"]}  # the original loads dec last: it wins
    unknown = [k for k in vae_state if not k.startswith(tuple(VAE_DIRECTIONS))]
    if unknown:
        raise ConversionError(f"sd_vae_enc/sd_vae_dec hold keys outside vae.* / vae_b2a.*, e.g. {unknown[0]}")
    scale = lora.vae_alpha / lora.vae_rank
    for prefix, direction in VAE_DIRECTIONS.items():
        sub = {k[len(prefix) :]: v for k, v in vae_state.items() if k.startswith(prefix)}
        for i in range(1, SKIP_CONVS + 1):
            m.put(
                f"vae_{direction}.skip_convs.{i - 1}.weight",
                _skip_conv(sub, i, scale, prefix),
                f"{prefix}decoder.skip_conv_{i}",
            )
        for name, value in sub.items():
            if name.startswith("decoder.skip_conv_"):
                continue
            source = f"sd_vae_enc/dec[{prefix}{name}]"
            if "lora_" in name:
                m.put(f"vae_{direction}.vae.{_with_adapter(name, VAE_ADAPTER)}", value, source)
            else:
                m.compare_base(f"vae_{direction}.vae.{name}", value, source)

    notes = []
    expected = [n for n in trainable if not n.startswith("unet.conv_in.") or "lora_" in n]
    missing = [n for n in expected if n not in m.out]
    if missing:
        raise ConversionError(
            f"the checkpoint lacks {len(missing)} trained tensor(s) the model needs, e.g. {missing[0]}"
        )
    conv_in = [n for n in trainable if n not in m.out]
    if conv_in:
        notes.append(
            "the original checkpoint does not store the fully-trained UNet conv_in (a known defect of "
            "img2img-turbo's save): the base's conv_in weights are kept (its LoRA is imported), so "
            "outputs can differ from the original training run"
        )
    if m.base_mismatch:
        name, diff = max(m.base_mismatch, key=lambda t: t[1])
        notes.append(
            f"{len(m.base_mismatch)} VAE base tensor(s) in the checkpoint differ from this base "
            f"(largest |Δ| {diff:.3g} in {name}): it was probably trained on another base; "
            "the export keeps this base's weights"
        )
    return m.out, notes


def _skip_conv(sub: Mapping[str, Tensor], i: int, scale: float, prefix: str) -> Tensor:
    """Skip conv i's effective weight: peft-wrapped (base + merged LoRA) or plain."""
    base = f"decoder.skip_conv_{i}"
    if f"{base}.base_layer.weight" in sub:
        keys = [f"{base}.base_layer.weight", *(f"{base}.lora_{ab}.{VAE_ADAPTER}.weight" for ab in "AB")]
        absent = [k for k in keys if k not in sub]
        if absent:
            raise ConversionError(f"sd_vae_enc/dec lacks {prefix}{absent[0]} (the skip conv's LoRA)")
        weight, lora_a, lora_b = (sub[k] for k in keys)
        return merge_1x1_lora(weight, lora_a, lora_b, scale)
    if f"{base}.weight" in sub:
        return sub[f"{base}.weight"].float()
    raise ConversionError(f"sd_vae_enc/dec lacks {prefix}{base} (the VAE skip convs)")


def _check_unet_targets(ckpt: Mapping[str, Any], ours: Mapping[str, list[str]]) -> None:
    """The original's adapter groups must be pixel-gan's on this base (same names, same group)."""
    for adapter, key in UNET_GROUPS.values():
        theirs, mine = set(ckpt[key]), set(ours.get(adapter, []))
        if theirs != mine:
            extra, lacking = sorted(theirs - mine), sorted(mine - theirs)
            raise ConversionError(
                f"{key} does not match pixel-gan's {adapter} layout on this base: {len(extra)} module(s) only in "
                f"the checkpoint{f' (e.g. {extra[0]})' if extra else ''}, {len(lacking)} only in pixel-gan"
                f"{f' (e.g. {lacking[0]})' if lacking else ''}; is --base the model it was trained on?"
            )


# --- the conversion -----------------------------------------------------------------------------
def base_model_meta(base: str, cache_dir: str | Path) -> dict[str, Any]:
    """``model.name/backbone/pretrained/cache_dir`` for ``translator.yaml`` from ``--base``."""
    cache = str(Path(cache_dir).expanduser().resolve())
    if base == "tiny":
        return {"name": "tiny", "backbone": "tiny", "pretrained": None, "cache_dir": cache}
    path = Path(base).expanduser()
    pretrained = str(path.resolve()) if path.exists() else base  # a local folder, else a hub id
    return {"name": "sd_turbo", "backbone": "pretrained", "pretrained": pretrained, "cache_dir": cache}


def _lora_meta(lora: LoraSettings) -> dict[str, Any]:
    """``model.lora`` as training writes it; ``vae_targets`` only when they differ from the default."""
    keys = ("unet_rank", "unet_alpha", "unet_init", "vae_rank", "vae_alpha", "vae_init", "train_conv_in", "skip_gamma")
    meta = {k: v for k, v in asdict(lora).items() if k in keys}
    if set(lora.vae_targets) != set(VAE_LORA_TARGETS):
        meta["vae_targets"] = list(lora.vae_targets)
    return meta


def convert_checkpoint(
    original: str | Path,
    out_dir: str | Path,
    base: str = DEFAULT_BASE,
    prompt_a: str = "a photo",
    prompt_b: str = "pixel art",
    resolution: int = 256,
    edge_preset: str = "none",
    cache_dir: str | Path = ".cache",
    force: bool = False,
) -> Path:
    """Write a translator folder (``model.safetensors`` + ``translator.yaml``) from an original ``.pkl``.

    ``base``: hub id, local directory (hub layout) or ``tiny``. ``prompt_a``/``prompt_b``: the
    domain captions (a2b is conditioned on ``prompt_b``); the original stores none. Warnings
    (:class:`ConversionWarning`) say where the import cannot match the original exactly.
    The folder appears complete or not at all; an existing non-empty ``out_dir`` needs ``force``.
    """
    from pixel_gan.data.edges import read_preset
    from pixel_gan.models.backbone import build_backbone
    from pixel_gan.models.generator import CycleGANTurbo, unet_lora_targets

    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise ConversionError(f"{out} exists and is not empty; pick another folder or pass --force to replace it")
    try:
        check_multiple_of_8(resolution, "--resolution")
        preset = read_preset(edge_preset)
    except ValueError as err:
        raise ConversionError(str(err) if str(err).startswith("--") else f"--edge-preset: {err}") from None
    ckpt = load_original(original)
    lora = lora_settings_for(ckpt)

    model_meta = base_model_meta(base, cache_dir)
    backbone = build_backbone(model_meta["backbone"], model_meta["pretrained"], cache_dir)
    _check_unet_targets(ckpt, unet_lora_targets(backbone.unet, lora.unet_patterns))
    generator = CycleGANTurbo.from_backbone(backbone, prompt_a, prompt_b, lora)
    del backbone
    trainable = {n: p.detach() for n, p in generator.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in generator.named_parameters() if not p.requires_grad}
    mapped, notes = map_checkpoint(ckpt, trainable, frozen, lora)
    for note in notes:
        warnings.warn(note, ConversionWarning, stacklevel=2)
    state = generator.trainable_state_dict()
    state.update(mapped)
    generator.load_trainable_state_dict(state)  # the exact key set the Translator will ask for

    config = TranslatorConfig(
        base=BaseModel(**model_meta),
        lora=_lora_meta(lora),
        prompts=(prompt_a, prompt_b),
        resolution=resolution,
        edge_preset=preset,
        experiment="img2img-turbo import",
        source={
            "format": "img2img-turbo CycleGAN-Turbo",
            "file": Path(original).name,
            "conv_in": "base (not stored in the original)",
        },
    )
    # The folder is written in a hidden sibling and then swapped in: ``out`` is never half-written.
    return write_folder(out, lambda folder: write_translator(folder, state, config))
