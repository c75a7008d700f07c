"""Which PostgreSQL driver: asyncpg or psycopg 3, measured on what the bot does.

Both drivers run the same statements on the same schema (the PostgreSQL
engine's migrations), each through its own pool, against a throwaway
cluster (tests/pgserver.py) or the database named by ``PHANANH_BENCH_PG``:

- intake: what one resident's report writes, statement for statement as the
  repositories write it — the identity look-up of every update, the
  conversation saved after each of six answers, the complaint filed in one
  transaction (complaint, reporter, photo, event, receipt and task card,
  draft ended), then the outbox read and both rows marked sent; 100 reports
  one after another, and 100 more with 20 at a time (as 20 chats would);
- sweep: the reminder sweep's batch — 1,000 due complaints claimed with
  ``FOR UPDATE SKIP LOCKED`` out of 20,000 open, their bookmarks written
  back with one statement per shape, 100 events and 100 outbox rows, in one
  transaction;
- digest-sized read: 20,000 rows of ``(id, ward, created_at, state)``.

Besides the wall-clock rates, the CPU time the bot's process spends per
report (the driver's own work, which other programs on a busy machine
cannot slow down) is measured.

The drivers take turns, seven rounds each (the order rotating), on one
database, and each number is the median of its rounds: shared machines
drift by the minute.  asyncpg runs twice: with its pool's default reset
(``RESET ALL`` and more, one round trip each time a connection is given
back) and with the light one the bot uses (storage/postgres/db.py).  The
reference is psycopg 3; the ratio is asyncpg's reports per second over
psycopg's.  Run: ``.venv/bin/python -m bench.pgdriver``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg_pool
from psycopg.types.json import Jsonb

from bench.table import Row
from storage.postgres.accounts import ACCOUNT_ORDER
from storage.postgres.people import IDENTIFY

MIGRATIONS = Path(__file__).resolve().parent.parent / "storage" / "postgres" / "migrations"
START = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
REPORTS = 100  # per driver and round, one at a time; as many again 20 at a time
CONCURRENT = 20
OPEN = 20_000
DUE = 1_000
ROUNDS = 7

# The identity look-up of every update is the repository's own statement.
NEW_PERSON = (
    "WITH p AS (INSERT INTO people (display_name, language) VALUES ($3, 'vi') RETURNING id)"
    " INSERT INTO accounts (channel, external_id, person_id, display_name, created_at,"
    " last_seen_at) SELECT $1, $2, id, $3, now(), now() FROM p"
)
SAVE_CONVERSATION = (
    "INSERT INTO conversations (person_id, kind, step, data, seq, updated_at, last_update)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (person_id) DO UPDATE SET"
    " kind = excluded.kind, step = excluded.step, data = excluded.data, seq = excluded.seq,"
    " updated_at = excluded.updated_at, last_update = excluded.last_update"
)
INSERT_COMPLAINT = (
    "INSERT INTO complaints (category, family, area, ward, state, owner, concerns_leadership,"
    " description, landmark, lat, lon, created_at, due_at, clock_start, ack_due_at, urgent,"
    " swept_until, next_action_at, fallback_from) VALUES ($1, $2, $3, $4, 'submitted', $5,"
    " false, $6, NULL, $7, $8, $9, $10, $9, $11, false, $9, $12, NULL) RETURNING id"
)
INSERT_REPORTER = (
    "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at, show_name)"
    " VALUES ($1, $2, 'reporter', $3, false)"
)
# The photo as a media row kept when it arrived (its bytes left out: the
# drivers pass them alike), referenced by the complaint.
INSERT_PHOTO = (
    "WITH m AS (INSERT INTO media (mime, created_at) VALUES ('image/jpeg', now()) RETURNING id)"
    " INSERT INTO complaint_photos (complaint_id, kind, media_id, position)"
    " SELECT $1, 'report', id, 0 FROM m"
)
INSERT_EVENT = (
    "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state,"
    " actor_person_id, actor_staff_id, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
INSERT_NOTICE = (
    "INSERT INTO outbox (person_id, staff_id, complaint_id, kind, payload, created_at,"
    " next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
)
END_DRAFT = "DELETE FROM conversations WHERE person_id = $1"
DUE_OUTBOX = (
    "SELECT o.*, a.person_id AS recipient_id, a.channel, a.external_id FROM outbox o"
    " LEFT JOIN staff_bindings b ON b.staff_id = o.staff_id"
    " CROSS JOIN LATERAL (SELECT x.person_id, x.channel, x.external_id FROM accounts x"
    " WHERE x.person_id = COALESCE(o.person_id, b.person_id)"
    f" ORDER BY {ACCOUNT_ORDER} LIMIT 1) a"
    " WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= $1"
    " ORDER BY o.id LIMIT 50"
)
MARK_PARTS = (
    "UPDATE outbox SET parts_done = $1, sent_at = $2, attempts = attempts + 1"
    " WHERE id = $3 AND sent_at IS NULL"
)
DUE_ROWS = (
    "SELECT c.id, c.category, c.family, c.ward, c.state, c.owner, c.concerns_leadership,"
    " c.created_at, c.due_at, c.clock_start, c.ack_due_at, c.resolved_at, c.paused_since,"
    " c.swept_until, c.escalation_level, p.person_id FROM complaints c"
    " LEFT JOIN complaint_people p ON p.complaint_id = c.id AND p.role = 'reporter'"
    " WHERE c.next_action_at <= $1 ORDER BY c.next_action_at, c.id LIMIT $2"
    " FOR UPDATE OF c SKIP LOCKED"
)
BOOKMARK = "UPDATE complaints SET swept_until = $1, next_action_at = $2 WHERE id = $3"
READ = "SELECT id, ward, created_at, state FROM complaints ORDER BY id LIMIT $1"


def psycopg_sql(sql: str) -> str:
    """$n placeholders as psycopg's %s (each statement here uses its
    numbers in order, or repeats them, which is rewritten by value)."""
    import re

    return re.sub(r"\$(\d+)", lambda m: f"%(p{m.group(1)})s", sql)


def named(args: tuple[Any, ...]) -> dict[str, Any]:
    return {f"p{i}": v for i, v in enumerate(args, start=1)}


class Driver:
    name = ""

    async def execute(self, sql: str, *args: Any) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Any]: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def transaction(self, body: Callable[[Driver], Awaitable[None]]) -> None: ...
    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...
    def json(self, value: Any) -> Any: ...
    async def close(self) -> None: ...


class Asyncpg(Driver):
    name = "asyncpg"

    def __init__(self, pool: asyncpg.Pool, conn: Any = None) -> None:
        self.pool = pool
        self.conn = conn

    @classmethod
    async def open(cls, url: str, *, light_reset: bool = True) -> Asyncpg:
        async def init(conn: asyncpg.Connection) -> None:
            await conn.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

        async def keep(conn: asyncpg.Connection) -> None:
            """No RESET ALL round trip on release: the pool's connections
            keep no session state (an open transaction is still rolled back)."""

        pool = await asyncpg.create_pool(
            url,
            min_size=2,
            max_size=CONCURRENT,
            init=init,
            server_settings={"search_path": "phananh"},
            reset=keep if light_reset else None,
        )
        return cls(pool)

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        if self.conn is not None:
            return await getattr(self.conn, method)(sql, *args)
        async with self.pool.acquire() as conn:
            return await getattr(conn, method)(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._run("execute", sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._run("fetch", sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, *args)

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        await self._run("executemany", sql, rows)

    async def transaction(self, body: Callable[[Driver], Awaitable[None]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await body(Asyncpg(self.pool, conn))

    def json(self, value: Any) -> Any:
        return value

    async def close(self) -> None:
        await self.pool.close()


class Psycopg(Driver):
    name = "psycopg"

    def __init__(self, pool: psycopg_pool.AsyncConnectionPool, conn: Any = None) -> None:
        self.pool = pool
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> Psycopg:
        pool = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=2,
            max_size=CONCURRENT,
            kwargs={"autocommit": True, "options": "-c search_path=phananh"},
            open=False,
        )
        await pool.open(wait=True)
        return cls(pool)

    async def _cursor_run(self, conn: Any, how: str, sql: str, args: tuple[Any, ...]) -> Any:
        cur = await conn.execute(psycopg_sql(sql), named(args))
        if how == "fetch":
            return await cur.fetchall()
        if how == "fetchval":
            row = await cur.fetchone()
            return row[0] if row else None
        return None

    async def _run(self, how: str, sql: str, *args: Any) -> Any:
        if self.conn is not None:
            return await self._cursor_run(self.conn, how, sql, args)
        async with self.pool.connection() as conn:
            return await self._cursor_run(conn, how, sql, args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._run("execute", sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._run("fetch", sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, *args)

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        async def run(conn: Any) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(psycopg_sql(sql), [named(r) for r in rows])

        if self.conn is not None:
            await run(self.conn)
        else:
            async with self.pool.connection() as conn:
                await run(conn)

    async def transaction(self, body: Callable[[Driver], Awaitable[None]]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await body(Psycopg(self.pool, conn))

    def json(self, value: Any) -> Any:
        return Jsonb(value)

    async def close(self) -> None:
        await self.pool.close()


async def reset(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS phananh CASCADE; CREATE SCHEMA phananh")
        await conn.execute("SET search_path = phananh")
        for path in sorted(MIGRATIONS.glob("*.sql")):
            await conn.execute(path.read_text("utf-8"))
    finally:
        await conn.close()


async def one_report(db: Driver, n: int, now: datetime) -> None:
    """Every statement one resident's report makes, in order."""
    external = f"bench-{db.name}-{n}"
    rows = await db.fetch(IDENTIFY, "telegram", external, now)
    if not rows:
        await db.execute(NEW_PERSON, "telegram", external, f"Resident {n}")
        rows = await db.fetch(IDENTIFY, "telegram", external, now)
    person = rows[0][0]
    draft: dict[str, Any] = {}
    for step, answer in enumerate(("sanitation", "RKTG", "HONGHAI", "HH-TDP03", "text", "d")):
        await db.fetch(IDENTIFY, "telegram", external, now)
        draft[f"a{step}"] = answer
        await db.execute(
            SAVE_CONVERSATION,
            person,
            "report",
            answer,
            db.json(draft),
            step,
            now,
            str(n * 10 + step),
        )
    await db.fetch(IDENTIFY, "telegram", external, now)

    async def file(tx: Driver) -> None:
        complaint = await tx.fetchval(
            INSERT_COMPLAINT,
            "RKTG",
            "sanitation",
            "HH-TDP03",
            "HONGHAI",
            "cb-hh-mt",
            "Rác tràn ngõ",
            20.95,
            107.07,
            now,
            now + timedelta(days=2),
            now + timedelta(hours=8),
            now + timedelta(hours=4),
        )
        await tx.execute(INSERT_REPORTER, complaint, person, now)
        await tx.execute(INSERT_PHOTO, complaint)
        await tx.execute(
            INSERT_EVENT,
            complaint,
            now,
            "file",
            None,
            "submitted",
            person,
            None,
            None,
            tx.json({}),
        )
        await tx.executemany(
            INSERT_NOTICE,
            [
                (person, None, complaint, "receipt", tx.json({"code": n}), now),
                (None, "cb-hh-mt", complaint, "task_assigned", tx.json({"code": n}), now),
            ],
        )
        await tx.execute(END_DRAFT, person)

    await db.transaction(file)
    for row in await db.fetch(DUE_OUTBOX, now):
        await db.execute(MARK_PARTS, db.json(["text"]), now, row[0])


