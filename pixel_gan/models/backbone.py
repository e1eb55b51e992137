"""Load the SD-Turbo parts CycleGAN-Turbo is built on: UNet, VAE, text encoder, tokenizer, scheduler.

Three sources, one loading path:
- ``pretrained``: a hub id (``stabilityai/sd-turbo``) or a local directory in the hub layout;
- ``tiny``: tiny random-initialized models of the *same classes*, saved once in the hub layout
  under the cache and then loaded through exactly the ``pretrained`` path;
- ``random``: the full-size architecture from its config with random weights, built in memory
  (for memory/speed benchmarks and shape tests where no weights exist).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from pixel_gan.safe_io import write_folder
from pixel_gan.weights import WeightsNotFoundError, hub_offline, load_or_explain, looks_like_path, resolve_pretrained

SD_TURBO_LAYOUT = """<dir>/
  unet/config.json, unet/diffusion_pytorch_model.safetensors
  vae/config.json, vae/diffusion_pytorch_model.safetensors
  text_encoder/config.json, text_encoder/model.safetensors
  tokenizer/ (vocab.json + merges.txt, or tokenizer.json)
  scheduler/scheduler_config.json"""

# Full-size SD-Turbo (SD 2.1 architecture) configs, used to build the random full-size model.
SD_TURBO_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    attention_head_dim=(5, 10, 20, 20),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=1024,
    use_linear_projection=True,
)
_VAE_BLOCKS = {"down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4}
SD_TURBO_VAE = {"in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2, **_VAE_BLOCKS}
SD_TURBO_VAE |= {"sample_size": 768, "block_out_channels": (128, 256, 512, 512)}
SD_TURBO_TEXT = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=23,
    num_attention_heads=16,
    max_position_embeddings=77,
    hidden_act="gelu",
    projection_dim=512,
)
SD_TURBO_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="epsilon",
    clip_sample=False,
    steps_offset=1,
    timestep_spacing="trailing",
)

# Tiny versions: same classes and module names (so LoRA targets and skip layouts carry over).
TINY_UNET = {
    **SD_TURBO_UNET,
    "sample_size": 8,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "block_out_channels": (32, 64),
    "attention_head_dim": (4, 8),
    "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": 32,
}
TINY_VAE = {
    **SD_TURBO_VAE,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "sample_size": 64,
    "block_out_channels": (16, 32, 32, 32),
}
# The transformer size of every tiny test model (text encoder here, the DINO ViT of the tests).
TINY_TRANSFORMER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
TINY_TEXT = {**SD_TURBO_TEXT, **TINY_TRANSFORMER, "projection_dim": 32}


@dataclass
class Backbone:
    """The frozen SD-Turbo parts. The text encoder is only needed to embed the two captions."""

    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: CLIPTextModel
    tokenizer: CLIPTokenizer
    scheduler: DDPMScheduler
    source: str


_REQUIRED = (
    "unet/config.json",
    "vae/config.json",
    "text_encoder/config.json",
    "tokenizer/vocab.json|tokenizer/tokenizer.json",
    "scheduler/scheduler_config.json",
)


def load_backbone(source: str, config_key: str = "model.pretrained") -> Backbone:
    """Load all SD-Turbo parts from a hub id or a local directory in the hub layout.

    Fails with :class:`WeightsNotFoundError` naming ``config_key`` and the expected layout when
    the directory is incomplete or the hub cannot be reached (``HF_HUB_OFFLINE`` is honoured).
    """
    source = resolve_pretrained(str(source), config_key, SD_TURBO_LAYOUT, _REQUIRED)
    kwargs: dict[str, Any] = {"local_files_only": looks_like_path(source) or hub_offline()}

    def load() -> Backbone:
        try:
            return Backbone(
                unet=UNet2DConditionModel.from_pretrained(source, subfolder="unet", **kwargs),
                vae=AutoencoderKL.from_pretrained(source, subfolder="vae", **kwargs),
                text_encoder=CLIPTextModel.from_pretrained(source, subfolder="text_encoder", **kwargs),
                tokenizer=CLIPTokenizer.from_pretrained(source, subfolder="tokenizer", **kwargs),
                scheduler=DDPMScheduler.from_pretrained(source, subfolder="scheduler", **kwargs),
                source=source,
            )
        except ValueError as err:  # broken config / weights files
            raise OSError(str(err)) from err

    return load_or_explain(load, source, config_key, SD_TURBO_LAYOUT)


def _byte_level_vocab() -> dict[str, int]:
    """The byte-level alphabet CLIP's BPE falls back to: a tokenizer that works with no merges."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in printable]
    extra = 0
    for b in range(256):
        if b not in printable:
            chars.append(chr(256 + extra))
            extra += 1
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


