"""``pixel-gan export --merged``: a standalone translator with every adapter folded into its base weights.

It loads without the base model, without peft and without the text encoder (see
:mod:`pixel_gan.inference.merged_export`), so ``pixel-gan translate`` starts faster from it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pixel_gan.cli.errors import command_main, fail
from pixel_gan.cli.translate import one_of
from pixel_gan.inference.options import PRECISION_NAMES

HELP = (
    "Write a merged standalone translator (adapters folded into the weights; no base model needed to load it). "
    "Use it as --checkpoint of translate."
)


def command(
    source: Annotated[
        str, typer.Argument(metavar="SRC", help="translator folder, or a training run folder containing translator/")
    ],
    out_dir: Annotated[str, typer.Argument(metavar="OUT", help="folder to write (merged.safetensors + merged.json)")],
    merged: Annotated[bool, typer.Option("--merged", help="write the merged form (the only export kind)")] = False,
    precision: Annotated[
        str, typer.Option(**one_of(PRECISION_NAMES), help="stored precision (fp16: half the size)")
    ] = "fp16",
    base: Annotated[
        str | None, typer.Option(metavar="ID|DIR", help="override the base model id/dir recorded in translator.yaml")
    ] = None,
) -> None:
    if not merged:
        fail("pass --merged: the only export this command writes is the merged standalone form")
    from pixel_gan.config import ConfigError
    from pixel_gan.inference.export import CheckpointError
    from pixel_gan.inference.merged_export import save_merged
    from pixel_gan.inference.translator import Translator
    from pixel_gan.logging_utils import quiet_libraries
    from pixel_gan.weights import WeightsNotFoundError

    quiet_libraries()
    try:
        translator = Translator.from_pretrained(source, base=base, device="cpu")
        out = save_merged(translator, out_dir, dtype=precision)
    except (CheckpointError, WeightsNotFoundError, ConfigError) as error:
        fail(str(error).splitlines()[0])
    except (OSError, ValueError) as error:
        fail(f"cannot export {source}: {error}")
    size_mb = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"merged translator ({precision}, {size_mb:.0f} MB) written to {out}")


main = command_main("export")