async def seed_open(url: str) -> None:
    conn = await asyncpg.connect(url, server_settings={"search_path": "phananh"})
    try:
        rng = random.Random(7)
        rows = []
        for i in range(OPEN):
            created = START - timedelta(minutes=rng.randrange(3 * 24 * 60))
            due = i < DUE
            rows.append(
                (
                    "RKTG",
                    "sanitation",
                    "HH-TDP03",
                    "HONGHAI",
                    "submitted",
                    "cb-hh-mt",
                    False,
                    "seeded",
                    created,
                    created + timedelta(days=2),
                    created,
                    created + timedelta(hours=8),
                    False,
                    created,
                    START - timedelta(minutes=1) if due else START + timedelta(days=1),
                    0,
                )
            )
        await conn.copy_records_to_table(
            "complaints",
            records=rows,
            columns=[
                "category",
                "family",
                "area",
                "ward",
                "state",
                "owner",
                "concerns_leadership",
                "description",
                "created_at",
                "due_at",
                "clock_start",
                "ack_due_at",
                "urgent",
                "swept_until",
                "next_action_at",
                "escalation_level",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def sweep_once(db: Driver, now: datetime) -> int:
    count = 0

    async def body(tx: Driver) -> None:
        nonlocal count
        rows = await tx.fetch(DUE_ROWS, now, DUE)
        count = len(rows)
        later = now + timedelta(days=1)
        await tx.executemany(BOOKMARK, [(now, later, r[0]) for r in rows])
        chosen = rows[:100]
        await tx.executemany(
            INSERT_EVENT,
            [
                (r[0], now, "remind", "submitted", "submitted", None, None, None, tx.json({}))
                for r in chosen
            ],
        )
        await tx.executemany(
            INSERT_NOTICE,
            [(None, "cb-hh-mt", r[0], "reminder", tx.json({"level": 1}), now) for r in chosen],
        )

    await db.transaction(body)
    return count


async def _rearm(url: str, minutes: int) -> None:
    """The same 1,000 complaints due again, for the next sweep."""
    conn = await asyncpg.connect(url, server_settings={"search_path": "phananh"})
    try:
        await conn.execute(
            "UPDATE complaints SET next_action_at = $1 WHERE id <= $2",
            START - timedelta(minutes=minutes),
            DUE,
        )
    finally:
        await conn.close()


async def _round(
    url: str, name: str, db: Driver, first: int, minutes: int, got: dict[str, list[float]]
) -> None:
    """One driver's turn: reports one at a time, reports 20 at a time, a
    sweep's batch, a large read."""
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(first, first + REPORTS):
        await one_report(db, n, START)
    got.setdefault("intake_serial", []).append(REPORTS / (time.perf_counter() - started))
    got.setdefault("cpu_ms", []).append((time.process_time() - cpu) * 1000 / REPORTS)
    queue = list(range(first + REPORTS, first + 2 * REPORTS))

    async def worker() -> None:
        while queue:
            await one_report(db, queue.pop(), START)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENT)))
    got.setdefault("intake_concurrent", []).append(REPORTS / (time.perf_counter() - started))
    await _rearm(url, minutes)
    started = time.perf_counter()
    assert await sweep_once(db, START) == DUE, name
    got.setdefault("sweep_ms", []).append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    assert len(await db.fetch(READ, OPEN)) == OPEN
    got.setdefault("read_ms", []).append((time.perf_counter() - started) * 1000)


