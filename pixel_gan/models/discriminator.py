"""Discriminators: the CLIP vision-aided one CycleGAN-Turbo uses, and a PatchGAN fallback.

Contract relied on by the training module: ``forward(x)`` with x: (B, 3, H, W) in [-1, 1]
returns a list of logits tensors (one per level, batch first), scored by
:mod:`pixel_gan.losses.adversarial`; ``trainable_parameters()`` is what the D optimizer
gets; ``state_dict()`` / ``trainable_state_dict()`` hold only trained weights.

The CLIP tower is frozen and large (ViT-B/32, ~88M parameters), so the two discriminators
(domain A, domain B) share one instance. It stays a registered submodule so that
``.to(device)`` / ``.half()`` move it with the heads, but its keys are left out of
``state_dict`` (it comes from ``model.clip_pretrained``, never from a checkpoint), so a
LightningModule holding both discriminators saves neither copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm
from transformers import CLIPVisionConfig, CLIPVisionModel

from pixel_gan.models.diffaug import DEFAULT_POLICY, diff_augment
from pixel_gan.weights import (
    WeightsNotFoundError,
    hub_offline,
    load_or_explain,
    looks_like_path,
    resolve_pretrained,
)

CLIP_CONFIG_KEY = "model.clip_pretrained"
CLIP_LAYOUT = (
    "a transformers CLIP vision directory: config.json + model.safetensors "
    "(what CLIPVisionModel.save_pretrained writes; a full CLIPModel directory such as "
    "openai/clip-vit-base-patch32 also works), or a hub id"
)
# OpenAI CLIP preprocessing statistics (RGB, images in [0, 1]).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TINY_CLIP = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2, image_size=32, patch_size=8
)


class Discriminator(nn.Module):
    """Base class: submodules named in ``frozen_modules`` are neither trained nor checkpointed."""

    frozen_modules: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.register_state_dict_post_hook(_drop_frozen_keys)
        self.register_load_state_dict_pre_hook(_keep_frozen_weights)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters outside the frozen submodules.

        Chosen by structure, not by ``requires_grad``, which Lightning's ``toggle_optimizer``
        flips temporarily.
        """
        for name, param in self.named_parameters():
            if name.split(".", 1)[0] not in self.frozen_modules:
                yield param

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """What a checkpoint or export of this discriminator holds (frozen parts excluded)."""
        return dict(self.state_dict())


def _drop_frozen_keys(module: Discriminator, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    frozen = tuple(f"{prefix}{name}." for name in module.frozen_modules)
    for key in [k for k in state_dict if k.startswith(frozen)]:
        del state_dict[key]


def _keep_frozen_weights(module: Discriminator, state_dict: dict, prefix: str, *_: Any) -> None:
    """Loading never touches the frozen parts: feed them their own current values.

    A strict load of a state dict without them then succeeds, and stray tower keys in a file
    are ignored rather than overwriting the shared tower.
    """
    for name in module.frozen_modules:
        for key, value in getattr(module, name).state_dict(prefix=f"{prefix}{name}.").items():
            state_dict[key] = value


# ----------------------------------------------------------------------------- PatchGAN


def patchgan_layers(resolution: int) -> int:
    """Largest n_layers ≤ 3 with resolution / 2**n ≥ 8: 16-32 px → fewer layers.

    Keeps the output map ≥ 6×6 (size = resolution / 2**n − 2) so the discriminator judges
    patches rather than the whole image: 32 and 64 px → 6×6, 128 → 14×14, 256 → 30×30.
    """
    n = 3
    while n > 1 and resolution / 2**n < 8:
        n -= 1
    return n


def _sn_conv(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=stride, padding=1))


class PatchGANDiscriminator(Discriminator):
    """pix2pix N-layer PatchGAN with spectral norm instead of BatchNorm.

    BatchNorm misbehaves at batch 1 (the reference's usual batch) and needs SyncBN under DDP;
    spectral norm bounds each conv's Lipschitz constant with no batch statistics.
    Returns ``[logits (B, 1, H / 2**n − 2, W / 2**n − 2)]``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        n_layers: int | None = 3,
        resolution: int | None = None,
        policy: str = "",
    ) -> None:
        super().__init__()
        if n_layers is None:
            if resolution is None:
                raise ValueError("PatchGANDiscriminator needs n_layers or resolution")
            n_layers = patchgan_layers(resolution)
        self.n_layers = n_layers
        self.policy = policy
        layers: list[nn.Module] = [_sn_conv(in_channels, base_channels, 2), nn.LeakyReLU(0.2)]
        channels = base_channels
        for i in range(1, n_layers):
            out = base_channels * min(2**i, 8)
            layers += [_sn_conv(channels, out, 2), nn.LeakyReLU(0.2)]
            channels = out
        out = base_channels * min(2**n_layers, 8)
        layers += [_sn_conv(channels, out, 1), nn.LeakyReLU(0.2), _sn_conv(out, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        """x: (B, C, H, W) in [-1, 1] → [(B, 1, h, w)]."""
        return [self.net(diff_augment(x, self.policy))]


# ----------------------------------------------------------------------------- CLIP tower


def load_clip_tower(source: str | Path | None, config_key: str = CLIP_CONFIG_KEY) -> CLIPVisionModel:
    """Load a frozen CLIP image tower from a hub id or a local directory (safetensors only).

    Raises :class:`WeightsNotFoundError` naming ``config_key`` when the source is missing,
    incomplete, or does not hold CLIP vision weights — never a randomly initialized tower.
    """
    source = str(source) if source else ""
    path = resolve_pretrained(source, config_key, CLIP_LAYOUT, ("config.json", "model.safetensors"))
    local_only = looks_like_path(source) or hub_offline()
    try:
        tower, info = load_or_explain(
            lambda: CLIPVisionModel.from_pretrained(
                path, local_files_only=local_only, use_safetensors=True, output_loading_info=True
            ),
            source,
            config_key,
            CLIP_LAYOUT,
        )
    except (RuntimeError, ValueError) as err:  # e.g. a text model's weights: shape mismatch
        raise WeightsNotFoundError(config_key, source, CLIP_LAYOUT, f"Not a CLIP vision checkpoint: {err}") from err
    missing = sorted(info["missing_keys"]) + sorted(str(k) for k in info.get("mismatched_keys", ()))
    if missing:
        raise WeightsNotFoundError(
            config_key, source, CLIP_LAYOUT, f"Would be randomly initialized (not in the checkpoint): {missing[:5]}"
        )
    return tower.requires_grad_(False).eval()


def build_tiny_clip_tower(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random ``CLIPVisionModel`` (4 layers, width 32, 32 px, 17 tokens) to out_dir.

    For tests and tiny runs: it is then loaded through :func:`load_clip_tower` like real weights.
    Reuses out_dir when it already holds a saved tower.
    """
    out_dir = Path(out_dir)
    if (out_dir / "config.json").is_file() and (out_dir / "model.safetensors").is_file():
        return out_dir
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tower = CLIPVisionModel(CLIPVisionConfig(**TINY_CLIP))
    tower.save_pretrained(out_dir)
    return out_dir


