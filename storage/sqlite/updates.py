"""Updates a channel delivered: claimed when handling starts, finished at
the end, so one is never handled twice and one cut off is handled again."""

from __future__ import annotations

from datetime import datetime

from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text


class SqliteUpdates(SqliteBase):
    async def claim_update(self, channel: str, update_id: str, at: datetime) -> bool:
        """True if this update should be processed: never seen, or seen but
        cut off before it was done."""
        # One statement: a new update is inserted, one cut off before it was
        # done is "updated" to itself; both come back through RETURNING.  A
        # done one matches the WHERE of neither and returns nothing.
        rows = await self.db.write_returning(
            "INSERT INTO processed_updates (channel, update_id, claimed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO UPDATE SET claimed_at = claimed_at"
            " WHERE done_at IS NULL RETURNING update_id",
            (channel, update_id, utc_text(at)),
        )
        return bool(rows)

    async def finish_update(self, channel: str, update_id: str, at: datetime) -> None:
        await self.db.write(
            "UPDATE processed_updates SET done_at = ? WHERE channel = ? AND update_id = ?",
            (utc_text(at), channel, update_id),
        )

    async def prune_updates(self, before: datetime) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM processed_updates WHERE claimed_at < ?", (utc_text(before),)
            )
            return cur.rowcount
