"""Shared fixtures: the example org chart, a real SQLite file per test, and
a clock that only moves when a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from bot.app.services import Services
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.orgio.reader import load_org_file
from bot.sandbox.driver import BotDriver
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore
from tests.factories import load_chart, started_bot

# The property tests check results, not speed: a busy machine (CI, or helpers
# side by side) must not fail them on Hypothesis's 200 ms deadline.
settings.register_profile("phananh", deadline=None)
settings.load_profile("phananh")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
# Monday 23/11/2026 09:00 in Hạ Long.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def chart() -> OrgChart:
    return load_org_file(EXAMPLE_ORG)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "phananh.db")
    yield database
    await database.close()


@pytest.fixture
async def services(db: Database, clock: ManualClock, chart: OrgChart) -> Services:
    svc = Services(SqliteStore(db), clock)
    await svc.import_org(chart)
    return svc


@pytest.fixture
async def bot(tmp_path: Path, clock: ManualClock, chart: OrgChart) -> AsyncIterator[BotDriver]:
    """The real Application, started, over the in-memory fake Bot API, with
    the example org chart in a fresh SQLite file."""
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    async with started_bot(db_path, clock) as driver:
        yield driver
