"""The webhook's inbox on PostgreSQL: an update is stored (committed)
before the platform is answered 200, and deleted once handled (see
storage/sqlite/inbox.py and handlers/telegram/webhook.py)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from storage.errors import DatabaseUnusable
from storage.postgres.db import Database, instant, unusable


class PostgresInbox:
    def __init__(self, db: Database, channel: str = "telegram") -> None:
        self.db = db
        self.channel = channel

    async def put(self, update_id: str, payload: str, at: datetime) -> bool:
        """Store an update; False when it is stored already.  A server that
        cannot take it raises `DatabaseUnusable` (the platform is answered
        500 and sends it again)."""
        try:
            stored = await self.db.fetchval(
                "INSERT INTO webhook_updates (channel, update_id, payload, received_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (channel, update_id) DO NOTHING"
                " RETURNING update_id",
                self.channel,
                update_id,
                payload,
                instant(at),
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _failed(self.db, exc) from None
        return stored is not None

    async def backlog(self) -> list[tuple[str, str]]:
        """What a crash left stored but not handled, in the order it came
        (the ids are the channel's strings, which need not sort: the
        ``ordinal`` each row got as it was stored)."""
        rows = await self.db.fetch(
            "SELECT update_id, payload FROM webhook_updates WHERE channel = $1 ORDER BY ordinal",
            self.channel,
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def done(self, update_id: str) -> None:
        await self.db.execute(
            "DELETE FROM webhook_updates WHERE channel = $1 AND update_id = $2",
            self.channel,
            update_id,
        )


def _failed(db: Database, error: BaseException) -> DatabaseUnusable:
    return unusable(db.url, error)
