"""Phản Ánh: domain and wiring."""

import os

# Opt in to python-telegram-bot's announced behaviour (time periods as
# timedelta, e.g. RetryAfter.retry_after) instead of the deprecated ints,
# which warn on every access.
os.environ.setdefault("PTB_TIMEDELTA", "true")
