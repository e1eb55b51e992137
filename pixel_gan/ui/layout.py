"""The Blocks layout of the web UI: inputs and options on the left, results and downloads on the right."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixel_gan.ui.choices import (
    A2B,
    DIRECTION_LABELS,
    EDGE_CHOICES,
    NATIVE_SIZES,
    PALETTE_CHOICES,
    TRAINED,
    UPSCALE_CHOICES,
)

if TYPE_CHECKING:
    from pixel_gan.ui.app import PixelApp


def build_blocks(app: PixelApp) -> Any:
    """The ``gr.Blocks`` wired to ``app``'s handlers; ``blocks.pixel_app`` is ``app`` (read by launch_app)."""
    import gradio as gr

    labels = list(app.entries)
    with gr.Blocks(title="pixel-gan", delete_cache=(1800, 3600)) as blocks:
        gr.Markdown(
            "# pixel-gan\nPhoto → pixel art with your trained translators. Upload an image, "
            "pick one or more translators, convert, and download the PNGs."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.Image(
                    label="Input image",
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    elem_id="input-image",
                    height=280,
                )
                if app.examples:
                    gr.Examples([[str(p)] for p in app.examples], inputs=[image], label="Examples")
                checkpoints = gr.CheckboxGroup(labels, value=labels[:1], label="Translators", elem_id="translators")
                with gr.Row():
                    resolution = gr.Dropdown(
                        NATIVE_SIZES, value=TRAINED, label="Output size (art pixels)", elem_id="native-size"
                    )
                    upscale = gr.Dropdown(UPSCALE_CHOICES, value="8", label="Upscale ×", elem_id="upscale")
                with gr.Row():
                    palette = gr.Dropdown(
                        PALETTE_CHOICES, value="none", label="Palette (name or k-means colours)", elem_id="palette"
                    )
                    edges = gr.Dropdown(EDGE_CHOICES, value=TRAINED, label="Edge preset", elem_id="edge-preset")
                with gr.Accordion("More options", open=False):
                    palette_file = gr.File(
                        label="Palette file (.hex, .gpl or swatch image)",
                        file_types=[".hex", ".gpl", ".png"],
                        type="filepath",
                    )
                    dither = gr.Checkbox(False, label="Dither (ordered 4×4)")
                    direction = gr.Radio(list(DIRECTION_LABELS), value=A2B, label="Direction")
                run = gr.Button("Convert", variant="primary", elem_id="convert")
            with gr.Column(scale=2):
                gallery = gr.Gallery(
                    label="Input and results",
                    columns=3,
                    object_fit="contain",
                    height=420,
                    elem_classes="pixelated",
                    elem_id="results",
                )
                downloads = gr.File(
                    label="Downloads (PNG: native size and upscaled)",
                    file_count="multiple",
                    elem_id="downloads",
                    interactive=False,
                )
                status = gr.Markdown(elem_id="status")
        run.click(
            app.convert,
            [image, checkpoints, resolution, edges, palette, palette_file, dither, upscale, direction],
            [gallery, downloads, status],
            api_name="convert",
            concurrency_limit=1,
        )
        blocks.unload(app.drop_session)
    blocks.pixel_app = app  # launch_app reads the folders and limits from here
    return blocks
