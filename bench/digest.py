"""How long the weekly digest takes over many complaints and 100 wards.

Run: .venv/bin/python -m bench.bench_digest [N] [--db PATH]
Seeds N complaints (default 100,000; seeded, so every run builds the same
data) over three years in a city of 100 wards straight into SQLite — the
use cases would take hours — then times the whole-city digest, one ward's,
and the Monday send's work for every leader.  Prints one table; never fails
on speed (numbers drift on shared machines).  With --db an existing seeded
file is reused.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.digests import Digests
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
from bot.services import Services
from storage.db import Database, utc_text
from storage.digest import SqliteDigestStore
from storage.sqlite import SqliteStore

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Monday 07:30 in Hạ Long
WARDS = 100
GROUPS = 12
CADRES = 5
YEARS = 3
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
    rows, disputes = _rows(count, seed=4)
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


async def timed(label: str, work: object) -> tuple[str, float]:
    start = time.perf_counter()
    await work  # type: ignore[misc]
    return label, time.perf_counter() - start


async def main(count: int, db_path: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = db_path or Path(tmp) / "bench.db"
        fresh = not path.exists()
        db = await Database.open(path)
        started = time.perf_counter()
        if fresh:
            await seed(db, count)
        seeded = time.perf_counter() - started
        async with db.conn.execute("SELECT COUNT(*) FROM complaints") as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0
        services = Services(SqliteStore(db), ManualClock(NOW))
        await services.load_org()
        digests = Digests(SqliteDigestStore(db), services)
        tz = services.schedule.calendar.tz
        week = d.previous_week(NOW, tz)
        month = d.previous_month(NOW, tz)
        city_scope = d.Scope(digests.wards(), whole_city=True)
        one_ward = d.Scope(("W007",))
        results = [
            await timed("whole city, cold", digests.build(city_scope, week, month=month)),
            # A fresh Digests: nothing cached but SQLite's pages.
            await timed(
                "whole city, again",
                Digests(SqliteDigestStore(db), services).build(city_scope, week, month=month),
            ),
            await timed("one ward", digests.build(one_ward, week, month=month)),
        ]

        async def every_leader() -> None:
            for _, scope in digests.recipients():
                await digests.build(scope, week, month=month)

        results.append(await timed("Monday: 102 leaders", every_leader()))
        await db.close()
    print(
        f"{total:,} complaints, {WARDS} wards" + (f" (seeded in {seeded:.0f} s)" if fresh else "")
    )
    for label, seconds in results:
        print(f"  {label:<24} {seconds:8.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.db))
