"""One factory for both engines: ``PHANANH_DB`` names a file (SQLite) or a
server (``postgresql://…``, PostgreSQL), and `open_storage` hands back the
same repositories either way.

The composition root (the bot's start-up, the command line, the demo, the
tests) calls `open_storage` and never names an engine; the engine's own
modules are imported only when that engine is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import PostgresUrl
from bot.domain.clock import Clock
from bot.ports import (
    DigestStore,
    HealthStore,
    Leadership,
    MenuStore,
    Open311Store,
    SharedPace,
    Store,
    UpdateInbox,
    WebStore,
)
from storage.errors import Refusal

if TYPE_CHECKING:
    from storage.postgres.db import Database as PostgresDatabase
    from storage.sqlite.db import Database as SqliteDatabase

SQLITE = "sqlite"
POSTGRES = "postgres"

Where = Path | PostgresUrl


@dataclass
class Storage:
    """One opened database: the store, the digest's aggregates, the webhook
    inbox, and how to close it."""

    engine: str
    store: Store
    digests: DigestStore
    database: SqliteDatabase | PostgresDatabase
    where: Where

    def inbox(self, channel: str = "telegram") -> UpdateInbox:
        if self.engine == POSTGRES:
            from storage.postgres.db import Database as PostgresDatabase
            from storage.postgres.inbox import PostgresInbox

            assert isinstance(self.database, PostgresDatabase)
            return PostgresInbox(self.database, channel)
        from storage.sqlite.db import Database as SqliteDatabase
        from storage.sqlite.inbox import WebhookInbox

        assert isinstance(self.database, SqliteDatabase)
        return WebhookInbox(self.database, channel)

    def pace(self) -> SharedPace | None:
        """The platforms' rates, kept by every process together — on
        PostgreSQL, where several processes may send; None on SQLite, whose
        one process paces itself."""
        if self.engine != POSTGRES:
            return None
        from storage.postgres.db import Database as PostgresDatabase
        from storage.postgres.pace import PostgresPace

        assert isinstance(self.database, PostgresDatabase)
        return PostgresPace(self.database)

    def leadership(self) -> Leadership | None:
        """Who long-polls each messenger: on PostgreSQL one process at a
        time, by a lock in the database; None on SQLite (one process)."""
        if not isinstance(self.where, PostgresUrl):
            return None
        from storage.postgres.leader import PostgresLeadership

        return PostgresLeadership(self.where)

    async def shared_secret(self, key: str) -> str | None:
        """A secret every process on the database agrees on (kept in it,
        drawn by the first to ask: storage/postgres/shared.py); None on
        SQLite, whose one process draws its own."""
        if self.engine != POSTGRES:
            return None
        from storage.postgres.db import Database as PostgresDatabase
        from storage.postgres.shared import shared_secret

        assert isinstance(self.database, PostgresDatabase)
        return await shared_secret(self.database, key)

    def menus(self) -> MenuStore:
        """Each person's last numbered list (channels without buttons)."""
        if self.engine == POSTGRES:
            from storage.postgres.db import Database as PostgresDatabase
            from storage.postgres.menus import PostgresMenus

            assert isinstance(self.database, PostgresDatabase)
            return PostgresMenus(self.database)
        from storage.sqlite.db import Database as SqliteDatabase
        from storage.sqlite.menus import SqliteMenus

        assert isinstance(self.database, SqliteDatabase)
        return SqliteMenus(self.database)

    def health(self) -> HealthStore:
        """The cheap reads of the health checks and the metrics (bot/metrics.py)."""
        if self.engine == POSTGRES:
            from storage.postgres.db import Database as PostgresDatabase
            from storage.postgres.health import PostgresHealth

            assert isinstance(self.database, PostgresDatabase)
            return PostgresHealth(self.database)
        from storage.sqlite.db import Database as SqliteDatabase
        from storage.sqlite.health import SqliteHealth

        assert isinstance(self.database, SqliteDatabase)
        return SqliteHealth(self.database)

    def open311(self) -> Open311Store:
        """The integrations' keys, their reporters, the published complaints."""
        if self.engine == POSTGRES:
            from storage.postgres.db import Database as PostgresDatabase
            from storage.postgres.open311 import PostgresOpen311

            assert isinstance(self.database, PostgresDatabase)
            return PostgresOpen311(self.database)
        from storage.sqlite.db import Database as SqliteDatabase
        from storage.sqlite.open311 import SqliteOpen311

        assert isinstance(self.database, SqliteDatabase)
        return SqliteOpen311(self.database)

    def web(self) -> WebStore:
        """The dashboard's sign-in links and sessions (bot/app/web.py)."""
        if self.engine == POSTGRES:
            from storage.postgres.db import Database as PostgresDatabase
            from storage.postgres.web import PostgresWeb

            assert isinstance(self.database, PostgresDatabase)
            return PostgresWeb(self.database)
        from storage.sqlite.db import Database as SqliteDatabase
        from storage.sqlite.web import SqliteWeb

        assert isinstance(self.database, SqliteDatabase)
        return SqliteWeb(self.database)

    async def backup_to(self, target: Path) -> None:
        """A consistent copy while the bot keeps writing: SQLite's online
        backup API into a file, or ``pg_dump`` (its custom format) of the
        schema's rows (storage/postgres/backup.py)."""
        if isinstance(self.where, PostgresUrl):
            from storage.postgres.backup import dump

            await dump(self.where, target)
            return
        from storage.sqlite.db import Database as SqliteDatabase

        assert isinstance(self.database, SqliteDatabase)
        await self.database.backup_to(target)

    async def close(self) -> None:
        await self.database.close()


