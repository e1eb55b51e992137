"""Keep the console readable: library progress bars and known-harmless warnings off."""

from __future__ import annotations

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
