"""Complaints for the digest tests: a seeded generator of consistent
histories (every tricky case of the definitions, boundaries included) and a
writer that puts them in a real database as the bot would have stored them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain.complaints import Complaint, State
from bot.domain.orgchart import Family, GeoPoint, OrgChart, Role
from storage.sqlite.db import Database, utc_text


@dataclass
class Generated:
    complaints: list[Complaint] = field(default_factory=list)
    disputes: dict[int, list[datetime]] = field(default_factory=dict)
    # How many residents follow each complaint (issue 17), by id; none: left out.
    followers: dict[int, int] = field(default_factory=dict)


def _sec(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


class Generator:
    """Histories a real complaint can have, with their timestamps in order:
    filed → (acknowledged) → (resolved → disputed → …) → resolved /
    confirmed / closed unconfirmed, or rejected / withdrawn, or still open
    (sometimes paused); some transferred to the other ward.  A share of
    instants is snapped onto ``boundaries`` so "<" and "<=" are tested."""

    KINDS = (
        ("open", 14),
        ("paused", 6),
        ("reopened", 6),
        ("resolved", 14),
        ("confirmed", 22),
        ("unconfirmed", 8),
        ("rejected", 8),
        ("withdrawn", 6),
        ("legacy_paused_resolution", 3),
    )

    def __init__(
        self,
        chart: OrgChart,
        origin: datetime,
        days: int,
        boundaries: Sequence[datetime],
        seed: int,
    ) -> None:
        self.rng = random.Random(seed)
        # Apart, so the histories drawn from ``rng`` stay what they were.
        self.about_leaders = random.Random(seed + 1)
        self.follows = random.Random(seed + 2)
        self.chart = chart
        self.origin = origin
        self.days = days
        self.boundaries = list(boundaries)
        self.groups = [g for g in chart.groups() if chart.ward_of(g.code)]
        self.categories = [c for c in chart.categories.values() if c.family is not Family.OTHER]
        self.cadres = {
            ward: [s.id for s in chart.staff.values() if ward in s.wards]
            for ward in chart.ward_codes()
        }

    def _instant(self, after: datetime, max_hours: float) -> datetime:
        if self.rng.random() < 0.08:
            later = [b for b in self.boundaries if b > after]
            if later:
                return later[0]
        return _sec(after + timedelta(seconds=self.rng.randint(1, int(max_hours * 3600))))

    def _deadline(self, start: datetime) -> datetime:
        return self._instant(start, self.rng.choice((4, 30, 60, 120, 300)))

    def one(self, complaint_id: int, out: Generated) -> None:
        rng = self.rng
        kind = rng.choices([k for k, _ in self.KINDS], [w for _, w in self.KINDS])[0]
        group = rng.choice(self.groups)
        ward = self.chart.ward_of(group.code)
        assert ward is not None
        category = rng.choice(self.categories)
        created = self._instant(self.origin, self.days * 24)
        if rng.random() < 0.05 and self.boundaries:
            created = rng.choice(self.boundaries)
        due = self._deadline(created)
        acknowledged: datetime | None = None
        if rng.random() < 0.7:
            acknowledged = self._instant(created, 12)
        resolved: datetime | None = None
        closed: datetime | None = None
        paused: datetime | None = None
        rating: int | None = None
        clock_start = created
        disputes: list[datetime] = []
        state = State.ACKNOWLEDGED if acknowledged else State.SUBMITTED
        redone = kind in ("resolved", "confirmed", "unconfirmed") and rng.random() < 0.35
        if kind == "reopened" or redone:
            # One or two fixes the resident disputed: each restarts the clocks.
            at = acknowledged or created
            for _ in range(rng.choice((1, 1, 2))):
                fixed = self._instant(at, 80)
                at = self._instant(fixed, 48)
                disputes.append(at)
                acknowledged = acknowledged or fixed
            clock_start = at
            due = self._deadline(at)
            state = State.REOPENED
        last = disputes[-1] if disputes else (acknowledged or created)
        if kind == "paused":
            paused = self._instant(last, 100)
        elif kind in ("resolved", "confirmed", "unconfirmed", "legacy_paused_resolution"):
            resolved = self._instant(last, 140)
            acknowledged = acknowledged or resolved
            state = State.RESOLVED
            if kind == "legacy_paused_resolution":
                paused = self._instant(last, 60)
                resolved = self._instant(paused, 80)
            if kind == "confirmed":
                closed = self._instant(resolved, 90)
                state = State.CONFIRMED
                rating = rng.choice((None, 1, 2, 3, 4, 5, 5, 4))
            elif kind == "unconfirmed":
                closed = resolved + timedelta(days=7)
                state = State.CLOSED_UNCONFIRMED
        elif kind in ("rejected", "withdrawn"):
            closed = self._instant(last, 100)
            state = State.REJECTED if kind == "rejected" else State.WITHDRAWN
        if rng.random() < 0.05:
            # Transferred to the other ward: everything moves, the deadline stays.
            others = [w for w in self.cadres if w != ward]
            if others:
                ward = rng.choice(others)
                group = rng.choice([g for g in self.groups if self.chart.ward_of(g.code) == ward])
        location = None
        if rng.random() < 0.5:
            location = GeoPoint(lon=107.08 + rng.random() * 0.002, lat=20.95 + rng.random() * 0.002)
        out.complaints.append(
            Complaint(
                id=complaint_id,
                category=category.code,
                family=category.family,
                area=group.code,
                ward=ward,
                state=state,
                owner=rng.choice(self.cadres[ward]),
                description=f"generated {complaint_id}",
                created_at=created,
                due_at=due,
                location=location,
                acknowledged_at=acknowledged,
                resolved_at=resolved,
                closed_at=closed,
                rating=rating,
                clock_start=clock_start,
                ack_due_at=created,
                paused_since=paused,
                concerns_leadership=category.family is Family.OFFICIAL_CONDUCT
                and self.about_leaders.random() < 0.5,
            )
        )
        if disputes:
            out.disputes[complaint_id] = disputes
        followers = self.follows.choice((0, 0, 0, 0, 0, 1, 1, 2, 4))
        if followers:
            out.followers[complaint_id] = followers

    def many(self, count: int, first_id: int = 1) -> Generated:
        out = Generated()
        for n in range(count):
            self.one(first_id + n, out)
        return out


def _time(value: datetime | None) -> str | None:
    return utc_text(value) if value is not None else None


async def write(db: Any, data: Generated) -> None:
    """Store the complaints and their dispute events as the bot would (on
    either engine's database)."""
    if not isinstance(db, Database):
        await _write_postgres(db, data)
        return
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO complaints (id, category, family, area, ward, state, owner, description,"
            " lat, lon, created_at, due_at, acknowledged_at, resolved_at, closed_at, rating,"
            " clock_start, ack_due_at, paused_since, swept_until, concerns_leadership)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.id,
                    c.category,
                    c.family.value,
                    c.area,
                    c.ward,
                    c.state.value,
                    c.owner,
                    c.description,
                    c.location.lat if c.location else None,
                    c.location.lon if c.location else None,
                    utc_text(c.created_at),
                    utc_text(c.due_at),
                    _time(c.acknowledged_at),
                    _time(c.resolved_at),
                    _time(c.closed_at),
                    c.rating,
                    _time(c.clock_start),
                    _time(c.ack_due_at),
                    _time(c.paused_since),
                    utc_text(c.created_at),
                    int(c.concerns_leadership),
                )
                for c in data.complaints
            ],
        )
        await conn.executemany(
            "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state)"
            " VALUES (?, ?, 'dispute', 'resolved', 'reopened')",
            [(cid, utc_text(at)) for cid, times in data.disputes.items() for at in times],
        )
        await conn.executemany(
            "INSERT INTO people (display_name, language, created_at) VALUES (NULL, 'vi', ?)",
            [(utc_text(data.complaints[0].created_at),)] * _residents(data),
        )
        await conn.executemany(
            "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at)"
            " SELECT ?, id, 'follower', ? FROM people ORDER BY id LIMIT ?",
            _follower_rows(data, utc_text),
        )


