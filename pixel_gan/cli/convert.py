"""``pixel-gan convert``: import an img2img-turbo ``.pkl`` as a translator folder; user errors exit 2."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Annotated

import typer

from pixel_gan.cli.errors import command_main, fail

HELP = "Import an img2img-turbo CycleGAN-Turbo checkpoint (.pkl) as a pixel-gan translator folder."
DEFAULT_BASE = "stabilityai/sd-turbo"


def command(
    original: Annotated[
        str, typer.Argument(metavar="ORIGINAL", help="the .pkl written by img2img-turbo's train_cyclegan_turbo.py")
    ],
    out_dir: Annotated[
        str, typer.Argument(metavar="OUT_DIR", help="translator folder to write (model.safetensors + translator.yaml)")
    ],
    base: Annotated[
        str,
        typer.Option(help=f"base the checkpoint was trained on: hub id, local dir, or 'tiny' (default {DEFAULT_BASE})"),
    ] = DEFAULT_BASE,
    prompt_a: Annotated[str, typer.Option(help="caption of domain A (photos); b2a is conditioned on it")] = "a photo",
    prompt_b: Annotated[
        str, typer.Option(help="caption of domain B (pixel art); a2b is conditioned on it")
    ] = "pixel art",
    resolution: Annotated[int, typer.Option(help="size the translator works at (multiple of 8)")] = 256,
    edge_preset: Annotated[
        str, typer.Option(help="edge preset for domain-A inputs: none (the original's behaviour), default, medium, low")
    ] = "none",
    cache_dir: Annotated[
        str | None, typer.Option(help="where the tiny base is built ($PIXEL_GAN_CACHE or .cache)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace OUT_DIR if it exists and is not empty")] = False,
) -> None:
    from pixel_gan.inference.import_original import ConversionError, ConversionWarning, convert_checkpoint
    from pixel_gan.weights import WeightsNotFoundError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConversionWarning)
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")  # our 3 UNet adapters
            out = convert_checkpoint(
                original,
                out_dir,
                base=base,
                prompt_a=prompt_a,
                prompt_b=prompt_b,
                resolution=resolution,
                edge_preset=edge_preset,
                cache_dir=cache_dir or os.environ.get("PIXEL_GAN_CACHE", ".cache"),
                force=force,
            )
    except ConversionError as err:
        fail(str(err))
    except WeightsNotFoundError as err:
        detail = " ".join(err.detail.split())
        fail(
            f"base model not found for --base {base!r}: {detail} Expected a hub id, 'tiny', or a local folder "
            "in the hub layout (unet/, vae/, text_encoder/, tokenizer/, scheduler/)."
        )
    for w in caught:
        if issubclass(w.category, ConversionWarning):
            print(f"pixel-gan convert: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print(f"translator written to {out}")


main = command_main("convert")
