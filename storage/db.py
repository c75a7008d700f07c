"""The SQLite connection, its transactions, and the numbered migrations.

One write connection per process, in WAL mode with foreign keys on.  The
connection runs in autocommit mode and every write goes through
`Database.transaction`, which holds an asyncio lock: tasks of one process
share the connection, and without the lock two of them could interleave
statements inside one transaction.

The WAL is checkpointed in the background, on a thread of its own, soon
after writes (`Database.CHECKPOINT_DELAY`), instead of by whichever commit
happens to cross SQLite's threshold: a sweep that moves a thousand
complaints writes some 1,500 pages, and copying them back into the database
file inside its commit tripled its time.  The write connection still
checkpoints by itself past `Database.WAL_LIMIT` pages, should the background
ever fall behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every ``NNNN_name.sql`` file shipped in ``storage/migrations``, in order."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole.

    ``executescript`` would be simpler but commits any open transaction
    first, so a migration could not be applied atomically with it.
    """
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            stripped = buffer.strip()
            if stripped and not all(
                part.strip().startswith("--") or not part.strip() for part in stripped.splitlines()
            ):
                statements.append(stripped)
            buffer = ""
    if buffer.strip() and not all(
        p.strip().startswith("--") or not p.strip() for p in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")
    return statements


CORE_TABLES = frozenset({"schema_migrations", "complaints", "people", "outbox", "areas"})


class NotOurs(Exception):
    """A file that is not a Phản Ánh database, or one from a newer version."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def inspect_backup(path: Path) -> int:
    """The schema version of a backup file, after checking it is a Phản Ánh
    database this program can read; raises NotOurs otherwise."""
    if not path.is_file():
        raise NotOurs("cli.restore_missing", path=path)
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not tables >= CORE_TABLES:
                raise NotOurs("cli.restore_not_ours", path=path)
            version = int(conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise NotOurs("cli.restore_not_ours", path=path) from exc
    known = len(available_migrations())
    if version > known:
        raise NotOurs("cli.restore_newer", path=path, version=version, known=known)
    return version


async def restore_from(backup: Path, target: Path) -> None:
    """Copy a backup checked with `inspect_backup` over the database at
    ``target`` (the bot must be stopped), then bring it up to this program's
    schema."""
    async with aiosqlite.connect(backup) as source, aiosqlite.connect(target) as dest:
        await source.backup(dest)
    db = await Database.open(target)
    await db.close()


def utc_text(instant: datetime) -> str:
    """Instants are stored as UTC text that sorts and works with SQLite's
    date functions: ``YYYY-MM-DD HH:MM:SS``, to the second."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    # isoformat is faster than strftime (a sweep writes two per complaint)
    return instant.astimezone(UTC).isoformat(" ", "seconds")[:19]


def parse_utc(value: str) -> datetime:
    """The stored text back (fromisoformat, with the zone spelled out, reads
    it some forty times faster than strptime: a sweep reads thousands)."""
    if len(value) != 19 or value[10] != " ":
        raise ValueError(f"not a stored instant: {value!r}")
    return datetime.fromisoformat(value + "+00:00")


def _checkpoint(path: Path) -> None:
    """Copy what the WAL holds back into the database, as far as readers
    allow (PASSIVE: it never waits, and never holds up a writer).  Best
    effort: the write connection's own limit is there if this fails."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=rw"  # never creates a file
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        log.warning("background checkpoint of %s failed: %s", path.name, exc)


def _fsync_wal(path: Path) -> None:
    """Force the WAL's committed frames to disk (on Linux, fsync flushes the
    file whichever descriptor wrote it)."""
    try:
        fd = os.open(f"{path}-wal", os.O_RDONLY)
    except FileNotFoundError:
        return  # nothing written since the last checkpoint emptied it
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Database:
    READERS = 2  # one per core of the target machine
    # The write connection's page cache, in KiB (SQLite's default is 2 MiB):
    # a sweep touches a page of the table and one of the next-action index
    # per complaint due, and with the default it read most of them back.
    CACHE_KIB = 32 * 1024
    CHECKPOINT_DELAY = 0.5  # seconds after a commit
    WAL_LIMIT = 10_000  # pages (40 MB): past this the writer checkpoints itself
    # How hard a commit is pushed to disk.  NORMAL: a commit survives a crash
    # of the process (kill -9) at once, and a power cut once `on_disk` ran
    # (the outbox runs it before it sends).  FULL costs half the intake
    # throughput (bench/intake.py).  See README, "Durability".
    SYNCHRONOUS = "NORMAL"

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._opened: list[aiosqlite.Connection] = []
        # Bumped by every write that can give the outbox something new to
        # send (rows queued, a staff account bound to rows that waited for
        # it): the flush after each update skips its query when it did not move.
        self.outbox_changes = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._written = False
        self._unsynced = False  # a commit since the WAL was last forced to disk

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        # PRAGMA foreign_keys is ignored inside a transaction: set it first.
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute(f"PRAGMA synchronous = {cls.SYNCHRONOUS}")
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute(f"PRAGMA cache_size = -{cls.CACHE_KIB}")
        await conn.execute(f"PRAGMA wal_autocheckpoint = {cls.WAL_LIMIT}")
        db = cls(conn, path)
        if migrate:
            await db.migrate()
        return db

    async def close(self) -> None:
        if self._checkpointing is not None:
            self._checkpointing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointing
            self._checkpointing = None
        for reader in self._opened:
            await reader.close()
        self._opened.clear()
        await self.conn.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection of its own, for long reports (the weekly
        digest's aggregates): in WAL mode it reads a consistent snapshot
        while the write connection goes on serving the bot, and two reports
        run side by side.  Opened on first use, closed with the database."""
        if self._readers.empty() and len(self._opened) < self.READERS:
            reader = await aiosqlite.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
            reader.row_factory = aiosqlite.Row
            await reader.execute("PRAGMA busy_timeout = 5000")
            self._opened.append(reader)
            self._readers.put_nowait(reader)
        reader = await self._readers.get()
        try:
            yield reader
        finally:
            self._readers.put_nowait(reader)

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement that is a transaction on its own (SQLite makes each
        statement atomic outside BEGIN): one trip to the database thread
        instead of three.  Taken under the same lock as `transaction`, so it
        never lands inside another task's open transaction.  Returns the
        number of rows changed."""
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
        self._checkpoint_soon()
        return cursor.rowcount

    async def write_returning(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Like `write`, for a statement with RETURNING."""
        async with self._lock:
            rows = list(await self.conn.execute_fetchall(sql, params))
        self._checkpoint_soon()
        return rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")
                self._checkpoint_soon()

    async def on_disk(self) -> None:
        """Make every commit so far survive a power cut: one fsync of the WAL
        (SQLite's synchronous=NORMAL leaves that to the next checkpoint).
        The outbox calls it before it sends, so no message Telegram delivers
        announces a row the machine could lose; free when nothing was
        committed since the last call."""
        if not self._unsynced or self.SYNCHRONOUS.upper() == "FULL":
            return
        self._unsynced = False  # a commit from now on needs the next call
        await asyncio.to_thread(_fsync_wal, self.path)

    def _checkpoint_soon(self) -> None:
        """One background checkpoint at a time, again while writes go on."""
        self._written = True
        self._unsynced = True
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoints())

    async def _checkpoints(self) -> None:
        while self._written:
            await asyncio.sleep(self.CHECKPOINT_DELAY)
            self._written = False
            await asyncio.to_thread(_checkpoint, self.path)

    async def backup_to(self, target: Path) -> None:
        """A consistent copy while the bot keeps writing: SQLite's online
        backup API, page by page, under its own read transaction."""
        async with aiosqlite.connect(target) as copy:
            await self.conn.backup(copy)

    async def schema_version(self) -> int:
        await self._ensure_migrations_table()
        async with self.conn.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def _ensure_migrations_table(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )

    async def migrate(self, target: int | None = None) -> list[int]:
        """Apply the missing migrations up to ``target`` (all by default),
        each in its own transaction; returns the versions applied."""
        current = await self.schema_version()
        migrations = available_migrations()
        newest = migrations[-1].version if migrations else 0
        if current > newest:
            raise RuntimeError(
                f"database schema {current} is newer than this program knows ({newest})"
            )
        applied = []
        for migration in migrations:
            if migration.version <= current or (target is not None and migration.version > target):
                continue
            async with self.transaction() as conn:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, utc_text(datetime.now(UTC))),
                )
            applied.append(migration.version)
        return applied
