"""Row helpers shared by the PostgreSQL repositories: records to domain
values, the outbox insert, the chart's version stamp, the sweep's columns.

Instants go to the driver as datetimes (`instant`: UTC, to the second) and
come back as aware datetimes; jsonb columns go and come as Python values.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from bot.domain.complaints import Action, Complaint, Event, Photo, State
from bot.domain.orgchart import Family, GeoPoint
from bot.domain.redact import mask_contacts, mask_in
from bot.ports import CHANGEABLE, TIME_FIELDS, AdminEntry, DueComplaint, Notice
from storage.postgres.accounts import SAME_PERSON
from storage.postgres.db import DURABLE_COMMIT, Conn, instant, rows_changed

ROSTER_VERSION = "roster_version"

FAMILIES = {f.value: f for f in Family}
STATES = {s.value: s for s in State}
OPEN_STATES = [s.value for s in State if s.is_open]


class Conflict(Exception):
    """A complaint moved while a change that depends on it was being applied."""


async def drop_pending(
    conn: Conn, staff: Sequence[str], keep_kinds: Sequence[str], at: datetime
) -> None:
    """Give up the rows still waiting for these staff, but those of
    ``keep_kinds``: what they would say is stale (or nobody is left to read it)."""
    if not staff:
        return
    await conn.execute(
        "UPDATE outbox SET given_up_at = $1, last_error = 'stale'"
        " WHERE staff_id = ANY($2::text[]) AND NOT (kind = ANY($3::text[]))"
        " AND sent_at IS NULL AND given_up_at IS NULL",
        instant(at),
        list(staff),
        list(keep_kinds),
    )


async def bump_roster(conn: Conn) -> None:
    """Inside the caller's transaction: the chart, or who can be reached, changed."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES ($1, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
        ROSTER_VERSION,
    )


async def bind(conn: Conn, staff_id: str, person_id: int, at: datetime) -> None:
    """The person's one binding: to this staff record (inside the caller's
    transaction: an invite's use, a chart import and bind_staff share it)."""
    await conn.execute("DELETE FROM staff_bindings WHERE person_id = $1", person_id)
    await conn.execute(
        "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
        " bound_at = excluded.bound_at",
        staff_id,
        person_id,
        instant(at),
    )


async def lock_complaints(conn: Conn, ids: Iterable[int]) -> None:
    """Row locks on several complaints, always in id order: two transactions
    that change the same complaints then wait for each other instead of
    deadlocking."""
    wanted = sorted(set(ids))
    if len(wanted) > 1:
        await conn.execute(
            "SELECT 1 FROM complaints WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
            wanted,
        )


async def _mask_rows(conn: Conn, select: str, params: Sequence[Any], update: str) -> None:
    """Run ``select`` (an id, then text columns) and write back, with
    ``update``, the rows whose text had contact details in it."""
    for row_id, *texts in await conn.fetch(select, *params):
        masked = [mask_contacts(t) if isinstance(t, str) else t for t in texts]
        if masked != texts:
            await conn.execute(update, *masked, row_id)


async def mask_what_they_wrote(conn: Conn, person_id: int) -> None:
    """Phone numbers, e-mail addresses and ID-card numbers out of every copy
    of what the person wrote that is kept after /forget, under a record
    merged into theirs too (as the SQLite engine's ``mask_what_they_wrote``)."""
    mine = "SELECT complaint_id FROM complaint_people WHERE person_id = $1 AND role = 'reporter'"
    await _mask_rows(
        conn,
        f"SELECT id, description, landmark FROM complaints WHERE id IN ({mine})",
        (person_id,),
        "UPDATE complaints SET description = $1, landmark = $2 WHERE id = $3",
    )
    await _mask_rows(
        conn,
        f"SELECT id, note FROM complaint_events WHERE actor_person_id IN {SAME_PERSON}",
        (person_id,),
        "UPDATE complaint_events SET note = $1 WHERE id = $2",
    )
    rows = await conn.fetch(
        f"SELECT id, payload FROM outbox WHERE person_id = $1 OR complaint_id IN ({mine})",
        person_id,
    )
    for row_id, payload in rows:
        masked = mask_in(payload)
        if masked != payload:
            await conn.execute("UPDATE outbox SET payload = $1 WHERE id = $2", masked, row_id)


