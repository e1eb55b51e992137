"""LightningDataModule over an img2img-turbo unpaired folder (train_A/train_B/test_A/test_B)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader

from pixel_gan.data.datasets import FixedValidationSet, UnpairedImageDataset
from pixel_gan.data.demo_cache import ensure_demo_dataset, owns_demo_root
from pixel_gan.data.edges import NO_EDGES, EdgePreset
from pixel_gan.data.ground_truth import load_ground_truth
from pixel_gan.data.images import DATASET_LAYOUT, IMAGE_EXTENSIONS, list_images
from pixel_gan.data.resumable import ResumableDataLoader
from pixel_gan.data.sampler import EpochSampler
from pixel_gan.data.transforms import build_transform, validate_resolution

FOLDERS = ("train_A", "train_B", "test_A", "test_B")
PROMPT_FILES = ("fixed_prompt_a.txt", "fixed_prompt_b.txt")


class UnpairedDataModule(L.LightningDataModule):
    """Train/val loaders of unpaired A (photo) / B (pixel art) batches.

    Batches: ``{"a": (B, 3, r, r), "b": (B, 3, r, r)}`` in [-1, 1] plus the file
    paths. ``edge_preset`` is applied to every A image (``none`` by default).
    """

    def __init__(
        self,
        root: str,
        resolution: int,
        edge_preset: EdgePreset = NO_EDGES,
        batch_size: int = 1,
        num_workers: int = 0,
        val_count: int = 3,
        seed: int = 0,
        prompt_a: str = "a photo",
        prompt_b: str = "pixel art",
        generate_demo: bool = False,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        if val_count < 1:
            raise ValueError(f"val_count must be >= 1, got {val_count}")
        self.root = Path(root)
        self.resolution = validate_resolution(resolution)
        self.edge_preset = edge_preset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_count = val_count
        self.seed = seed
        self.default_prompts = (prompt_a, prompt_b)
        self.generate_demo = generate_demo
        self.cache_dir = cache_dir
        self.train_set: UnpairedImageDataset | None = None
        self.val_set: FixedValidationSet | None = None
        # Kept in checkpoints; not merged into the logger's hparams (keys may clash with the module's).
        # The preset as plain values: a checkpoint holds no class to unpickle (weights_only loading).
        self.save_hyperparameters(ignore=["edge_preset"], logger=False)
        self.hparams["edge_preset"] = dataclasses.asdict(edge_preset)

    @property
    def prompts(self) -> tuple[str, str]:
        """(prompt_a, prompt_b): the fixed captions; non-empty prompt files in root override them."""
        found = []
        for filename, default in zip(PROMPT_FILES, self.default_prompts, strict=True):
            path = self.root / filename
            text = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
            found.append(text or default)
        return found[0], found[1]

    def _has_data(self) -> bool:
        return all((self.root / folder).is_dir() and list_images(self.root / folder) for folder in FOLDERS)

    def prepare_data(self) -> None:
        """Write the procedural demo data when asked to, only into a folder pixel-gan owns (rank 0 only).

        Any other root is the user's dataset and is only read (``pixel_gan.data.demo_cache``).
        """
        if self.generate_demo and self.cache_dir is not None and owns_demo_root(self.root, self.cache_dir):
            ensure_demo_dataset(self.root, self.cache_dir, seed=self.seed)

    def _files(self, folder: str) -> list[Path]:
        files = list_images(self.root / folder)
        if not files:
            raise ValueError(
                f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {self.root / folder}; "
                f"a dataset root must contain {DATASET_LAYOUT}"
            )
        return files

    def setup(self, stage: str | None = None) -> None:
        """Build both datasets once (cheap file checks; images are decoded lazily)."""
        self.prepare_data()  # no-op when data exists; covers direct setup() calls
        if self.train_set is None:
            self.train_set = UnpairedImageDataset(
                self._files("train_A"),
                self._files("train_B"),
                transform_a=build_transform(self.resolution, train=True),
                transform_b=build_transform(self.resolution, train=True, pixel_art=True),
                edge_preset=self.edge_preset,
                seed=self.seed,
            )
        if self.val_set is None:
            self.val_set = FixedValidationSet(
                self._files("test_A"),
                self._files("test_B"),
                transform=build_transform(self.resolution, train=False),
                edge_preset=self.edge_preset,
                count=self.val_count,
                ground_truth=load_ground_truth(self.root),  # paired test split: validation only
            )

    def _loader_options(self) -> dict[str, Any]:
        if self.trainer is None:
            on_gpu = torch.cuda.is_available()
        else:
            on_gpu = isinstance(self.trainer.accelerator, CUDAAccelerator)
        return {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "pin_memory": on_gpu,
        }

    def train_dataloader(self) -> DataLoader:
        """Shuffled by (seed, epoch); the sampler passes each epoch on to the dataset."""
        if self.train_set is None:
            self.setup("fit")
        assert self.train_set is not None
        world_size, rank, epoch = 1, 0, 0
        if self.trainer is not None:
            world_size, rank, epoch = (
                self.trainer.world_size,
                self.trainer.global_rank,
                self.trainer.current_epoch,
            )
        sampler = EpochSampler(self.train_set, seed=self.seed, num_replicas=world_size, rank=rank)
        # Lightning calls set_epoch only after the first iterator exists, so set the (resumed) epoch now.
        sampler.set_epoch(epoch)
        return ResumableDataLoader(self.train_set, sampler=sampler, drop_last=False, **self._loader_options())

    def val_dataloader(self) -> DataLoader:
        """The fixed validation pairs, in order (its own generator: validating draws nothing from the global RNG)."""
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None, "setup('validate') builds the validation set"
        return DataLoader(
            self.val_set, shuffle=False, generator=torch.Generator().manual_seed(self.seed), **self._loader_options()
        )

    def describe(self) -> str:
        """One line: root, image counts, resolution, edge preset, prompts."""
        if self.train_set is not None and self.val_set is not None:
            train = self.train_set
            counts = f"train A/B {len(train.files_a)}/{len(train.files_b)}, val {len(self.val_set)}"
        elif self._has_data():
            sizes = [len(list_images(self.root / folder)) for folder in FOLDERS]
            counts = f"train A/B {sizes[0]}/{sizes[1]}, test A/B {sizes[2]}/{sizes[3]} (not set up)"
        else:
            counts = "no data yet"
        prompt_a, prompt_b = self.prompts
        return (
            f"{self.root}: {counts}, resolution {self.resolution}, "
            f"edge preset {self.edge_preset.describe()}, "
            f"prompts {prompt_a!r} / {prompt_b!r}"
        )
