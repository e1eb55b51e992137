"""The report's metrics for one set of outputs: pixel-art metrics, DINO-struct, FID/KID.

Every row of the report (trained runs and classical baselines) goes through :class:`Scorer` with
the same references, so the columns compare like with like. Weight-backed metrics appear only when
their weights are configured and load; otherwise the cell carries the reason as text: a score from
a random network would look valid and mean nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from pixel_gan.data.ground_truth import at_size, load_ground_truth
from pixel_gan.data.images import list_images, load_rgb
from pixel_gan.metrics.ground_truth import ground_truth_metrics
from pixel_gan.metrics.pixel_art import (
    METRIC_DESCRIPTIONS,
    METRIC_DIRECTIONS,
    domain_palette,
    palette_distance,
    pixel_art_metrics,
    to_batch,
)

log = logging.getLogger(__name__)

Value = float | str

#: Column order of the report and the better direction of each ("info": reported, not ranked).
DIRECTIONS: dict[str, str] = {"dino_struct": "lower", **METRIC_DIRECTIONS, "fid": "lower", "kid": "lower"}
DESCRIPTIONS: dict[str, str] = {
    "dino_struct": "MSE between DINO ViT-B/8 key self-similarities of input and output "
    "(structure kept; lower is better)",
    **METRIC_DESCRIPTIONS,
    "palette_distance": "soft-histogram palette loss of each output against the mean histogram of the test_B images "
    "at the run resolution (lower is better)",
    "fid": "Fréchet Inception Distance, outputs vs test_B images (lower is better)",
    "kid": "Kernel Inception Distance, mean ± std over subsets (lower is better)",
}


@dataclass
class EvalSet:
    """test_A photos and test_B pixel art of one dataset root, decoded once for every row."""

    root: Path
    names: list[str]
    photos: list[Image.Image]
    art: list[Image.Image]
    gt: list[Image.Image] = field(default_factory=list)  # paired targets of the photos (test_A_gt/), or none
    gt_cells: list[int] = field(default_factory=list)  # their cell sizes in px at their stored size
    gt_palette: np.ndarray | None = None  # (K, 3) uint8: the targets' palette
    _real_b: dict[int, Tensor] = field(default_factory=dict, repr=False)
    _palette: dict[int, Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: str | Path, max_images: int | None = None) -> EvalSet:
        """Read ``root/test_A`` (the inputs), ``root/test_B`` (domain-B references) and, when present,
        ``root/test_A_gt`` (the photos' paired targets), sorted by name."""
        root = Path(root)
        files_a = list_images(root / "test_A")[: max_images or None]
        files_b = list_images(root / "test_B")
        if not files_a:
            raise FileNotFoundError(f"no images in {root / 'test_A'}")
        if not files_b:
            raise FileNotFoundError(f"no images in {root / 'test_B'}")
        test = cls(root, [f.stem for f in files_a], [load_rgb(f) for f in files_a], [load_rgb(f) for f in files_b])
        info = load_ground_truth(root)
        if info is not None:
            test.gt = [load_rgb(info.image_for(f)) for f in files_a]
            test.gt_cells = [info.cell_for(f) for f in files_a]
            test.gt_palette = info.palette
        return test

    def gt_metrics(self, outputs: Sequence[Image.Image]) -> dict[str, float]:
        """The ``gt_*`` metrics of ``outputs[i]`` (the translation of photo i) against its target, averaged.

        Each target is NEAREST-resized to its output's size, its cell size scaled with it.
        """
        sums: dict[str, float] = defaultdict(float)
        for output, target, cell in zip(outputs, self.gt, self.gt_cells, strict=True):
            target, cell = at_size(target, cell, output.size)
            for key, value in ground_truth_metrics(output, target, cell, self.gt_palette).items():
                sums[key] += value / len(outputs)
        return dict(sums)

    def real_b(self, resolution: int) -> Tensor:
        """test_B at ``resolution`` × ``resolution`` in [0, 1], resized as in training (eval transform)."""
        if resolution not in self._real_b:
            from pixel_gan.data.transforms import build_transform

            transform = build_transform(resolution, train=False)
            self._real_b[resolution] = to_batch([transform(im) for im in self.art])
        return self._real_b[resolution]

    def palette(self, resolution: int) -> Tensor:
        """Domain B's palette: the mean soft histogram of :meth:`real_b`, (1, 3, bins), computed once."""
        if resolution not in self._palette:
            self._palette[resolution] = domain_palette(self.real_b(resolution))
        return self._palette[resolution]


def references(photos: Sequence[Image.Image], outputs: Sequence[Image.Image]) -> list[Image.Image]:
    """Each photo at its output's size (LANCZOS): the input as the model saw it, minus the edge overlay."""
    return [
        p if p.size == o.size else p.resize(o.size, Image.Resampling.LANCZOS)
        for p, o in zip(photos, outputs, strict=True)
    ]


def pixel_metrics(
    refs: Sequence[Image.Image], outputs: Sequence[Image.Image], palette_b: Tensor, edge_preset: Any = "default"
) -> dict[str, float]:
    """Weight-free metrics averaged over images; images are batched by size (aspect ratios may differ).

    palette_distance compares each output with ``palette_b``, domain B's mean histogram (a test set
    has no pairs), as in validation: :func:`pixel_gan.metrics.pixel_art.palette_distance`.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, image in enumerate(refs):
        groups[image.size].append(i)
    sums: dict[str, float] = defaultdict(float)
    for idxs in groups.values():
        batch_out = to_batch([outputs[i] for i in idxs])
        values = pixel_art_metrics(to_batch([refs[i] for i in idxs]), batch_out, preset=edge_preset)
        values["palette_distance"] = palette_distance(batch_out, palette_b).mean().item()
        for key, value in values.items():
            sums[key] += value * len(idxs)
    return {key: total / len(refs) for key, total in sums.items()}


class Scorer:
    """Computes one report row; holds the optional DINO and Inception networks, loaded once."""

    def __init__(self, metrics_cfg: Mapping | None = None, device: str = "cpu", edge_preset: Any = "default") -> None:
        cfg = dict(metrics_cfg or {})
        self.device = torch.device(device)
        self.edge_preset = edge_preset
        self.dino, self.dino_status = self._load_dino((cfg.get("dino") or {}).get("pretrained"))
        self.inception_weights = (cfg.get("fid") or {}).get("inception_weights")
        self.distribution = self._load_distribution(self.inception_weights)

    def _load_dino(self, source: str | None):
        if not source:
            return None, "unavailable (not configured)"
        from pixel_gan.metrics.dino_struct import DinoStruct
        from pixel_gan.weights import WeightsNotFoundError

        try:
            return DinoStruct.from_pretrained(str(source)).to(self.device), ""
        except WeightsNotFoundError as err:
            log.warning("DINO-struct unavailable: %s", err)
            return None, f"unavailable (weights not found at {source})"

    def _load_distribution(self, weights: str | None):
        if not weights:
            return None
        from pixel_gan.metrics.fid import DistributionMetrics

        metrics = DistributionMetrics(str(weights), device=self.device)
        if not metrics.available:
            log.warning("FID/KID unavailable: %s", metrics.reason)
        return metrics

    def setup_hints(self) -> list[str]:
        """How to switch on the weight-backed metrics that are off (one line each, for the report)."""
        hints = []
        if self.dino is None:
            hints.append(
                "dino_struct: set metrics.dino.pretrained= to facebook/dino-vitb8 or a local ViTModel "
                "directory (config.json + model.safetensors)."
            )
        if self.distribution is None or not self.distribution.available:
            hints.append(
                "fid/kid: set metrics.fid.inception_weights= to torch-fidelity's "
                "weights-inception-2015-12-05-6726825d.pth (or its folder)."
            )
        return hints

    @property
    def fid_status(self) -> str:
        """Why FID/KID have no number, or '' when they do."""
        if self.distribution is None:
            return "not configured"
        if not self.distribution.available:
            return f"unavailable ({self.distribution.reason})"
        return ""

    def score(
        self, photos: Sequence[Image.Image], outputs: Sequence[Image.Image], test: EvalSet, resolution: int
    ) -> dict[str, Value]:
        """All columns for one row; ``outputs[i]`` translates ``photos[i]``."""
        refs = references(photos, outputs)
        row: dict[str, Value] = {}
        row["dino_struct"] = self._dino_struct(refs, outputs) if self.dino is not None else self.dino_status
        row.update(pixel_metrics(refs, outputs, test.palette(resolution), self.edge_preset))
        row.update(self._distribution(outputs, test.art))
        if test.gt:
            row.update(test.gt_metrics(outputs))
        return row

    def _dino_struct(self, refs: Sequence[Image.Image], outputs: Sequence[Image.Image]) -> float:
        scores = [self.dino(to_batch(r), to_batch(o)).item() for r, o in zip(refs, outputs, strict=True)]
        return float(sum(scores) / len(scores))

    def _distribution(self, outputs: Sequence[Image.Image], art: Sequence[Image.Image]) -> dict[str, Value]:
        if self.distribution is None or not self.distribution.available:
            return {"fid": self.fid_status, "kid": self.fid_status}
        self.distribution.reset()
        for image in outputs:  # one at a time: sizes may differ, and each is resized for Inception anyway
            self.distribution.update(to_batch(image), to_batch(image)[:0])
        for image in art:
            self.distribution.update(to_batch(image)[:0], to_batch(image))
        result = self.distribution.compute()
        out: dict[str, Value] = {"fid": result["fid"], "kid": result["kid_mean"], "fid_notes": result["notes"]}
        if isinstance(result["kid_std"], float):
            out["kid_std"] = result["kid_std"]
        return out
