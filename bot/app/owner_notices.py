"""The messages that say who owns what now, as outbox notices.

Shared by filing (a complaint routed past someone who cannot act) and by
`bot.owners` (complaints moved when the chart or who can be reached
changes), so the ward leader reads the same message either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain.orgchart import OrgChart
from bot.domain.owners import audience
from bot.domain.routing import Reach
from bot.ports import Notice

# One message to a leader: which complaints went to whom, and why.
OWNERS_CHANGED = "owners_changed"
# One list of a person's open tasks, once the bot can reach them again.
OPEN_SUMMARY = "open_summary"
# Why a complaint moved back (beside the OwnerProblem values), and why a
# person is named when nothing of theirs moved.
BACK = "back"
JOINED = "joined"
RETURNED = "returned"


@dataclass(frozen=True)
class Moved:
    """One complaint that went elsewhere: its ward (who is told), whether it
    concerns the ward's leadership (then only the city is), whom it is about
    (``staff``: who could not act, or who can again), why, and the new owner.
    ``complaint_id`` None: the notice's own complaint (a new one)."""

    ward: str
    leadership: bool
    staff: str
    why: str
    to: str
    complaint_id: int | None = None


def leader_notices(
    chart: OrgChart,
    reach: Reach,
    moved: Iterable[Moved],
    events: Iterable[tuple[str, str]] = (),
    *,
    complaint_id: int | None = None,
    before: OrgChart | None = None,
) -> list[Notice]:
    """One message per leader told: for each person concerned, why, and
    which complaints went where; ``events`` name people whose change moved
    nothing (the leader still hears of them).  A ward's leader hears of their
    ward; a complaint about the ward's leadership only reaches the city; when
    the ward's leader cannot be reached either, the next level up is told.
    Names are written down now: someone who left the chart (``before``
    knew them) is still named when the message goes out."""
    payloads: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def name(staff_id: str) -> str:
        for known in (chart, before):
            member = known.staff.get(staff_id) if known is not None else None
            if member is not None:
                return member.name
        return staff_id

    for m in moved:
        told = audience(chart, reach, m.ward, leadership=m.leadership, excluding=(m.staff,))
        if told is not None:
            item: dict[str, Any] = {
                "staff": m.staff,
                "name": name(m.staff),
                "why": m.why,
                "to": m.to,
                "to_name": name(m.to),
            }
            if m.complaint_id is not None:
                item["id"] = m.complaint_id
            payloads.setdefault(told, {"items": [], "events": []})["items"].append(item)
    for staff_id, why in events:
        member = chart.staff.get(staff_id)
        for ward in member.wards if member is not None and member.wards else ("",):
            told = audience(chart, reach, ward, excluding=(staff_id,))
            if told is None:
                continue
            payload = payloads.setdefault(told, {"items": [], "events": []})
            named = {e["staff"] for e in (*payload["items"], *payload["events"])}
            if staff_id not in named:
                payload["events"].append({"staff": staff_id, "name": name(staff_id), "why": why})
    return [
        Notice(OWNERS_CHANGED, complaint_id=complaint_id, staff_id=leader, payload=payload)
        for leader, payload in payloads.items()
    ]
