"""Following instead of filing again (issue 17): which open reports of the
same problem a resident is shown at their review, and how one reads there.

FixMyStreet shows a resident the nearby open reports of the category they
chose and invites them to follow one; so does Phản Ánh — within 250 m of the
pin, or in the same residential group when there is no pin, filed in the
last 30 days, at most three, nearest first (newest first by group).  A
report about an official is never shown (who reported an official, and
that anyone did, is the leaders' business alone), nor the resident's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.complaints import Complaint
from bot.domain.geo import distance_km
from bot.domain.orgchart import Family, GeoPoint
from bot.domain.redact import mask_contacts
from bot.domain.text import clean_text

ALIKE_RADIUS_M = 250.0
ALIKE_DAYS = 30
ALIKE_MAX = 3
LINE_MAX = 80  # one line of the description, as a phone shows it

Box = tuple[float, float, float, float]  # south, north, west, east (bot/ports.py)


def since(now: datetime) -> datetime:
    """The oldest filing time a report shown may have."""
    return now - timedelta(days=ALIKE_DAYS)


def search_box(point: GeoPoint, radius_m: float = ALIKE_RADIUS_M) -> Box:
    """A box around ``point`` holding every place within ``radius_m``: the
    store's coarse filter, which `alike` narrows by the exact distance."""
    lat_deg = radius_m / 111_000.0
    lon_deg = lat_deg / max(0.01, math.cos(math.radians(point.lat)))
    return (point.lat - lat_deg, point.lat + lat_deg, point.lon - lon_deg, point.lon + lon_deg)


@dataclass(frozen=True)
class Alike:
    """A report shown at the review: the complaint, and how far it is (None:
    the same residential group, no pin to measure from)."""

    complaint: Complaint
    metres: int | None


def alike(candidates: Iterable[Complaint], point: GeoPoint | None, area: str) -> list[Alike]:
    """The reports to show, from the store's candidates (open, the same
    category, recent, not the resident's own): never one about an official;
    with a pin, those within 250 m, nearest first; without, those of the
    same group, newest first; at most three."""
    fit = [c for c in candidates if c.family is not Family.OFFICIAL_CONDUCT]
    if point is None:
        same = sorted(
            (c for c in fit if c.area == area), key=lambda c: (c.created_at, c.id), reverse=True
        )
        return [Alike(c, None) for c in same[:ALIKE_MAX]]
    measured = [(distance_km(point, c.location) * 1000, c) for c in fit if c.location is not None]
    near = sorted(
        ((m, c) for m, c in measured if m <= ALIKE_RADIUS_M),
        key=lambda mc: (mc[0], -mc[1].created_at.timestamp(), mc[1].id),
    )
    return [Alike(c, round(m)) for m, c in near[:ALIKE_MAX]]


def first_line(description: str) -> str:
    """One line of another resident's description, as the public may read
    it: contact details masked (as Open311 publishes it), cut to a line."""
    lines = [line.strip() for line in clean_text(mask_contacts(description)).splitlines()]
    line = next((line for line in lines if line), "")
    return line if len(line) <= LINE_MAX else line[: LINE_MAX - 1].rstrip() + "…"


def offered(shown: Sequence[Alike]) -> list[dict[str, Any]]:
    """The reports shown, as the draft keeps them (JSON): what the review
    prints, read again unchanged however often it is shown."""
    return [
        {
            "id": a.complaint.id,
            "line": first_line(a.complaint.description),
            "state": a.complaint.state.value,
            "due": a.complaint.due_at.isoformat(),
            "metres": a.metres,
        }
        for a in shown
    ]


def offered_ids(data: Mapping[str, Any]) -> list[int]:
    """The ids of the reports a draft's review offers to follow."""
    return [int(item["id"]) for item in data.get("nearby") or ()]
