"""`phananh db copy --from FILE.db --to postgresql://…`: a ward's whole
SQLite history into PostgreSQL, so a ward that grows into a city keeps its
past.

Every table is copied, row for row and id for id, in one transaction (all
of it, or nothing), parents before the tables that reference them: the
tables are those the PostgreSQL schema has, and the SQLite file must have
exactly the same ones with the same columns — a table one engine has and the
other lacks stops the copy before anything is written, naming it.  The one
difference allowed: an identity column only PostgreSQL has (``ordinal``,
the order rows went in, which SQLite's rowid keeps there) is numbered as the
rows go in, in the file's rowid order.  Each value is turned into the
PostgreSQL column's type (instants stored as text become timestamptz, 0/1
become booleans, JSON text becomes jsonb, blobs bytea), then the identity
sequences are set past the highest value (SQLite's AUTOINCREMENT counter
included: a tracking code is never reused).  The target must be empty: a
copy never merges two histories.
"""

from __future__ import annotations

import asyncio
import graphlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bot.config import PostgresUrl
from storage.errors import DatabaseUnusable, Refusal
from storage.postgres.db import SCHEMA, Conn
from storage.postgres.db import Database as PostgresDatabase
from storage.sqlite.db import Database as SqliteDatabase
from storage.sqlite.db import only_runner, parse_utc

BATCH = 10_000  # rows read and written at a time: a city's history need not fit in memory
NOT_COPIED = {"schema_migrations"}  # each engine's own, written by its migrations


class CopyRefused(Refusal):
    """The copy cannot be made; nothing was written."""


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _convert(data_type: str) -> Callable[[Any], Any]:
    """How one SQLite value becomes the PostgreSQL column's."""
    if data_type == "timestamp with time zone":
        return lambda v: None if v is None else parse_utc(v)
    if data_type == "boolean":
        return lambda v: None if v is None else bool(v)
    if data_type == "jsonb":
        return lambda v: None if v is None else json.loads(v)
    if data_type == "bytea":
        return lambda v: None if v is None else bytes(v)
    if data_type in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    if data_type == "double precision":
        return lambda v: None if v is None else float(v)
    return lambda v: None if v is None else str(v)


@dataclass(frozen=True)
class Table:
    """One of our tables: its columns and their types, and which of them
    are identity columns (numbered by a sequence)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    identities: frozenset[str]


async def _target_tables(conn: Conn) -> list[Table]:
    """Our tables, each after every table it references (a migration may
    add a parent after its child: media after complaint_photos).  Unlogged
    tables hold only state of the moment (the shared send rate) and have no
    SQLite twin: they are not copied."""
    rows = await conn.fetch(
        "SELECT c.relname, a.attname, format_type(a.atttypid, NULL), a.attidentity <> ''"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relpersistence = 'p'"
        " ORDER BY c.oid, a.attnum",
        SCHEMA,
    )
    columns: dict[str, list[tuple[str, str]]] = {}
    identities: dict[str, set[str]] = {}
    for table, column, data_type, identity in rows:
        if table in NOT_COPIED:
            continue
        columns.setdefault(table, []).append((column, data_type))
        if identity:
            identities.setdefault(table, set()).add(column)
    references = await conn.fetch(
        "SELECT child.relname, parent.relname FROM pg_constraint f"
        " JOIN pg_class child ON child.oid = f.conrelid"
        " JOIN pg_class parent ON parent.oid = f.confrelid"
        " JOIN pg_namespace n ON n.oid = f.connamespace WHERE n.nspname = $1 AND f.contype = 'f'",
        SCHEMA,
    )
    parents: dict[str, set[str]] = {table: set() for table in columns}
    for child, parent in references:
        if child != parent and child in parents:
            parents[child].add(parent)
    return [
        Table(name, tuple(columns[name]), frozenset(identities.get(name, ())))
        for name in graphlib.TopologicalSorter(parents).static_order()
    ]


def _source_tables(conn: sqlite3.Connection) -> dict[str, set[str]]:
    names = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: {str(c[1]) for c in conn.execute(f"PRAGMA table_info({name})")}
        for name in names
        if name not in NOT_COPIED
    }


def _batches(conn: sqlite3.Connection, table: str, columns: list[str]) -> Iterator[list[Any]]:
    cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _sqlite_sequences(conn: sqlite3.Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT counters (complaints: ids never reused)."""
    try:
        return {str(n): int(v) for n, v in conn.execute("SELECT name, seq FROM sqlite_sequence")}
    except sqlite3.OperationalError:
        return {}


