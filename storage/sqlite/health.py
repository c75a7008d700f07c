"""The health checks' and the metrics' reads on SQLite: one aggregate each,
on the indexes the outbox and the complaints already have."""

from __future__ import annotations

from datetime import datetime

from bot.domain.complaints import OPEN_STATES
from bot.ports import OutboxBacklog, WardLoad
from storage.health import LIVE_STATES, ward_loads
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text

_OPEN = tuple(s.value for s in OPEN_STATES)


class SqliteHealth(SqliteBase):
    async def ping(self) -> None:
        await self._one("SELECT 1")

    async def outbox_backlog(self, now: datetime) -> OutboxBacklog:
        # The partial index outbox_pending holds exactly these rows.
        row = await self._one(
            "SELECT COUNT(*), COALESCE(SUM(next_attempt_at <= ?1), 0),"
            " MIN(CASE WHEN next_attempt_at <= ?1 THEN created_at END)"
            " FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL",
            [utc_text(now)],
        )
        assert row is not None
        oldest = row[2]
        return OutboxBacklog(int(row[0]), int(row[1]), parse_utc(oldest) if oldest else None)

    async def ward_load(self, now: datetime) -> list[WardLoad]:
        # Overdue as the digest counts it: past the deadline, the clock
        # standing still while the complaint waits for the resident.
        live = ",".join("?" * len(LIVE_STATES))
        opened = ",".join("?" * len(_OPEN))
        rows = await self._all(
            f"SELECT ward, state, COUNT(*), SUM(state IN ({opened}) AND due_at < ?"
            " AND (paused_since IS NULL OR paused_since > due_at))"
            f" FROM complaints WHERE state IN ({live}) GROUP BY ward, state",
            [*_OPEN, utc_text(now), *LIVE_STATES],
        )
        return ward_loads((r[0], r[1], r[2], r[3]) for r in rows)
