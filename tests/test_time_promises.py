"""Time, as the README promises it: nights stay quiet after a restart and
when a report comes in at night, a wait on the resident stretches a deadline
by at most 3 working days, and deadlines and lateness read as they are (the
holiday list: tests/test_holidays.py).

Played through the real Application and sweep, with the clock moved by the
test (the bot "down" is simply no application running while it moves)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, FakeUser, SentMessage
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
    to,
)
from tests.test_reminders import Week, at, kind_of, stamp

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RESIDENT = 501
STAFF = (ENVIRONMENT_CADRE, WARD_CHAIR, CITY_LEADER)


def on(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time on any day, in UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
async def db_path(tmp_path: Path, chart: OrgChart) -> Path:
    path = tmp_path / "time.db"
    await load_chart(path, chart)
    return path


async def file_flooding_report(bot: BotDriver, user: FakeUser) -> list[SentMessage]:
    """An urgent report: blocked drains and flooding (calendar time, 2 hours
    to acknowledge)."""
    await bot.send(user.command("new"))
    for key in ("sanitation", "CRNU", "HONGHAI", "HH-TDP03"):
        await bot.choose(user, key)
    await bot.send(user.text("Cống tắc, nước ngập nửa bánh xe"))
    await bot.choose(user, "d")
    return await bot.choose(user, "ok")


def at_night(heard: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    return [h for h in heard if not "07:00" <= h[0].split()[1] < "21:00"]


# ---- the catch-up after a restart keeps the quiet hours ---------------------------------


async def test_a_reminder_that_fell_due_during_downtime_goes_out_at_07_00_not_at_22_00(
    db_path: Path,
) -> None:
    """Down from Monday noon to 22:00: the two reminders and the
    acknowledge deadline missed in the afternoon wait for the morning."""
    clock = ManualClock(at(23, 9))
    api = FakeBotApi()
    async with started_bot(db_path, clock, api, digest=None) as bot:
        week = Week(bot, clock)
        await file_sanitation_report(bot, bot.user(RESIDENT, "An"))
        await week.run_until(at(23, 12))
    clock.set(at(23, 22))
    async with started_bot(db_path, clock, api, digest=None) as again:
        caught_up = [m for m in again.startup_messages if m.chat_id in STAFF]
        week.bot = again
        await week.run_until(at(24, 8))

    assert caught_up == [], "nothing to staff at 22:00"
    assert week.timeline(ENVIRONMENT_CADRE) == [
        ("Tue 07:00", "ack_overdue"),  # the strongest of what was missed, once
        ("Tue 07:30", "briefing"),
    ]
    assert week.timeline(WARD_CHAIR) == [("Tue 07:00", "ack_overdue")]
    heard = [(stamp(h.when), h.message.chat_id, kind_of(h.message)) for h in week.heard]
    assert at_night(heard) == []


async def test_an_urgent_complaint_caught_up_at_night_still_goes_out_at_once(
    db_path: Path,
) -> None:
    """Flooding does not wait for the morning: its missed reminder goes out
    at the restart, at 22:00."""
    clock = ManualClock(at(23, 9))
    api = FakeBotApi()
    async with started_bot(db_path, clock, api, digest=None) as bot:
        await file_flooding_report(bot, bot.user(RESIDENT, "An"))
    clock.set(at(23, 22))
    async with started_bot(db_path, clock, api, digest=None) as again:
        caught_up = to(again.startup_messages, again.user(ENVIRONMENT_CADRE, "Thắng"))
    assert "PA-000001" in joined(caught_up)
    assert t("vi", "reminder.ack_overdue") in joined(caught_up)


# ---- a report filed at night --------------------------------------------------------------


async def test_a_task_filed_at_night_reaches_the_cadre_at_07_00_and_the_receipt_comes_at_once(
    db_path: Path,
) -> None:
    clock = ManualClock(at(23, 23))  # Monday 23:00
    async with started_bot(db_path, clock, digest=None) as bot:
        week = Week(bot, clock)
        an = bot.user(RESIDENT, "An")
        sent = week.keep(await file_sanitation_report(bot, an))
        receipt = joined(to(sent, an))
        assert "PA-000001" in receipt
        assert t("vi", "report.filed_at_night", when="24/11/2026 07:00") in receipt
        assert to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")) == [], "not at 23:00"
        await week.run_until(at(24, 7, 20))

    (card,) = week.to(ENVIRONMENT_CADRE)
    assert stamp(card.when) == "Tue 07:00"
    assert (card.message.text or "").startswith(f"{t('vi', 'task.new_header')} — PA-000001")
    assert card.message.reply_markup is not None, "with its buttons"


async def test_a_report_filed_and_withdrawn_at_night_reaches_the_cadre_in_the_morning_in_order(
    db_path: Path,
) -> None:
    """Nothing about it at night, and the withdrawal never comes before the
    card it withdraws."""
    clock = ManualClock(at(23, 23))
    async with started_bot(db_path, clock, digest=None) as bot:
        week = Week(bot, clock)
        an = bot.user(RESIDENT, "An")
        await file_sanitation_report(bot, an)
        clock.set(at(23, 23, 30))
        week.keep(await bot.send(an.command("withdraw", "PA-000001")))
        sent = week.keep(await bot.choose(an, "w1"))
        assert "PA-000001" in joined(to(sent, an)), "the resident is answered at once"
        await week.run_until(at(24, 7, 20))

    heard = [(stamp(h.when), h.message.text or "") for h in week.to(ENVIRONMENT_CADRE)]
    assert [when for when, _ in heard] == ["Tue 07:00", "Tue 07:00"]
    assert heard[0][1].startswith(t("vi", "task.new_header"))
    assert heard[1][1] == t("vi", "notify.withdrawn", code="PA-000001")


async def test_an_urgent_report_filed_at_night_reaches_the_cadre_at_once(
    db_path: Path,
) -> None:
    clock = ManualClock(at(23, 23))
    async with started_bot(db_path, clock, digest=None) as bot:
        an = bot.user(RESIDENT, "An")
        sent = await file_flooding_report(bot, an)
    card = to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng"))
    assert "PA-000001" in joined(card)
    assert t("vi", "report.filed_at_night", when="24/11/2026 07:00") not in joined(to(sent, an))


# ---- waiting on the resident ----------------------------------------------------------------


async def test_a_week_of_downtime_stretches_a_deadline_by_at_most_3_working_days(
    db_path: Path,
) -> None:
    """The cadre asks on Monday; the resident never answers; the bot is down
    for eight days.  The wait counts until it timed out (Thursday), not
    until the bot noticed (next Tuesday)."""
    clock = ManualClock(at(23, 9))
    api = FakeBotApi()
    async with started_bot(db_path, clock, api, digest=None) as bot:
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, bot.user(RESIDENT, "An"))
        filed = await bot.services.complaint(1)
        assert filed is not None
        assert filed.due_at == at(25, 9), "2 working days"
        clock.set(at(23, 10))
        await bot.press(cadre, "h:1")
        await bot.send(cadre.text("Ngõ nào?"))
    clock.set(on(date(2026, 12, 1), 10))  # Tuesday a week later
    async with started_bot(db_path, clock, api, digest=None) as again:
        told = joined(to(again.startup_messages, again.user(ENVIRONMENT_CADRE, "Thắng")))
        resumed = await again.services.complaint(1)

    assert resumed is not None
    # Waited Monday 10:00 → Thursday 10:00: three working days (28.5 h).
    assert resumed.due_at == at(30, 9)
    assert t("vi", "notify.info_timeout", code="PA-000001", due="30/11/2026 09:00") in told


async def test_a_deadline_at_17_00_stays_17_00_when_the_resident_answers_after_hours(
    db_path: Path,
) -> None:
    """Filed at Monday's opening, due Tuesday at the close; asked and
    answered after hours, no working time passed: the deadline reads
    17:00 of Tuesday, not 07:30 of Wednesday."""
    clock = ManualClock(at(23, 7, 30))
    async with started_bot(db_path, clock, digest=None) as bot:
        an = bot.user(RESIDENT, "An")
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, an)
        clock.set(at(24, 17, 30))
        await bot.press(cadre, "h:1")
        await bot.send(cadre.text("Ngõ 12 hay ngõ 14?"))
        clock.set(at(24, 19))
        await bot.press(an, "i:1")
        sent = await bot.send(an.text("Ngõ 14"))
        status = joined(await bot.send(an.command("status", "PA-000001")))

    answered = joined(to(sent, cadre))
    assert "hạn mới: 24/11/2026 17:00" in answered
    assert "24/11/2026 17:00" in status
    assert "25/11/2026 07:30" not in answered + status


# ---- how late ----------------------------------------------------------------------------------


async def test_the_digest_says_14_hours_overdue_not_0_days(db_path: Path) -> None:
    """Flooding filed on Saturday 10:00 is due in 24 hours, Sunday 10:00; at
    the end of the week it is 14 hours late."""
    clock = ManualClock(at(28, 10))
    async with started_bot(db_path, clock, digest=None) as bot:
        await file_flooding_report(bot, bot.user(RESIDENT, "An"))
        clock.set(at(30, 9))
        chair = bot.user(WARD_CHAIR, "Hùng")
        digest = joined(await bot.send(chair.command("digest", "2026-W48")))
        await bot.send(chair.command("lang", "en"))
        english = joined(await bot.send(chair.command("digest", "2026-W48")))
    assert "PA-000001" in digest
    assert "quá hạn 14 giờ" in digest
    assert "quá hạn 0 ngày" not in digest
    assert "14 h overdue" in english
