"""Load a trained translator and convert images: ``Translator.from_pretrained(dir)(image)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image
from torch import Tensor

from pixel_gan.data.edges import EdgePreset, apply_edge_preset, resolve_preset
from pixel_gan.data.transforms import to_pil, to_tensor
from pixel_gan.export import load_translator_files
from pixel_gan.models.backbone import build_backbone
from pixel_gan.models.generator import CycleGANTurbo, LoraSettings

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; asking for CUDA without a GPU is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(device)


def fit_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Scale so the longer side is ``size``, keeping the aspect ratio, each side a multiple of 8."""
    scale = size / max(width, height)
    return (max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8))


class Translator:
    """A trained generator plus the pre/post-processing it was trained with."""

    def __init__(self, generator: CycleGANTurbo, meta: dict[str, Any], device: torch.device, dtype: torch.dtype) -> None:
        self.generator = generator.eval().requires_grad_(False).to(device)
        if dtype != torch.float32:
            self.generator.to(dtype)
        self.meta, self.device, self.dtype = meta, device, dtype
        self.resolution = int(meta.get("resolution", 256))
        self.edge_preset = meta.get("edge_preset", {"name": "none"})

    @classmethod
    def from_pretrained(cls, export_dir: str | Path, base: str | None = None, device: str = "auto",
                        dtype: str = "fp32") -> "Translator":
        """``base`` overrides the base model id/dir recorded in ``translator.yaml``."""
        state, meta = load_translator_files(export_dir)
        model = dict(meta["model"])
        if base:
            model["backbone"], model["pretrained"] = "pretrained", base
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        backbone = build_backbone(model["backbone"], model.get("pretrained"), model.get("cache_dir", ".cache"))
        prompts = meta.get("prompts", ["a photo", "pixel art"])
        generator = CycleGANTurbo.from_backbone(backbone, prompts[0], prompts[1], LoraSettings(**model.get("lora", {})))
        generator.load_trainable_state_dict(state)
        return cls(generator, meta, pick_device(device), DTYPES[dtype])

    def _preset(self, edge_preset: str | dict | None) -> EdgePreset:
        """The training preset by default; a name or config mapping overrides it."""
        return resolve_preset(self.edge_preset if edge_preset is None else edge_preset)

    def preprocess(self, image: Image.Image, size: int | None, edge_preset: str | dict | None) -> Image.Image:
        image = image.convert("RGB")
        w, h = fit_size(*image.size, size or self.resolution)
        return apply_edge_preset(image.resize((w, h), Image.LANCZOS), self._preset(edge_preset))

    @torch.inference_mode()
    def __call__(self, x: Tensor, direction: str = "a2b") -> Tensor:
        """Raw tensor path: x (B, 3, H, W) in [-1, 1] → (B, 3, H, W) in [-1, 1]."""
        out = self.generator(x.to(self.device, self.dtype), direction, sample_posterior=False)
        return out.float().cpu()

    def translate(self, image_or_list: Image.Image | Sequence[Image.Image], direction: str = "a2b",
                  edge_preset: str | dict | None = None, size: int | None = None, output_size: str = "native",
                  batch_size: int = 8) -> Image.Image | list[Image.Image]:
        """PIL image(s) → PIL image(s) at the native (trained) size, or at the input's size (``output_size="input"``)."""
        single = isinstance(image_or_list, Image.Image)
        images = [image_or_list] if single else list(image_or_list)
        results: list[Image.Image] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            prepared = [self.preprocess(im, size, edge_preset) for im in chunk]
            by_shape: dict[tuple[int, int], list[int]] = {}
            for i, im in enumerate(prepared):
                by_shape.setdefault(im.size, []).append(i)
            outs: list[Image.Image | None] = [None] * len(chunk)
            for idxs in by_shape.values():
                batch = torch.stack([to_tensor(prepared[i]) for i in idxs])
                for i, t in zip(idxs, self(batch, direction)):
                    out = to_pil(t)
                    outs[i] = out.resize(chunk[i].size, Image.NEAREST) if output_size == "input" else out
            results.extend(o for o in outs if o is not None)
        return results[0] if single else results
