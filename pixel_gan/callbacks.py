"""Old import path of the training callbacks (runs' saved configs name it); see :mod:`pixel_gan.training.callbacks`."""

from pixel_gan.training.callbacks import (
    METRICS_FILE,
    MetricsJsonl,
    StepProgressBar,
    ValidateAtStart,
    read_metrics_jsonl,
)

__all__ = ["METRICS_FILE", "MetricsJsonl", "StepProgressBar", "ValidateAtStart", "read_metrics_jsonl"]
