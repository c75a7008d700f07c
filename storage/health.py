"""What both engines' health reads share: which states are counted, and
the rows folded into one `WardLoad` per ward."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.complaints import State, StateGroup
from bot.ports import WardLoad

# The complaints the operators watch: those not closed (open, or resolved
# and waiting for the resident).  Closed ones only grow, and the digest has them.
LIVE_STATES = tuple(s.value for s in State if s.group is not StateGroup.CLOSED)


def ward_loads(rows: Iterable[tuple[str, str, int, int]]) -> list[WardLoad]:
    """(ward, state, count, overdue) rows, one per ward and state, as one
    `WardLoad` per ward (in the order of the wards' codes)."""
    groups: dict[str, dict[str, int]] = {}
    overdue: dict[str, int] = {}
    for ward, state, count, late in rows:
        group = State(state).group.value
        mine = groups.setdefault(ward, {})
        mine[group] = mine.get(group, 0) + int(count)
        overdue[ward] = overdue.get(ward, 0) + int(late or 0)
    return [WardLoad(ward, groups[ward], overdue[ward]) for ward in sorted(groups)]
