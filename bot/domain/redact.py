"""Masking contact details in what a person wrote.

After ``/forget`` a complaint stays (it is public business), and so do the
words of it — the description, an answer to the cadre's question, a
dispute comment — but not the phone number, e-mail address or ID-card
number typed into them.  Pure functions: the store applies them to every
copy it keeps (storage/sqlite/store.py, ``forget_person``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Nine digits or more, in groups split by spaces, dots, dashes or brackets
# (at most two of them between digits), maybe after a "+": Vietnamese phone
# numbers (0912 345 678, +84 912.345.678, (024) 3825 1234), the old ID card
# (CMND, 9 digits) and the citizen ID (CCCD, 12 digits).  Dates written
# dd/mm/yyyy and sums up to hundreds of millions stay as they are; a longer
# run of digits is masked, whatever it was.
_NUMBER = re.compile(r"(?<![\d+])\+?\d(?:[ .\-()]{0,2}\d){8,}(?!\d)")


def mask_contacts(text: str) -> str:
    """``text`` with every phone number, e-mail address and ID-card number
    replaced by `MASK`."""
    return _NUMBER.sub(MASK, _EMAIL.sub(MASK, text))


def mask_in(value: Any) -> Any:
    """The same inside JSON-like data (an outbox payload, an event's data):
    every string masked, keys and the shape kept."""
    if isinstance(value, str):
        return mask_contacts(value)
    if isinstance(value, Mapping):
        return {key: mask_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_in(item) for item in value]
    return value
