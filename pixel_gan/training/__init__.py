"""The training run: the LightningModule, its generator-update schedules, callbacks, checkpointing and
the driver behind ``python train.py`` (:func:`train`)."""

from pixel_gan.training.run import (
    build_datamodule,
    build_module,
    export_and_sample,
    resolve_ckpt_path,
    scaled_optim,
    train,
    translator_meta,
)

__all__ = [
    "build_datamodule",
    "build_module",
    "export_and_sample",
    "resolve_ckpt_path",
    "scaled_optim",
    "train",
    "translator_meta",
]
