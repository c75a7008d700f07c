"""The outbox: rows due, each part marked the moment the platform accepts
it, failures retried or given up; and the messages that carry buttons.

Several bot processes deliver the one outbox side by side.  A delivery pass
(bot/app/outbox.py) *claims* its rows: in one transaction on a connection
of the lock pool it takes, person by person, a transaction-level advisory
lock on the recipient (``pg_try_advisory_xact_lock``: a person another
process is sending to is skipped, never waited for), then reads the rows of
the people it got — in a statement of its own, so it sees every mark the
previous holder wrote before letting go — and holds the locks until the
pass is over.  So no two processes send to one person at once: no row goes
out twice, and each person's rows keep their order.  A lock on the person
rather than ``FOR UPDATE SKIP LOCKED`` on the rows: a row lock would also
make the marks (written at once, on other connections) wait for it, and
would let another process send a person's later row past an earlier one.

A process that dies mid-send drops its connection and with it its locks:
the rows it had not marked are due at once for the others (the next flush,
or the next sweep at the latest).  The part the platform had accepted but
whose mark was not written yet is sent once more — at most one part per
row being sent, `PARALLEL_RECIPIENTS` rows per channel (bot/app/outbox.py),
the window a single process already has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot.ports import Account, ButtonMessage, Notice, OutboxItem
from storage.outbox_sql import capped, hold_later
from storage.postgres.accounts import ACCOUNT_ORDER, people_by_id
from storage.postgres.base import PostgresBase
from storage.postgres.db import Conn, instant, maybe_instant

# The first key of a recipient's lock, under this prefix and the channel
# (the second is the person's id): two channels' passes never wait for each other.
CLAIM_PREFIX = "outbox:"
# A pass looks this many times its batch ahead for people nobody is sending to
# (and, capped per person, for more people than one long queue's).
LOOK_AHEAD = 10

_DUE = (
    "SELECT o.id, o.kind, o.complaint_id, o.staff_id, o.payload, o.attempts,"
    " o.parts_done, o.failing_since, a.person_id AS recipient_id,"
    " a.channel AS to_channel, a.external_id AS to_account FROM outbox o"
    " LEFT JOIN staff_bindings b ON b.staff_id = o.staff_id"
    " CROSS JOIN LATERAL (SELECT x.person_id, x.channel, x.external_id"
    " FROM accounts x WHERE x.person_id = COALESCE(o.person_id, b.person_id)"
    f" ORDER BY {ACCOUNT_ORDER} LIMIT 1) a"
    " WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= $1"
    " AND ($2::text IS NULL OR a.channel = $2)"
    " AND ($4::bigint[] IS NULL OR a.person_id = ANY($4::bigint[]))"
    " ORDER BY o.id LIMIT $3"
)

# The same, then at most $5 rows per recipient among them, then $6: $3 is the look-ahead.
_DUE_CAPPED = capped(_DUE, "$5", "$6")


class PostgresOutbox(PostgresBase):
    async def enqueue(self, notices: Sequence[Notice], at: datetime) -> None:
        async with self.db.transaction() as conn:
            await self._insert_notices(conn, notices, at)

    async def due_outbox(
        self,
        now: datetime,
        limit: int,
        channel: str | None = None,
        per_person: int | None = None,
    ) -> list[OutboxItem]:
        """Pending rows whose time has come, oldest first, each with its
        recipient (a staff member's bound person, if any) and the account to
        send to: the one the recipient used last among those the channel can
        reach (their latest one when none can).  With ``channel``, only the
        rows whose account is on it; a recipient with no account at all
        waits.  With ``per_person``, at most that many of one recipient's
        (their oldest), looked for among the oldest `LOOK_AHEAD` batches.
        Two reads: the rows with their accounts, then the people."""
        async with self.db.pool.acquire() as conn:
            return await _due(conn, now, limit, channel, None, per_person)

    @asynccontextmanager
    async def claim_outbox(
        self, now: datetime, limit: int, channel: str, per_person: int | None = None
    ) -> AsyncIterator[list[OutboxItem]]:
        """The rows due (as `due_outbox`) of the people this process got the
        lock of, held until the block ends (see the module's docstring)."""
        async with self.db.locks.acquire() as conn, conn.transaction():
            ahead = await conn.fetch(_DUE, instant(now), channel, limit * LOOK_AHEAD, None)
            recipients = [r["recipient_id"] for r in ahead]
            people = await _lock_people(conn, channel, recipients, limit, per_person)
            yield await _due(conn, now, limit, channel, people, per_person) if people else []

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self.db.execute(
            "UPDATE outbox SET sent_at = $1, attempts = attempts + 1"
            " WHERE id = $2 AND sent_at IS NULL",
            instant(at),
            item_id,
        )

    async def mark_parts(
        self, item_id: int, parts_done: Sequence[str], at: datetime, *, finished: bool
    ) -> None:
        """The parts of a row the platform accepted so far, written the
        moment it accepted one (one statement); with the last, the row is sent."""
        await self.db.execute(
            "UPDATE outbox SET parts_done = $1,"
            " sent_at = CASE WHEN $2::boolean THEN $3::timestamptz END,"
            " attempts = attempts + (CASE WHEN $2::boolean THEN 1 ELSE 0 END)"
            " WHERE id = $4 AND sent_at IS NULL",
            list(parts_done),
            finished,
            instant(at),
            item_id,
        )

    async def give_up(self, item_id: int, error: str, at: datetime) -> None:
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, given_up_at = $2"
            " WHERE id = $3 AND sent_at IS NULL",
            error[:500],
            instant(at),
            item_id,
        )

    async def mark_failed(
        self, item_id: int, error: str, retry_at: datetime, failed_at: datetime | None = None
    ) -> None:
        """A failed attempt: retry at ``retry_at``; ``failed_at`` (a failure
        that counts towards giving up) starts the row's failing time, once."""
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,"
            " failing_since = COALESCE(failing_since, $3::timestamptz)"
            " WHERE id = $4 AND sent_at IS NULL",
            error[:500],
            instant(retry_at),
            maybe_instant(failed_at),
            item_id,
        )

    async def hold_later(self, item_id: int, until: datetime) -> None:
        await self.db.execute(hold_later("${}", "GREATEST"), instant(until), item_id)

    async def outbox_counts(self) -> tuple[int, int]:
        """(pending, sent); rows given up count as neither."""
        row = await self._one(
            "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND given_up_at IS NULL),"
            " COUNT(*) FILTER (WHERE sent_at IS NOT NULL) FROM outbox"
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def remember_buttons(
        self, complaint_id: int, person_id: int, chat_id: str, message_id: str, at: datetime
    ) -> None:
        await self.db.execute(
            "INSERT INTO button_messages (complaint_id, person_id, chat_id, message_id,"
            " sent_at) VALUES ($1, $2, $3, $4, $5)",
            complaint_id,
            person_id,
            chat_id,
            message_id,
            instant(at),
        )

    async def open_button_messages(
        self, complaint_id: int, person_id: int | None = None
    ) -> list[ButtonMessage]:
        sql = "SELECT * FROM button_messages WHERE complaint_id = $1 AND cleared_at IS NULL"
        params: list[Any] = [complaint_id]
        if person_id is not None:
            sql += " AND person_id = $2"
            params.append(person_id)
        rows = await self._all(sql + " ORDER BY id", *params)
        return [ButtonMessage(r["id"], r["chat_id"], r["message_id"]) for r in rows]

    async def clear_button_message(self, button_id: int, at: datetime) -> None:
        await self.db.execute(
            "UPDATE button_messages SET cleared_at = $1 WHERE id = $2", instant(at), button_id
        )


async def _due(
    conn: Conn,
    now: datetime,
    limit: int,
    channel: str | None,
    people: list[int] | None = None,
    per_person: int | None = None,
) -> list[OutboxItem]:
    if per_person is None:
        rows = await conn.fetch(_DUE, instant(now), channel, limit, people)
    else:
        ahead = limit * LOOK_AHEAD
        rows = await conn.fetch(
            _DUE_CAPPED, instant(now), channel, ahead, people, per_person, limit
        )
    found = await people_by_id(conn, (r["recipient_id"] for r in rows))
    return [
        OutboxItem(
            id=r["id"],
            kind=r["kind"],
            complaint_id=r["complaint_id"],
            staff_id=r["staff_id"],
            recipient=found.get(r["recipient_id"]),
            payload=r["payload"],
            attempts=r["attempts"],
            account=Account(r["to_channel"], r["to_account"]),
            parts_done=tuple(r["parts_done"]),
            failing_since=r["failing_since"],
        )
        for r in rows
    ]


async def _lock_people(
    conn: Conn, channel: str, recipients: list[int], limit: int, per_person: int | None = None
) -> list[int]:
    """The recipients (one per due row, in the rows' order) whose lock this
    transaction got, taken in order until their rows (at most ``per_person``
    each) fill ``limit``: a person another process holds is passed over for
    the next ones."""
    rows: dict[int, int] = {}
    for person in recipients:
        rows[person] = rows.get(person, 0) + 1
    if per_person is not None:
        rows = {person: min(n, per_person) for person, n in rows.items()}
    waiting = list(rows.items())
    locked: list[int] = []
    taken = 0
    while waiting and taken < limit:
        chunk: list[int] = []
        room = limit - taken
        while waiting and room > 0:
            person, count = waiting.pop(0)
            chunk.append(person)
            room -= count
        got = await conn.fetch(
            "SELECT p FROM unnest($2::bigint[]) AS p"
            " WHERE pg_try_advisory_xact_lock(hashtext($1), (p % 2147483647)::int)",
            CLAIM_PREFIX + channel,
            chunk,
        )
        for row in got:
            locked.append(int(row[0]))
            taken += rows[int(row[0])]
    return locked
