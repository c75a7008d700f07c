"""Shared fixtures: the example org chart, a real database per test (an
SQLite file; in the modules marked ``both_engines``, a PostgreSQL database
too: see tests/engines.py), and a clock that only moves when a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bot.app.services import Services
from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.orgio.reader import load_org_file
from bot.ports import Store
from bot.sandbox.driver import BotDriver
from storage.engines import Storage, opened
from tests.engines import POSTGRES, SQLITE, PgServer, parametrize_engines, pg_server
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """The run's throwaway PostgreSQL cluster, started by the first test
    that needs it and removed at the end."""
    with pg_server() as server:
        yield server


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """SQLite, unless the module runs both engines (tests/engines.py)."""
    return str(getattr(request, "param", SQLITE))


@pytest.fixture
def where(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Where the test's database lives: a fresh file, or a fresh PostgreSQL
    database (``PHANANH_DB`` as the bot reads it)."""
    if engine != POSTGRES:
        yield tmp_path / "bot.db"
        return
    server: PgServer = request.getfixturevalue("postgres")
    url: PostgresUrl = server.new_database()
    yield url
    server.release(url)


@pytest.fixture
async def storage(where: Path | PostgresUrl, clock: ManualClock) -> AsyncIterator[Storage]:
    async with opened(where, clock=clock) as opened_storage:
        yield opened_storage


@pytest.fixture
def db(storage: Storage) -> Any:
    """The engine's own database object (SQLite's `Database` outside the
    modules that run both engines)."""
    return storage.database


@pytest.fixture
def store(storage: Storage) -> Store:
    return storage.store


@pytest.fixture
async def services(store: Store, clock: ManualClock, chart: OrgChart) -> Services:
    svc = Services(store, clock)
    await svc.import_org(chart)
    return svc


@pytest.fixture
async def bot(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[BotDriver]:
    """The real Application, started, over the in-memory fake Bot API, with
    the example org chart in a fresh database."""
    await load_chart(where, chart)
    async with started_bot(where, clock) as driver:
        yield driver
