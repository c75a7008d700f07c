"""The sweep's reads and writes (the due complaints, a batch at a time),
things done once (by key), and the small key-value store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.domain.complaints import Event
from bot.ports import DueComplaint, Notice, SweepWrites
from storage.postgres.base import PostgresBase
from storage.postgres.db import Conn, instant
from storage.postgres.rows import (
    DUE_COLUMNS,
    INSERT_EVENT,
    batch_update_sql,
    due_from_row,
    event_values,
    sql_value,
)


class PostgresSweep(PostgresBase):
    # Done once the batch claimed last has written its events and notices.
    _last_claimed: asyncio.Future[None] | None = None

    async def sweep(
        self,
        now: datetime,
        limit: int,
        decide: Callable[[Sequence[DueComplaint]], SweepWrites],
        claimed: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Claim the complaints due (row locks, skipping those another
        transaction holds), let ``decide`` say what happens, write it — all
        in one transaction, so no handler's change slips in between: a
        cadre's button on a claimed complaint waits for the sweep's commit,
        then finds the version it read (or not, if the sweep moved it).
        Writes go in one statement per shape of change (most are the
        bookmark and the next look alone), each over the whole batch: one
        ``UPDATE … FROM unnest(arrays)``, a single round trip and a single
        plan, not a statement per complaint.

        Once its rows are locked, ``claimed`` is told: the sweep may start
        the next batch meanwhile (bot/app/sweep.py), whose claim skips
        them.  The batches' events and notices are still written one batch
        after the other, in the order they were claimed, so their ids (the
        outbox sends in that order) come as they would one batch at a time."""
        async with self.db.transaction() as conn:
            rows = await conn.fetch(DUE_COLUMNS, instant(now), limit)
            if not rows:
                return 0, 0
            before, mine = self._last_claimed, asyncio.get_running_loop().create_future()
            self._last_claimed = mine
            try:
                if claimed is not None:
                    claimed(len(rows))
                notices = await self._decide_and_write(conn, now, rows, decide, before)
            finally:
                if not mine.done():
                    mine.set_result(None)
        return len(rows), notices

    async def _decide_and_write(
        self,
        conn: Conn,
        now: datetime,
        rows: Sequence[asyncpg.Record],
        decide: Callable[[Sequence[DueComplaint]], SweepWrites],
        before: asyncio.Future[None] | None,
    ) -> int:
        """`sweep` once its rows are held: the complaints' changes, then,
        after those of the batch claimed ``before`` it, its events and
        notices; how many notices."""
        writes = decide([due_from_row(row) for row in rows])
        shapes: dict[tuple[tuple[str, ...], bool], list[list[Any]]] = {}
        events: list[Event] = []
        instants: dict[datetime, datetime] = {}
        for update in writes.updates:
            fields = update.fields
            shape = (tuple(fields), update.bump_version)
            columns = shapes.get(shape)
            if columns is None:
                columns = shapes[shape] = [[] for _ in range(len(fields) + 1)]
            columns[0].append(update.complaint_id)
            for column, (name, value) in zip(columns[1:], fields.items(), strict=True):
                column.append(sql_value(name, value, instants))
            if update.event is not None:
                events.append(update.event)
        for (names, bump), columns in shapes.items():
            await conn.execute(batch_update_sql(names, bump), *columns)
        if before is not None and not before.done():
            await asyncio.wait((before,))  # (which never cancels it)
        if events:
            await conn.executemany(INSERT_EVENT, [event_values(e) for e in events])
        if writes.notices:
            await self._insert_notices(conn, writes.notices, now)
        return len(writes.notices)

    async def record_once(
        self, key: str, value: str, notices: Sequence[Notice], at: datetime
    ) -> bool:
        """Queue ``notices`` unless ``key`` already holds ``value`` (e.g. the
        morning briefing of a given day), atomically: the key's row is
        written (and locked) only when its value changes, so of two
        processes at the same moment one queues and the other finds it done."""
        async with self.db.transaction() as conn:
            changed = await conn.fetchval(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value WHERE meta.value <> excluded.value"
                " RETURNING 1",
                key,
                value,
            )
            if changed is None:
                return False
            await self._insert_notices(conn, notices, at)
        return True

    async def get_meta(self, key: str) -> str | None:
        value: str | None = await self.db.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return value

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )
