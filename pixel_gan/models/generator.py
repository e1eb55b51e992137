"""CycleGAN-Turbo: encode → one-step UNet (x0 at t=999) → decode, with LoRA adapters.

Both directions share one UNet (LoRA in three groups: encoder / decoder / others, conv_in fully
trained); the direction is the text condition (the fixed caption of the *target* domain) plus a
separate VAE per direction with its own LoRA and skip convs. Everything else is frozen.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from peft import LoraConfig
from torch import Tensor, nn

from pixel_gan.models import DIRECTIONS
from pixel_gan.models.backbone import Backbone
from pixel_gan.models.vae import SkipVAE

Direction = Literal["a2b", "b2a"]

UNET_LORA_PATTERNS = (
    "to_k",
    "to_q",
    "to_v",
    "to_out.0",
    "conv",
    "conv1",
    "conv2",
    "conv_in",
    "conv_shortcut",
    "conv_out",
    "proj_out",
    "proj_in",
    "ff.net.2",
    "ff.net.0.proj",
)
VAE_LORA_TARGETS = (
    "conv1",
    "conv2",
    "conv_in",
    "conv_shortcut",
    "conv",
    "conv_out",
    "to_k",
    "to_q",
    "to_v",
    "to_out.0",
)
UNET_ADAPTERS = ("default_encoder", "default_decoder", "default_others")
VAE_ADAPTER = "vae_skip"


@dataclass
class LoraSettings:
    """Adapter ranks/alphas/targets; the defaults are the reference's."""

    unet_rank: int = 128
    unet_alpha: int = 128
    unet_init: str = "gaussian"
    unet_patterns: tuple[str, ...] = UNET_LORA_PATTERNS
    vae_rank: int = 4
    vae_alpha: int = 8
    vae_init: str = "gaussian"
    vae_targets: tuple[str, ...] = VAE_LORA_TARGETS
    train_conv_in: bool = True
    skip_gamma: float = 1.0
    # Initial weight of every skip-conv entry: the reference's 1e-5 starts from the pretrained VAE's
    # own reconstruction; a random (tiny) VAE has none, so its demo starts the skips open instead.
    skip_init: float = 1e-5
    extra: dict = field(default_factory=dict)


def lora_settings(values: Mapping[str, Any] | None, where: str) -> LoraSettings:
    """``LoraSettings`` from a config mapping; an unknown key or a value of the wrong type is a
    ``ValueError`` naming ``where.<key>`` (a config key or a file) instead of a TypeError later."""
    values = dict(values or {})
    fresh = LoraSettings()
    defaults = {f.name: getattr(fresh, f.name) for f in fields(fresh)}
    for key, value in values.items():
        if key not in defaults:
            raise ValueError(f"{where}.{key} is not a LoRA setting; known: {', '.join(defaults)}")
        problem = _lora_value_problem(defaults[key], value)
        if problem:
            raise ValueError(f"{where}.{key} must be {problem}, got {value!r}")
    return LoraSettings(**values)


def _lora_value_problem(default: Any, value: Any) -> str | None:
    """What ``value`` must be to take the place of ``default`` (None when it may)."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else "an integer >= 1"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) and value else "a non-empty string"
    if isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)
        return None if ok else "a list of module names"
    return None if isinstance(value, type(default)) else f"a {type(default).__name__}"


def unet_lora_targets(unet: nn.Module, patterns: tuple[str, ...] = UNET_LORA_PATTERNS) -> dict[str, list[str]]:
    """Split the UNet's conv/linear layers into the reference's three adapter groups.

    A layer whose name contains one of ``patterns`` goes to ``default_encoder`` when it lies in
    ``down_blocks`` or is ``conv_in``, to ``default_decoder`` in ``up_blocks``, else to
    ``default_others``; norms and biases never get an adapter.
    """
    groups: dict[str, list[str]] = {name: [] for name in UNET_ADAPTERS}
    for name, _ in unet.named_parameters():
        if not name.endswith(".weight") or "norm" in name:
            continue
        module = name[: -len(".weight")]
        if not any(p in module for p in patterns):
            continue
        if "down_blocks" in module or "conv_in" in module:
            groups["default_encoder"].append(module)
        elif "up_blocks" in module:
            groups["default_decoder"].append(module)
        else:
            groups["default_others"].append(module)
    return groups


def add_unet_lora(unet: UNet2DConditionModel, lora: LoraSettings) -> None:
    """Freeze the UNet, add the three adapters (all active), and train conv_in fully if asked."""
    unet.requires_grad_(False)
    groups = unet_lora_targets(unet, lora.unet_patterns)
    for adapter, targets in groups.items():
        if targets:
            config = LoraConfig(
                r=lora.unet_rank, lora_alpha=lora.unet_alpha, init_lora_weights=lora.unet_init, target_modules=targets
            )
            unet.add_adapter(config, adapter_name=adapter)
    unet.set_adapters([a for a, t in groups.items() if t])
    if lora.train_conv_in:
        unet.conv_in.requires_grad_(True)


def add_vae_lora(skip_vae: SkipVAE, lora: LoraSettings) -> None:
    """Freeze the VAE and add its LoRA; the skip convs (outside the wrapped VAE) stay trainable."""
    skip_vae.vae.requires_grad_(False)
    config = LoraConfig(
        r=lora.vae_rank,
        lora_alpha=lora.vae_alpha,
        init_lora_weights=lora.vae_init,
        target_modules=list(lora.vae_targets),
    )
    skip_vae.vae.add_adapter(config, adapter_name=VAE_ADAPTER)
    skip_vae.skip_convs.requires_grad_(True)


def add_adapters(unet: UNet2DConditionModel, vae: AutoencoderKL, lora: LoraSettings) -> tuple[SkipVAE, SkipVAE]:
    """The reference's adapter layout on bare UNet + VAE: returns (vae_a2b, vae_b2a).

    The UNet gets its three LoRA adapters in place; the VAE is copied for a2b and used in place
    for b2a, each wrapped as a :class:`SkipVAE` with its own LoRA and skip convs. Needs no text
    encoder or weights, so the full-size layout can be built on the meta device.
    """
    add_unet_lora(unet, lora)
    vaes = []
    for base in (copy.deepcopy(vae), vae):
        skip_vae = SkipVAE(base, gamma=lora.skip_gamma, skip_init=lora.skip_init)
        add_vae_lora(skip_vae, lora)
        vaes.append(skip_vae)
    return vaes[0], vaes[1]


@torch.no_grad()
def embed_caption(backbone: Backbone, caption: str) -> Tensor:
    """The text encoder's last hidden state for a caption: (1, 77, D)."""
    tok = backbone.tokenizer
    ids = tok(
        caption, max_length=tok.model_max_length, padding="max_length", truncation=True, return_tensors="pt"
    ).input_ids
    return backbone.text_encoder(ids)[0].detach().float()


