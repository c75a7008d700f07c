"""Row helpers shared by the SQLite repositories: instants as text, rows to
records, the outbox insert, the chart's version stamp."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.complaints import Complaint, Event, Photo, State
from bot.domain.orgchart import (
    Family,
    GeoPoint,
)
from bot.domain.redact import mask_contacts, mask_in
from bot.ports import (
    CHANGEABLE,
    TIME_FIELDS,
    AdminEntry,
    DueComplaint,
    Notice,
)
from storage.sqlite.accounts import SAME_PERSON
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.inline import InlineConnection


def maybe_time(value: str | None) -> datetime | None:
    return parse_utc(value) if value else None


class Conflict(Exception):
    """A complaint moved while a change that depends on it was being applied."""


ROSTER_VERSION = "roster_version"


async def drop_pending(
    conn: InlineConnection, staff: Sequence[str], keep_kinds: Sequence[str], at: datetime
) -> None:
    """Give up the rows still waiting for these staff, but those of
    ``keep_kinds``: what they would say is stale (or nobody is left to read it)."""
    if not staff:
        return
    staff_marks = ",".join("?" * len(staff))
    kind_marks = ",".join("?" * len(keep_kinds)) or "''"
    await conn.execute(
        "UPDATE outbox SET given_up_at = ?, last_error = 'stale'"
        f" WHERE staff_id IN ({staff_marks}) AND kind NOT IN ({kind_marks})"
        " AND sent_at IS NULL AND given_up_at IS NULL",
        (utc_text(at), *staff, *keep_kinds),
    )


async def bump_roster(conn: InlineConnection) -> None:
    """Inside the caller's transaction: the chart, or who can be reached, changed."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (ROSTER_VERSION,),
    )


def templates_of(raw: str | None, kind: str) -> list[str]:
    return [str(t) for t in json.loads(raw).get(kind, [])] if raw else []


async def masked_rows(
    conn: InlineConnection, select: str, params: Sequence[Any], update: str
) -> None:
    """Run ``select`` (an id, then text columns) and write back, with
    ``update``, the rows whose text had contact details in it."""
    async with conn.execute(select, params) as cursor:
        rows = [tuple(row) for row in await cursor.fetchall()]
    for row_id, *texts in rows:
        masked = [mask_contacts(t) if isinstance(t, str) else t for t in texts]
        if masked != texts:
            await conn.execute(update, (*masked, row_id))


async def mask_what_they_wrote(conn: InlineConnection, person_id: int) -> None:
    """Phone numbers, e-mail addresses and ID-card numbers out of every
    copy of what the person wrote that is kept after /forget: their
    complaints' descriptions and landmarks, the notes of what they did (an
    answer to the cadre, a dispute comment; under a record merged into
    theirs too), and the outbox rows to them or
    about their complaints (an answer relayed to the cadre)."""
    mine = "SELECT complaint_id FROM complaint_people WHERE person_id = ? AND role = 'reporter'"
    await masked_rows(
        conn,
        f"SELECT id, description, landmark FROM complaints WHERE id IN ({mine})",
        (person_id,),
        "UPDATE complaints SET description = ?, landmark = ? WHERE id = ?",
    )
    await masked_rows(
        conn,
        f"SELECT id, note FROM complaint_events WHERE actor_person_id IN {SAME_PERSON}",
        (person_id, person_id),
        "UPDATE complaint_events SET note = ? WHERE id = ?",
    )
    async with conn.execute(
        f"SELECT id, payload FROM outbox WHERE person_id = ? OR complaint_id IN ({mine})",
        (person_id, person_id),
    ) as cursor:
        payloads = [tuple(row) for row in await cursor.fetchall()]
    for row_id, payload in payloads:
        masked = json.dumps(mask_in(json.loads(payload)), ensure_ascii=False)
        if masked != payload:
            await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?", (masked, row_id))


async def insert_notices(conn: InlineConnection, notices: Iterable[Notice], at: datetime) -> int:
    """Outbox rows, inside the caller's transaction (shared with
    storage/sqlite/digest.py); returns how many."""
    when = utc_text(at)
    notices = list(notices)
    if not notices:
        return 0
    await conn.executemany(
        "INSERT INTO outbox (person_id, staff_id, complaint_id, kind, payload, created_at,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                n.person_id,
                n.staff_id,
                n.complaint_id,
                n.kind,
                json.dumps(dict(n.payload), ensure_ascii=False),
                when,
                # The first attempt: now, or the notice's own not-before time
                # (the delivery picks a row up only once this has come).
                utc_text(n.not_before) if n.not_before and n.not_before > at else when,
            )
            for n in notices
        ],
    )
    return len(notices) + await _to_followers(conn, notices, when)


async def _to_followers(conn: InlineConnection, notices: list[Notice], when: str) -> int:
    """A copy of each resident notice meant for followers too, for each
    follower of its complaint (issue 17), marked as theirs."""
    copied = 0
    for n in notices:
        if not n.followers or n.complaint_id is None:
            continue
        first = utc_text(n.not_before) if n.not_before and utc_text(n.not_before) > when else when
        cur = await conn.execute(
            "INSERT INTO outbox (person_id, complaint_id, kind, payload, created_at,"
            " next_attempt_at) SELECT person_id, complaint_id, ?, ?, ?, ? FROM complaint_people"
            " WHERE complaint_id = ? AND role = 'follower' AND person_id IS NOT ?"
            " ORDER BY joined_at, person_id",
            (
                n.kind,
                json.dumps({**n.payload, "follower": True}, ensure_ascii=False),
                when,
                first,
                n.complaint_id,
                n.person_id,
            ),
        )
        copied += max(0, cur.rowcount)
    return copied


