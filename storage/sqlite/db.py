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
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import DatabaseUnusable, Refusal
from storage.migrations import Migration, numbered_migrations
from storage.sqlite.inline import InlineConnection, patiently

__all__ = ["Database", "DatabaseUnusable", "Migration", "Refusal", "available_migrations"]

log = logging.getLogger(__name__)


def available_migrations() -> list[Migration]:
    """Every ``NNNN_name.sql`` file shipped in ``storage/sqlite/migrations``, in order."""
    return numbered_migrations("storage.sqlite")


# Kept as one statement: the restore check compares the schema a file holds
# with the one the migrations create, this table included.
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)

# How long a statement waits for another connection's lock before failing.
BUSY_TIMEOUT_MS = 5000


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


# SQLite's primary result codes that say what is wrong with the file itself.
_SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 14, 26
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 5, 6, 8


def prepare_path(path: Path) -> None:
    """The database's folder exists, and the path is not a folder itself."""
    if path.is_dir():
        raise DatabaseUnusable("cli.db_is_folder", db=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnusable("cli.db_cannot_open", db=path, error=exc.strerror) from exc


@contextlib.contextmanager
def only_runner(path: Path) -> Iterator[None]:
    """`phananh run` holds this for its whole life: an SQLite file serves one
    bot process, so a second ``phananh run`` on the same file is refused in
    one line (`DatabaseUnusable`) instead of sending every reminder and
    outbox row twice — the sweep, the outbox and the rate limit are shared
    between processes only on PostgreSQL.

    The lock is ``flock`` on the database file itself, through a descriptor
    of its own that stays open until the block ends (after the bot closed
    its connections): the kernel drops it when the process dies, so a killed
    bot never leaves it behind.  ``flock`` and the POSIX locks SQLite takes
    are separate on Linux, and this descriptor is closed only once SQLite
    is done with the file.  The command line's other commands do not take
    it: they work beside the running bot."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield  # nothing to guard yet: opening creates it
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseUnusable("cli.db_one_process", db=path) from None
        yield
    finally:
        os.close(fd)


def unusable(path: Path, error: sqlite3.Error) -> DatabaseUnusable:
    """The one line for an SQLite error met while opening ``path``."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
        return DatabaseUnusable("cli.db_not_sqlite", db=path)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return DatabaseUnusable("cli.db_locked", db=path)
    if code in (_SQLITE_CANTOPEN, _SQLITE_READONLY):
        return DatabaseUnusable("cli.db_cannot_open", db=path, error=error)
    return DatabaseUnusable("cli.db_error", db=path, error=error)


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


def _wal_checkpoint(path: Path, mode: str) -> bool:
    """``PRAGMA wal_checkpoint(mode)`` on a connection of its own (for a
    thread: the write connection runs on the event loop's), to an existing
    file only; True when no reader held it back."""
    uri = f"{path.resolve().as_uri()}?mode=rw"  # never creates a file
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
        busy = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
    return not busy


def _checkpoint(path: Path) -> None:
    """Copy what the WAL holds back into the database, as far as readers
    allow (PASSIVE: it never waits, and never holds up a writer).  Best
    effort: the write connection's own limit is there if this fails."""
    try:
        _wal_checkpoint(path, "PASSIVE")
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

    def __init__(self, conn: InlineConnection, path: Path) -> None:
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
        """Open (or create) the database and bring it to this program's
        schema.  Anything wrong with the file itself raises
        `DatabaseUnusable`, and the connection is closed first: one left
        open by a failed PRAGMA (a file that is not SQLite) held the file."""
        prepare_path(path)
        try:
            conn = InlineConnection.connect(path, BUSY_TIMEOUT_MS)
        except sqlite3.Error as exc:
            raise unusable(path, exc) from exc
        try:
            db = await cls._configure(conn, path)
            if migrate:
                await db.migrate()
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise unusable(path, exc) from exc
            raise
        return db

    @classmethod
    async def _configure(cls, conn: InlineConnection, path: Path) -> Database:
        conn.row_factory = sqlite3.Row
        # PRAGMA foreign_keys is ignored inside a transaction: set it first.
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute(f"PRAGMA synchronous = {cls.SYNCHRONOUS}")
        await conn.execute(f"PRAGMA cache_size = -{cls.CACHE_KIB}")
        await conn.execute(f"PRAGMA wal_autocheckpoint = {cls.WAL_LIMIT}")
        # What is deleted or overwritten is zeroed in the page, not left in
        # its free space: /forget must not leave a phone number behind.
        await conn.execute("PRAGMA secure_delete = ON")
        return cls(conn, path)

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
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
            cursor = await patiently(self.conn, lambda: self.conn.execute(sql, params))
        self._checkpoint_soon()
        return cursor.rowcount

    async def write_returning(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Like `write`, for a statement with RETURNING."""
        async with self._lock:
            rows = list(await patiently(self.conn, lambda: self.conn.execute_fetchall(sql, params)))
        self._checkpoint_soon()
        return rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InlineConnection]:
        async with self._lock:
            await patiently(self.conn, lambda: self.conn.execute("BEGIN IMMEDIATE"))
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

    async def scrub_wal(self) -> bool:
        """Copy the WAL back into the database and truncate it to nothing,
        so that the old page images it holds (an erased phone number among
        them) are gone from the disk too.  Waits for readers up to the busy
        timeout, on a connection and thread of its own (the write
        connection runs on the event loop's), holding the write lock's turn
        meanwhile; False (logged) when a reader still held an old snapshot."""
        async with self._lock:
            done = await asyncio.to_thread(_wal_checkpoint, self.path, "TRUNCATE")
        if not done:
            log.warning("the WAL of %s could not be truncated: a reader held it", self.path.name)
        return done

    async def backup_to(self, target: Path) -> None:
        """A consistent copy while the bot keeps writing: SQLite's online
        backup API in one step, under its own read transaction, from a
        connection of its own on a thread (the write connection runs on the
        event loop's thread, which a copy of the whole file must not hold)."""

        def back_up() -> None:
            with (
                contextlib.closing(sqlite3.connect(self.path)) as source,
                contextlib.closing(sqlite3.connect(target)) as copy,
            ):
                source.backup(copy)

        await asyncio.to_thread(back_up)

    async def schema_version(self) -> int:
        """The highest migration applied; a version stored as anything but
        a whole number (NULL, text) is refused, never guessed at."""
        await self.conn.execute(MIGRATIONS_TABLE)
        async with self.conn.execute(
            "SELECT COUNT(*), MAX(version), SUM(typeof(version) <> 'integer')"
            " FROM schema_migrations"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        count, newest, odd = row
        if count == 0:
            return 0
        if odd:
            raise DatabaseUnusable("cli.db_bad_version", db=self.path)
        return int(newest)

    async def migrate(self, target: int | None = None) -> list[int]:
        """Apply the missing migrations up to ``target`` (all by default),
        each in its own transaction; returns the versions applied."""
        current = await self.schema_version()
        migrations = available_migrations()
        newest = migrations[-1].version if migrations else 0
        if current > newest:
            raise DatabaseUnusable("cli.db_newer", db=self.path, version=current, known=newest)
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