def default_levels(num_layers: int, count: int = 4) -> tuple[int, ...]:
    """``count`` evenly spaced transformer layers ending with the last (1-based): 12 → (3, 6, 9, 12)."""
    count = min(count, num_layers)
    return tuple(num_layers * (i + 1) // count for i in range(count))


class TokenHead(nn.Module):
    """Trainable per-level head: tokens (B, N, D) → one logit per token (B, N).

    LayerNorm first because CLIP's intermediate hidden states have a few very large
    channels; spectral-norm linears as in the PatchGAN.
    """

    def __init__(self, dim: int, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            spectral_norm(nn.Linear(dim, channels)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(channels, 1)),
        )

    def forward(self, tokens: Tensor) -> Tensor:
        return self.net(tokens).squeeze(-1)


class VisionAidedDiscriminator(Discriminator):
    """Frozen CLIP image tower + small trainable heads on several of its layers (Kumari et al. 2022).

    forward: x (B, 3, H, W) in [-1, 1] → DiffAugment → [0, 1] → resize to the tower's
    image size (bilinear, antialias) → CLIP normalization → tower → one (B, N_tokens) logits
    tensor per level (N_tokens = 1 CLS + patches; 50 for ViT-B/32 at 224 px).
    The tower gets no gradients, but gradients flow *through* it to x (generator loss).
    """

    frozen_modules = ("tower",)
    clip_mean: Tensor
    clip_std: Tensor

    def __init__(
        self,
        clip_tower: CLIPVisionModel,
        levels: Sequence[int] | None = None,
        head_channels: int = 256,
        policy: str = DEFAULT_POLICY,
    ) -> None:
        super().__init__()
        config = clip_tower.config
        self.tower = clip_tower.requires_grad_(False).eval()
        self.levels = tuple(levels) if levels is not None else default_levels(config.num_hidden_layers)
        bad = [level for level in self.levels if not 1 <= level <= config.num_hidden_layers]
        if bad:
            raise ValueError(f"levels {bad} outside the tower's layers 1..{config.num_hidden_layers}")
        self.image_size = int(config.image_size)
        self.policy = policy
        self.register_buffer("clip_mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("clip_std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        self.heads = nn.ModuleList(TokenHead(config.hidden_size, head_channels) for _ in self.levels)

    def train(self, mode: bool = True) -> VisionAidedDiscriminator:
        """Heads follow ``mode``; the frozen tower always stays in eval."""
        super().train(mode)
        self.tower.eval()
        return self

    def to_clip_input(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) in [-1, 1] → CLIP pixel values (B, 3, S, S), S = tower image size."""
        x = (x + 1) / 2
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True)
        return (x - self.clip_mean) / self.clip_std

    def forward(self, x: Tensor) -> list[Tensor]:
        pixels = self.to_clip_input(diff_augment(x, self.policy))
        hidden = self.tower(pixel_values=pixels, output_hidden_states=True).hidden_states  # L + 1 × (B, N, D)
        return [head(hidden[level]) for head, level in zip(self.heads, self.levels, strict=True)]


# ----------------------------------------------------------------------------- factory


def build_discriminator(cfg_kind: str, resolution: int, **kwargs: Any) -> Discriminator:
    """Build one discriminator from config.

    - ``patchgan``: kwargs of :class:`PatchGANDiscriminator`; ``n_layers`` defaults to
      :func:`patchgan_layers` (resolution).
    - ``clip``: ``clip_tower`` (a loaded, shareable tower — pass the same one to D_A and D_B)
      or ``clip_pretrained`` (hub id / local dir, loaded here), plus ``levels``,
      ``head_channels``, ``policy``. The resolution does not matter: inputs are resized.
    """
    if cfg_kind == "patchgan":
        kwargs.setdefault("n_layers", None)
        return PatchGANDiscriminator(resolution=resolution, **kwargs)
    if cfg_kind == "clip":
        tower = kwargs.pop("clip_tower", None)
        source = kwargs.pop("clip_pretrained", None)
        if tower is None:
            tower = load_clip_tower(source)
        return VisionAidedDiscriminator(tower, **kwargs)
    raise ValueError(f"discriminator kind must be 'patchgan' or 'clip', got {cfg_kind!r}")
