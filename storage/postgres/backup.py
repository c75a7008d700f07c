"""`phananh backup` and `phananh restore` on PostgreSQL, through pg_dump
and pg_restore.

A backup is ``pg_dump --format=custom --data-only --schema=phananh``: every
row of every table of ours (and the sequences' positions), in one snapshot
taken while the bot keeps writing.  The schema is not in it: it is this
program's own, and a restore builds it from the migrations.

A restore trusts nothing in the file but rows.  ``pg_restore --list`` must
show table data and sequence positions of the schema ``phananh`` and nothing
else (a function, a trigger, a table of its own: refused); the versions in
its ``schema_migrations`` must be 1..n and not newer than this program.
Then, in one transaction on the live database: the schema is dropped and
built again by the migrations up to the backup's version, each table's rows
are loaded with ``COPY`` (only tables and columns that version has; the
dump's SQL is never run), the sequences set, and the remaining migrations
applied.  Any failure rolls the whole of it back: the live database is as it
was.  Another bot session connected to the database refuses the restore
(stop the bot first).

Connection details reach the tools through the environment (``PGPASSWORD``
and the rest), never the command line, where ``ps`` would show them.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bot.config import PostgresUrl
from storage.errors import DatabaseUnusable, Refusal
from storage.postgres.db import (
    SCHEMA,
    Conn,
    available_migrations,
    connect_arguments,
    instant,
    unusable,
)

DEBIAN_TOOLS = "/usr/lib/postgresql/*/bin"
RESTORING = "phananh-restore"  # the restore's own session, as the server lists it
MAX_LISTED = 5
# Entries of a dump that would run code in the database: named first when refused.
RUNNABLE = {"FUNCTION", "PROCEDURE", "TRIGGER", "RULE", "VIEW", "EVENT", "AGGREGATE"}

_ENTRY = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|SEQUENCE SET) (\S+) (\S+) .*$")
_COPY = re.compile(rf"^COPY {SCHEMA}\.(\w+) \(([^)]*)\) FROM stdin;$")
_SETVAL = re.compile(rf"^SELECT pg_catalog\.setval\('{SCHEMA}\.(\w+)', (\d+), (true|false)\);$")


class NotOurs(Refusal):
    """A backup that is not one of this program's PostgreSQL backups, or
    one it cannot read; nothing was changed."""


def tool(name: str) -> str:
    """pg_dump or pg_restore: on the PATH, else Debian's newest."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob(DEBIAN_TOOLS), reverse=True):
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    raise DatabaseUnusable("cli.pg_tool_missing", tool=name)


def _environment(url: PostgresUrl) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST=url.host,
        PGPORT=str(url.port),
        PGUSER=url.user,
        PGDATABASE=url.database,
        PGAPPNAME=RESTORING,
    )
    if url.password:
        env["PGPASSWORD"] = url.password.reveal()
    if url.sslmode:
        env["PGSSLMODE"] = url.sslmode
    return env


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


async def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err.decode("utf-8", "replace")


async def dump(url: PostgresUrl, target: Path) -> None:
    """Every row of ours into ``target`` (pg_dump's custom format), from one
    consistent snapshot while the bot keeps running."""
    code, _, err = await _run(
        tool("pg_dump"),
        "--format=custom",
        "--data-only",
        f"--schema={SCHEMA}",
        "--no-unlogged-table-data",  # the shared send rate: state of the moment
        "--no-owner",
        "--no-privileges",
        f"--file={target}",
        env=_environment(url),
    )
    if code != 0:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        errors = [line for line in err.splitlines() if "error" in line.lower()] or [err]
        raise DatabaseUnusable("cli.backup_failed", db=url, error=_one_line(errors[0]))


async def _listing(backup: Path) -> tuple[set[str], set[str]]:
    """The tables and sequences whose contents the backup holds; NotOurs
    for a file pg_restore cannot read, or one holding anything else."""
    if not await asyncio.to_thread(backup.is_file):
        raise NotOurs("cli.restore_missing", path=backup)
    code, out, _ = await _run(tool("pg_restore"), "--list", str(backup))
    if code != 0:
        raise NotOurs("cli.restore_not_ours", path=backup)
    tables: set[str] = set()
    sequences: set[str] = set()
    foreign: list[str] = []
    for line in out.decode("utf-8", "replace").splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        match = _ENTRY.match(line)
        if match is None or match.group(2) != SCHEMA:
            foreign.append(" ".join(line.split()[3:6]))
            continue
        (tables if match.group(1) == "TABLE DATA" else sequences).add(match.group(3))
    if foreign:
        foreign.sort(key=lambda entry: entry.split()[0] not in RUNNABLE)  # what would run first
        listed = ", ".join(foreign[:MAX_LISTED]) + (" …" if len(foreign) > MAX_LISTED else "")
        raise NotOurs("cli.restore_not_rows", path=backup, objects=listed)
    if not {"schema_migrations", "complaints"} <= tables:
        raise NotOurs("cli.restore_not_ours", path=backup)
    return tables, sequences


