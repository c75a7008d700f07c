"""Benchmark 3: one reminder sweep with 100,000 open complaints, 1 % of them due,
on each engine (SQLite, then PostgreSQL).

Run: .venv/bin/python -m bench.sweep [N] [--share 0.01] [--rounds 15] [--memory-rounds 20]

The whole application is started over the in-memory fake Bot API (as the
tests and the demo run it) on a database seeded with N open complaints
spread like the example org chart (SQLite: one ``executemany``; PostgreSQL:
``COPY``, then ``VACUUM ANALYZE`` as a live database would have had).
Before each sweep another 1 % is made due now (a different 1 % each time,
most never swept before: they catch up on every reminder since they were
filed), then the runtime's own `Sweeper` runs once and is timed:
`Sweeper.sweep()`, what the one periodic job runs.

The reference, measured before each of our sweeps on the same database: the
bare indexed query that finds the same due rows (every column, in the
sweep's order, through the same partial index on ``next_action_at``) on a
connection of its own — stdlib ``sqlite3`` on SQLite, asyncpg on PostgreSQL
(the driver and connection settings the bot uses).  It is the floor under
any sweep: the sweep must read those rows, decide, and write.  What the
database alone costs for that is measured too, on the same connection just
after the reference (`Side.read_write_back`): the same rows read, held as the
sweep holds them, and each one's bookmark written back and committed, with
nothing decided.  The row says how far that floor already is from the
reference, and what the target leaves for deciding.

PostgreSQL comes from ``PHANANH_BENCH_PG`` when set, else a throwaway
cluster made with the machine's server binaries (tests/pgserver.py); with
neither, SQLite's row alone is printed.

In the bot sweeps come 30 s apart, and on SQLite the WAL pages each one
writes are checkpointed in the background meanwhile (storage/sqlite/db.py).
Here the rounds follow each other closely, so each waits for that to be
done, and the checkpoint of the sweep's own writes is timed apart and
reported, not hidden: it is work the bot does, just not inside the sweep.

Memory stays flat because nothing is kept per complaint outside the
database: the periodic job is one asyncio loop over it (bot/scheduler.py),
with no job per complaint to count; the row reports the asyncio tasks alive
at the start and after every sweep; the RSS before and after, and the
tracemalloc peak of each of 20 more sweeps.  Each engine's `Row`
(bench/table.py) is printed as a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import OWNER_OF_WARD
from bench.table import Row
from bot.app.services import Services
from bot.app.sweep import Sweeper
from bot.config import PostgresUrl, Secret, Settings
from bot.domain.clock import ManualClock
from bot.orgio.reader import load_org_file
from bot.sandbox.driver import driven
from storage.engines import open_storage
from storage.postgres.db import connect_arguments
from storage.sqlite.db import Database, utc_text
from storage.sqlite.store import SqliteStore
from tests.pgserver import TEMPLATE, find_binaries, throwaway_cluster

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 14:00 in Hạ Long: working hours
MORNING = datetime(2026, 11, 25, 0, 35, tzinfo=UTC)  # Wednesday 07:35, in the briefing window
STEP = timedelta(seconds=30)  # the default sweep interval
TARGET_RATIO = 3.0


SEED_COLUMNS = [
    "category",
    "family",
    "area",
    "ward",
    "state",
    "owner",
    "description",
    "created_at",
    "due_at",
    "clock_start",
    "ack_due_at",
    "swept_until",
    "next_action_at",
]


def seed_rows(services: Services, count: int, due_share: float) -> list[tuple[Any, ...]]:
    """Open complaints spread like the example org chart; ``due_share`` of
    them have their next action now, the rest later (to the second, as the
    bot stores instants on either engine)."""
    chart = services.chart
    groups = [g.code for g in chart.groups()]
    categories = [c for c in chart.categories.values() if c.family.value != "official_conduct"]
    rng = random.Random(7)
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        category = rng.choice(categories)
        created = NOW - timedelta(seconds=int(rng.uniform(1, 72) * 3600))
        due = created + timedelta(days=category.resolve_days)
        next_at = (
            NOW - timedelta(minutes=1)
            if rng.random() < due_share
            else NOW + timedelta(seconds=int(rng.uniform(1, 48) * 3600))
        )
        area = rng.choice(groups)
        rows.append(
            (
                category.code,
                category.family.value,
                area,
                chart.ward_of(area),
                "submitted",
                OWNER_OF_WARD[str(chart.ward_of(area))],
                f"complaint {i}",
                created,
                due,
                created,
                created + timedelta(hours=8),
                created,
                next_at,
            )
        )
    return rows


def settings(where: Path | PostgresUrl) -> Settings:
    if isinstance(where, PostgresUrl):
        return Settings(telegram_token=Secret("123456:BENCH"), db_url=where, rate_limit=False)
    return Settings(telegram_token=Secret("123456:BENCH"), db_path=where, rate_limit=False)


def live_tasks() -> int:
    """The asyncio tasks alive: nothing is scheduled per complaint."""
    return len(asyncio.all_tasks())


def rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The reference: the due rows, every column, in the sweep's order, through the
# same partial index on ``next_action_at`` the sweep reads them by.
DUE_ROWS = (
    "SELECT * FROM complaints WHERE next_action_at IS NOT NULL AND next_action_at <= {now}"
    " ORDER BY next_action_at, id"
)


# The floor's writes: each due row's bookmark and next look, written back as
# they were (the sweep writes these two for every complaint it decides).
BOOKMARK = ("swept_until", "next_action_at", "id")
WRITE_BACK = "UPDATE complaints SET swept_until = {0}, next_action_at = {1} WHERE id = {2}"


class Side:
    """One engine under the benchmark: its database made and seeded, the
    next 1 % made due (``id % modulus == k``, a new k each time), and the
    reference query, on a connection of its own."""

    engine = ""
    reference_name = ""
    # How much the process may grow over the traced sweeps: the engine's own
    # cache filling as sweeps touch pages they had not touched yet.
    cache_mb = 0.0

    def __init__(self, share: float) -> None:
        self.modulus = max(1, round(1 / share))
        self.k = 0

    def next_k(self) -> int:
        self.k = self.k % self.modulus + 1
        return self.k % self.modulus

    @property
    def where(self) -> Path | PostgresUrl:
        raise NotImplementedError

    async def create(self, count: int, share: float) -> None:
        raise NotImplementedError

    async def open(self) -> None:
        raise NotImplementedError

    async def rearm(self, now: datetime) -> None:
        raise NotImplementedError

    async def reference(self, now: datetime) -> tuple[float, int]:
        raise NotImplementedError

    async def read_write_back(self, now: datetime) -> float:
        """Seconds for the database's part of any sweep, with nothing
        decided: in one transaction, the due rows read (as the reference
        reads them, held as the sweep holds them) and each one's bookmark
        written back as it was, then committed.  Writing the same values
        leaves the rows due, so the sweep timed next finds what it would
        have found; the pages are written all the same."""
        raise NotImplementedError

    async def settle(self) -> None:
        """Quiet before a timed sweep (nothing to wait for by default)."""

    async def after_sweep(self) -> float | None:
        """What the engine does after a sweep's commit, timed apart (None: nothing)."""
        return None

    async def close(self) -> None:
        raise NotImplementedError


