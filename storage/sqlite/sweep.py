"""The sweep's reads and writes (the due complaints, a batch at a time),
things done once (by key), and the small key-value store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.complaints import Event
from bot.ports import (
    DueComplaint,
    Notice,
    SweepWrites,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.rows import (
    DUE_COLUMNS,
    INSERT_EVENT,
    columns_sql,
    due_from_row,
    event_values,
    sql_value,
)


class SqliteSweep(SqliteBase):
    async def sweep(
        self,
        now: datetime,
        limit: int,
        decide: Callable[[Sequence[DueComplaint]], SweepWrites],
        claimed: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Read the complaints due, let ``decide`` say what happens, write it
        — all in one transaction, so no handler's change slips in between.

        The batch is read in one statement, and written in one per shape of
        change (most are the bookmark and the next look alone), not one per
        complaint.

        ``claimed`` is never called: the file has one writer, so the next
        batch could only queue for it, ahead of the handlers that come
        meanwhile, and the sweep takes one batch after the other."""
        async with self.db.transaction() as conn:
            async with conn.execute(DUE_COLUMNS, (utc_text(now), limit)) as cur:
                cur.row_factory = None  # plain tuples: no name lookups needed here
                rows = list(await cur.fetchall())
            if not rows:
                return 0, 0
            read: dict[str, datetime] = {}
            writes = decide([due_from_row(row, read) for row in rows])
            shapes: dict[tuple[str, bool], list[list[Any]]] = {}
            events: list[Event] = []
            texts: dict[datetime, str] = {}
            for update in writes.updates:
                fields = update.fields
                values = [sql_value(name, value, texts) for name, value in fields.items()]
                values.append(update.complaint_id)
                shape = (columns_sql(tuple(fields)), update.bump_version)
                shapes.setdefault(shape, []).append(values)
                if update.event is not None:
                    events.append(update.event)
            for (columns, bump), params in shapes.items():
                version = ", version = version + 1" if bump else ""
                await conn.executemany(
                    f"UPDATE complaints SET {columns}{version} WHERE id = ?", params
                )
            if events:
                await conn.executemany(INSERT_EVENT, [event_values(e) for e in events])
            if writes.notices:
                await self._insert_notices(conn, writes.notices, now)
        return len(rows), len(writes.notices)

    async def record_once(
        self, key: str, value: str, notices: Sequence[Notice], at: datetime
    ) -> bool:
        """Queue ``notices`` unless ``key`` already holds ``value`` (e.g. the
        morning briefing of a given day), atomically."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == value:
                return False
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            await self._insert_notices(conn, notices, at)
        return True

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