async def _recorded_version(backup: Path) -> int:
    """The versions the backup's ``schema_migrations`` holds: 1..n, known."""
    code, out, _ = await _run(
        tool("pg_restore"), "--data-only", "--table=schema_migrations", "--file=-", str(backup)
    )
    if code != 0:
        raise NotOurs("cli.restore_not_ours", path=backup)
    versions: list[int] = []
    inside = False
    for line in out.decode("utf-8", "replace").splitlines():
        if _COPY.match(line):
            inside = True
        elif line == "\\.":
            inside = False
        elif inside:
            first = line.split("\t", 1)[0]
            if not first.isdigit():
                raise NotOurs("cli.restore_bad_version", path=backup)
            versions.append(int(first))
    versions.sort()
    known = len(available_migrations())
    if not versions:
        raise NotOurs("cli.restore_not_ours", path=backup)
    if versions[-1] > known:
        raise NotOurs("cli.restore_newer", path=backup, version=versions[-1], known=known)
    if versions != list(range(1, versions[-1] + 1)):
        raise NotOurs("cli.restore_bad_version", path=backup)
    return versions[-1]


async def _migrate(conn: Conn, above: int, upto: int) -> None:
    """Migrations ``above``+1 … ``upto``, inside the caller's transaction."""
    for migration in available_migrations():
        if above < migration.version <= upto:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                instant(datetime.now(UTC)),
            )


async def _columns(conn: Conn) -> dict[str, tuple[int, set[str]]]:
    """Each table of the schema as built: its creation order, its columns."""
    rows = await conn.fetch(
        "SELECT c.oid::bigint, c.relname, a.attname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = $1 AND c.relkind = 'r'",
        SCHEMA,
    )
    out: dict[str, tuple[int, set[str]]] = {}
    for oid, table, column in rows:
        out.setdefault(table, (oid, set()))[1].add(column)
    return out


async def _in_use(conn: Conn) -> bool:
    """Another of the bot's sessions is connected to this database."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND application_name = 'phananh')"
        )
    )


class _Blocks:
    """pg_restore's data-only SQL, read as it streams: each COPY block's
    table, columns and rows, and the sequences' positions (nothing else in
    it is looked at, let alone run)."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.stream = stream
        self.sequences: dict[str, tuple[int, bool]] = {}

    async def next_block(self) -> tuple[str, list[str]] | None:
        while line := await self.stream.readline():
            text = line.decode("utf-8").rstrip("\n")
            copy = _COPY.match(text)
            if copy is not None:
                columns = [c.strip().strip('"') for c in copy.group(2).split(",") if c.strip()]
                return copy.group(1), columns
            setval = _SETVAL.match(text)
            if setval is not None:
                self.sequences[setval.group(1)] = (int(setval.group(2)), setval.group(3) == "true")
        return None

    async def rows(self) -> AsyncIterator[bytes]:
        """The block's lines, as COPY's text format wants them, up to ``\\.``."""
        while line := await self.stream.readline():
            if line in (b"\\.\n", b"\\."):
                return
            yield line
        raise ValueError("the backup ends inside a table's rows")


async def _load(conn: Conn, backup: Path, version: int) -> None:
    """The backup's rows into the schema (built at ``version``), table by
    table as pg_restore streams them, then the sequences."""
    schema = await _columns(conn)
    process = await asyncio.create_subprocess_exec(
        tool("pg_restore"),
        "--data-only",
        f"--schema={SCHEMA}",
        "--file=-",
        str(backup),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 24,  # one row may be long (a payload, a webhook body)
    )
    assert process.stdout is not None
    blocks = _Blocks(process.stdout)
    try:
        while (block := await blocks.next_block()) is not None:
            table, columns = block
            if table == "schema_migrations":
                async for _ in blocks.rows():
                    pass  # written by _migrate as the schema is built
                continue
            known = schema.get(table)
            if known is None or not set(columns) <= known[1]:
                raise NotOurs("cli.restore_foreign", path=backup, objects=table)
            await conn.copy_to_table(table, source=blocks.rows(), columns=columns, format="text")
    finally:
        code = await process.wait()
    if code != 0:
        raise NotOurs("cli.restore_damaged", path=backup, detail="pg_restore failed")
    for sequence, (value, called) in blocks.sequences.items():
        if await conn.fetchval(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S'",
            SCHEMA,
            sequence,
        ):
            await conn.execute("SELECT setval($1::regclass, $2, $3)", sequence, value, called)


async def restore(backup: Path, url: PostgresUrl) -> int:
    """Replace the live database's contents with a checked backup; returns
    the backup's schema version.  NotOurs (the file) or DatabaseUnusable
    (the server, or the bot still connected) leave the database as it was."""
    tables, _ = await _listing(backup)
    version = await _recorded_version(backup)
    arguments = connect_arguments(url)
    arguments["server_settings"] = {**arguments["server_settings"], "application_name": RESTORING}
    try:
        conn = await asyncpg.connect(**arguments)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise unusable(url, exc) from None
    try:
        if await _in_use(conn):
            raise DatabaseUnusable("cli.restore_in_use", db=url)
        async with conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            await conn.execute(f"CREATE SCHEMA {SCHEMA}")
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL)"
            )
            await _migrate(conn, 0, version)
            unknown = sorted(tables - set(await _columns(conn)))
            if unknown:
                raise NotOurs("cli.restore_foreign", path=backup, objects=", ".join(unknown))
            await _load(conn, backup, version)
            await _migrate(conn, version, len(available_migrations()))
    except asyncpg.LockNotAvailableError:
        raise DatabaseUnusable("cli.restore_in_use", db=url) from None
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError) as exc:
        raise NotOurs("cli.restore_damaged", path=backup, detail=_one_line(str(exc))) from None
    finally:
        await conn.close()
    return version
