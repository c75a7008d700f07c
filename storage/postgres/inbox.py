"""The inbox on PostgreSQL: an update is stored (committed) before the
platform is answered 200, and deleted once handled (see
storage/sqlite/inbox.py, bot/app/inbox.py and handlers/telegram/webhook.py).

Several bot processes share it.  Behind a load balancer the updates of one
chat reach any of them, and each must be handled once, in the order they
came.  Of the two ways — a per-chat sequence number written into each row
and a consumer that waits for the gaps, or a per-chat lock held while a
chat's stored updates are handled — the lock is the one that needs no
waiting for an update that may never come: the process holding a chat's
*turn* (`pg_try_advisory_xact_lock` on the channel and the chat, held by a
transaction on a connection of the lock pool) handles the chat's stored
rows one by one, oldest first (``ordinal``, the order they were stored), and
deletes each once handled; a process that finds the turn taken leaves the
chat to its holder, who looks once more after letting it go (the worker
does: bot/app/inbox.py), so a row stored meanwhile is never left behind.

The order is the order of storing, which is the platform's order for all
but updates of one chat sent at the same instant to two processes.  The
processed-update ledger (updates.py) still keeps an update handled once
when it is delivered again after it was handled and deleted; with the
turn, two processes can never claim the same update at the same time.
A process that dies drops its connections: the server releases its turns
at once, and the rows it had not finished are handled by the next process
that takes the chat's turn (at its next sweep at the latest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from bot.ports import StoredUpdate
from storage.errors import DatabaseUnusable
from storage.postgres.db import DURABLE_COMMIT, Database, instant, unusable

# The first key of a chat's turn is the channel's, under this prefix (the
# second is the chat's): other two-key advisory locks use other prefixes.
TURN_PREFIX = "chat:"


class PostgresInbox:
    def __init__(self, db: Database, channel: str = "telegram") -> None:
        self.db = db
        self.channel = channel

    @property
    def turns(self) -> int:
        return self.db.TURNS

    async def put(self, update_id: str, payload: str, at: datetime, chat: str = "") -> bool:
        """Store an update; False when it is stored already.  A server that
        cannot take it raises `DatabaseUnusable` (the platform is answered
        500 and sends it again)."""
        try:
            # The platform is told it was received: durable as the server is configured.
            async with self.db.transaction() as conn:
                await conn.execute(DURABLE_COMMIT)
                stored = await conn.fetchval(
                    "INSERT INTO webhook_updates (channel, update_id, payload, received_at, chat)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, update_id) DO NOTHING"
                    " RETURNING update_id",
                    self.channel,
                    update_id,
                    payload,
                    instant(at),
                    chat,
                )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _failed(self.db, exc) from None
        return stored is not None

    async def backlog(self) -> list[tuple[str, str]]:
        """Every stored update, in the order it came (the ids are the
        channel's strings, which need not sort: the ``ordinal`` each row got
        as it was stored)."""
        rows = await self.db.fetch(
            "SELECT update_id, payload FROM webhook_updates WHERE channel = $1 ORDER BY ordinal",
            self.channel,
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def waiting_chats(self) -> list[str]:
        rows = await self.db.fetch(
            "SELECT chat FROM webhook_updates WHERE channel = $1"
            " GROUP BY chat ORDER BY MIN(ordinal)",
            self.channel,
        )
        return [str(r[0]) for r in rows]

    async def next_of(self, chat: str) -> StoredUpdate | None:
        row = await self.db.fetchrow(
            "SELECT update_id, payload, received_at FROM webhook_updates"
            " WHERE channel = $1 AND chat = $2 ORDER BY ordinal LIMIT 1",
            self.channel,
            chat,
        )
        return None if row is None else StoredUpdate(str(row[0]), str(row[1]), row[2])

    @asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[bool]:
        """The chat's turn for the block, or False at once when another
        process holds it (never waits: the holder looks again after it)."""
        async with self.db.locks.acquire() as conn, conn.transaction():
            mine = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2))",
                TURN_PREFIX + self.channel,
                chat,
            )
            yield bool(mine)

    async def done(self, update_id: str) -> None:
        await self.db.execute(
            "DELETE FROM webhook_updates WHERE channel = $1 AND update_id = $2",
            self.channel,
            update_id,
        )


def _failed(db: Database, error: BaseException) -> DatabaseUnusable:
    return unusable(db.url, error)
