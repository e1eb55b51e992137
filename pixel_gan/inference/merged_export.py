"""A standalone merged translator: one safetensors file + ``merged.json``, loaded without the base or peft.

The ordinary export holds only the trained tensors and rebuilds the generator from the multi-GB base
on every start (load, add adapters, embed the captions with the text encoder). This one holds the
merged weights themselves (fp16 by default, half the size), the UNet/VAE architecture configs, the
caption embeddings as tensors and the preprocessing settings: loading builds empty modules on the
meta device and assigns the stored tensors to them, with no initialisation, no text encoder and no
adapter merge.

Layout of ``<dir>/``: ``merged.safetensors`` (the :class:`CycleGANTurbo` state dict: ``unet.*``,
``vae_a2b.*``, ``vae_b2a.*``, ``emb_a2b``, ``emb_b2a``) and ``merged.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from pixel_gan.inference.merge import lora_layers, merge_adapters
from pixel_gan.inference.precision import PRECISIONS, precision_dtype
from pixel_gan.inference.translator_config import TranslatorConfig
from pixel_gan.models.backbone import SD_TURBO_SCHEDULER
from pixel_gan.models.generator import CycleGANTurbo
from pixel_gan.models.vae import SkipVAE
from pixel_gan.safe_io import write_folder

MERGED_WEIGHTS = "merged.safetensors"
MERGED_CONFIG = "merged.json"
FORMAT = "pixel-gan-merged"
VERSION = 1
#: Translator settings carried over from the ordinary export (what preprocessing needs).
META_KEYS = ("resolution", "edge_preset", "prompts", "experiment", "loss")


class MergedExportError(ValueError):
    """A merged export folder that cannot be loaded; the message names the file (and key)."""


# --------------------------------------------------------------------------- writing


def _model_config(model: UNet2DConditionModel | AutoencoderKL) -> dict[str, Any]:
    """The constructor arguments of a diffusers model (its public config keys)."""
    return {k: v for k, v in dict(model.config).items() if not k.startswith("_")}


def merged_state(generator: CycleGANTurbo, dtype: torch.dtype) -> dict[str, Tensor]:
    """The merged generator's tensors in ``dtype``; refused when the cast leaves a NaN/inf (fp16 overflow)."""
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in generator.state_dict().items()}
    bad = [k for k, v in state.items() if not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"cannot export in {dtype}: {len(bad)} tensors hold NaN/inf after the cast, e.g. {bad[0]}")
    return state


def merged_config(generator: CycleGANTurbo, meta: Mapping[str, Any], precision: str) -> dict[str, Any]:
    """Everything but the tensors: architecture, the one-step schedule, preprocessing settings."""
    config: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "precision": precision,
        "unet": _model_config(generator.unet),
        "vae": _model_config(generator.vae_a2b.vae),
        "skip_gamma": {d: getattr(generator, f"vae_{d}").gamma for d in ("a2b", "b2a")},
        "timestep": generator.timestep,
        "alpha_bar": float(generator.alpha_bar),
    }
    config.update({k: meta[k] for k in META_KEYS if k in meta})
    return config


def save_merged(source: Any, out_dir: str | Path, dtype: str = "fp16", meta: Mapping[str, Any] | None = None) -> Path:
    """Write a merged export of a translator (its ``generator`` and ``meta``) or of a bare generator.

    Adapters still present are merged into a copy first. ``meta`` adds or overrides translator
    settings (``resolution``, ``edge_preset``, ``prompts``). The folder is built beside ``out_dir``
    and renamed into place: never half-written. An existing folder is replaced only when it is a
    merged export itself.
    """
    if dtype not in PRECISIONS:
        raise ValueError(f"dtype must be one of {sorted(PRECISIONS)}, got {dtype!r}")
    generator: CycleGANTurbo = getattr(source, "generator", source)
    settings = {**getattr(source, "meta", {}), **(meta or {})}
    if lora_layers(generator):
        generator = merge_adapters(generator)
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MERGED_CONFIG).is_file())):
        raise ValueError(f"{out} exists and is not a merged export; choose a new folder")
    state = merged_state(generator, precision_dtype(dtype))
    text = json.dumps(merged_config(generator, settings, dtype), indent=2, default=list)

    def build(folder: Path) -> None:
        save_file(state, str(folder / MERGED_WEIGHTS), metadata={"format": "pt", "producer": "pixel-gan"})
        (folder / MERGED_CONFIG).write_text(text)

    return write_folder(out, build)


# --------------------------------------------------------------------------- reading


