"""What the benchmarks share: the example org chart, a fixed start time, and
seeded choices drawn the way the example chart spreads areas and categories."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.driver import BotDriver

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
