"""The metrics logged at each validation (``val/<key>``): the evaluation report's, on the validation images.

Keys match ``pixel_gan.metrics.pixel_art.METRIC_DIRECTIONS`` (+ ``dino_struct`` when DINO weights are
configured, + the ground-truth metrics on a paired test split), so TensorBoard, metrics.jsonl and the
report share names and definitions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pixel_gan.metrics.pixel_art import domain_palette, palette_distance, pixel_art_metrics


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] → [0, 1], clamped."""
    return ((x.float() + 1) / 2).clamp(0, 1)


def validation_metrics(a: Tensor, fake_b: Tensor, b: Tensor, dino_struct: nn.Module | None = None) -> dict[str, float]:
    """Metrics of the a2b translations; inputs/outputs in [-1, 1].

    The input ``a`` carries the edge overlay the generator saw, so edge_f1/color_drift are measured
    against it. ``palette_distance`` is against the batch of B images' mean palette, with fixed bins.
    """
    a, fake_b, b = (to_unit(x) for x in (a, fake_b, b))
    metrics = pixel_art_metrics(a, fake_b)
    metrics["palette_distance"] = palette_distance(fake_b, domain_palette(b)).mean().item()
    if dino_struct is not None:
        with torch.autocast(device_type=a.device.type, enabled=False):  # a metric, not a bf16 estimate
            metrics["dino_struct"] = dino_struct(a, fake_b).mean().item()
    return metrics


def ground_truth_rows(outputs: dict[str, Tensor]) -> dict[str, float]:
    """The paired metrics of a validation split with ground truth (``gt``, ``gt_cell``, ``gt_palette``)."""
    from pixel_gan.metrics.ground_truth import ground_truth_metrics

    return ground_truth_metrics(
        to_unit(outputs["fake_b"]), to_unit(outputs["gt"]), outputs["gt_cell"], outputs["gt_palette"][0]
    )
