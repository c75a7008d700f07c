"""The outbox: rows due, each part marked the moment the platform accepts
it, failures retried or given up; and the messages that carry buttons."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot.ports import (
    Account,
    ButtonMessage,
    Notice,
    OutboxItem,
)
from storage.outbox_sql import capped, hold_later
from storage.sqlite.accounts import ACCOUNT_ORDER, people_by_id
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.rows import maybe_time

# A pass capped per person looks this many times its batch ahead for others.
LOOK_AHEAD = 10

_DUE = (
    "SELECT o.*, COALESCE(o.person_id, b.person_id) AS recipient_id,"
    " a.channel AS to_channel, a.external_id AS to_account FROM outbox o"
    " LEFT JOIN staff_bindings b ON b.staff_id = o.staff_id"
    " JOIN accounts a ON a.rowid = (SELECT x.rowid FROM accounts x"
    " WHERE x.person_id = COALESCE(o.person_id, b.person_id)"
    f" ORDER BY {ACCOUNT_ORDER} LIMIT 1)"
    " WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= ?"
    " AND (? IS NULL OR a.channel = ?)"
    " ORDER BY o.id LIMIT ?"
)


class SqliteOutbox(SqliteBase):
    async def enqueue(self, notices: Sequence[Notice], at: datetime) -> None:
        async with self.db.transaction() as conn:
            await self._insert_notices(conn, notices, at)

    @asynccontextmanager
    async def claim_outbox(
        self, now: datetime, limit: int, channel: str, per_person: int | None = None
    ) -> AsyncIterator[list[OutboxItem]]:
        """The rows due (`due_outbox`): an SQLite file serves one process,
        whose one delivery pass per channel has them to itself."""
        yield await self.due_outbox(now, limit, channel, per_person)

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
        Everything committed is on disk before they are handed out
        (`Database.on_disk`)."""
        params: tuple[Any, ...] = (utc_text(now), channel, channel, limit)
        sql = _DUE
        if per_person is not None:
            sql = capped(_DUE, "?", "?")
            params = (utc_text(now), channel, channel, limit * LOOK_AHEAD, per_person, limit)
        rows = await self._all(sql, params)
        if rows:
            # What is about to be sent must outlive a power cut first.
            await self.db.on_disk()
        people = await people_by_id(self.conn, (r["recipient_id"] for r in rows))
        return [
            OutboxItem(
                id=r["id"],
                kind=r["kind"],
                complaint_id=r["complaint_id"],
                staff_id=r["staff_id"],
                recipient=people.get(r["recipient_id"]),
                payload=json.loads(r["payload"]),
                attempts=r["attempts"],
                account=Account(r["to_channel"], r["to_account"]),
                parts_done=tuple(json.loads(r["parts_done"])),
                failing_since=maybe_time(r["failing_since"]),
            )
            for r in rows
        ]

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?"
                " AND sent_at IS NULL",
                (utc_text(at), item_id),
            )

    async def mark_parts(
        self, item_id: int, parts_done: Sequence[str], at: datetime, *, finished: bool
    ) -> None:
        """The parts of a row Telegram accepted so far, written the moment it
        accepted one (one statement: one trip to the database thread, the
        shortest window for a crash to repeat a message); with the last, the
        row is sent."""
        await self.db.write(
            "UPDATE outbox SET parts_done = ?,"
            " sent_at = CASE WHEN ? THEN ? END,"
            " attempts = attempts + (CASE WHEN ? THEN 1 ELSE 0 END)"
            " WHERE id = ? AND sent_at IS NULL",
            (json.dumps(list(parts_done)), finished, utc_text(at), finished, item_id),
        )

    async def give_up(self, item_id: int, error: str, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, given_up_at = ?"
                " WHERE id = ? AND sent_at IS NULL",
                (error[:500], utc_text(at), item_id),
            )

    async def mark_failed(
        self, item_id: int, error: str, retry_at: datetime, failed_at: datetime | None = None
    ) -> None:
        """A failed attempt: retry at ``retry_at``; ``failed_at`` (a failure
        that counts towards giving up) starts the row's failing time, once."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " failing_since = COALESCE(failing_since, ?)"
                " WHERE id = ? AND sent_at IS NULL",
                (error[:500], utc_text(retry_at), failed_at and utc_text(failed_at), item_id),
            )

    async def hold_later(self, item_id: int, until: datetime) -> None:
        await self.db.write(hold_later("?{}", "MAX"), (utc_text(until), item_id))

    async def outbox_counts(self) -> tuple[int, int]:
        """(pending, sent); rows given up count as neither."""
        row = await self._one(
            "SELECT SUM(sent_at IS NULL AND given_up_at IS NULL), SUM(sent_at IS NOT NULL)"
            " FROM outbox"
        )
        assert row is not None
        return int(row[0] or 0), int(row[1] or 0)

    async def remember_buttons(
        self, complaint_id: int, person_id: int, chat_id: str, message_id: str, at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO button_messages (complaint_id, person_id, chat_id, message_id,"
                " sent_at) VALUES (?, ?, ?, ?, ?)",
                (complaint_id, person_id, chat_id, message_id, utc_text(at)),
            )

    async def open_button_messages(
        self, complaint_id: int, person_id: int | None = None
    ) -> list[ButtonMessage]:
        sql = "SELECT * FROM button_messages WHERE complaint_id = ? AND cleared_at IS NULL"
        params: list[Any] = [complaint_id]
        if person_id is not None:
            sql += " AND person_id = ?"
            params.append(person_id)
        rows = await self._all(sql + " ORDER BY id", params)
        return [ButtonMessage(r["id"], r["chat_id"], r["message_id"]) for r in rows]

    async def clear_button_message(self, button_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE button_messages SET cleared_at = ? WHERE id = ?", (utc_text(at), button_id)
            )