async def _refuse_unless_empty(conn: Conn, tables: list[str], target: PostgresUrl) -> None:
    for table in tables:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise CopyRefused("cli.copy_not_empty", db=target, table=table)


def _compare(source: dict[str, set[str]], target: list[Table]) -> None:
    """Both engines' schemas name the same tables and columns (but the
    identity columns only PostgreSQL has), or nothing is copied."""
    wanted = {
        t.name: {c for c, _ in t.columns} - (t.identities - source.get(t.name, set()))
        for t in target
    }
    differ = sorted(set(source) ^ set(wanted))
    differ += sorted(t for t in set(source) & set(wanted) if source[t] != wanted[t])
    if differ:
        raise CopyRefused("cli.copy_schema_differs", tables=", ".join(differ))


async def copy_sqlite(source: Path, target: PostgresUrl) -> Copied:
    """Copy every table of the SQLite file ``source`` into the (empty)
    PostgreSQL database ``target``; both are brought to this program's schema
    first.  Raises CopyRefused or DatabaseUnusable with nothing written."""
    if not await asyncio.to_thread(source.is_file):
        raise CopyRefused("cli.copy_missing", path=source)
    with ExitStack() as running:
        # The ward's bot must be stopped: what it recorded after the copy
        # (a report, a reply, a sent mark) would stay behind in the file.
        # Held for the copy, the lock also keeps it from starting meanwhile.
        try:
            running.enter_context(only_runner(source))
        except DatabaseUnusable:
            raise CopyRefused("cli.copy_bot_running", path=source) from None
        return await _copy(source, target)


async def _copy(source: Path, target: PostgresUrl) -> Copied:
    """The copy itself, in one PostgreSQL transaction, the ward's bot stopped."""
    # Opened as the bot would open it: brought to this program's schema.
    await (await SqliteDatabase.open(source)).close()
    uri = f"{(await asyncio.to_thread(source.resolve)).as_uri()}?mode=ro"
    pg = await PostgresDatabase.open(target, pool_size=1)
    try:
        with closing(sqlite3.connect(uri, uri=True)) as lite:
            async with pg.durable_transaction() as conn:
                tables = await _target_tables(conn)
                found = _source_tables(lite)
                _compare(found, tables)
                await _refuse_unless_empty(conn, [t.name for t in tables], target)
                copied = Copied({})
                for table in tables:
                    shared = [c for c in table.columns if c[0] in found[table.name]]
                    copied.rows[table.name] = await _copy_table(conn, lite, table.name, shared)
                counters = _sqlite_sequences(lite)
                for table in tables:
                    for column in sorted(table.identities):
                        await _set_sequence(conn, table.name, column, counters.get(table.name))
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnusable("cli.db_not_sqlite", db=source) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        # Checked at the commit (deferred) or as a row went in: one row's
        # parent is missing in the file.
        raise CopyRefused(
            "cli.copy_bad_row", table=exc.table_name or "?", error=_one_line(exc)
        ) from None
    finally:
        await pg.close()
    return copied


async def _set_sequence(conn: Conn, table: str, column: str, counter: int | None) -> None:
    """The next value of an identity column: past the highest copied (and,
    for ``id``, past SQLite's AUTOINCREMENT counter: ids never reused)."""
    if column != "id":
        counter = None
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
        f" GREATEST((SELECT MAX({column}) FROM {table}), $1::bigint, 1),"
        f" GREATEST((SELECT MAX({column}) FROM {table}), $1::bigint) IS NOT NULL)",
        counter,
    )


async def _copy_table(
    conn: Conn, lite: sqlite3.Connection, table: str, columns: list[tuple[str, str]]
) -> int:
    """One table, a batch at a time; a value PostgreSQL's column cannot take
    (a malformed instant, a row whose parent is missing in a file written
    with foreign keys off) stops the copy, naming the table."""
    names = [c for c, _ in columns]
    converters = [_convert(t) for _, t in columns]
    count = 0
    for batch in _batches(lite, table, names):
        try:
            records = [tuple(f(v) for f, v in zip(converters, row, strict=True)) for row in batch]
            await conn.copy_records_to_table(table, records=records, columns=names)
        except (ValueError, TypeError, asyncpg.DataError) as exc:
            raise CopyRefused("cli.copy_bad_row", table=table, error=_one_line(exc)) from None
        count += len(records)
    return count


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]