async def measure_all(url: str) -> dict[str, dict[str, float]]:
    """Shared machines drift by the minute: the drivers take turns, round
    after round (the order rotating), on the same database, and each number
    is the median of its rounds."""
    await reset(url)
    await seed_open(url)
    drivers = [(name, await make(url)) for name, make in DRIVERS]
    samples: dict[str, dict[str, list[float]]] = {name: {} for name, _ in drivers}
    first = 0
    try:
        for round_ in range(ROUNDS):
            turn = drivers[round_ % len(drivers) :] + drivers[: round_ % len(drivers)]
            for name, db in turn:
                await _round(url, name, db, first, 1 + round_, samples[name])
                first += 2 * REPORTS
    finally:
        for _, db in drivers:
            await db.close()
    return {
        name: {key: statistics.median(values) for key, values in got.items()}
        for name, got in samples.items()
    }


async def main() -> None:
    url = os.environ.get("PHANANH_BENCH_PG")
    if url:
        results = await measure_all(url)
    else:
        from tests.pgserver import find_binaries, throwaway_cluster

        binaries = find_binaries()
        if binaries is None:
            raise SystemExit("no PostgreSQL server binaries: set PHANANH_BENCH_PG")
        with throwaway_cluster(binaries) as cluster:
            results = await measure_all(cluster.url("phananh_template"))
    a, p = results["asyncpg"], results["psycopg"]
    details = {
        f"{name}": ", ".join(
            [
                f"intake {r['intake_serial']:.0f} reports/s one at a time"
                f" ({r['cpu_ms']:.2f} ms of the bot's CPU each)",
                f"{r['intake_concurrent']:.0f} reports/s {CONCURRENT} at a time",
                f"sweep batch {r['sweep_ms']:.1f} ms",
                f"read {OPEN:,} rows {r['read_ms']:.1f} ms",
            ]
        )
        for name, r in results.items()
    }
    ratio = a["intake_serial"] / p["intake_serial"]
    cpu = p["cpu_ms"] / a["cpu_ms"]
    Row(
        name="PostgreSQL driver: a report's statements, one at a time",
        ours=f"{a['intake_serial']:.0f} reports/s, {a['cpu_ms']:.2f} ms CPU each (asyncpg)",
        reference=f"{p['intake_serial']:.0f} reports/s, {p['cpu_ms']:.2f} ms CPU (psycopg 3)",
        ratio=f"{ratio:.2f}× psycopg's rate, {cpu:.2f}× less CPU",
        target="the faster driver is the one pinned",
        met=ratio >= 1.0,
        details=details,
    ).emit()


async def _asyncpg(url: str) -> Driver:
    return await Asyncpg.open(url)


async def _asyncpg_reset(url: str) -> Driver:
    return await Asyncpg.open(url, light_reset=False)


async def _psycopg(url: str) -> Driver:
    return await Psycopg.open(url)


DRIVERS: list[tuple[str, Callable[[str], Awaitable[Driver]]]] = [
    ("asyncpg", _asyncpg),
    ("asyncpg, default reset", _asyncpg_reset),
    ("psycopg", _psycopg),
]


if __name__ == "__main__":
    asyncio.run(main())
