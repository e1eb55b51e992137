"""Typed configs: the schema of the ``model``, ``loss``, ``optim`` and ``edge_preset`` config groups.

Each dataclass is stored in Hydra's ConfigStore as ``<group>/schema`` and every yaml file of the group
lists ``schema`` first in its defaults, so Hydra rejects a misspelt key or a value of the wrong type
while composing. The defaults below are the only ones: the yaml files state what differs. The ranges
a type cannot express are checked in ``__post_init__``, which runs when a node becomes its dataclass
(:func:`typed`), i.e. once, at the config boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from pixel_gan.config.errors import ConfigError, check_choice, check_number
from pixel_gan.data.edges import EdgePreset

SCHEDULES = ("separate", "single", "split")
BACKBONES = ("pretrained", "demo", "tiny", "random")
DISCRIMINATORS = ("patchgan", "clip")
LR_SCALING_RULES = ("fixed", "linear")
# diffusers' schedules that need only the warm-up and total steps (piecewise_constant needs its rules)
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")


@dataclass
class LossConfig:
    """Loss weights and the generator-update schedule.

    schedule: ``split`` backpropagates the summed loss in four parts (fake+rec from a, idt of a, then
    the same from b): the gradients of one backward with at most 2 generator passes of activations
    alive instead of 6; ``single`` is one backward on the sum; ``separate`` the reference's three
    backward/step phases (cycle, GAN [+ palette], identity). The palette term is on when its weight is.
    """

    schedule: str = "split"
    lambda_cycle: float = 1.0
    lambda_cycle_lpips: float = 10.0
    lambda_gan: float = 0.5
    lambda_idt: float = 1.0
    lambda_idt_lpips: float = 1.0
    lambda_palette: float = 0.0
    palette_bins: int = 16
    palette_sigma: float | None = None  # null: half the bin spacing
    lpips_net: str = "vgg"
    # torchvision backbone file for LPIPS (null: the torchvision cache, $TORCH_HOME/hub/checkpoints).
    lpips_backbone_weights: str | None = None

    def __post_init__(self) -> None:
        check_choice("loss.schedule", self.schedule, SCHEDULES)
        for key in sorted(k for k in vars(self) if k.startswith("lambda_")):
            check_number(f"loss.{key}", getattr(self, key), minimum=0)
        check_number("loss.palette_bins", self.palette_bins, integer=True, minimum=2)
        if self.palette_sigma is not None:
            check_number("loss.palette_sigma", self.palette_sigma, above=0)


@dataclass
class OptimConfig:
    """AdamW for generator and discriminators; the LR schedule steps once per iteration.

    lr_vae: LR of the VAE adapters and skip convs (null: lr, one parameter group as the reference).
    lr_scaling: ``fixed`` keeps lr; ``linear`` uses lr × global_batch / base_batch, base_batch being the
    global batch lr was chosen for (applied once in ``pixel_gan.training.run.scaled_optim``).
    """

    lr: float = 1.0e-5
    lr_disc: float | None = None
    lr_vae: float | None = None
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.01
    eps: float = 1.0e-8
    scheduler: str = "constant_with_warmup"
    warmup_steps: int = 500
    max_grad_norm: float = 10.0
    lr_scaling: str = "fixed"
    base_batch: int = 1

    def __post_init__(self) -> None:
        check_number("optim.lr", self.lr, above=0)
        for key in ("lr_disc", "lr_vae"):
            if getattr(self, key) is not None:
                check_number(f"optim.{key}", getattr(self, key), above=0)
        check_number("optim.max_grad_norm", self.max_grad_norm, above=0)
        check_number("optim.weight_decay", self.weight_decay, minimum=0)
        check_number("optim.eps", self.eps, above=0)
        check_number("optim.warmup_steps", self.warmup_steps, integer=True, minimum=0)
        if len(self.betas) != 2:
            raise ConfigError(f"optim.betas must be two numbers in [0, 1), got {list(self.betas)!r}")
        for i, beta in enumerate(self.betas):
            check_number(f"optim.betas[{i}]", beta, minimum=0, below=1)
        check_choice("optim.scheduler", self.scheduler, SCHEDULERS)
        check_choice("optim.lr_scaling", self.lr_scaling, LR_SCALING_RULES)
        check_number("optim.base_batch", self.base_batch, integer=True, minimum=1)


@dataclass
class ModelConfig:
    """The base (backbone + where its weights are), the adapters and the discriminator.

    lora: overrides of :class:`pixel_gan.models.generator.LoraSettings` (its defaults are the reference's).
    frozen_dtype: hold the frozen base in this dtype on GPU (bf16 with trainer=gpu); null keeps fp32.
    """

    name: str = "sd_turbo"
    backbone: str = "pretrained"
    pretrained: str | None = "stabilityai/sd-turbo"
    cache_dir: str = ".cache"
    discriminator: str = "clip"
    clip_pretrained: str | None = "openai/clip-vit-base-patch32"
    lora: dict[str, Any] = field(default_factory=dict)
    grad_ckpt: bool = False
    channels_last: bool = False
    compile: bool = False
    frozen_dtype: str | None = "bf16"

    def __post_init__(self) -> None:
        from pixel_gan.models.generator import lora_settings

        backbone = check_choice("model.backbone", self.backbone, BACKBONES)
        if backbone == "pretrained" and not self.pretrained:
            raise ConfigError("model.pretrained must name a hub id (stabilityai/sd-turbo) or a local directory")
        check_choice("model.discriminator", self.discriminator, DISCRIMINATORS)
        try:
            lora_settings(dict(self.lora), "model.lora")
        except (ValueError, TypeError) as err:
            raise ConfigError(str(err)) from None


T = TypeVar("T")
SCHEMAS: dict[str, type] = {
    "model": ModelConfig,
    "loss": LossConfig,
    "optim": OptimConfig,
    "edge_preset": EdgePreset,
}


def register() -> None:
    """Store every schema as ``<group>/schema`` (idempotent: the store replaces an entry of the same name)."""
    store = ConfigStore.instance()
    for group, node in SCHEMAS.items():
        store.store(group=group, name="schema", node=node)


def _legacy_loss(values: dict[str, Any]) -> dict[str, Any]:
    """``loss.name`` + ``loss.split_backward`` (checkpoints and exports written before ``loss.schedule``)."""
    name, split = values.pop("name", None), values.pop("split_backward", None)
    if "schedule" not in values and name is not None:
        values["schedule"] = "separate" if name == "separate" else ("single" if split is False else "split")
    return values


def typed(cls: type[T], values: T | DictConfig | Mapping[str, Any], key: str) -> T:
    """``values`` (a composed node, or a plain mapping such as a checkpoint's hparams) as ``cls``.

    The one conversion from config to typed object: unknown keys and wrong types are a ConfigError
    naming ``key``, and the dataclass checks its ranges as it is built.
    """
    if isinstance(values, cls):
        return values
    container = OmegaConf.to_container(values, resolve=True) if isinstance(values, DictConfig) else values
    plain = dict(cast(Mapping[str, Any], container))
    if cls is LossConfig:
        plain = _legacy_loss(plain)
    try:
        node = OmegaConf.merge(OmegaConf.structured(cls), plain)
    except Exception as err:  # omegaconf's ValidationError / ConfigKeyError: a wrong key or type
        raise ConfigError(f"{key}: {str(err).splitlines()[0]}") from None
    try:
        return OmegaConf.to_object(node)  # type: ignore[return-value]
    except MissingMandatoryValue as err:  # a preset or group file that leaves a value out
        raise ConfigError(f"{key}: {str(err).splitlines()[0]}") from None
    except ValueError as err:  # the dataclass's own check, which names its key
        message = str(err)
        raise ConfigError(message if message.startswith(key) else f"{key}: {message}") from None