Parts = tuple[UNet2DConditionModel, AutoencoderKL, CLIPTextModel, CLIPTokenizer, DDPMScheduler]


def _build_parts(unet_cfg: dict, vae_cfg: dict, text_cfg: dict, seed: int = 0) -> Parts:
    """Random parts drawn from their own seed; the caller's RNG is left as it was, so a run that builds
    the tiny backbone into an empty cache trains exactly like one that finds it there."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _draw_parts(unet_cfg, vae_cfg, text_cfg)


def _draw_parts(unet_cfg: dict, vae_cfg: dict, text_cfg: dict) -> Parts:
    vocab = _byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    special = {
        "bos_token_id": vocab["<|startoftext|>"],
        "eos_token_id": vocab["<|endoftext|>"],
        "pad_token_id": vocab["<|endoftext|>"],
    }
    text_encoder = CLIPTextModel(CLIPTextConfig(**{"vocab_size": len(vocab), **special, **text_cfg}))
    unet = UNet2DConditionModel(**unet_cfg)
    vae = AutoencoderKL(**vae_cfg)
    scheduler = DDPMScheduler(**SD_TURBO_SCHEDULER)
    return unet, vae, text_encoder, tokenizer, scheduler


def save_backbone(parts: tuple, out_dir: Path) -> Path:
    """Write the parts in the hub directory layout (what ``from_pretrained`` reads)."""
    unet, vae, text_encoder, tokenizer, scheduler = parts
    out_dir.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(out_dir / "unet")
    vae.save_pretrained(out_dir / "vae")
    text_encoder.save_pretrained(out_dir / "text_encoder")
    tokenizer.save_pretrained(out_dir / "tokenizer")
    scheduler.save_pretrained(out_dir / "scheduler")
    index = {
        "_class_name": "StableDiffusionPipeline",
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", "DDPMScheduler"],
    }
    (out_dir / "model_index.json").write_text(json.dumps(index, indent=2))
    return out_dir


def tiny_backbone_dir(cache_dir: str | Path) -> Path:
    """Build (once) the tiny random backbone in the hub layout and return its directory.

    Written to a temporary folder and renamed, so concurrent processes never see half a model.
    """
    target = Path(cache_dir).expanduser() / "tiny-sd-turbo"
    if (target / "model_index.json").is_file():
        return target
    # another process may win the race: its copy is identical
    return write_folder(
        target,
        lambda folder: save_backbone(_build_parts(TINY_UNET, TINY_VAE, TINY_TEXT), folder),
        already_done=lambda found: (found / "model_index.json").is_file(),
    )


def random_full_backbone(seed: int = 0) -> Backbone:
    """Full-size SD-Turbo architecture with random weights, built in memory (no weights needed)."""
    parts = _build_parts(SD_TURBO_UNET, SD_TURBO_VAE, SD_TURBO_TEXT, seed)
    return Backbone(*parts, source="random:sd-turbo")


DEMO_BASE_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo-base"


def build_backbone(kind: str, pretrained: str | None = None, cache_dir: str | Path = ".cache") -> Backbone:
    """Dispatch on ``model.backbone``: ``pretrained`` | ``demo`` | ``tiny`` | ``random``.

    ``demo`` is the small base shipped with the package (``python -m pixel_gan.models.demo_base``
    writes it), loaded through the same path as a ``pretrained`` directory.
    """
    if kind == "pretrained":
        if not pretrained:
            raise WeightsNotFoundError("model.pretrained", str(pretrained), SD_TURBO_LAYOUT, "no source given")
        return load_backbone(pretrained)
    if kind == "demo":
        return load_backbone(str(DEMO_BASE_DIR), "model.backbone=demo")
    if kind == "tiny":
        return load_backbone(str(tiny_backbone_dir(cache_dir)))
    if kind == "random":
        return random_full_backbone()
    raise ValueError(f"model.backbone must be one of pretrained/demo/tiny/random, got {kind!r}")
