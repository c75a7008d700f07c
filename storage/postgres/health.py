"""The health checks' and the metrics' reads on PostgreSQL: one aggregate
each, on the indexes the outbox and the complaints already have."""

from __future__ import annotations

from datetime import datetime

from bot.ports import OutboxBacklog, WardLoad
from storage.health import LIVE_STATES, ward_loads
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant
from storage.postgres.rows import OPEN_STATES


class PostgresHealth(PostgresBase):
    async def ping(self) -> None:
        await self._one("SELECT 1")

    async def outbox_backlog(self, now: datetime) -> OutboxBacklog:
        # The partial index outbox_pending holds exactly these rows.
        row = await self._one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE next_attempt_at <= $1),"
            " MIN(created_at) FILTER (WHERE next_attempt_at <= $1)"
            " FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL",
            instant(now),
        )
        assert row is not None
        return OutboxBacklog(int(row[0]), int(row[1]), row[2])

    async def ward_load(self, now: datetime) -> list[WardLoad]:
        # Overdue as the digest counts it: past the deadline, the clock
        # standing still while the complaint waits for the resident.
        rows = await self._all(
            "SELECT ward, state, COUNT(*), COUNT(*) FILTER (WHERE state = ANY($1::text[])"
            " AND due_at < $2 AND (paused_since IS NULL OR paused_since > due_at))"
            " FROM complaints WHERE state = ANY($3::text[]) GROUP BY ward, state",
            OPEN_STATES,
            instant(now),
            list(LIVE_STATES),
        )
        return ward_loads((r[0], r[1], r[2], r[3]) for r in rows)
