"""Updates a channel delivered: claimed when handling starts, finished at
the end, so one is never handled twice and one cut off is handled again."""

from __future__ import annotations

from datetime import datetime

from storage.postgres.base import PostgresBase
from storage.postgres.db import instant


class PostgresUpdates(PostgresBase):
    async def claim_update(self, channel: str, update_id: str, at: datetime) -> bool:
        """True if this update should be processed: never seen, or seen but
        cut off before it was done (one statement, as on SQLite)."""
        claimed = await self.db.fetchval(
            "INSERT INTO processed_updates (channel, update_id, claimed_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (channel, update_id) DO UPDATE"
            " SET claimed_at = processed_updates.claimed_at"
            " WHERE processed_updates.done_at IS NULL RETURNING update_id",
            channel,
            update_id,
            instant(at),
        )
        return claimed is not None

    async def finish_update(self, channel: str, update_id: str, at: datetime) -> None:
        await self.db.execute(
            "UPDATE processed_updates SET done_at = $1 WHERE channel = $2 AND update_id = $3",
            instant(at),
            channel,
            update_id,
        )

    async def prune_updates(self, before: datetime) -> int:
        return await self.db.execute(
            "DELETE FROM processed_updates WHERE claimed_at < $1", instant(before)
        )