async def _with_chart(services: Services) -> Services:
    await services.import_org(load_org_file(ROOT / "examples" / "org.yaml"))
    return services


class SqliteSide(Side):
    engine = "SQLite"
    reference_name = "sqlite3"
    cache_mb = Database.CACHE_KIB / 1024

    def __init__(self, folder: Path, share: float, name: str = "bench.db") -> None:
        super().__init__(share)
        self.path = folder / name
        self.floor: sqlite3.Connection | None = None

    @property
    def where(self) -> Path:
        return self.path

    async def create(self, count: int, share: float) -> None:
        db = await Database.open(self.path)
        services = await _with_chart(Services(SqliteStore(db), ManualClock(NOW)))
        if count:
            rows = seed_rows(services, count, share)
            async with db.transaction() as conn:
                await conn.executemany(
                    f"INSERT INTO complaints ({', '.join(SEED_COLUMNS)})"
                    f" VALUES ({', '.join('?' * len(SEED_COLUMNS))})",
                    [[utc_text(v) if isinstance(v, datetime) else v for v in r] for r in rows],
                )
        await db.close()

    async def open(self) -> None:
        self.floor = sqlite3.connect(self.path)

    async def rearm(self, now: datetime) -> None:
        assert self.floor is not None
        with self.floor:
            self.floor.execute(
                "UPDATE complaints SET next_action_at = ? WHERE id % ? = ?",
                (utc_text(now), self.modulus, self.next_k()),
            )

    async def reference(self, now: datetime) -> tuple[float, int]:
        assert self.floor is not None
        started = time.perf_counter()
        rows = self.floor.execute(DUE_ROWS.format(now="?"), (utc_text(now),)).fetchall()
        return time.perf_counter() - started, len(rows)

    async def read_write_back(self, now: datetime) -> float:
        assert self.floor is not None
        conn = self.floor
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(DUE_ROWS.format(now="?"), (utc_text(now),))
            names = [d[0] for d in cursor.description]
            at = [names.index(n) for n in BOOKMARK]
            conn.executemany(WRITE_BACK.format("?", "?", "?"), [[r[i] for i in at] for r in cursor])
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return time.perf_counter() - started

    async def settle(self) -> None:
        """Between two sweeps the bot waits 30 s; here, long enough for its
        background checkpoint to run (on an emptied WAL) and go idle, so that
        it never runs beside the sweep being timed."""
        await self.after_sweep()
        await asyncio.sleep(Database.CHECKPOINT_DELAY * 2)

    async def after_sweep(self) -> float:
        """Seconds to copy the WAL back into the database: what the bot does in
        the background after a sweep (storage/sqlite/db.py), timed here on its own."""
        assert self.floor is not None
        started = time.perf_counter()
        self.floor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return time.perf_counter() - started

    async def close(self) -> None:
        if self.floor is not None:
            self.floor.close()


