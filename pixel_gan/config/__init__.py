"""Typed configs (Hydra structured-config schemas), their validation, and composing the training config.

Importing this package registers the schemas in Hydra's ConfigStore, which ``train.py`` needs before
Hydra composes (it imports from here first).
"""

from pixel_gan.config.compose import CONF_DIR, compose_train_config, normalize_overrides, plain_dict
from pixel_gan.config.errors import ConfigError, check_choice, check_number
from pixel_gan.config.schema import LossConfig, ModelConfig, OptimConfig, register, typed
from pixel_gan.config.validation import Settings, settings, validate_config

register()

__all__ = [
    "CONF_DIR",
    "ConfigError",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "Settings",
    "check_choice",
    "check_number",
    "compose_train_config",
    "plain_dict",
    "normalize_overrides",
    "register",
    "settings",
    "typed",
    "validate_config",
]
