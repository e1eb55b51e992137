"""Kept so ``from pixel_gan.translate import Translator`` goes on working; the code is in :mod:`pixel_gan.inference`."""

from pixel_gan.inference.translator import Translator

__all__ = ["Translator"]
