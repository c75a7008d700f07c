"""What the benchmarks share: the example org chart, a fixed start time, and
seeded choices drawn the way the example chart spreads areas and categories."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox.driver import BotDriver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
START = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Hạ Long, a working day


def groups_by_ward(bot: BotDriver) -> list[tuple[str, list[str]]]:
    chart = bot.services.chart
    wards: dict[str, list[str]] = {}
    for group in chart.groups():
        ward = chart.ward_of(group.code)
        if ward is not None:
            wards.setdefault(ward, []).append(group.code)
    return sorted(wards.items())


def sanitation_categories(bot: BotDriver) -> list[str]:
    return sorted(
        c.code for c in bot.services.chart.categories.values() if c.family.value == "sanitation"
    )


def count_complaints(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM complaints").fetchone()[0])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# A cadre serving each example ward: the bot moves at once any open
# complaint whose owner may not hold it (bot/domain/owners.py), so seeded
# complaints are owned as routing would own them.
OWNER_OF_WARD = {"HONGHAI": "cb-hh-mt", "BACHDANG": "cb-bd-dc"}


def seed_open_complaints(
    db_path: Path, count: int, due_share: float, now: datetime = START, seed: int = 7
) -> int:
    """``count`` open complaints spread over the example chart's groups and
    categories, filed over the last three days; ``due_share`` of them have
    their next reminder now.  Straight into SQLite: the use cases would take
    minutes.  Returns how many are due."""
    import random
    from datetime import timedelta

    from bot.orgio.reader import load_org_file
    from storage.sqlite.db import utc_text

    chart = load_org_file(EXAMPLE_ORG)
    groups = [g.code for g in chart.groups()]
    categories = [c for c in chart.categories.values() if c.family.value != "official_conduct"]
    rng = random.Random(seed)
    rows = []
    due = 0
    for i in range(count):
        category = rng.choice(categories)
        area = rng.choice(groups)
        created = now - timedelta(hours=rng.uniform(1, 72))
        if rng.random() < due_share:
            next_at = now - timedelta(minutes=1)
            due += 1
        else:
            next_at = now + timedelta(hours=rng.uniform(1, 48))
        rows.append(
            (
                category.code,
                category.family.value,
                area,
                chart.ward_of(area),
                rng.choice(("submitted", "acknowledged", "acknowledged", "reopened")),
                OWNER_OF_WARD[str(chart.ward_of(area))],
                f"Phản ánh số {i}: rác tràn ra đường",
                utc_text(created),
                utc_text(created + timedelta(days=category.resolve_days)),
                utc_text(created),
                utc_text(created + timedelta(hours=8)),
                utc_text(created),
                utc_text(next_at),
            )
        )
    with sqlite3.connect(db_path) as conn:
        conn.executemany(
            "INSERT INTO complaints (category, family, area, ward, state, owner, description,"
            " created_at, due_at, clock_start, ack_due_at, swept_until, next_action_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return due