class CycleGANTurbo(nn.Module):
    """The translator: ``forward(x, direction)``, x (B, 3, H, W) in [-1, 1] → same shape in [-1, 1].

    H and W must be multiples of 8 (the VAE's downsampling).
    """

    alpha_bar: Tensor
    emb_a2b: Tensor
    emb_b2a: Tensor

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae_a2b: SkipVAE,
        vae_b2a: SkipVAE,
        scheduler: DDPMScheduler,
        emb_a2b: Tensor,
        emb_b2a: Tensor,
    ) -> None:
        super().__init__()
        self.unet = unet
        self.vae_a2b = vae_a2b
        self.vae_b2a = vae_b2a
        scheduler.set_timesteps(1)
        timestep = int(scheduler.timesteps[0])  # 999 with timestep_spacing="trailing"
        self.timestep = timestep
        self.register_buffer("alpha_bar", scheduler.alphas_cumprod[timestep].clone().float(), persistent=False)
        # The target domain's caption: a2b is conditioned on domain B's caption and vice versa.
        self.register_buffer("emb_a2b", emb_a2b.clone())
        self.register_buffer("emb_b2a", emb_b2a.clone())

    @classmethod
    def from_backbone(
        cls, backbone: Backbone, prompt_a: str, prompt_b: str, lora: LoraSettings | None = None
    ) -> CycleGANTurbo:
        """Wrap the backbone parts (the UNet and VAE are used in place, the VAE copied per direction)."""
        vae_a2b, vae_b2a = add_adapters(backbone.unet, backbone.vae, lora or LoraSettings())
        emb_a2b = embed_caption(backbone, prompt_b)
        emb_b2a = embed_caption(backbone, prompt_a)
        return cls(backbone.unet, vae_a2b, vae_b2a, backbone.scheduler, emb_a2b, emb_b2a)

    def one_step_x0(self, z: Tensor, eps: Tensor) -> Tensor:
        """The scheduler's x0 estimate at t: (z − √(1−ᾱ)·ε̂)/√ᾱ."""
        alpha_bar = self.alpha_bar.to(z.dtype)
        return (z - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def forward(
        self,
        x: Tensor,
        direction: Direction,
        sample_posterior: bool | None = None,
        rng: list[torch.Generator] | None = None,
    ) -> Tensor:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"image size must be a multiple of 8, got {tuple(x.shape[-2:])}")
        vae = self.vae_a2b if direction == "a2b" else self.vae_b2a
        emb = (self.emb_a2b if direction == "a2b" else self.emb_b2a).expand(x.shape[0], -1, -1)
        sample = self.training if sample_posterior is None else sample_posterior
        z, skips = vae.encode(x, sample=sample, rng=rng)
        t = torch.full((x.shape[0],), self.timestep, device=x.device, dtype=torch.long)
        eps = self.unet(z, t, encoder_hidden_states=emb.to(z.dtype)).sample
        return vae.decode(self.one_step_x0(z, eps), skips)

    # --- what is trained, saved and exported -------------------------------------------------
    def trainable_names(self) -> list[str]:
        return [n for n, p in self.named_parameters() if p.requires_grad]

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def trainable_state_dict(self, names: Sequence[str] | None = None) -> dict[str, Tensor]:
        """LoRA, skip convs, conv_in and the two caption embeddings: everything not in the base.

        ``names``: the parameters to take, for a generator frozen after training (default: those
        that require grad now).
        """
        params = dict(self.named_parameters())
        state = {n: params[n].detach() for n in (self.trainable_names() if names is None else names)}
        state["emb_a2b"] = self.emb_a2b
        state["emb_b2a"] = self.emb_b2a
        return state

    def load_trainable_state_dict(self, state: dict[str, Tensor]) -> None:
        """Load what :meth:`trainable_state_dict` wrote; refuses missing or unknown tensors."""
        expected = set(self.trainable_names()) | {"emb_a2b", "emb_b2a"}
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise KeyError(
                f"translator weights do not match the model: missing {sorted(missing)[:5]}"
                f" ({len(missing)}), unexpected {sorted(unexpected)[:5]} ({len(unexpected)})"
            )
        result = self.load_state_dict(state, strict=False)
        assert not result.unexpected_keys

    def set_grad_checkpointing(self, enabled: bool) -> None:
        """Recompute UNet/VAE block activations in backward (trades time for memory)."""
        if enabled:
            self.unet.enable_gradient_checkpointing()
        else:
            self.unet.disable_gradient_checkpointing()
        self.vae_a2b.grad_ckpt = self.vae_b2a.grad_ckpt = enabled
