"""What both engines' digest SQL hands back, added up the same way: rows
grouped by every key asked at once become one `Counts` per group of each
grouping asked (a few hundred rows, where the database would otherwise read
the period's rows once per grouping)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.domain.digest import Counts, Dimension

# The SQL's twelve numbers: `Counts`, but "resolved" and "open" instead of
# late and overdue (those are their differences, as in the domain).
NUMBERS = 12


def add_up(
    rows: Iterable[Sequence[Any]],
    keys: Sequence[str],
    dimensions: Sequence[Dimension],
    key_sql: dict[Dimension, str],
) -> dict[Dimension, dict[str, Counts]]:
    """``rows``: the ``keys`` columns, then the twelve numbers."""
    totals: dict[tuple[str, ...], list[int]] = {}
    for values in rows:
        key = tuple(str(v) for v in values[: len(keys)])
        found = totals.setdefault(key, [0] * NUMBERS)
        for i, value in enumerate(values[len(keys) :]):
            found[i] += int(value or 0)
    out: dict[Dimension, dict[str, Counts]] = {d: {} for d in dimensions}
    for dimension in dimensions:
        where = None if dimension is Dimension.SCOPE else keys.index(key_sql[dimension])
        grouped: dict[str, list[int]] = {}
        for key, found in totals.items():
            into = grouped.setdefault("" if where is None else key[where], [0] * NUMBERS)
            for i, value in enumerate(found):
                into[i] += value
        for group, (received, on_time, resolved, in_progress, open_end, *rest) in grouped.items():
            counts = Counts(
                received, on_time, resolved - on_time, in_progress, open_end - in_progress, *rest
            )
            if not counts.empty:  # the scope had nothing to count there
                out[dimension][group] = counts
    return out
