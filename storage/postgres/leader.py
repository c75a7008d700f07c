"""One process at a time long-polls each messenger: a session-level advisory
lock decides.

A messenger's long poll hands each update to whichever process asks first
(Telegram answers a second poller with 409 Conflict; Zalo's ``getUpdates``
forgets what it handed out), so of several bot processes on one database
only one polls a channel.  It is the one holding ``pg_advisory_lock`` on
the channel's name, on a connection of its own kept open for as long as it
polls; the others wait in ``pg_advisory_lock`` itself (the server wakes the
first of them the moment the lock is free: no polling, no timer).

A process that is killed closes its connection with its socket, and the
server ends its session and releases the lock at once: another process
polls within the time of one round trip and one ``getUpdates``.  A machine
that dies without closing anything is noticed by TCP keepalives on the
lock's connection (`KEEPALIVE`: about 11 seconds).  The leader watches its
own connection too (`CHECK_SECONDS`): a connection that broke means another
process may lead by now, so it stops polling (`Lead.lost`) and waits for
the lock again; a few seconds of two pollers at most, which Telegram
answers with 409 Conflict and long polling waits out (handlers/telegram/polling.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bot.config import PostgresUrl
from storage.postgres.db import connect_arguments

log = logging.getLogger(__name__)

# The first key of a channel's polling lock (the second is the channel's name).
LOCK_PREFIX = "poll:"
CHECK_SECONDS = 5.0  # how often the leader checks that its lock's connection lives
CHECK_TIMEOUT = 5.0  # an answer slower than this: the connection is taken for dead
RETRY_SECONDS = 5.0  # after the database could not be reached
# Per-session TCP keepalives on the lock's connection: a peer that vanished
# is given up after idle + interval × count seconds (the server's side).
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}

Sleep = Callable[[float], Awaitable[None]]


class PostgresLead:
    def __init__(self, conn: asyncpg.Connection, sleep: Sleep, check: float) -> None:
        self._conn = conn
        self._lost = asyncio.Event()
        conn.add_termination_listener(lambda _: self._lost.set())
        self._watch = asyncio.create_task(self._watching(sleep, check))

    @property
    def lost(self) -> asyncio.Event:
        return self._lost

    async def _watching(self, sleep: Sleep, check: float) -> None:
        """The lock's connection, asked now and then whether it lives."""
        while not self._lost.is_set():
            await sleep(check)
            try:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), CHECK_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self._lost.set()

    async def release(self) -> None:
        """Let the lead go (closing its connection releases the lock)."""
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._conn.close(), CHECK_TIMEOUT)
        if not self._conn.is_closed():
            self._conn.terminate()


class PostgresLeadership:
    def __init__(
        self, url: PostgresUrl, *, sleep: Sleep = asyncio.sleep, check: float = CHECK_SECONDS
    ) -> None:
        self.url = url
        self._sleep = sleep
        self._check = check

    async def acquire(self, name: str) -> PostgresLead:
        """Wait until this process holds ``name``'s lock (a database that
        cannot be reached is tried again every `RETRY_SECONDS`)."""
        while True:
            try:
                conn = await self._connect()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot reach the database to poll %s (%s); again soon", name, exc)
                await self._sleep(RETRY_SECONDS)
                continue
            try:
                await self._lock(conn, name)
            except BaseException as exc:
                conn.terminate()
                if not isinstance(exc, OSError | asyncpg.PostgresError | asyncpg.InterfaceError):
                    raise  # cancelled: the bot stops
                log.warning("lost the database while waiting to poll %s (%s)", name, exc)
                await self._sleep(RETRY_SECONDS)
                continue
            return PostgresLead(conn, self._sleep, self._check)

    async def _connect(self) -> asyncpg.Connection:
        arguments: dict[str, Any] = connect_arguments(self.url)
        # Waiting for the lock is the point: no lock timeout on this connection.
        arguments["server_settings"] = {
            **arguments["server_settings"],
            "lock_timeout": "0",
            **KEEPALIVE,
        }
        return await asyncpg.connect(**arguments)

    @staticmethod
    async def _lock(conn: asyncpg.Connection, name: str) -> None:
        if await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))", LOCK_PREFIX, name
        ):
            return
        log.info("another bot process polls %s: this one stands by to take over", name)
        await conn.execute("SELECT pg_advisory_lock(hashtext($1), hashtext($2))", LOCK_PREFIX, name)
