"""Benchmark 4: the whole city's weekly digest over a million complaints.

Run: .venv/bin/python -m bench.digest [N] [--runs R] [--fresh]

Seeds N complaints (default 1,000,000; seeded, so every run builds the same
data) over three years in a city of 100 wards straight into SQLite — the use
cases would take hours — then times what `Digests.build` does for the whole
city (a fresh `Digests` each time: its cache would answer otherwise).

The reference is the ``sqlite3`` command-line tool running the very
statements our digest store executed for that digest, with the same
parameters bound (``.parameter set``), on the same file: what SQLite alone
costs for the same aggregates, with no Python, no event loop and one
connection.  Both are timed from outside, the CLI as a whole subprocess
(start-up included; its bare start-up cost is reported apart).

Seeding a million rows takes about a minute, so the seeded file is kept in
the temp directory, keyed by the count, the seed, the generator and the
schema version; a clean machine builds it.

Then the same on PostgreSQL (the empty database in ``PHANANH_BENCH_PG``,
else a throwaway cluster made with the machine's server binaries,
tests/pgserver.py): the same complaints through ``COPY``, then ``VACUUM
ANALYZE`` as a live database would have had; the bot's PostgreSQL digest
store builds the whole-city digest, and the reference is ``psql`` (from the
cluster's binaries) running the very statements it executed: each
``PREPARE``d on the server and ``EXECUTE``d with the same arguments, as
asyncpg prepares and executes them, the whole subprocess timed (connecting
included; its bare cost is reported apart).  Each engine's `Row`
(bench/table.py) is printed as a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bench.table import Row
from bot.app.digests import Digests
from bot.app.services import Services
from bot.config import PostgresUrl
from bot.domain import digest as d
from bot.domain.clock import ManualClock
from bot.domain.orgchart import (
    Area,
    AreaKind,
    Category,
    Family,
    OrgChart,
    Role,
    StaffMember,
    WardPolicy,
)
from bot.ports import DigestStore
from storage.postgres.db import Database as PostgresDatabase
from storage.postgres.db import connect_arguments
from storage.postgres.digest import PostgresDigestStore
from storage.postgres.store import PostgresStore
from storage.sqlite.db import Database, available_migrations, parse_utc, utc_text
from storage.sqlite.digest import SqliteDigestStore
from storage.sqlite.digest import _without_leadership as without_leadership
from storage.sqlite.store import SqliteStore
from tests.pgserver import TEMPLATE, find_binaries, throwaway_cluster

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Monday 07:30 in Hạ Long
WARDS = 100
GROUPS = 12
CADRES = 5
YEARS = 3
SEED = 4
# Bump when _rows changes: the cached file is keyed by it.
GENERATOR = 1
CATEGORIES = (
    ("LCVH", Family.URBAN_ORDER, 5),
    ("XDKP", Family.URBAN_ORDER, 10),
    ("BHQC", Family.URBAN_ORDER, 5),
    ("BHR", Family.URBAN_ORDER, 5),
    ("RTPT", Family.SANITATION, 2),
    ("RKTG", Family.SANITATION, 2),
    ("CRNU", Family.SANITATION, 1),
    ("ONMT", Family.SANITATION, 2),
)


def city() -> OrgChart:
    areas = {"CITY": Area("CITY", "Thành phố", AreaKind.CITY, None)}
    staff: dict[str, StaffMember] = {}
    policies = {}
    for w in range(WARDS):
        ward = f"W{w:03d}"
        areas[ward] = Area(ward, f"Phường {w + 1}", AreaKind.WARD, "CITY")
        for g in range(GROUPS):
            code = f"{ward}-G{g:02d}"
            areas[code] = Area(code, f"Tổ dân phố {g + 1}", AreaKind.GROUP, ward)
        leader = f"ld-{ward}"
        staff[leader] = StaffMember(
            leader, f"Lãnh đạo {w + 1}", frozenset({Role.WARD_LEADER}), (ward,)
        )
        for c in range(CADRES):
            sid = f"cb-{ward}-{c}"
            staff[sid] = StaffMember(
                sid, f"Cán bộ {w + 1}.{c + 1}", frozenset({Role.CADRE}), (ward,)
            )
        policies[ward] = WardPolicy(ward, leader, leader)
    for n in (1, 2):
        staff[f"ld-city-{n}"] = StaffMember(
            f"ld-city-{n}", f"Lãnh đạo thành phố {n}", frozenset({Role.CITY_LEADER})
        )
    categories = {
        code: Category(code, code, code, family, days) for code, family, days in CATEGORIES
    }
    return OrgChart(areas, categories, staff, {}, {}, policies)


def _rows(count: int, seed: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Realistic shares: most old complaints closed (confirmed, closed
    without an answer, a few rejected or withdrawn), 5 % disputed once,
    recent ones still open, about 95 % on time; busier wards get more."""
    rng = random.Random(seed)
    span = YEARS * 365 * 86400
    weights = [rng.uniform(0.3, 2.0) for _ in range(WARDS)]
    rows: list[tuple[object, ...]] = []
    disputes: list[tuple[object, ...]] = []
    for cid in range(1, count + 1):
        w = rng.choices(range(WARDS), weights)[0] if cid % 7 else rng.randrange(WARDS)
        ward = f"W{w:03d}"
        area = f"{ward}-G{rng.randrange(GROUPS):02d}"
        code, family, days = CATEGORIES[rng.randrange(len(CATEGORIES))]
        created = NOW - timedelta(seconds=int(span * rng.random() ** 1.2))
        age = (NOW - created).total_seconds()
        due = created + timedelta(days=days * 1.4)
        acknowledged = created + timedelta(hours=rng.uniform(0.2, 10))
        fix = created + timedelta(days=days * rng.uniform(0.1, 1.5 if rng.random() < 0.06 else 1.3))
        resolved = closed = rating = paused = None
        roll = rng.random()
        if fix > NOW or (age < 14 * 86400 and roll < 0.3):
            state = "acknowledged" if acknowledged < NOW else "submitted"
            acknowledged = acknowledged if acknowledged < NOW else None
            if rng.random() < 0.05:
                paused = created + timedelta(hours=1)
        elif roll < 0.07:
            state, closed = "rejected", acknowledged + timedelta(hours=2)
        elif roll < 0.10:
            state, closed = "withdrawn", acknowledged + timedelta(hours=3)
        else:
            resolved = fix
            closed = fix + timedelta(days=rng.uniform(0.1, 3))
            if closed > NOW:
                state, closed = "resolved", None
            elif roll < 0.75:
                state, rating = "confirmed", rng.choice((3, 4, 4, 5, 5, 5, None))
            else:
                state, closed = "closed_unconfirmed", fix + timedelta(days=7)
                if closed > NOW:
                    state, closed = "resolved", None
            if rng.random() < 0.05 and fix - timedelta(hours=20) > acknowledged:
                disputes.append((cid, utc_text(fix - timedelta(hours=20))))
        lat = 20.95 + rng.random() * 0.05 if rng.random() < 0.6 else None
        rows.append(
            (
                cid,
                code,
                family.value,
                area,
                ward,
                state,
                f"cb-{ward}-{rng.randrange(CADRES)}",
                "bench",
                lat,
                107.0 + rng.random() * 0.1 if lat is not None else None,
                utc_text(created),
                utc_text(due),
                utc_text(acknowledged) if acknowledged else None,
                utc_text(resolved) if resolved else None,
                utc_text(closed) if closed else None,
                rating,
                utc_text(paused) if paused else None,
            )
        )
    # Ids follow filing order, as the bot's AUTOINCREMENT gives them.
    order = sorted(range(count), key=lambda i: (rows[i][10], i))
    new_id = {rows[i][0]: n for n, i in enumerate(order, start=1)}
    rows = [(new_id[rows[i][0]], *rows[i][1:]) for i in order]
    disputes = sorted((new_id[cid], at) for cid, at in disputes)
    return rows, disputes