def assignments_sql(fields: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``col = ?, …`` and its values, for the complaint columns a change may set."""
    return columns_sql(tuple(fields)), [sql_value(name, value) for name, value in fields.items()]


@functools.lru_cache(maxsize=256)
def columns_sql(names: tuple[str, ...]) -> str:
    unknown = set(names) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    return ", ".join(f"{name} = ?" for name in names)


def sql_value(name: str, value: Any, texts: dict[datetime, str] | None = None) -> Any:
    """A column's value as stored; ``texts`` remembers instants already
    written out (a sweep writes the same "now" a thousand times)."""
    if name in TIME_FIELDS and value is not None:
        if texts is None:
            return utc_text(value)
        text = texts.get(value)
        if text is None:
            text = texts[value] = utc_text(value)
        return text
    if isinstance(value, State | Family):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def with_complaint(notice: Notice, complaint_id: int) -> Notice:
    if notice.complaint_id is not None:
        return notice
    return replace(notice, complaint_id=complaint_id)


def complaint_from_row(row: sqlite3.Row, photos: Sequence[tuple[str, Photo]]) -> Complaint:
    location = GeoPoint(lon=row["lon"], lat=row["lat"]) if row["lat"] is not None else None
    return Complaint(
        id=row["id"],
        category=row["category"],
        family=Family(row["family"]),
        area=row["area"],
        ward=row["ward"],
        state=State(row["state"]),
        owner=row["owner"],
        description=row["description"],
        created_at=parse_utc(row["created_at"]),
        due_at=parse_utc(row["due_at"]),
        landmark=row["landmark"],
        location=location,
        concerns_leadership=bool(row["concerns_leadership"]),
        acknowledged_at=maybe_time(row["acknowledged_at"]),
        resolved_at=maybe_time(row["resolved_at"]),
        closed_at=maybe_time(row["closed_at"]),
        resolution_note=row["resolution_note"],
        rating=row["rating"],
        version=row["version"],
        photos=tuple(p for kind, p in photos if kind == "report"),
        resolution_photos=tuple(p for kind, p in photos if kind == "resolution"),
        clock_start=maybe_time(row["clock_start"]),
        ack_due_at=maybe_time(row["ack_due_at"]),
        urgent=bool(row["urgent"]),
        paused_since=maybe_time(row["paused_since"]),
        swept_until=maybe_time(row["swept_until"]),
        next_action_at=maybe_time(row["next_action_at"]),
        escalation_level=row["escalation_level"],
        fallback_from=row["fallback_from"],
        follower_confirmed_at=maybe_time(row["follower_confirmed_at"]),
    )


INSERT_EVENT = (
    "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state,"
    " actor_person_id, actor_staff_id, note, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def insert_admin_entry(conn: InlineConnection, entry: AdminEntry) -> None:
    await conn.execute(
        "INSERT INTO admin_log (at, actor, action, subject, person_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            utc_text(entry.at),
            entry.actor,
            entry.action.value,
            entry.subject,
            entry.person_id,
            json.dumps(dict(entry.detail), ensure_ascii=False),
        ),
    )


def event_values(event: Event) -> tuple[Any, ...]:
    return (
        event.complaint_id,
        utc_text(event.at),
        event.action.value,
        event.from_state.value if event.from_state else None,
        event.to_state.value,
        event.actor_person_id,
        event.actor_staff_id,
        event.note,
        json.dumps(event.data, ensure_ascii=False),
    )


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
    " WHERE c.next_action_at IS NOT NULL AND c.next_action_at <= ?"
    " ORDER BY c.next_action_at, c.id LIMIT ?"
)


FAMILIES = {f.value: f for f in Family}


STATES = {s.value: s for s in State}


def due_from_row(row: Sequence[Any], read: dict[str, datetime]) -> DueComplaint:
    """A row of ``DUE_COLUMNS``, as plainly as it can be read (a thousand a
    sweep).  The clock mostly starts when the complaint was filed, and the
    bookmarks of a batch come from a few earlier sweeps: such an instant is
    read once, from the row's own filing time or from ``read`` (the
    batch's bookmarks so far), not parsed again."""
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
    created = parse_utc(created_at)
    swept: datetime | None = None
    if swept_until == created_at:
        swept = created
    elif swept_until:
        swept = read.get(swept_until)
        if swept is None:
            swept = read[swept_until] = parse_utc(swept_until)
    return DueComplaint(
        id_,
        category,
        FAMILIES[family],
        ward,
        STATES[state],
        owner,
        bool(concerns_leadership),
        created,
        parse_utc(due_at),
        (created if clock_start == created_at else parse_utc(clock_start)) if clock_start else None,
        parse_utc(ack_due_at) if ack_due_at else None,
        parse_utc(resolved_at) if resolved_at else None,
        parse_utc(paused_since) if paused_since else None,
        swept,
        escalation_level,
        reporter,
        parse_utc(follower_confirmed_at) if follower_confirmed_at else None,
        asked_by,
    )
