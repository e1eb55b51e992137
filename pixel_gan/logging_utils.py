"""Keep the console readable: library progress bars and known-harmless warnings off."""

from __future__ import annotations

import logging
import warnings


def quiet_libraries() -> None:
    """Silence weight-loading progress bars and peft's multi-adapter notice (we add 3 adapters on purpose)."""
    import diffusers
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*The number of training batches.*")
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")  # frozen LPIPS/CLIP stay in eval
    warnings.filterwarnings("ignore", message=".*Using ModelCheckpoint with manual optimization.*")
    warnings.filterwarnings("ignore", message="The parameter 'pretrained' is deprecated")  # lpips' torchvision call
    warnings.filterwarnings("ignore", message="Arguments other than a weight enum")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_drop_advertising)


def _drop_advertising(record: logging.LogRecord) -> bool:
    """Lightning prints a cloud-logging tip on every start; it is not about this run."""
    return "litlogger" not in record.getMessage()
