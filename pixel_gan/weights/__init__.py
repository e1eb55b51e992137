"""Pretrained weights: locating them with errors a person can act on (``locate``), and the
``pixel-gan weights fetch|check`` tools that fill one folder with every weight a config needs."""

from pixel_gan.weights.locate import (
    UnsafeWeightsError,
    WeightsNotFoundError,
    hub_offline,
    load_error_detail,
    load_or_explain,
    load_tensors,
    looks_like_path,
    resolve_pretrained,
)

__all__ = [
    "UnsafeWeightsError",
    "WeightsNotFoundError",
    "hub_offline",
    "load_error_detail",
    "load_or_explain",
    "load_tensors",
    "looks_like_path",
    "resolve_pretrained",
]
