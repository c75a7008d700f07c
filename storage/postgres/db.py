"""The PostgreSQL connection pool, its transactions, and the numbered migrations.

The driver is asyncpg (bench/pgdriver.py measured it against psycopg 3 on
the bot's own statements).  Each process keeps one pool; a repository
borrows a connection for one statement, or for one transaction
(`Database.transaction`), and gives it back at once.  Unlike SQLite there is
no process-wide write lock: the server orders concurrent writers, and the
repositories say where they need it (``FOR UPDATE``, version checks,
``ON CONFLICT``, advisory locks).  Any number of bot processes may share one
database: the locks that keep them apart are the database's.

Everything the bot creates lives in the schema `SCHEMA`, set as each
connection's search path: a backup, a restore and ``phananh db copy`` know
exactly what is theirs, and the database may hold other things beside it.

The pool's connections keep no session state of their own (no ``LISTEN``,
no session-level advisory lock; every connection gets the same
``synchronous_commit`` when it opens, `ASYNC_COMMIT`): returning one skips asyncpg's ``RESET ALL``
round trip, which cost a report a quarter more of the bot's CPU in
bench/pgdriver.py.  An open
transaction is still rolled back on return.  Locks that must outlive a
statement are transaction-level (``pg_advisory_xact_lock``).

A second, smaller pool (`Database.locks`) lends connections that hold such a
lock for longer than a statement, while the work they guard runs on the
main pool: a chat's turn while its updates are handled (inbox.py), the
outbox rows of the people one delivery pass sends to (outbox.py).  Apart,
so that the work can always borrow a connection while its lock is held;
a process that dies closes them, and the server drops its locks at once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.config import PostgresUrl
from storage.errors import DatabaseUnusable
from storage.meta_keys import DEMO_MARK
from storage.migrations import Migration, numbered_migrations

# A connection as the pool lends it (or one of its own).
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

SCHEMA = "phananh"
# What the server shows for our sessions (pg_stat_activity): a restore
# refuses to run while another one is connected.
APPLICATION = "phananh"
# Transaction-level advisory locks (pg_advisory_xact_lock): two processes
# starting at once migrate one after the other; two chart imports too.
MIGRATION_LOCK = 0x5048_414E_0001
ORG_LOCK = 0x5048_414E_0002

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)"
)

# How long opening waits for the server (seconds), and how long a statement
# may wait for a lock another session holds before failing (milliseconds).
CONNECT_TIMEOUT = 10
LOCK_TIMEOUT_MS = 30_000


def available_migrations() -> list[Migration]:
    """Every ``NNNN_name.sql`` file shipped in ``storage/postgres/migrations``, in order."""
    return numbered_migrations("storage.postgres")


JSONB_VERSION = b"\x01"  # jsonb's binary format: a version byte, then the JSON text


def _jsonb_out(value: Any) -> bytes:
    return JSONB_VERSION + json.dumps(value, ensure_ascii=False).encode("utf-8")


def _jsonb_in(data: bytes) -> Any:
    return json.loads(data[1:])


# Durability, as on SQLite (README, "Durability"): the bot's own commits do
# not wait for the server's disk (a draft step, an update's ledger mark, a
# "sent" mark: the server's WAL writer flushes them within its
# wal_writer_delay, 200 ms by default); a transaction that queues a notice,
# or stores an update a platform is then told was received, commits as the
# server is configured to (`DURABLE_COMMIT`), which also flushes every
# commit before it.  So no message the outbox sends announces a row a crash
# of the server could still take back, and a crash of the bot loses nothing
# committed.
ASYNC_COMMIT = "SET synchronous_commit = off"
DURABLE_COMMIT = "SET LOCAL synchronous_commit TO DEFAULT"


async def _prepare(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python values, in the binary format (which COPY
    needs: `phananh db copy` writes jsonb columns with it); commits that
    do not wait for the disk unless they say so (`ASYNC_COMMIT`)."""
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_out, decoder=_jsonb_in, schema="pg_catalog", format="binary"
    )
    await conn.execute(ASYNC_COMMIT)


async def _keep(conn: asyncpg.Connection) -> None:
    """A connection returns to the pool as it is (see the module docstring)."""


def connect_arguments(url: PostgresUrl) -> dict[str, Any]:
    """What asyncpg is given: the URL's parts, never the URL itself (so no
    error it raises can quote the password)."""
    return {
        "host": url.host,
        "port": url.port,
        "user": url.user,
        "password": url.password.reveal() or None,
        "database": url.database,
        "ssl": url.sslmode,  # asyncpg reads libpq's sslmode names
        "timeout": CONNECT_TIMEOUT,
        "server_settings": {
            "search_path": SCHEMA,
            "application_name": APPLICATION,
            "timezone": "UTC",
            "lock_timeout": str(LOCK_TIMEOUT_MS),
        },
    }


