"""`phananh restore`: a backup takes the live database's place only when it
is sound and is exactly a Phản Ánh database.

A restored file is trusted with everything the bot does, so it is checked
before the live database is touched, on a read-only connection:

1. its schema, read from ``sqlite_master`` alone (a hostile view is never
   run): every table, index, trigger and view must be one the migrations
   create, with the same definition, for the version the file records —
   a trigger of its own (one rerouted every new complaint to another
   ward's leader) or a view in place of a core table is refused;
2. the versions it records: whole numbers 1..n, nothing newer than this
   program;
3. ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``.

Then a copy is brought to this program's schema in a scratch folder next
to the live database and opened: it is proven to open before the live file
is touched.  The live database is taken only when no other program has it
open (waiting at most the busy timeout: the bot must be stopped), its
content is copied aside, and the new content copied in with SQLite's backup
API (one transaction: never half written).  The copy aside is removed once
the restored database has opened again; if that fails, the copy aside is
put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from storage.sqlite.db import (
    BUSY_TIMEOUT_MS,
    MIGRATIONS_TABLE,
    Database,
    DatabaseUnusable,
    Refusal,
    available_migrations,
    prepare_path,
    split_statements,
)

# (type, name, table, SQL with its whitespace folded); SQLite's statistics
# tables are left out: ANALYZE may add them, and they only guide the planner.
SchemaObject = tuple[str, str, str, str | None]
ASIDE_SUFFIX = ".before-restore"
MAX_LISTED = 5


class NotOurs(Refusal):
    """A backup file that is not a sound Phản Ánh database this program can
    read; nothing was changed."""


def _objects(conn: sqlite3.Connection) -> frozenset[SchemaObject]:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return frozenset(
        (str(kind), str(name), str(table), " ".join(sql.split()) if sql else None)
        for kind, name, table, sql in rows
        if not str(name).startswith("sqlite_stat")
    )


@functools.cache
def reference_schemas() -> dict[int, frozenset[SchemaObject]]:
    """What the migrations create, after each version: the only schemas a
    restored file may have."""
    schemas: dict[int, frozenset[SchemaObject]] = {}
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(MIGRATIONS_TABLE)
        for migration in available_migrations():
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            schemas[migration.version] = _objects(conn)
    return schemas


def _named(objects: frozenset[SchemaObject]) -> dict[str, SchemaObject]:
    return {obj[1]: obj for obj in objects}


def _recorded_version(conn: sqlite3.Connection, found: dict[str, SchemaObject], path: Path) -> int:
    """The version the file records.  ``schema_migrations`` is read only
    when it is a table (a view is never run); whether its definition is the
    project's own is checked with the rest of the schema."""
    table = found.get("schema_migrations")
    if table is None or table[0] != "table" or "complaints" not in found:
        raise NotOurs("cli.restore_not_ours", path=path)
    rows = conn.execute("SELECT version, typeof(version) FROM schema_migrations").fetchall()
    if not rows:
        raise NotOurs("cli.restore_not_ours", path=path)
    if any(kind != "integer" for _, kind in rows):
        raise NotOurs("cli.restore_bad_version", path=path)
    versions = sorted(int(v) for v, _ in rows)
    known = len(reference_schemas())
    if versions[-1] > known:
        raise NotOurs("cli.restore_newer", path=path, version=versions[-1], known=known)
    if versions != list(range(1, versions[-1] + 1)):
        raise NotOurs("cli.restore_bad_version", path=path)
    return versions[-1]


def _check_schema(found: dict[str, SchemaObject], version: int, path: Path) -> None:
    expected = _named(reference_schemas()[version])
    foreign = sorted(name for name, obj in found.items() if expected.get(name) != obj)
    if foreign:
        listed = ", ".join(foreign[:MAX_LISTED]) + (" …" if len(foreign) > MAX_LISTED else "")
        raise NotOurs("cli.restore_foreign", path=path, objects=listed)
    if set(expected) - set(found):
        raise NotOurs("cli.restore_not_ours", path=path)


