"""The outbox: rows due, each part marked the moment the platform accepts
it, failures retried or given up; and the messages that carry buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.ports import Account, ButtonMessage, Notice, OutboxItem
from storage.postgres.accounts import ACCOUNT_ORDER, people_by_id
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant, maybe_instant


class PostgresOutbox(PostgresBase):
    async def enqueue(self, notices: Sequence[Notice], at: datetime) -> None:
        async with self.db.transaction() as conn:
            await self._insert_notices(conn, notices, at)

    async def due_outbox(
        self, now: datetime, limit: int, channel: str | None = None
    ) -> list[OutboxItem]:
        """Pending rows whose time has come, oldest first, each with its
        recipient (a staff member's bound person, if any) and the account to
        send to: the one the recipient used last among those the channel can
        reach (their latest one when none can).  With ``channel``, only the
        rows whose account is on it; a recipient with no account at all
        waits.  Two reads: the rows with their accounts, then the people."""
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT o.id, o.kind, o.complaint_id, o.staff_id, o.payload, o.attempts,"
                " o.parts_done, o.failing_since, a.person_id AS recipient_id,"
                " a.channel AS to_channel, a.external_id AS to_account FROM outbox o"
                " LEFT JOIN staff_bindings b ON b.staff_id = o.staff_id"
                " CROSS JOIN LATERAL (SELECT x.person_id, x.channel, x.external_id"
                " FROM accounts x WHERE x.person_id = COALESCE(o.person_id, b.person_id)"
                f" ORDER BY {ACCOUNT_ORDER} LIMIT 1) a"
                " WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= $1"
                " AND ($2::text IS NULL OR a.channel = $2)"
                " ORDER BY o.id LIMIT $3",
                instant(now),
                channel,
                limit,
            )
            people = await people_by_id(conn, (r["recipient_id"] for r in rows))
        return [
            OutboxItem(
                id=r["id"],
                kind=r["kind"],
                complaint_id=r["complaint_id"],
                staff_id=r["staff_id"],
                recipient=people.get(r["recipient_id"]),
                payload=r["payload"],
                attempts=r["attempts"],
                account=Account(r["to_channel"], r["to_account"]),
                parts_done=tuple(r["parts_done"]),
                failing_since=r["failing_since"],
            )
            for r in rows
        ]

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
