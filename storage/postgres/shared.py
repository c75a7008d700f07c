"""Secrets every bot process on the database must agree on, when the
configuration names none: drawn at random by the first process that needs
one and kept in ``meta``, where the others find it.

Behind a load balancer, Telegram posts an update to any of the processes
with the secret token the last ``setWebhook`` gave it, and a photo's link
made by one process is opened through another: a secret drawn by each
process at its start (as one process on SQLite does) would have every other
process refuse them.  Whoever can read the database can read the rows these
secrets guard anyway; ``PHANANH_WEBHOOK_SECRET`` and ``PHANANH_MEDIA_SECRET``,
when set, are used instead and nothing is kept.
"""

from __future__ import annotations

import secrets

from storage.postgres.db import Database


async def shared_secret(db: Database, key: str) -> str:
    """The secret kept under ``key``; one drawn now if there is none yet (of
    two processes drawing at once, the first to write it wins for both)."""
    async with db.durable_transaction() as conn:  # given to a platform, shared by processes
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            key,
            secrets.token_urlsafe(32),
        )
    value: str = await db.fetchval("SELECT value FROM meta WHERE key = $1", key)
    return value
