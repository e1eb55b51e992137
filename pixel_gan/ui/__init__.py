"""The Gradio web UI (``pixel-gan app``): compare exported translators on your own images."""
