"""The holiday list behind every deadline: Vietnam's public holidays for
any year the bot runs in (the lunar Tết included), the government's yearly
swaps from the config, and a warning in plain words when a year has none."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.daysoff import built_in
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from tests.catalogue import says
from tests.factories import file_sanitation_report, joined, load_chart, started_bot
from tests.test_reminders import at

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RESIDENT = 501


def on(day: date, hour: int) -> datetime:
    """A local time on any day, in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
async def db_path(tmp_path: Path, chart: OrgChart) -> Path:
    path = tmp_path / "holidays.db"
    await load_chart(path, chart)
    return path


async def test_a_report_filed_before_tet_2028_is_due_after_it_with_no_list_configured(
    db_path: Path,
) -> None:
    """The built-in list goes on after 2027: Tết Mậu Thân, Monday 24 to
    Saturday 29 January 2028, by the lunar calendar."""
    clock = ManualClock(on(date(2028, 1, 21), 9))  # Friday before Tết
    async with started_bot(db_path, clock, holidays=None, digest=None) as bot:
        sent = await file_sanitation_report(bot, bot.user(RESIDENT, "An"))
    assert says(joined(sent), "report.filed", due="01/02/2028 09:00"), (
        "two working days: Monday 31, Tuesday 1"
    )


async def test_the_built_in_list_knows_2026_as_decided() -> None:
    """Ngày Văn hóa Việt Nam (24/11) from 2026; Monday 31/8/2026 off,
    paid back on Saturday 22/8."""
    off = built_in()
    assert {date(2026, 11, 24), date(2026, 8, 31), date(2026, 2, 17)} <= off.holidays
    assert date(2026, 8, 22) in off.makeup_days
    calendar = load_settings({}).calendar()
    assert not calendar.is_working_day(date(2026, 11, 24))
    assert calendar.is_working_day(date(2026, 8, 22))
    assert off.missing_years(date(2026, 12, 6)) == ()


def test_the_decreed_bridge_days_and_make_up_days_come_from_the_config() -> None:
    settings = load_settings(
        {"PHANANH_BRIDGE_DAYS": "2027-01-02, 2027-04-29", "PHANANH_MAKEUP_DAYS": "2027-01-09"}
    )
    calendar = settings.calendar()
    assert not calendar.is_working_day(date(2027, 4, 29)), "a bridge day is off"
    assert calendar.is_working_day(date(2027, 1, 9)), "the Saturday is worked"
    assert not calendar.is_working_day(date(2027, 2, 8)), "the built-in Tết stays"
    with pytest.raises(ConfigError, match="2027-01-09"):
        load_settings({"PHANANH_BRIDGE_DAYS": "2027-01-09", "PHANANH_MAKEUP_DAYS": "2027-01-09"})
    with pytest.raises(ConfigError, match="bridge_days"):
        load_settings({"PHANANH_BRIDGE_DAYS": "2 tháng 1"})


async def test_the_start_up_log_warns_in_plain_words_when_next_year_has_no_holidays(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(at(23, 9))
    own_list = frozenset({date(2026, 9, 2)})
    with caplog.at_level(logging.WARNING, logger="handlers.telegram.app"):
        async with started_bot(db_path, clock, holidays=own_list, digest=None):
            pass
        async with started_bot(
            db_path, clock, holidays=own_list, digest=None, default_language="en"
        ):
            pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        t("vi", "cli.holidays_missing", years="2027") + " " + t("vi", "cli.holidays_own_list"),
        t("en", "cli.holidays_missing", years="2027") + " " + t("en", "cli.holidays_own_list"),
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="handlers.telegram.app"):
        async with started_bot(db_path, clock, holidays=None, digest=None):
            pass
    assert caplog.records == [], "the built-in list covers 2026 and 2027"


def test_org_check_warns_when_this_and_next_year_have_no_holidays(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHANANH_DB", str(db_path))
    monkeypatch.setenv("PHANANH_HOLIDAYS", "2020-01-01,2020-09-02")
    assert main(["org", "check"]) == 0
    this_year = datetime.now(TZ).year
    years = f"{this_year}, {this_year + 1}"
    out = capsys.readouterr().out
    assert t("vi", "cli.holidays_missing", years=years) in out
    assert t("vi", "cli.holidays_own_list") in out

    monkeypatch.delenv("PHANANH_HOLIDAYS")
    assert main(["org", "check"]) == 0
    assert t("vi", "cli.holidays_missing", years=years) not in capsys.readouterr().out


def test_the_warning_says_what_to_do_when_the_built_in_list_runs_out() -> None:
    """In 2060 the built-in list lacks 2061: update the bot, or list them."""
    settings = load_settings({})
    assert settings.holiday_warning(date(2059, 6, 1)) is None
    assert settings.holiday_warning(date(2060, 6, 1)) == (
        t("vi", "cli.holidays_missing", years="2061") + " " + t("vi", "cli.holidays_built_in")
    )