async def seed(db: Database, count: int) -> None:
    await SqliteStore(db).replace_org(city())
    rows, disputes = _rows(count, seed=SEED)
    # A big page cache for the inserts alone (the ward-first indexes take
    # them all over the place); the file comes out the same.
    await db.conn.execute("PRAGMA cache_size = -262144")
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO complaints (id, category, family, area, ward, state, owner, description,"
            " lat, lon, created_at, due_at, acknowledged_at, resolved_at, closed_at, rating,"
            " paused_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state)"
            " VALUES (?, ?, 'dispute', 'resolved', 'reopened')",
            disputes,
        )
    await db.conn.execute("ANALYZE")


# ---- the seeded file, built once per machine --------------------------------------------------


def _schema_key() -> str:
    """Changes whenever a migration does, so a cached file never misses an index."""
    text = "".join(m.sql for m in available_migrations())
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def cache_file(count: int) -> Path:
    root = os.environ.get("PHANANH_BENCH_CACHE") or Path(tempfile.gettempdir()) / "phananh-bench"
    name = f"digest-n{count}-seed{SEED}-gen{GENERATOR}-schema{_schema_key()}.db"
    return Path(root) / name


async def seeded_file(count: int, fresh: bool) -> tuple[Path, float | None]:
    """The seeded database and how long seeding took (None: it was cached).
    Written under a temporary name and renamed, so an interrupted run never
    leaves a half-seeded file behind to be trusted."""
    path = cache_file(count)
    if path.exists() and not fresh:
        return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    db = await Database.open(partial)
    await seed(db, count)
    await db.close()
    os.replace(partial, path)
    return path, time.perf_counter() - started


