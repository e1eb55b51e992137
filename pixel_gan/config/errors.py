"""The one error type of a config that cannot work, and the number check every typed config uses."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and what would."""


def check_number(
    key: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """``value`` of config key ``key`` if it is a finite number in range, else a ConfigError naming the key."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(
            f"{key} must be {'an integer' if integer else 'a number'}, got {value!r} ({type(value).__name__})"
        )
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key} must be >= {minimum}, got {value}")
    if above is not None and value <= above:
        raise ConfigError(f"{key} must be > {above}, got {value}")
    if below is not None and value >= below:
        raise ConfigError(f"{key} must be < {below}, got {value}")
    return value


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ConfigError naming the key and the choices."""
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)
