"""``pixel-gan`` console command: translate | app | convert.

Each subcommand lives in its own module with a ``main(argv) -> int``; this file only dispatches,
so ``pixel-gan --help`` stays fast (nothing heavy is imported until a subcommand runs).
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "translate": ("pixel_gan.translate", "convert images with a trained translator"),
    "app": ("pixel_gan.app", "web UI: pick checkpoints, upload images, download pixel art"),
    "convert": ("pixel_gan.convert", "import an img2img-turbo .pkl checkpoint as a translator folder"),
}


def usage() -> str:
    lines = ["usage: pixel-gan <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'pixel-gan <command> --help' for a command's options. Training: python train.py experiment=..."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] not in SUBCOMMANDS:
        print(f"pixel-gan: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[args[0]][0])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