def unusable(url: PostgresUrl, error: BaseException) -> DatabaseUnusable:
    """The one line for what went wrong while reaching the server."""
    if isinstance(
        error,
        asyncpg.InvalidPasswordError
        | asyncpg.InvalidAuthorizationSpecificationError
        | asyncpg.InvalidCatalogNameError
        | asyncpg.InsufficientPrivilegeError,
    ):
        return DatabaseUnusable("cli.db_login_refused", db=url, error=_one_line(error))
    if isinstance(error, OSError | TimeoutError | asyncpg.CannotConnectNowError):
        return DatabaseUnusable("cli.db_unreachable", db=url, error=_one_line(error) or "timeout")
    return DatabaseUnusable("cli.db_error", db=url, error=_one_line(error))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def instant(value: datetime) -> datetime:
    """Instants are stored to the second, in UTC, as the SQLite engine stores
    them: the same complaint reads back the same from either engine."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).replace(microsecond=0)


def maybe_instant(value: datetime | None) -> datetime | None:
    return None if value is None else instant(value)


class Database:
    # Connections per process: the bot's handlers, its outbox and its sweep
    # run side by side; the server has max_connections for every process.
    POOL_SIZE = 10
    # Chats a process works on at once, each holding its turn's connection
    # (inbox.py), and the connections a delivery pass holds its people's
    # lock on (one per channel, outbox.py): the lock pool's size.
    TURNS = 16
    LOCK_POOL_SIZE = TURNS + 4

    def __init__(self, pool: asyncpg.Pool, url: PostgresUrl, locks: asyncpg.Pool) -> None:
        self.pool = pool
        self.url = url
        self.locks = locks
        # Bumped by every write that can give the outbox something new to
        # send (see storage/sqlite/db.py): the flush after each update
        # skips its query when it did not move.
        self.outbox_changes = 0

    def __repr__(self) -> str:
        return f"<PostgreSQL {self.url}>"

    @classmethod
    async def open(
        cls, url: PostgresUrl, *, migrate: bool = True, pool_size: int | None = None
    ) -> Database:
        """Connect (a pool) and bring the schema to this program's version.
        A server that cannot be reached, a login refused or a schema newer
        than this program raise `DatabaseUnusable` (one line), the pool closed."""
        size = pool_size or cls.POOL_SIZE
        try:
            pool = await asyncpg.create_pool(
                min_size=1, max_size=size, init=_prepare, reset=_keep, **connect_arguments(url)
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise unusable(url, exc) from None
        # Connected only when a lock is first taken (the command line never does).
        locks = await asyncpg.create_pool(
            min_size=0,
            max_size=cls.LOCK_POOL_SIZE,
            init=_prepare,
            reset=_keep,
            **connect_arguments(url),
        )
        db = cls(pool, url, locks)
        try:
            if migrate:
                await db.migrate()
        except BaseException as exc:
            await db.close()
            if isinstance(exc, asyncpg.PostgresError | OSError):
                raise unusable(url, exc) from None
            raise
        return db

    async def close(self) -> None:
        await self.pool.close()
        await self.locks.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """One transaction on a connection of its own (READ COMMITTED: each
        statement sees what others committed before it; the repositories
        lock or compare versions where that matters)."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def durable_transaction(self) -> AsyncIterator[Conn]:
        """A transaction whose commit waits for the disk (`DURABLE_COMMIT`):
        for a change someone is told of at once — erased data, a staff
        binding, an invite link or API key printed, a secret given to a
        platform, a database copied — not only for one that queues a notice."""
        async with self.transaction() as conn:
            await conn.execute(DURABLE_COMMIT)
            yield conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        """One statement (a transaction of its own); the number of rows it changed."""
        async with self.pool.acquire() as conn:
            status = await conn.execute(sql, *args)
        return rows_changed(status)

    async def on_disk(self) -> None:
        """Nothing to do: the transaction that queued a notice committed as
        the server is configured to (`DURABLE_COMMIT`), which flushed every
        commit before it too."""

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            return await _version(conn)

    async def migrate(self, target: int | None = None) -> list[int]:
        """Apply the missing migrations up to ``target`` (all by default),
        each in its own transaction under an advisory lock: a second process
        starting at the same moment waits, then finds them applied."""
        migrations = available_migrations()
        newest = migrations[-1].version if migrations else 0
        current = await self.schema_version()
        if current > newest:
            raise DatabaseUnusable("cli.db_newer", db=self.url, version=current, known=newest)
        applied = []
        for migration in migrations:
            if migration.version <= current or (target is not None and migration.version > target):
                continue
            async with self.transaction() as conn:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                if not await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", SCHEMA
                ):
                    await conn.execute(f"CREATE SCHEMA {SCHEMA}")
                await conn.execute(MIGRATIONS_TABLE)
                if await _version(conn) >= migration.version:
                    continue  # another process applied it meanwhile
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    instant(datetime.now(UTC)),
                )
            applied.append(migration.version)
        return applied


async def wipe_for_demo(url: PostgresUrl) -> None:
    """Drop our schema for `phananh demo` to start from nothing: only in a
    database that holds none of it, an empty one, or a demo's own (marked);
    any other is refused (`DatabaseUnusable`, one line) and left as it is."""
    try:
        conn = await asyncpg.connect(**connect_arguments(url))
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise unusable(url, exc) from None
    try:
        async with conn.transaction():
            if await _version(conn) and not await _demo_or_empty(conn):
                raise DatabaseUnusable("cli.demo_not_ours", db=url)
            await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


async def _demo_or_empty(conn: Conn) -> bool:
    if await conn.fetchval("SELECT 1 FROM meta WHERE key = $1", DEMO_MARK):
        return True
    for table in ("people", "complaints", "areas"):
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            return False
    return True


async def _version(conn: Conn) -> int:
    """The highest migration applied (0 for a database we never touched)."""
    exists = await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.schema_migrations"
    )
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


def rows_changed(status: str) -> int:
    """The row count of a command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