class PostgresSide(Side):
    engine = "PostgreSQL"
    reference_name = "asyncpg, as the bot connects"
    cache_mb = 4.0  # asyncpg's statement caches; the server's cache is not ours

    def __init__(self, url: str, share: float) -> None:
        super().__init__(share)
        self.url = PostgresUrl.parse(url)
        self.floor: asyncpg.Connection | None = None

    @property
    def where(self) -> PostgresUrl:
        return self.url

    async def create(self, count: int, share: float) -> None:
        storage = await open_storage(self.url)
        try:
            services = await _with_chart(Services(storage.store, ManualClock(NOW)))
            rows = seed_rows(services, count, share)
        finally:
            await storage.close()
        conn = await self._connect()
        try:
            await conn.copy_records_to_table("complaints", records=rows, columns=SEED_COLUMNS)
            await conn.execute("VACUUM ANALYZE complaints")
        finally:
            await conn.close()

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(**connect_arguments(self.url))

    async def open(self) -> None:
        self.floor = await self._connect()

    async def rearm(self, now: datetime) -> None:
        assert self.floor is not None
        await self.floor.execute(
            "UPDATE complaints SET next_action_at = $1 WHERE id % $2 = $3",
            now,
            self.modulus,
            self.next_k(),
        )

    async def reference(self, now: datetime) -> tuple[float, int]:
        assert self.floor is not None
        started = time.perf_counter()
        rows = await self.floor.fetch(DUE_ROWS.format(now="$1"), now)
        return time.perf_counter() - started, len(rows)

    async def read_write_back(self, now: datetime) -> float:
        assert self.floor is not None
        conn = self.floor
        started = time.perf_counter()
        async with conn.transaction():
            rows = await conn.fetch(DUE_ROWS.format(now="$1") + " FOR UPDATE SKIP LOCKED", now)
            await conn.executemany(
                WRITE_BACK.format("$1", "$2", "$3"), [[r[n] for n in BOOKMARK] for r in rows]
            )
        return time.perf_counter() - started

    async def close(self) -> None:
        if self.floor is not None:
            await self.floor.close()