# ---- ours -------------------------------------------------------------------------------------


Params = Mapping[str, Any] | Sequence[Any]


class RecordingStore(SqliteDigestStore):
    """The digest store as the bot runs it, noting each statement and its
    parameters on the way (every read of the store goes through ``_all``),
    so the reference can run exactly the same ones."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.statements: list[tuple[str, Params]] = []
        self.rows = 0

    async def _all(
        self, sql: str, params: dict[str, Any] | Sequence[Any], leadership: bool = True
    ) -> list[aiosqlite.Row]:
        self.statements.append((sql if leadership else without_leadership(sql), params))
        rows = await super()._all(sql, params, leadership)
        self.rows += len(rows)
        return rows


async def build_once(services: Services, store: DigestStore) -> float:
    """One whole-city digest with a fresh `Digests` (nothing cached but the
    engine's pages), as the Monday send or /digest would build it."""
    digests = Digests(store, services)
    week = d.previous_week(NOW, digests.tz)
    month = d.previous_month(NOW, digests.tz)
    started = time.perf_counter()
    await digests.build(d.Scope(digests.wards(), whole_city=True), week, month=month)
    return time.perf_counter() - started


# ---- the reference: the sqlite3 command-line tool ----------------------------------------------


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return repr(int(value) if isinstance(value, bool) else value)
    return "'" + str(value).replace("'", "''") + "'"


def cli_script(statements: Sequence[tuple[str, Params]]) -> str:
    """The statements for ``sqlite3 FILE`` on stdin, each with its parameters
    bound through the CLI's own binding table (what ``.parameter set`` fills;
    plain SQL, so any value quotes safely)."""
    lines = [".parameter init"]
    for sql, params in statements:
        if isinstance(params, Mapping):
            bound = [(f":{name}", value) for name, value in params.items()]
        else:
            bound = [(f"?{n}", value) for n, value in enumerate(params, start=1)]
        lines.append("DELETE FROM temp.sqlite_parameters;")
        if bound:
            values = ", ".join(f"({_literal(k)}, {_literal(v)})" for k, v in bound)
            lines.append(f"INSERT INTO temp.sqlite_parameters (key, value) VALUES {values};")
        lines.append(sql.strip().rstrip(";") + ";")
    return "\n".join(lines) + "\n"


def run_cli(cli: str, path: Path, script: str) -> tuple[float, int]:
    """Seconds for the whole subprocess, and how many result lines it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [cli, str(path)], input=script, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stderr:
        raise RuntimeError(f"sqlite3 failed: {done.stderr[:500]}")
    return elapsed, len(done.stdout.splitlines())


# ---- the run ----------------------------------------------------------------------------------


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f} s"


async def sqlite_row(count: int, runs: int, fresh: bool) -> Row:
    path, seeded = await seeded_file(count, fresh)
    db = await Database.open(path)
    try:
        async with db.conn.execute("SELECT COUNT(*) FROM complaints") as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0
        services = Services(SqliteStore(db), ManualClock(NOW))
        await services.load_org()
        recording = RecordingStore(db)
        warm = await build_once(services, recording)  # also opens the readers
        script = cli_script(recording.statements)
        cli = shutil.which("sqlite3")
        ours: list[float] = []
        theirs: list[float] = []
        details: dict[str, str] = {
            "complaints": f"{total:,}",
            "wards": str(WARDS),
            "statements per digest": str(len(recording.statements)),
            "rows fetched per digest": f"{recording.rows:,}",
            "first build (warm-up)": _fmt(warm),
        }
        if seeded is not None:
            details["seeding"] = f"{seeded:.0f} s"
        if cli is not None:
            _, lines = run_cli(cli, path, script)  # warm-up, and a check
            details["CLI result lines"] = f"{lines:,}"
        for _ in range(runs):
            ours.append(await build_once(services, SqliteDigestStore(db)))
            if cli is not None:
                theirs.append(run_cli(cli, path, script)[0])
    finally:
        await db.close()
    median = statistics.median(ours)
    details["ours median/min/max"] = " / ".join(_fmt(x) for x in (median, min(ours), max(ours)))
    target = "≤ 1.5× the CLI and < 3 s"
    name = f"whole-city weekly digest, {total / 1e6:g}M complaints, {WARDS} wards"
    if cli is None:
        details["reference"] = "sqlite3 CLI not installed (apt-get install sqlite3)"
        return Row(name, _fmt(median), "sqlite3 CLI missing", "n/a", target, False, details)
    reference = statistics.median(theirs)
    details["CLI median/min/max"] = " / ".join(
        _fmt(x) for x in (reference, min(theirs), max(theirs))
    )
    started = [run_cli(cli, path, ".quit\n")[0] for _ in range(5)]
    details["CLI start-up alone (median of 5)"] = f"{statistics.median(started) * 1000:.0f} ms"
    ratio = median / reference
    return Row(
        name=name,
        ours=_fmt(median),
        reference=f"{_fmt(reference)} (sqlite3 CLI, same SQL)",
        ratio=f"{ratio:.2f}×",
        target=target,
        met=ratio <= 1.5 and median < 3.0,
        details=details,
    )


# ---- PostgreSQL: seeded by COPY, the reference is psql --------------------------------------

PG_COLUMNS = [
    "id",
    "category",
    "family",
    "area",
    "ward",
    "state",
    "owner",
    "description",
    "lat",
    "lon",
    "created_at",
    "due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "rating",
    "paused_since",
]
_INSTANTS = frozenset(n for n, name in enumerate(PG_COLUMNS) if name.endswith(("_at", "_since")))


def _as_instants(row: Sequence[object]) -> tuple[object, ...]:
    """A seeded row as PostgreSQL takes it: the stored UTC text back to instants."""
    return tuple(
        parse_utc(v) if n in _INSTANTS and isinstance(v, str) else v for n, v in enumerate(row)
    )


async def seed_postgres(url: PostgresUrl, count: int) -> float:
    """The same complaints as SQLite's file, through ``COPY``, then ``VACUUM
    ANALYZE`` as a live database would have had; the seconds it took."""
    started = time.perf_counter()
    db = await PostgresDatabase.open(url)
    try:
        await PostgresStore(db).replace_org(city())
    finally:
        await db.close()
    rows, disputes = _rows(count, seed=SEED)
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        await conn.copy_records_to_table(
            "complaints", records=[_as_instants(r) for r in rows], columns=PG_COLUMNS
        )
        del rows
        await conn.copy_records_to_table(
            "complaint_events",
            records=[
                (cid, parse_utc(str(at)), "dispute", "resolved", "reopened") for cid, at in disputes
            ],
            columns=["complaint_id", "at", "action", "from_state", "to_state"],
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('complaints', 'id'), MAX(id)) FROM complaints"
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


class RecordingPgStore(PostgresDigestStore):
    """PostgreSQL's digest store as the bot runs it, noting each statement
    and its arguments (every read goes through ``_all``)."""

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.rows = 0

    async def _all(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements.append((sql, args))
        rows = await super()._all(sql, *args)
        self.rows += len(rows)
        return rows


def _pg_literal(value: Any) -> str:
    """An argument as psql's ``EXECUTE`` takes it: a quoted literal the
    prepared statement's parameter type reads (arrays as ``'{…}'``)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        inner = ",".join(
            '"' + (v.isoformat() if isinstance(v, datetime) else str(v)).replace('"', '\\"') + '"'
            for v in value
        )
        return "'{" + inner.replace("'", "''") + "}'"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


