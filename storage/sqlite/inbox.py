"""The webhook's inbox: an update Telegram delivered is stored (and
committed) before Telegram is answered 200, and deleted once handled, so a
crash in between loses nothing (see handlers/telegram/webhook.py and migration 0007)."""

from __future__ import annotations

from datetime import datetime

from storage.sqlite.db import Database, utc_text


class WebhookInbox:
    def __init__(self, db: Database, channel: str = "telegram") -> None:
        self.db = db
        self.channel = channel

    async def put(self, update_id: str, payload: str, at: datetime) -> bool:
        """Store an update; False when it is stored already (Telegram sent
        it again before hearing our answer)."""
        rows = await self.db.write_returning(
            "INSERT INTO webhook_updates (channel, update_id, payload, received_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (channel, update_id) DO NOTHING"
            " RETURNING update_id",
            (self.channel, update_id, payload, utc_text(at)),
        )
        return bool(rows)

    async def backlog(self) -> list[tuple[str, str]]:
        """What a crash left stored but not handled, in the order it came
        (the ids are the channel's strings, which need not sort)."""
        rows = await self.db.conn.execute_fetchall(
            "SELECT update_id, payload FROM webhook_updates WHERE channel = ? ORDER BY rowid",
            (self.channel,),
        )
        return [(str(row[0]), str(row[1])) for row in rows]

    async def done(self, update_id: str) -> None:
        await self.db.write(
            "DELETE FROM webhook_updates WHERE channel = ? AND update_id = ?",
            (self.channel, update_id),
        )
