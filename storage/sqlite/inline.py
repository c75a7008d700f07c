"""The write connection, run on the event loop's own thread.

aiosqlite runs every statement on a thread of its own and wakes the event
loop when it is done: a queue put, a thread switch, a self-pipe write and a
loop turn for each statement.  The bot's statements are small and indexed
(tens of microseconds in SQLite itself), and an update takes a dozen of
them, so the trips cost more than the work: here each statement runs where
it is awaited, and `bench/intake.py` handled 1.6 times the updates a second
on the same machine in the same hour (455 against 278).

What that gives up, and why it is safe:

- A statement blocks the loop while it runs.  The write connection runs
  short, indexed statements; the long reports (the digest's aggregates,
  the owners' regrouping) read through `Database.reading` on aiosqlite's
  threads as before, and the backup and the WAL's truncation run on
  connections and threads of their own.  The longest left is the morning
  briefing's list of open tasks, once a day (about 0.2 s at 100,000 open,
  bench/sweep.py).
- SQLite's own busy wait would block the loop too, for as long as another
  process (the command line loading a chart, `phananh restore`) holds the
  write lock.  So the connection waits only a moment inside SQLite
  (`SPIN_MS`), and a statement that may start a write outside a transaction
  (``BEGIN IMMEDIATE``, a single write) is tried again after an
  ``asyncio.sleep`` until the database's whole busy timeout has passed, then
  fails as before.  Inside a transaction begun with ``BEGIN IMMEDIATE`` the
  write lock is already held, and in WAL mode readers never block it.

The interface is the part of aiosqlite's the storage code used, so the
repositories did not change: ``await conn.execute(...)``, ``async with``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

SPIN_MS = 20  # SQLite's own busy wait, on the loop's thread: short
RETRY_PAUSE = 0.01  # seconds between tries while another process writes

T = TypeVar("T")


class InlineCursor:
    """A sqlite3 cursor behind aiosqlite's awaitable methods."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def row_factory(self) -> Any:
        return self._cursor.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._cursor.row_factory = factory

    async def fetchone(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Ran:
    """What `InlineConnection.execute` returns: awaited, the cursor; used
    with ``async with``, the cursor, closed afterwards (as aiosqlite's)."""

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._wrapped().__await__()

    async def _wrapped(self) -> InlineCursor:
        return self._cursor

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._cursor.close()


class InlineConnection:
    """A sqlite3 connection in autocommit mode (transactions are begun and
    ended by the statements `Database.transaction` sends), its statements
    run on the calling thread."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self._conn = conn
        self._patience = busy_timeout_ms / 1000

    @classmethod
    def connect(cls, path: Path | str, busy_timeout_ms: int) -> InlineConnection:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=SPIN_MS / 1000, check_same_thread=False
        )
        return cls(conn, busy_timeout_ms)

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    @property
    def patience(self) -> float:
        """Seconds a write waits for another program's lock (`patiently`)."""
        return self._patience

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Ran:
        return _Ran(InlineCursor(self._conn.execute(sql, params)))

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> _Ran:
        return _Ran(InlineCursor(self._conn.executemany(sql, params)))

    def execute_fetchall(
        self, sql: str, params: Sequence[Any] = ()
    ) -> Awaitable[list[sqlite3.Row]]:
        return self._fetched(self._conn.execute(sql, params))

    @staticmethod
    async def _fetched(cursor: sqlite3.Cursor) -> list[sqlite3.Row]:
        return cursor.fetchall()

    async def close(self) -> None:
        self._conn.close()


def locked(error: sqlite3.OperationalError) -> bool:
    """Whether an error is another connection holding the write lock."""
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def patiently(conn: InlineConnection, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` (which starts a write: BEGIN IMMEDIATE or a single
    statement) until the write lock is free or the busy timeout passes,
    sleeping between tries so that the event loop runs meanwhile."""
    deadline = time.monotonic() + conn.patience
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as error:
            if not locked(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(RETRY_PAUSE)
