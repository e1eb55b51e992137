"""Old import path of the LightningModule; it lives in :mod:`pixel_gan.training.module`."""

from pixel_gan.training.module import CheckpointMismatchError, PixelGANModule, TrainingDivergedError, cast_frozen_

__all__ = ["CheckpointMismatchError", "PixelGANModule", "TrainingDivergedError", "cast_frozen_"]