def _one_line(detail: str) -> str:
    """SQLite's report (integrity_check's may span lines), shortened to fit
    the operator's one line."""
    return " ".join(detail.split())[:120]


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise NotOurs("cli.restore_damaged", path=path, detail=_one_line(problems[0]))
    orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        detail = f"foreign_key_check: {len(orphans)} ({orphans[0][0]})"
        raise NotOurs("cli.restore_damaged", path=path, detail=detail)


def inspect_backup(path: Path) -> int:
    """The schema version of a backup file, once it passed every check in
    the module's docstring; raises NotOurs (one line for the operator)
    otherwise.  Reads only."""
    if not path.is_file():
        raise NotOurs("cli.restore_missing", path=path)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            # Nothing a file defines (a view, a trigger) may call functions
            # with side effects while it is being looked at.
            conn.execute("PRAGMA trusted_schema = OFF")
            found = _named(_objects(conn))
            version = _recorded_version(conn, found, path)
            _check_schema(found, version, path)
            _check_integrity(conn, path)
    except sqlite3.DatabaseError as exc:
        detail = _one_line(str(exc))
        if "malformed" in detail or "corrupt" in detail:
            raise NotOurs("cli.restore_damaged", path=path, detail=detail) from exc
        raise NotOurs("cli.restore_not_ours", path=path) from exc
    return version


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """A whole database into a file of its own, in one step."""
    with closing(sqlite3.connect(target)) as copy:
        source.backup(copy)


@contextlib.contextmanager
def _alone(live: Path) -> Iterator[sqlite3.Connection]:
    """The live database with no other program using it, held so until the
    block ends; refused (DatabaseUnusable) after the busy timeout when
    another program — the bot — has it open."""
    conn = sqlite3.connect(live, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        try:
            # In exclusive locking mode the lock taken by the first write
            # is kept until the connection closes; in WAL mode even a bot
            # that is only reading holds a lock that makes this wait.
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise DatabaseUnusable("cli.restore_in_use", db=live) from exc
        yield conn
    finally:
        conn.close()


def _put_in_place(candidate: Path, live: Path, aside: Path | None) -> None:
    """The candidate's content into the live database, the previous content
    copied to ``aside`` first (when asked, and when there was any)."""
    existed = live.exists()
    with _alone(live) as dest:
        if existed and aside is not None:
            _copy(dest, aside)
        with closing(sqlite3.connect(candidate)) as source:
            source.backup(dest)


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


async def _opens(path: Path) -> None:
    await (await Database.open(path)).close()


def restore(backup: Path, live: Path) -> int:
    """Replace the live database with a checked backup; returns the
    backup's schema version.  Raises NotOurs (the file) or DatabaseUnusable
    (the live database is in use, or cannot be used) with the live
    database as it was."""
    version = inspect_backup(backup)
    prepare_path(live)
    aside = live.with_name(live.name + ASIDE_SUFFIX)
    _remove(aside)
    try:
        scratch_folder = tempfile.TemporaryDirectory(dir=live.parent, prefix=".restore-")
    except OSError as exc:  # a folder we may not write to
        raise DatabaseUnusable("cli.db_cannot_open", db=live, error=exc.strerror) from exc
    with scratch_folder as scratch:
        candidate = Path(scratch) / "candidate.db"
        with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as src:
            _copy(src, candidate)
        # Brought to this program's schema and opened before the live file
        # is touched: a backup that cannot be migrated changes nothing.
        try:
            asyncio.run(_opens(candidate))
        except DatabaseUnusable as exc:
            raise NotOurs("cli.restore_not_ours", path=backup) from exc
        _put_in_place(candidate, live, aside)
    try:
        asyncio.run(_opens(live))
    except DatabaseUnusable:
        if aside.exists():
            _put_in_place(aside, live, None)  # should this fail too, the copy aside stays
            _remove(aside)
        raise
    _remove(aside)
    return version
