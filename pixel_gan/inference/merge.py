"""The inference form of a generator: every LoRA adapter folded into its base weights.

Training keeps the adapters apart (only they learn); at inference they are dead weight: a rank-r
LoRA on a layer costs an extra pair of matmuls/convs per call, and on the full-size UNet (rank 128
on every conv and linear) that is a large share of the work. Folding ``W + s·B·A`` into ``W`` once
gives the same function with the base layer's cost. The UNet's three adapters are shared by both
directions and fold into its one copy; each direction's VAE is its own copy and folds its own
adapter. The skip convs are plain convs already and the caption embeddings are stored constants, so
what remains is a :class:`CycleGANTurbo` made of plain diffusers/torch modules, with no peft left.
"""

from __future__ import annotations

import copy

from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from pixel_gan.models.generator import CycleGANTurbo


def lora_layers(module: nn.Module) -> list[str]:
    """Names of the peft adapter wrappers inside ``module`` (empty once merged)."""
    return [name for name, sub in module.named_modules() if isinstance(sub, BaseTunerLayer)]


def fold_adapters_(module: nn.Module) -> int:
    """Merge each peft wrapper's active adapters into its base layer and put the base layer back in
    the wrapper's place; returns how many layers were folded. Works in place."""
    folded = 0
    for name in lora_layers(module):
        wrapper = module.get_submodule(name)
        if not isinstance(wrapper, BaseTunerLayer):  # an enclosing wrapper was already replaced
            continue
        wrapper.merge(adapter_names=list(wrapper.active_adapters))
        parent_name, _, child = name.rpartition(".")
        setattr(module.get_submodule(parent_name) if parent_name else module, child, wrapper.get_base_layer())
        folded += 1
    _forget_peft(module)
    return folded


def _forget_peft(module: nn.Module) -> None:
    """Drop the adapter bookkeeping diffusers keeps on a model, so nothing refers to removed adapters."""
    for sub in module.modules():
        if hasattr(sub, "peft_config"):
            del sub.peft_config
        if "_hf_peft_config_loaded" in vars(sub):  # the flag falls back to its class default, False
            del sub._hf_peft_config_loaded


def merge_adapters(generator: CycleGANTurbo, inplace: bool = False) -> CycleGANTurbo:
    """The generator with all adapters merged, in eval mode and frozen.

    ``inplace=False`` (default) leaves ``generator`` as it was (the unmerged reference) and costs a
    second copy of the weights; ``inplace=True`` converts it, for a translator that keeps one form.
    """
    merged = generator if inplace else copy.deepcopy(generator)
    merged.eval().requires_grad_(False)
    for part in (merged.unet, merged.vae_a2b.vae, merged.vae_b2a.vae):
        fold_adapters_(part)
    return merged