async def _write_postgres(db: Any, data: Generated) -> None:
    """The same rows into PostgreSQL: its own types, ids given explicitly
    (the identity sequence then moved past them)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO complaints (id, category, family, area, ward, state, owner, description,"
            " lat, lon, created_at, due_at, acknowledged_at, resolved_at, closed_at, rating,"
            " clock_start, ack_due_at, paused_since, swept_until, concerns_leadership)"
            " OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
            " $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            [
                (
                    c.id,
                    c.category,
                    c.family.value,
                    c.area,
                    c.ward,
                    c.state.value,
                    c.owner,
                    c.description,
                    c.location.lat if c.location else None,
                    c.location.lon if c.location else None,
                    c.created_at,
                    c.due_at,
                    c.acknowledged_at,
                    c.resolved_at,
                    c.closed_at,
                    c.rating,
                    c.clock_start,
                    c.ack_due_at,
                    c.paused_since,
                    c.created_at,
                    c.concerns_leadership,
                )
                for c in data.complaints
            ],
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('complaints', 'id'), MAX(id)) FROM complaints"
        )
        await conn.executemany(
            "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state)"
            " VALUES ($1, $2, 'dispute', 'resolved', 'reopened')",
            [(cid, at) for cid, times in data.disputes.items() for at in times],
        )
        await conn.executemany(
            "INSERT INTO people (display_name, language) VALUES (NULL, 'vi')",
            [()] * _residents(data),
        )
        await conn.executemany(
            "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at)"
            " SELECT $1, id, 'follower', $2 FROM people ORDER BY id LIMIT $3",
            _follower_rows(data, lambda at: at),
        )


def _residents(data: Generated) -> int:
    """People enough to follow the most followed complaint."""
    return max(data.followers.values(), default=0)


def _follower_rows(data: Generated, when: Any) -> list[tuple[Any, ...]]:
    """(complaint, when they joined, how many of the people follow it)."""
    created = {c.id: c.created_at for c in data.complaints}
    return [(cid, when(created[cid]), n) for cid, n in data.followers.items()]


def leaders(chart: OrgChart) -> list[str]:
    return [
        s.id
        for s in chart.staff.values()
        if s.has_role(Role.WARD_LEADER) or s.has_role(Role.CITY_LEADER)
    ]
