"""``python -m pixel_gan.cli``: the same as the ``pixel-gan`` console command."""

import sys

from pixel_gan.cli import main

sys.exit(main())
