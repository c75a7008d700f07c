"""``python -m bot.cli``: the same as the ``phananh`` script."""

import sys

from bot.cli import main

sys.exit(main())
