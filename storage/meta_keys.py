"""Keys of the ``meta`` table that the engines and the composition root share.

A module of its own, below every engine, so that an engine's database code can
read a key without importing ``storage/engines.py``, which imports the engines.
"""

from __future__ import annotations

# The mark `phananh demo` leaves in its database: the next demo may empty a
# PostgreSQL database that has it, any other only if it is empty.
DEMO_MARK = "demo"