def python_speed() -> float:
    """Seconds for a million steps of a plain Python loop (the best of
    five): the sweep is Python work, and shared machines differ and drift,
    so the row says how fast Python ran here."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for n in range(1_000_000):
            total += n
        best = min(best, time.perf_counter() - started)
    return best


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _leaves(floor: float, reference: float, complaints: float) -> str:
    """What the target leaves for deciding, over the database's own part."""
    spare = TARGET_RATIO * reference - floor
    if spare <= 0:
        return "nothing for deciding"
    each = spare / complaints * 1e6
    return f"{_ms(spare)} for deciding {complaints:,.0f} complaints ({each:.1f} µs each)"


async def measure(side: Side, count: int, share: float, rounds: int, memory_rounds: int) -> Row:
    """The row of one engine: ``side``'s database is made here."""
    started = time.perf_counter()
    await side.create(count, share)
    seeded = time.perf_counter() - started

    clock = ManualClock(NOW)
    started = time.perf_counter()
    async with driven(settings(side.where), clock) as driver:
        start_up = time.perf_counter() - started
        tasks = [live_tasks()]
        sweeper: Sweeper = driver.runtime.sweeper
        await side.open()
        try:
            # One run of the job itself: the sweep, then its reminder sent.
            clock.advance(STEP)
            await side.rearm(clock.now())
            started = time.perf_counter()
            await driver.tick()
            job_run = time.perf_counter() - started

            ours: list[float] = []
            refs: list[float] = []
            floors: list[float] = []
            due: list[int] = []
            rss_before = rss_mb()
            afterwards: list[float] = []
            for _ in range(rounds):
                await side.settle()
                clock.advance(STEP)
                await side.rearm(clock.now())
                await side.settle()
                ref, rows = await side.reference(clock.now())
                floors.append(await side.read_write_back(clock.now()))
                await side.settle()
                started = time.perf_counter()
                report = await sweeper.sweep()
                ours.append(time.perf_counter() - started)
                after = await side.after_sweep()
                if after is not None:
                    afterwards.append(after)
                refs.append(ref)
                assert report.complaints == rows, (report.complaints, rows)
                due.append(rows)
                tasks.append(live_tasks())
            rss_after = rss_mb()

            tracemalloc.start()
            peaks: list[int] = []
            for _ in range(memory_rounds):
                await side.settle()
                clock.advance(STEP)
                await side.rearm(clock.now())
                tracemalloc.reset_peak()
                await sweeper.sweep()
                peaks.append(tracemalloc.get_traced_memory()[1])
                tasks.append(live_tasks())
            retained = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            rss_end = rss_mb()

            # Once a working day the first sweep in the morning also lists
            # every open task for its owner: that part alone, timed.
            started = time.perf_counter()
            briefed = await sweeper.briefing(MORNING)
            briefing = time.perf_counter() - started
        finally:
            await side.close()

    median, reference_median = statistics.median(ours), statistics.median(refs)
    floor = statistics.median(floors)
    ratio = median / reference_median
    half = max(1, len(peaks) // 4)
    # Flat: the Python heap's peak per sweep does not grow and nothing stays
    # behind; the process grows by no more than the engine's own cache may
    # (bounded, it fills as sweeps touch pages they had not touched yet).
    flat = (
        max(peaks[-half:]) <= 1.25 * max(peaks[:half])
        and retained < 1_000_000
        and rss_end - rss_after <= side.cache_mb
    )
    # No task per complaint: as many after every sweep as at the start.
    no_task_per_complaint = len(set(tasks)) == 1
    details = {
        "open complaints": f"{count:,}",
        "due per sweep (median, min–max)": (
            f"{statistics.median(due):,.0f} ({min(due):,}–{max(due):,})"
        ),
        "sweeps timed": str(len(ours)),
        "ours median / min / max": " / ".join(_ms(x) for x in (median, min(ours), max(ours))),
        "reference median / min / max": " / ".join(
            _ms(x) for x in (reference_median, min(refs), max(refs))
        ),
        "the database's part alone, nothing decided (the due rows read and their bookmarks"
        " written back and committed, on the reference's connection), median": (
            f"{_ms(floor)} = {floor / reference_median:.1f}× the reference; at {TARGET_RATIO:g}×"
            f" that leaves {_leaves(floor, reference_median, statistics.median(due))}"
        ),
        "asyncio tasks: at start / after every sweep": f"{tasks[0]} / {sorted(set(tasks))}",
        "RSS before / after the timed sweeps / after the traced ones": (
            f"{rss_before:.0f} / {rss_after:.0f} / {rss_end:.0f} MB"
        ),
        f"tracemalloc peak per sweep, first {half} / last {half} of {len(peaks)}": (
            f"{max(peaks[:half]) / 1e6:.1f} / {max(peaks[-half:]) / 1e6:.1f} MB"
        ),
        "traced memory held after them": f"{retained / 1e6:.1f} MB",
    }
    if afterwards:
        details["WAL checkpoint of a sweep's writes (the bot's runs in the background)"] = (
            f"{_ms(statistics.median(afterwards))} median"
        )
    details["the morning briefing of all open tasks (first sweep of a day)"] = (
        f"{_ms(briefing)} for {briefed} list(s)"
    )
    details["one run of the periodic job (the sweep and its reminder message sent)"] = _ms(job_run)
    details["start-up over the seeded database (its catch-up sweep included)"] = f"{start_up:.1f} s"
    details["seeding"] = f"{seeded:.1f} s"
    return Row(
        name=f"reminder sweep, {count / 1000:,.0f}k open, {share:.0%} due, {side.engine}",
        ours=_ms(median),
        reference=(
            f"{_ms(reference_median)} (indexed SELECT of the due rows, {side.reference_name})"
        ),
        ratio=f"{ratio:.1f}×",
        target=f"≤ {TARGET_RATIO:g}× the bare query; one scheduler job; flat memory",
        met=ratio <= TARGET_RATIO and no_task_per_complaint and flat,
        details=details,
    )


async def main(count: int, share: float, rounds: int, memory_rounds: int) -> None:
    """SQLite's row, then PostgreSQL's (the database in PHANANH_BENCH_PG, else
    a throwaway cluster; without server binaries, SQLite's row alone)."""
    speed = python_speed()
    with tempfile.TemporaryDirectory() as tmp:
        row = await measure(SqliteSide(Path(tmp), share), count, share, rounds, memory_rounds)
    _with_speed(row, speed).emit()
    url = os.environ.get("PHANANH_BENCH_PG")
    if url:
        row = await measure(PostgresSide(url, share), count, share, rounds, memory_rounds)
        _with_speed(row, speed).emit()
        return
    binaries = find_binaries()
    if binaries is None:
        print("PostgreSQL: no server binaries here (set PHANANH_BENCH_PG): its row is skipped")
        return
    with throwaway_cluster(binaries) as cluster:
        side = PostgresSide(cluster.url(TEMPLATE), share)
        row = await measure(side, count, share, rounds, memory_rounds)
    _with_speed(row, speed).emit()


def _with_speed(row: Row, speed: float) -> Row:
    details = {**row.details, "Python speed here (a million loop steps)": _ms(speed)}
    return dataclasses.replace(row, details=details)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--memory-rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.share, args.rounds, args.memory_rounds))
