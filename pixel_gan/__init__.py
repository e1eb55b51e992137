"""pixel-gan: one-step photo -> pixel-art translators on SD-Turbo (CycleGAN-Turbo)."""

__version__ = "0.1.0"
