"""Data: transforms, edge presets, unpaired datasets, the datamodule and procedural demo data."""

from pixel_gan.data.datamodule import UnpairedDataModule
from pixel_gan.data.datasets import FixedValidationSet, UnpairedImageDataset
from pixel_gan.data.demo import generate_demo_dataset
from pixel_gan.data.edges import EdgePreset, apply_edge_preset, edge_map, load_preset, read_preset
from pixel_gan.data.images import IMAGE_EXTENSIONS, ImageLoadError, list_images, load_rgb
from pixel_gan.data.sampler import EpochSampler
from pixel_gan.data.transforms import build_transform, to_pil, to_tensor, validate_resolution

__all__ = [
    "IMAGE_EXTENSIONS",
    "EdgePreset",
    "EpochSampler",
    "FixedValidationSet",
    "ImageLoadError",
    "UnpairedDataModule",
    "UnpairedImageDataset",
    "apply_edge_preset",
    "build_transform",
    "edge_map",
    "generate_demo_dataset",
    "load_preset",
    "list_images",
    "load_rgb",
    "read_preset",
    "to_pil",
    "to_tensor",
    "validate_resolution",
]
