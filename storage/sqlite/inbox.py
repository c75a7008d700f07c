"""The inbox: an update a channel delivered is stored (and committed) before
the platform is answered 200, and deleted once handled, so a crash in
between loses nothing (see handlers/telegram/webhook.py, bot/app/inbox.py
and migration 0007).  Each row names its chat (migration 0015): a chat's
rows are handled in the order they were stored.

An SQLite file serves one bot process (`phananh run` refuses a second:
storage/sqlite/db.py), so a chat's turn is always this process's: the one
worker of the process (bot/app/inbox.py) already works on a chat one update
at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.ports import StoredUpdate
from storage.sqlite.db import Database, parse_utc, utc_text

# Chats worked on at once: the one connection serialises the writes anyway.
TURNS = 32


class WebhookInbox:
    turns = TURNS

    def __init__(self, db: Database, channel: str = "telegram") -> None:
        self.db = db
        self.channel = channel

    async def put(self, update_id: str, payload: str, at: datetime, chat: str = "") -> bool:
        """Store an update; False when it is stored already (the platform
        sent it again before hearing our answer)."""
        rows = await self.db.write_returning(
            "INSERT INTO webhook_updates (channel, update_id, payload, received_at, chat)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, update_id) DO NOTHING"
            " RETURNING update_id",
            (self.channel, update_id, payload, utc_text(at), chat),
        )
        return bool(rows)

    async def backlog(self) -> list[tuple[str, str]]:
        """Every stored update, in the order it came (the ids are the
        channel's strings, which need not sort)."""
        rows = await self.db.conn.execute_fetchall(
            "SELECT update_id, payload FROM webhook_updates WHERE channel = ? ORDER BY rowid",
            (self.channel,),
        )
        return [(str(row[0]), str(row[1])) for row in rows]

    async def waiting_chats(self) -> list[str]:
        rows = await self.db.conn.execute_fetchall(
            "SELECT chat FROM webhook_updates WHERE channel = ? GROUP BY chat ORDER BY MIN(rowid)",
            (self.channel,),
        )
        return [str(row[0]) for row in rows]

    async def next_of(self, chat: str) -> StoredUpdate | None:
        rows = await self.db.conn.execute_fetchall(
            "SELECT update_id, payload, received_at FROM webhook_updates"
            " WHERE channel = ? AND chat = ? ORDER BY rowid LIMIT 1",
            (self.channel, chat),
        )
        for update_id, payload, received_at in rows:
            return StoredUpdate(str(update_id), str(payload), parse_utc(received_at))
        return None

    @asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[bool]:
        """Always this process's (see the module's docstring)."""
        yield True

    async def done(self, update_id: str) -> None:
        await self.db.write(
            "DELETE FROM webhook_updates WHERE channel = ? AND update_id = ?",
            (self.channel, update_id),
        )
