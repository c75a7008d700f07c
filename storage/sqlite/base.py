"""What every SQLite repository shares: the database, a read in one round
trip, and the writes several aggregates make inside one transaction (a
complaint's change with its event, photos and outbox rows)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.clock import Clock, SystemClock
from bot.domain.complaints import Complaint, Event, Photo
from bot.ports import (
    Change,
    Notice,
)
from storage.sqlite.db import Database, utc_text
from storage.sqlite.inline import InlineConnection
from storage.sqlite.rows import (
    INSERT_EVENT,
    assignments_sql,
    complaint_from_row,
    event_values,
    insert_notices,
)


class SqliteBase:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        # The project's clock (the one the use cases run on), for the times
        # a write records without being told one: when a person and their
        # accounts were first seen.  Never the database's own clock.
        self.clock: Clock = clock or SystemClock()

    @property
    def conn(self) -> InlineConnection:
        return self.db.conn

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    @property
    def outbox_changes(self) -> int:
        return self.db.outbox_changes

    async def _insert_photos(
        self, conn: InlineConnection, complaint_id: int, photos: Sequence[tuple[str, Photo]]
    ) -> None:
        await conn.executemany(
            "INSERT INTO complaint_photos (complaint_id, kind, media_id, position)"
            " VALUES (?, ?, ?, ?)",
            [(complaint_id, kind, p.media_id, i) for i, (kind, p) in enumerate(photos)],
        )

    async def _insert_event(self, conn: InlineConnection, event: Event) -> None:
        await conn.execute(INSERT_EVENT, event_values(event))

    async def _insert_notices(
        self, conn: InlineConnection, notices: Iterable[Notice], at: datetime
    ) -> None:
        self.db.outbox_changes += await insert_notices(conn, notices, at)

    async def _photos(self, ids: set[int]) -> dict[int, list[tuple[str, Photo]]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._all(
            f"SELECT * FROM complaint_photos WHERE complaint_id IN ({marks})"
            " AND superseded_at IS NULL AND media_id IS NOT NULL ORDER BY id",
            sorted(ids),
        )
        out: dict[int, list[tuple[str, Photo]]] = {}
        for r in rows:
            out.setdefault(r["complaint_id"], []).append((r["kind"], Photo(r["media_id"])))
        return out

    async def _complaints(self, sql: str, params: Sequence[Any]) -> list[Complaint]:
        rows = await self._all(sql, params)
        photos = await self._photos({r["id"] for r in rows})
        return [complaint_from_row(r, photos.get(r["id"], [])) for r in rows]

    async def _write_change(self, conn: InlineConnection, change: Change) -> bool:
        """One complaint's change, its event, photos and notices — inside the
        caller's transaction; False if the complaint changed meanwhile."""
        columns, values = assignments_sql(change.fields)
        cur = await conn.execute(
            f"UPDATE complaints SET {columns}, version = version + 1 WHERE id = ? AND version = ?",
            (*values, change.complaint_id, change.expected_version),
        )
        if cur.rowcount != 1:
            return False
        await self._insert_event(conn, change.event)
        if change.supersede_photos:
            marks = ",".join("?" * len(change.supersede_photos))
            await conn.execute(
                "UPDATE complaint_photos SET superseded_at = ? WHERE complaint_id = ?"
                f" AND kind IN ({marks}) AND superseded_at IS NULL",
                (utc_text(change.event.at), change.complaint_id, *change.supersede_photos),
            )
        await self._insert_photos(conn, change.complaint_id, change.photos)
        await self._insert_notices(conn, change.notices, change.event.at)
        if change.end_conversation_of is not None:
            await conn.execute(
                "DELETE FROM conversations WHERE person_id = ?", (change.end_conversation_of,)
            )
        if change.followers_to is not None:
            await self._move_people(conn, change.complaint_id, change.followers_to, change.event.at)
        return True

    async def _move_people(
        self, conn: InlineConnection, from_id: int, to_id: int, at: datetime
    ) -> None:
        """A duplicate rejected: the reporter and followers of ``from_id``
        follow ``to_id`` (each keeping their choice about their name), but
        those already on it; its followers stop following the rejected one."""
        await conn.execute(
            "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at, show_name,"
            " followed_from) SELECT ?, person_id, 'follower', ?, show_name, ?"
            " FROM complaint_people WHERE complaint_id = ? AND person_id NOT IN"
            " (SELECT person_id FROM complaint_people WHERE complaint_id = ?)",
            (to_id, utc_text(at), from_id, from_id, to_id),
        )
        await conn.execute(
            "DELETE FROM complaint_people WHERE complaint_id = ? AND role = 'follower'",
            (from_id,),
        )
