"""Both storage engines in the tests.

A module marked ``pytestmark = pytest.mark.both_engines`` runs each of its
tests that reaches the ``engine`` fixture (directly, or through ``where``,
``storage``, ``services``, ``bot`` …) once on SQLite and once on PostgreSQL;
every other test runs on SQLite alone.  A test of such a module that reads
SQLite's files or pragmas says so with ``@pytest.mark.sqlite_only``.

PostgreSQL comes from one throwaway cluster for the whole run
(tests/pgserver.py); each test gets a database of its own, copied from a
template the migrations already built, and dropped afterwards.  Where the
machine has no PostgreSQL server binaries, the PostgreSQL half skips with
one line — unless ``CI=true``, where it fails: CI must test both engines.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.config import PostgresUrl
from storage.postgres.db import available_migrations
from tests.pgserver import TEMPLATE, Cluster, find_binaries, throwaway_cluster

SQLITE, POSTGRES = "sqlite", "postgres"
ENGINES = (SQLITE, POSTGRES)
MISSING = (
    "PostgreSQL server binaries not found (initdb, pg_ctl, postgres, psql; set PHANANH_PG_BIN"
    " to their folder): the PostgreSQL half of the tests is skipped"
)


@dataclass
class PgServer:
    """The run's cluster, and a fresh database per test.

    Copying the template (``CREATE DATABASE … TEMPLATE``) takes 0.2–0.7 s on
    these machines, more than most tests: a database a test is done with is
    emptied instead (every table but ``schema_migrations``, the sequences
    back to 1: as the migrations left it) and handed to the next test."""

    cluster: Cluster
    _names: Iterator[int] = field(default_factory=itertools.count)
    _free: list[str] = field(default_factory=list)
    _reset: str = ""

    def new_database(self) -> PostgresUrl:
        if self._free:
            return PostgresUrl.parse(self.cluster.url(self._free.pop()))
        name = f"test_{next(self._names)}"
        self.cluster.psql(
            f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY OWNER phananh"
        )
        return PostgresUrl.parse(self.cluster.url(name))

    def release(self, url: PostgresUrl) -> None:
        """Empty a test's database for the next one; one whose schema the
        test changed (a restore) is dropped instead."""
        if not self._reset:
            self._reset = self._reset_script()
        try:
            self.cluster.psql(self._reset, database=url.database)
        except RuntimeError:
            self.drop(url)
            return
        self._free.append(url.database)

    def _reset_script(self) -> str:
        tables = self.cluster.psql(
            "SELECT string_agg(format('DELETE FROM phananh.%I;', tablename), ' ')"
            " FROM pg_tables WHERE schemaname = 'phananh' AND tablename <> 'schema_migrations'",
            database=TEMPLATE,
        ).strip()
        sequences = self.cluster.psql(
            "SELECT string_agg(format('SELECT setval(%L, 1, false);',"
            " schemaname || '.' || sequencename), ' ') FROM pg_sequences"
            " WHERE schemaname = 'phananh'",
            database=TEMPLATE,
        ).strip()
        # As the superuser, with triggers off: the history tables' append-only
        # guards (and the foreign keys' order) do not apply to emptying them.
        # The version check makes a database whose schema changed fail here.
        expected = len(available_migrations())
        return (
            "SET session_replication_role = replica;"
            f" DO $$ BEGIN IF (SELECT COUNT(*) FROM phananh.schema_migrations) <> {expected}"
            " THEN RAISE EXCEPTION 'schema changed'; END IF; END $$;"
            f" {tables} {sequences}"
        )

    def empty_database(self) -> PostgresUrl:
        """One the migrations never touched (for the climb, and the copy's target)."""
        name = f"empty_{next(self._names)}"
        self.cluster.psql(f"CREATE DATABASE {name} TEMPLATE template0 OWNER phananh")
        return PostgresUrl.parse(self.cluster.url(name))

    def drop(self, url: PostgresUrl) -> None:
        self.cluster.psql(f"DROP DATABASE IF EXISTS {url.database} WITH (FORCE)")


async def _migrate_template(url: PostgresUrl) -> None:
    from storage.postgres.db import Database

    await (await Database.open(url, pool_size=1)).close()


@contextmanager
def pg_server() -> Iterator[PgServer]:
    binaries = find_binaries()
    if binaries is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {MISSING.split(':')[0]}: CI must test both engines")
        pytest.skip(MISSING)
    with throwaway_cluster(binaries) as cluster:
        asyncio.run(_migrate_template(PostgresUrl.parse(cluster.url(TEMPLATE))))
        yield PgServer(cluster)


def parametrize_engines(metafunc: Any) -> None:
    """`pytest_generate_tests`: both engines where a module asks for them."""
    if "engine" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("both_engines") is None:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return
    metafunc.parametrize("engine", ENGINES, indirect=True)


async def rows(storage: Any, sql: str) -> list[tuple[Any, ...]]:
    """A plain query on either engine, for what a test checks behind the
    store's back (the SQL must read the same in both dialects)."""
    if storage.engine == POSTGRES:
        return [tuple(r) for r in await storage.database.fetch(sql)]
    return [tuple(r) for r in await storage.database.conn.execute_fetchall(sql)]


def setting(where: Any) -> str:
    """``PHANANH_DB`` for a child process (the command line beside the bot)."""
    return where.reveal() if isinstance(where, PostgresUrl) else str(where)


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


async def execute(db: Any, sql: str, *params: Any) -> None:
    """One statement, written with ``?`` placeholders, on either engine's
    database (a test's change behind the store's back)."""
    from storage.sqlite.db import Database as SqliteDatabase

    if isinstance(db, SqliteDatabase):
        await db.write(sql, params)
        return
    await db.execute(_numbered(sql), *params)


async def fetch(db: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query, written with ``?`` placeholders, on either engine's database
    (what a test reads behind the store's back)."""
    from storage.sqlite.db import Database as SqliteDatabase

    if isinstance(db, SqliteDatabase):
        return [tuple(r) for r in await db.conn.execute_fetchall(sql, params)]
    return [tuple(r) for r in await db.fetch(_numbered(sql), *params)]
