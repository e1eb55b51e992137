"""The product: load an exported translator, turn photos into pixel art, snap and quantize.

``from pixel_gan.inference import Translator`` is the library entry; the submodules import lazily,
so the pixel-art metrics can use :mod:`pixel_gan.inference.grid` without loading the model code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixel_gan.inference.translator import Translator
    from pixel_gan.inference.translator_config import TranslatorConfig

__all__ = ["Translator", "TranslatorConfig"]


def __getattr__(name: str) -> Any:
    if name == "Translator":
        from pixel_gan.inference.translator import Translator

        return Translator
    if name == "TranslatorConfig":
        from pixel_gan.inference.translator_config import TranslatorConfig

        return TranslatorConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
