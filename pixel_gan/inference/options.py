"""How a translator runs: precision, merged adapters, kernels, sampling. Light (no torch), so the
command line can offer the same names as the translator without importing the model code."""

from __future__ import annotations

from dataclasses import dataclass

#: The inference precisions, one table for the command line, the translator and the app
#: (:data:`pixel_gan.inference.precision.PRECISIONS` maps them to dtypes).
PRECISION_NAMES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class InferenceOptions:
    """Switches of one translator; the defaults are the fast, deterministic path.

    ``merge``: fold every adapter into its base weights at load (``False``: the unmerged reference
    computation, as trained). ``channels_last``/``sdpa``/``compile``: memory layout, fused attention,
    ``torch.compile``. ``sample``: draw the VAE posterior as the original CycleGAN-Turbo does instead of
    taking its mode (the default, deterministic); each image's draw is seeded with ``seed``, so the same
    seed gives the same output whatever the batch.
    """

    merge: bool = True
    channels_last: bool = False
    sdpa: bool = True
    compile: bool = False
    sample: bool = False
    seed: int = 0
