"""``python -m pixel_gan.bench``: see :mod:`pixel_gan.bench`."""

from pixel_gan.bench.cli import main

raise SystemExit(main())
