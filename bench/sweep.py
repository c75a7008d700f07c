"""How much one reminder sweep costs with many open complaints.

Run: .venv/bin/python -m bench.bench_sweep [N]
Prints one table; never fails on speed (numbers drift on shared machines).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.clock import ManualClock
from bot.orgfile import load_org_file
from bot.services import Services
from bot.sweep import Sweeper
from storage.db import Database, utc_text
from storage.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Hạ Long


async def seed(db: Database, services: Services, count: int, due_share: float) -> None:
    """Open complaints spread like the example org chart; ``due_share`` of
    them have their next action now, the rest later."""
    chart = services.chart
    groups = [g.code for g in chart.groups()]
    categories = [c for c in chart.categories.values() if c.family.value != "official_conduct"]
    rng = random.Random(7)
    rows = []
    for i in range(count):
        category = rng.choice(categories)
        created = NOW - timedelta(hours=rng.uniform(1, 72))
        due = created + timedelta(days=category.resolve_days)
        next_at = (
            NOW - timedelta(minutes=1)
            if rng.random() < due_share
            else NOW + timedelta(hours=rng.uniform(1, 48))
        )
        area = rng.choice(groups)
        rows.append(
            (
                category.code,
                category.family.value,
                area,
                chart.ward_of(area),
                "submitted",
                "cb-hh-mt",
                f"complaint {i}",
                utc_text(created),
                utc_text(due),
                utc_text(created),
                utc_text(created + timedelta(hours=8)),
                utc_text(created),
                utc_text(next_at),
            )
        )
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO complaints (category, family, area, ward, state, owner, description,"
            " created_at, due_at, clock_start, ack_due_at, swept_until, next_action_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def measure(count: int, due_share: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        services = Services(SqliteStore(db), ManualClock(NOW))
        await services.import_org(load_org_file(ROOT / "examples" / "org.yaml"))
        await seed(db, services, count, due_share)
        sweeper = Sweeper(services)
        await sweeper.sweep()  # warm up: the briefing of the day goes out once
        services.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE complaints SET next_action_at = ? WHERE id % ? = 0",
                (utc_text(NOW), max(1, round(1 / due_share)) if due_share else count + 1),
            )
        started = time.perf_counter()
        report = await sweeper.sweep()
        elapsed = time.perf_counter() - started
        await db.close()
        return elapsed, report.complaints


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print("| open complaints | due now | sweep time |")
    print("| --- | --- | --- |")
    for share in (0.01, 1.0):
        elapsed, swept = await measure(count, share)
        print(f"| {count:,} | {swept:,} | {elapsed * 1000:.1f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