INSERT_NOTICE = (
    "INSERT INTO outbox (person_id, staff_id, complaint_id, kind, payload, created_at,"
    " next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


async def insert_notices(conn: Conn, notices: Iterable[Notice], at: datetime) -> int:
    """Outbox rows, inside the caller's transaction (shared with
    storage/postgres/digest.py); returns how many."""
    when = instant(at)
    notices = list(notices)
    rows = [
        (
            n.person_id,
            n.staff_id,
            n.complaint_id,
            n.kind,
            dict(n.payload),
            when,
            # The first attempt: now, or the notice's own not-before time.
            instant(n.not_before) if n.not_before and n.not_before > at else when,
        )
        for n in notices
    ]
    if rows:
        # Announced once sent: durable as the server is configured (db.py).
        await conn.execute(DURABLE_COMMIT)
        await conn.executemany(INSERT_NOTICE, rows)
    copied = 0
    for n, row in zip(notices, rows, strict=True):
        if n.followers and n.complaint_id is not None:
            # A copy for each follower of its complaint (issue 17), marked as theirs.
            status = await conn.execute(
                "INSERT INTO outbox (person_id, complaint_id, kind, payload, created_at,"
                " next_attempt_at) SELECT person_id, complaint_id, $1, $2, $3, $4"
                " FROM complaint_people WHERE complaint_id = $5 AND role = 'follower'"
                " AND person_id IS DISTINCT FROM $6 ORDER BY joined_at, person_id",
                n.kind,
                {**n.payload, "follower": True},
                row[5],
                row[6],
                n.complaint_id,
                n.person_id,
            )
            copied += rows_changed(status)
    return len(rows) + copied


def assignments_sql(fields: Mapping[str, Any], first: int = 1) -> tuple[str, list[Any]]:
    """``col = $1, …`` and its values, for the complaint columns a change may set."""
    return columns_sql(tuple(fields), first), [
        sql_value(name, value) for name, value in fields.items()
    ]


@functools.lru_cache(maxsize=256)
def columns_sql(names: tuple[str, ...], first: int = 1) -> str:
    unknown = set(names) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    return ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=first))


# The PostgreSQL type of each changeable column that is not text (and the id's).
_COLUMN_TYPES = {name: "timestamptz" for name in TIME_FIELDS} | {
    "id": "bigint",
    "rating": "smallint",
    "escalation_level": "integer",
    "urgent": "boolean",
}


@functools.lru_cache(maxsize=64)
def batch_update_sql(names: tuple[str, ...], bump_version: bool) -> str:
    """One statement that sets ``names`` on many complaints at once: ``$1``
    their ids, then one array per column, row n of each for complaint n."""
    unknown = set(names) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    arrays = ", ".join(
        f"${n}::{_COLUMN_TYPES.get(name, 'text')}[]"
        for n, name in enumerate(("id", *names), start=1)
    )
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    version = ", version = c.version + 1" if bump_version else ""
    return (
        f"UPDATE complaints AS c SET {assignments}{version}"
        f" FROM unnest({arrays}) AS v(id, {', '.join(names)}) WHERE c.id = v.id"
    )


def sql_value(name: str, value: Any, instants: dict[datetime, datetime] | None = None) -> Any:
    """A column's value as the driver takes it; ``instants`` remembers those
    already brought to the second (a sweep writes the same "now" a thousand
    times)."""
    if name in TIME_FIELDS and value is not None:
        if instants is None:
            return instant(value)
        found = instants.get(value)
        if found is None:
            found = instants[value] = instant(value)
        return found
    if isinstance(value, State | Family):
        return value.value
    return value


def with_complaint(notice: Notice, complaint_id: int) -> Notice:
    if notice.complaint_id is not None:
        return notice
    return replace(notice, complaint_id=complaint_id)