def engine_of(where: Where) -> str:
    return POSTGRES if isinstance(where, PostgresUrl) else SQLITE


async def open_storage(
    where: Where, *, migrate: bool = True, clock: Clock | None = None
) -> Storage:
    """Open (and bring to this program's schema) the database ``where``
    names; the store records the times it is not told on ``clock`` (the
    use cases' own; the wall clock when None), never the database's.
    Anything that keeps it from being used raises
    `storage.errors.DatabaseUnusable` with one line for the operator."""
    if isinstance(where, PostgresUrl):
        from storage.postgres.db import Database as PostgresDatabase
        from storage.postgres.digest import PostgresDigestStore
        from storage.postgres.store import PostgresStore

        pg = await PostgresDatabase.open(where, migrate=migrate)
        return Storage(POSTGRES, PostgresStore(pg, clock), PostgresDigestStore(pg), pg, where)
    from storage.sqlite.db import Database as SqliteDatabase
    from storage.sqlite.digest import SqliteDigestStore
    from storage.sqlite.store import SqliteStore

    lite = await SqliteDatabase.open(where, migrate=migrate)
    return Storage(SQLITE, SqliteStore(lite, clock), SqliteDigestStore(lite), lite, where)


async def start_afresh(where: Where) -> None:
    """An empty database for `phananh demo`, only where it is empty or a
    demo's own, else a refusal (`DatabaseUnusable`) and nothing touched:
    SQLite's file (and its WAL) removed (`storage.sqlite.demo`), or on
    PostgreSQL our schema dropped (`storage.postgres.db.wipe_for_demo`)."""
    if isinstance(where, PostgresUrl):
        from storage.postgres.db import wipe_for_demo

        await wipe_for_demo(where)
        return
    from storage.sqlite.demo import wipe_for_demo as wipe_file

    await asyncio.to_thread(wipe_file, where)


# How each engine's backup begins: SQLite's file header, pg_dump's custom format.
BACKUP_MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRES: b"PGDMP"}


def _made_by(backup: Path) -> str | None:
    """The engine whose `backup_to` wrote this file, by its first bytes; None
    for a file of neither kind (or none at all: each engine says that)."""
    try:
        with backup.open("rb") as file:
            head = file.read(16)
    except OSError:
        return None
    return next((engine for engine, magic in BACKUP_MAGIC.items() if head.startswith(magic)), None)


async def restore(backup: Path, where: Where) -> None:
    """Replace the database ``where`` names with a backup `Storage.backup_to`
    wrote; a backup that is not ours, one of the other engine (a ward's
    SQLite backup with ``PHANANH_DB`` naming the city's PostgreSQL: that
    takes `phananh db copy`), or a bot still using the database, raises a
    `storage.errors.Refusal` and changes nothing."""
    made_by = await asyncio.to_thread(_made_by, backup)
    if made_by == SQLITE and engine_of(where) == POSTGRES:
        raise Refusal("cli.restore_sqlite_into_postgres", path=backup, db=where)
    if made_by == POSTGRES and engine_of(where) == SQLITE:
        raise Refusal("cli.restore_postgres_into_sqlite", path=backup, db=where)
    if isinstance(where, PostgresUrl):
        from storage.postgres.backup import restore as restore_postgres

        await restore_postgres(backup, where)
        return
    from storage.sqlite.restore import restore as restore_sqlite

    await asyncio.to_thread(restore_sqlite, backup, where)


@contextmanager
def sole_runner(where: Where) -> Iterator[None]:
    """Held by `phananh run` for its life: on SQLite, a second bot process
    on the same file is refused (`storage.sqlite.db.only_runner`); on
    PostgreSQL any number of processes may run (they share the work through
    the database), so nothing is held."""
    if isinstance(where, PostgresUrl):
        yield
        return
    from storage.sqlite.db import only_runner

    with only_runner(where):
        yield


@asynccontextmanager
async def opened(
    where: Where, *, migrate: bool = True, clock: Clock | None = None
) -> AsyncIterator[Storage]:
    """`open_storage` for a block, closed at its end."""
    storage = await open_storage(where, migrate=migrate, clock=clock)
    try:
        yield storage
    finally:
        await storage.close()