def read_merged_config(folder: Path) -> dict[str, Any]:
    """``merged.json`` checked for the keys loading needs."""
    path = folder / MERGED_CONFIG
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MergedExportError(f"{path}: cannot read the merged config ({err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise MergedExportError(f"{path}: not a pixel-gan merged export (format must be {FORMAT!r})")
    for key, kind in (("unet", dict), ("vae", dict), ("skip_gamma", dict), ("timestep", int), ("alpha_bar", float)):
        if not isinstance(config.get(key), kind):
            raise MergedExportError(f"{path}: {key} must be a {kind.__name__}, got {config.get(key)!r}")
    return config


def _check_files(folder: Path) -> None:
    if not folder.is_dir():
        raise MergedExportError(f"merged export not found: {folder}")
    missing = [n for n in (MERGED_WEIGHTS, MERGED_CONFIG) if not (folder / n).is_file()]
    if missing:
        raise MergedExportError(
            f"{folder / missing[0]} is missing (a merged export holds {MERGED_WEIGHTS} + {MERGED_CONFIG})"
        )


def _empty_generator(config: dict[str, Any], weights: Path) -> CycleGANTurbo:
    """The generator's modules with no storage (meta device): nothing initialised, filled by assignment."""
    with safe_open(str(weights), framework="pt") as handle:
        names = set(handle.keys())
        shapes = {k: handle.get_slice(k).get_shape() for k in ("emb_a2b", "emb_b2a") if k in names}
    if len(shapes) < 2:
        raise MergedExportError(f"{weights}: the caption embeddings emb_a2b/emb_b2a are missing")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config["unet"])
        vae_a2b, vae_b2a = (
            SkipVAE(AutoencoderKL.from_config(config["vae"]), gamma=config["skip_gamma"][d]) for d in ("a2b", "b2a")
        )
        emb_a2b, emb_b2a = (torch.empty(shapes[k]) for k in ("emb_a2b", "emb_b2a"))
    scheduler = DDPMScheduler(**SD_TURBO_SCHEDULER)  # replaced below by the stored step
    generator = CycleGANTurbo(unet, vae_a2b, vae_b2a, scheduler, emb_a2b, emb_b2a)
    generator.timestep = int(config["timestep"])
    generator.alpha_bar = torch.tensor(float(config["alpha_bar"]))
    return generator


def load_merged(
    export_dir: str | Path, device: str | torch.device = "cpu", dtype: str | None = None
) -> tuple[CycleGANTurbo, dict[str, Any]]:
    """(merged generator in eval mode, translator settings) from a :func:`save_merged` folder.

    ``dtype`` None keeps the stored precision. Every problem is a :class:`MergedExportError` naming the file.
    """
    folder = Path(export_dir).expanduser()
    _check_files(folder)
    config = read_merged_config(folder)
    weights = folder / MERGED_WEIGHTS
    try:
        generator = _empty_generator(config, weights)
        state = load_file(str(weights), device=str(device))
    except SafetensorError as err:
        raise MergedExportError(f"{weights} is not a readable safetensors file ({err})") from None
    except (TypeError, ValueError) as err:  # an architecture config diffusers cannot build
        raise MergedExportError(f"{folder / MERGED_CONFIG}: cannot build the model ({err})") from None
    expected = set(generator.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise MergedExportError(
            f"{weights} does not match {MERGED_CONFIG}: missing {missing[:3]} ({len(missing)}), "
            f"unexpected {unexpected[:3]} ({len(unexpected)})"
        )
    try:
        generator.load_state_dict(state, assign=True)
    except RuntimeError as err:  # shape mismatch
        raise MergedExportError(
            f"{weights} does not match {MERGED_CONFIG}: {str(err).splitlines()[-1].strip()}"
        ) from None
    generator.alpha_bar = generator.alpha_bar.to(device)
    if dtype is not None:
        generator.to(precision_dtype(dtype))
    settings = {k: config[k] for k in META_KEYS if k in config}
    return generator.eval().requires_grad_(False), settings


# --------------------------------------------------------------------------- as a translator


def is_merged_export(path: str | Path) -> bool:
    """A folder holding ``merged.json`` (its contents are checked when loaded)."""
    return (Path(path).expanduser() / MERGED_CONFIG).is_file()


def load_merged_translator(export_dir: str | Path, device: torch.device) -> tuple[CycleGANTurbo, TranslatorConfig, str]:
    """(generator, translator config, default precision) of a merged export.

    The default precision is the stored one, except fp16 on a CPU, where half-precision kernels are
    slow or missing: fp32 there.
    """
    generator, settings = load_merged(export_dir, device)
    folder = Path(export_dir).expanduser()
    stored = str(read_merged_config(folder).get("precision", "fp32"))
    config = TranslatorConfig.from_dict({**settings, "model": {"name": "merged"}}, folder / MERGED_CONFIG)
    precision = "fp32" if stored == "fp16" and device.type == "cpu" else stored
    return generator, config, precision