def complaint_from_row(row: asyncpg.Record, photos: Sequence[tuple[str, Photo]]) -> Complaint:
    location = GeoPoint(lon=row["lon"], lat=row["lat"]) if row["lat"] is not None else None
    return Complaint(
        id=row["id"],
        category=row["category"],
        family=FAMILIES[row["family"]],
        area=row["area"],
        ward=row["ward"],
        state=STATES[row["state"]],
        owner=row["owner"],
        description=row["description"],
        created_at=row["created_at"],
        due_at=row["due_at"],
        landmark=row["landmark"],
        location=location,
        concerns_leadership=row["concerns_leadership"],
        acknowledged_at=row["acknowledged_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        resolution_note=row["resolution_note"],
        rating=row["rating"],
        version=row["version"],
        photos=tuple(p for kind, p in photos if kind == "report"),
        resolution_photos=tuple(p for kind, p in photos if kind == "resolution"),
        clock_start=row["clock_start"],
        ack_due_at=row["ack_due_at"],
        urgent=row["urgent"],
        paused_since=row["paused_since"],
        swept_until=row["swept_until"],
        next_action_at=row["next_action_at"],
        escalation_level=row["escalation_level"],
        fallback_from=row["fallback_from"],
        follower_confirmed_at=row["follower_confirmed_at"],
    )


INSERT_EVENT = (
    "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state,"
    " actor_person_id, actor_staff_id, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)


def event_values(event: Event) -> tuple[Any, ...]:
    return (
        event.complaint_id,
        instant(event.at),
        event.action.value,
        event.from_state.value if event.from_state else None,
        event.to_state.value,
        event.actor_person_id,
        event.actor_staff_id,
        event.note,
        dict(event.data),
    )


def event_from_row(row: asyncpg.Record) -> Event:
    return Event(
        complaint_id=row["complaint_id"],
        at=row["at"],
        action=Action(row["action"]),
        from_state=STATES[row["from_state"]] if row["from_state"] else None,
        to_state=STATES[row["to_state"]],
        actor_person_id=row["actor_person_id"],
        actor_staff_id=row["actor_staff_id"],
        note=row["note"],
        data=row["data"],
    )


async def insert_admin_entry(conn: Conn, entry: AdminEntry) -> None:
    await conn.execute(
        "INSERT INTO admin_log (at, actor, action, subject, person_id, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        instant(entry.at),
        entry.actor,
        entry.action.value,
        entry.subject,
        entry.person_id,
        dict(entry.detail),
    )


# The sweep's batch: claimed row by row (FOR UPDATE … SKIP LOCKED), so a
# complaint a handler is changing right now is left for the next sweep
# instead of waited for, and two processes sweeping at once take different
# complaints.
DUE_COLUMNS = (
    "SELECT c.id, c.category, c.family, c.ward, c.state, c.owner, c.concerns_leadership,"
    " c.created_at, c.due_at, c.clock_start, c.ack_due_at, c.resolved_at, c.paused_since,"
    " c.swept_until, c.escalation_level, p.person_id, c.follower_confirmed_at,"
    # Who asked the question still waiting for the resident's answer (a
    # leader may ask about a cadre's task): told too when it times out.
    " CASE WHEN c.paused_since IS NOT NULL THEN (SELECT e.actor_staff_id"
    " FROM complaint_events e WHERE e.complaint_id = c.id AND e.action = 'ask_info'"
    " ORDER BY e.id DESC LIMIT 1) END"
    " FROM complaints c"
    " LEFT JOIN complaint_people p ON p.complaint_id = c.id AND p.role = 'reporter'"
    " WHERE c.next_action_at IS NOT NULL AND c.next_action_at <= $1"
    " ORDER BY c.next_action_at, c.id LIMIT $2"
    " FOR UPDATE OF c SKIP LOCKED"
)


def due_from_row(row: asyncpg.Record) -> DueComplaint:
    """A row of ``DUE_COLUMNS``: the driver already gives datetimes and booleans."""
    (
        id_,
        category,
        family,
        ward,
        state,
        owner,
        concerns_leadership,
        created_at,
        due_at,
        clock_start,
        ack_due_at,
        resolved_at,
        paused_since,
        swept_until,
        escalation_level,
        reporter,
        follower_confirmed_at,
        asked_by,
    ) = row
    return DueComplaint(
        id_,
        category,
        FAMILIES[family],
        ward,
        STATES[state],
        owner,
        concerns_leadership,
        created_at,
        due_at,
        clock_start,
        ack_due_at,
        resolved_at,
        paused_since,
        swept_until,
        escalation_level,
        reporter,
        follower_confirmed_at,
        asked_by,
    )