def psql_script(statements: Sequence[tuple[str, tuple[Any, ...]]]) -> str:
    """The statements for ``psql`` on stdin, each prepared on the server with
    its parameters and executed with the same arguments: what asyncpg does
    (a named prepared statement, executed), in psql's own words."""
    lines: list[str] = []
    for n, (sql, args) in enumerate(statements, start=1):
        lines.append(f"PREPARE s{n} AS {sql.strip().rstrip(';')};")
        values = ", ".join(_pg_literal(a) for a in args)
        lines.append(f"EXECUTE s{n}({values});" if args else f"EXECUTE s{n};")
    return "\n".join(lines) + "\n"


def run_psql(psql: Path, url: PostgresUrl, script: str) -> tuple[float, int]:
    """Seconds for the whole psql subprocess (connecting included, as the
    bot's pool is already connected: its start-up is reported apart), and
    how many result lines it printed."""
    env = {
        **os.environ,
        "PGPASSWORD": url.password.reveal(),
        "PGOPTIONS": "-c search_path=phananh -c timezone=UTC",
    }
    argv = [
        str(psql),
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        url.host,
        "-p",
        str(url.port),
        "-U",
        url.user,
        "-d",
        url.database,
    ]
    started = time.perf_counter()
    done = subprocess.run(argv, input=script, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stderr:
        raise RuntimeError(f"psql failed: {done.stderr[:500]}")
    return elapsed, len(done.stdout.splitlines())


async def postgres_row(url: PostgresUrl, psql: Path, count: int, runs: int) -> Row:
    seeded = await seed_postgres(url, count)
    db = await PostgresDatabase.open(url)
    try:
        total = int(await db.fetchval("SELECT COUNT(*) FROM complaints"))
        services = Services(PostgresStore(db), ManualClock(NOW))
        await services.load_org()
        recording = RecordingPgStore(db)
        warm = await build_once(services, recording)
        script = psql_script(recording.statements)
        _, lines = run_psql(psql, url, script)  # warm-up, and a check
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(runs):
            ours.append(await build_once(services, PostgresDigestStore(db)))
            theirs.append(run_psql(psql, url, script)[0])
    finally:
        await db.close()
    median, reference = statistics.median(ours), statistics.median(theirs)
    started = [run_psql(psql, url, "")[0] for _ in range(5)]
    details = {
        "complaints": f"{total:,}",
        "wards": str(WARDS),
        "statements per digest": str(len(recording.statements)),
        "rows fetched per digest": f"{recording.rows:,}",
        "first build (warm-up)": _fmt(warm),
        "seeding (COPY, VACUUM ANALYZE)": f"{seeded:.0f} s",
        "psql result lines": f"{lines:,}",
        "ours median/min/max": " / ".join(_fmt(x) for x in (median, min(ours), max(ours))),
        "psql median/min/max": " / ".join(_fmt(x) for x in (reference, min(theirs), max(theirs))),
        "how each runs them": (
            "ours on the pool's connections side by side, as the bot builds a digest"
            " (bot/app/digests.py gathers its reads); psql one after another on one connection"
        ),
        "psql start-up and connection alone (median of 5)": (
            f"{statistics.median(started) * 1000:.0f} ms"
        ),
    }
    ratio = median / reference
    return Row(
        name=f"whole-city weekly digest, {total / 1e6:g}M complaints, {WARDS} wards, PostgreSQL",
        ours=_fmt(median),
        reference=f"{_fmt(reference)} (psql, same SQL prepared and executed)",
        ratio=f"{ratio:.2f}×",
        target="≤ 1.5× psql",
        met=ratio <= 1.5,
        details=details,
    )


async def main(count: int, runs: int, fresh: bool) -> None:
    """SQLite's row, then PostgreSQL's: on the empty database in
    PHANANH_BENCH_PG, else on a throwaway cluster (without server binaries
    or psql, SQLite's row alone)."""
    (await sqlite_row(count, runs, fresh)).emit()
    binaries = find_binaries()
    url = os.environ.get("PHANANH_BENCH_PG")
    psql = binaries / "psql" if binaries is not None else shutil.which("psql")
    if psql is None:
        print("PostgreSQL: no psql here: its row is skipped")
        return
    if url:
        (await postgres_row(PostgresUrl.parse(url), Path(psql), count, runs)).emit()
        return
    if binaries is None:
        print("PostgreSQL: no server binaries here (set PHANANH_BENCH_PG): its row is skipped")
        return
    with throwaway_cluster(binaries) as cluster:
        where = PostgresUrl.parse(cluster.url(TEMPLATE))
        (await postgres_row(where, Path(psql), count, runs)).emit()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="seed again even if cached")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.runs, args.fresh))
