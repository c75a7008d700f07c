"""Deadlines, reminders and escalation, played through the real Application
with an injected clock: the sweep job is run at each step instead of waiting
for APScheduler."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import sweep as sweeping
from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, SentMessage
from storage.sqlite.db import utc_text
from tests.catalogue import says
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    button_data,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
    to,
)

pytestmark = pytest.mark.both_engines

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OTHER_CITY_LEADER = 7092
# Wednesday 25/11/2026 is made a public holiday for these tests.
HOLIDAY = date(2026, 11, 25)
STEP = timedelta(minutes=10)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in the week of Monday 23/11/2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def stamp(instant: datetime) -> str:
    return instant.astimezone(TZ).strftime("%a %H:%M")


@dataclass
class Heard:
    when: datetime
    message: SentMessage


class Week:
    """Moves the clock in small steps and runs the sweep at each, keeping
    what every chat received and when."""

    def __init__(self, bot: BotDriver, clock: ManualClock) -> None:
        self.bot = bot
        self.clock = clock
        self.heard: list[Heard] = []

    def keep(self, messages: list[SentMessage]) -> list[SentMessage]:
        self.heard += [Heard(self.clock.now(), m) for m in messages]
        return messages

    async def run_until(self, end: datetime) -> None:
        while self.clock.now() < end:
            self.clock.advance(STEP)
            self.keep(await self.bot.tick())

    def to(self, chat_id: int) -> list[Heard]:
        return [h for h in self.heard if h.message.chat_id == chat_id]

    def timeline(self, chat_id: int) -> list[tuple[str, str]]:
        return [(stamp(h.when), kind_of(h.message)) for h in self.to(chat_id)]


# What each message is, by the catalogue entry it says (and its parameters).
MARKERS: tuple[tuple[str, dict[str, object], str], ...] = (
    ("briefing.header", {}, "briefing"),
    ("briefing.header_none_overdue", {}, "briefing"),
    ("reminder.ack_reminder", {}, "ack"),
    ("reminder.ack_overdue", {}, "ack_overdue"),
    # A reopened task is to be taken back, not acknowledged as if new.
    ("reminder.reack_reminder", {}, "take back"),
    ("reminder.reack_overdue", {}, "take back overdue"),
    ("reminder.resolve_soon", {}, "soon"),
    ("reminder.resolve_due", {}, "due"),
    ("reminder.escalation_now", {"level": 1}, "level1"),
    ("reminder.escalation", {"level": 1}, "level1"),
    ("reminder.escalation", {"level": 2}, "level2"),
    # What the resident is told (issue 14 §3).
    ("notify.ack_overdue", {}, "told: not acknowledged"),
    ("notify.escalated", {}, "told: escalated"),
    ("notify.overdue", {}, "told: overdue"),
)


def kind_of(message: SentMessage) -> str:
    text = message.text or ""
    for key, params, kind in MARKERS:
        if says(text, key, "vi", **params):
            return kind
    return text.splitlines()[0][:30] if text else message.kind


@pytest.fixture
async def week_bot(
    where: Path | PostgresUrl, chart: OrgChart
) -> tuple[Path | PostgresUrl, ManualClock]:
    await load_chart(where, chart)
    return where, ManualClock(at(23, 7))


async def test_a_complaint_never_acknowledged_for_a_week(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    """Reminders and both escalation levels reach the right people at the
    right working times: none at night, at the weekend or on the holiday."""
    db_path, clock = week_bot
    # The Monday digests to the leaders are tested in test_digest_send.py.
    async with started_bot(db_path, clock, holidays=frozenset({HOLIDAY}), digest=None) as bot:
        week = Week(bot, clock)
        await week.run_until(at(23, 9))
        an = bot.user(501, "An")
        week.keep(await file_sanitation_report(bot, an))
        complaint = await bot.services.complaint(1)
        assert complaint is not None
        assert complaint.ack_due_at == at(23, 17), "8 working hours"
        assert complaint.due_at == at(26, 9), "2 working days, Wednesday off"
        await week.run_until(at(30, 9, 30))

    # After the acknowledge deadline, each "please acknowledge" round says it is late.
    assert week.timeline(ENVIRONMENT_CADRE)[1:] == [
        ("Mon 13:00", "ack"),  # half of the 8 working hours
        ("Mon 15:00", "ack"),  # then every 2 working hours
        ("Mon 17:00", "ack_overdue"),
        ("Tue 07:30", "briefing"),
        ("Tue 09:00", "soon"),  # one working day before the deadline
        ("Tue 09:30", "ack_overdue"),
        ("Tue 11:30", "ack_overdue"),
        ("Tue 13:30", "ack_overdue"),
        ("Tue 15:30", "ack_overdue"),
        ("Thu 07:30", "briefing"),
        ("Thu 08:00", "ack_overdue"),  # 1.5 h on Tuesday, the holiday skipped, 0.5 h on Thursday
        ("Thu 09:00", "due"),
        ("Thu 10:00", "ack_overdue"),
        ("Thu 12:00", "ack_overdue"),
        ("Thu 14:00", "ack_overdue"),
        ("Thu 16:00", "ack_overdue"),
        ("Fri 07:30", "briefing"),
        ("Fri 08:30", "ack_overdue"),
        ("Fri 10:30", "ack_overdue"),
        ("Fri 12:30", "ack_overdue"),
        ("Fri 14:30", "ack_overdue"),
        ("Fri 16:30", "ack_overdue"),
        ("Mon 07:30", "briefing"),
        ("Mon 09:00", "ack_overdue"),
    ]
    assert week.timeline(WARD_CHAIR) == [("Mon 17:00", "ack_overdue"), ("Thu 09:00", "level1")]
    for leader in (CITY_LEADER, OTHER_CITY_LEADER):
        assert week.timeline(leader) == [("Mon 09:00", "level2")], leader
    escalation = week.to(WARD_CHAIR)[-1].message
    assert button_data(escalation) == ["a:1", "g:1", "e:1"], "Acknowledge / Reassign / Extend"
    for heard in week.heard:
        local = heard.when.astimezone(TZ)
        assert 7 <= local.hour < 21, stamp(heard.when)
        assert local.weekday() < 5, stamp(heard.when)
        assert local.date() != HOLIDAY, stamp(heard.when)
    # The resident is told three times: not acknowledged in time, then each
    # escalation level (the first with the deadline passed), never again.
    assert [(when, kind) for when, kind in week.timeline(501) if kind.startswith("told")] == [
        ("Mon 17:00", "told: not acknowledged"),
        ("Thu 09:00", "told: escalated"),
        ("Mon 09:00", "told: escalated"),
    ]
    # 25 to the owner (the task card, 20 reminders, four briefings), 2 to the
    # ward leader, 1 to each city leader, 4 to the resident (the receipt and
    # the three above).
    assert len(week.heard) == 33


async def test_resolved_just_before_a_reminder_sends_none_and_closes_unconfirmed(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = week_bot
    async with started_bot(db_path, clock) as bot:
        week = Week(bot, clock)
        await week.run_until(at(23, 9))
        an = bot.user(501, "An")
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, an)
        await week.run_until(at(23, 12, 50))
        await bot.press(cadre, "r:1")
        await bot.send(cadre.text("Đã thu gom"))
        week.keep(await bot.choose(cadre, "s"))
        await week.run_until(at(30, 14))
        complaint = await bot.services.complaint(1)
        assert complaint is not None
        assert complaint.state is State.CLOSED_UNCONFIRMED
        events = [e.action.value for e in await bot.services.store.events_of(1)]
        assert events[-1] == "auto_close"

    cadre_heard = [k for _, k in week.timeline(ENVIRONMENT_CADRE)]
    assert "ack" not in cadre_heard, "reminders stop the moment a resolution is reported"
    assert "briefing" not in cadre_heard, "no open task, no morning list"
    resident = week.timeline(501)
    assert resident[-2][0] == "Thu 12:50", "asked again 3 days after the resolution"
    assert says(week.to(501)[-2].message.text, "notify.confirm_again", code="PA-000001")
    assert button_data(week.to(501)[-2].message) == ["f:1", "n:1"]
    assert resident[-1][0] == "Mon 12:50", "closed after 7 days of silence"
    assert says(week.to(501)[-1].message.text, "notify.auto_closed", code="PA-000001")
    assert says(
        week.to(ENVIRONMENT_CADRE)[-1].message.text, "notify.closed_unconfirmed", code="PA-000001"
    )


async def test_asking_again_at_night_waits_for_the_morning(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = week_bot
    async with started_bot(db_path, clock) as bot:
        week = Week(bot, clock)
        an = bot.user(501, "An")
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, an)
        clock.set(at(23, 21, 30))  # the cadre reports the fix late in the evening
        await bot.press(cadre, "r:1")
        await bot.send(cadre.text("Đã thu gom"))
        await bot.choose(cadre, "s")
        await week.run_until(at(27, 9))
    asked = [h for h in week.to(501) if "khắc phục chưa" in (h.message.text or "")]
    assert [stamp(h.when) for h in asked] == ["Fri 07:00"], "not Thursday 21:30"


async def test_a_dispute_restarts_the_clocks(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = week_bot
    async with started_bot(db_path, clock) as bot:
        week = Week(bot, clock)
        await week.run_until(at(23, 9))
        an = bot.user(501, "An")
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, an)
        await bot.press(cadre, "r:1")
        await bot.send(cadre.text("Đã thu gom"))
        await bot.choose(cadre, "s")
        clock.set(at(23, 11))
        await bot.press(an, "n:1")
        await bot.send(an.text("Vẫn còn"))
        reopened = await bot.services.complaint(1)
        assert reopened is not None
        assert reopened.clock_start == at(23, 11)
        assert reopened.ack_due_at == at(24, 9, 30)
        assert reopened.due_at == at(25, 11)
        bot.new_messages()  # what the presses caused is not part of the timeline
        await week.run_until(at(23, 17, 30))
    assert week.timeline(ENVIRONMENT_CADRE) == [
        ("Mon 15:00", "take back"),
        ("Mon 17:00", "take back"),
    ]


async def test_after_two_days_down_each_due_message_goes_out_exactly_once(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = week_bot
    api = FakeBotApi()
    async with started_bot(db_path, clock, api) as bot:
        week = Week(bot, clock)
        await week.run_until(at(23, 9))
        await file_sanitation_report(bot, bot.user(501, "An"))
        await week.run_until(at(23, 12))
    heard_before = len(week.heard)
    clock.set(at(25, 12))  # the bot was down from Monday noon to Wednesday noon
    async with started_bot(db_path, clock, api) as again:
        caught_up = week.keep(again.startup_messages)
        week.bot = again
        await week.run_until(at(25, 16))

    owner = [m for m in caught_up if m.chat_id == ENVIRONMENT_CADRE]
    assert len(owner) == 1, "everything missed, in one message"
    assert joined(owner).count("PA-000001") == 1
    assert says(joined(owner), "reminder.overdue", late="3 giờ"), "the strongest of what was missed"
    resident = [m for m in caught_up if m.chat_id == 501]
    assert len(resident) == 1, "the resident too: once, for the strongest news"
    assert says(joined(resident), "notify.escalated", code="PA-000001")
    leader = [m for m in caught_up if m.chat_id not in (ENVIRONMENT_CADRE, 501)]
    assert [m.chat_id for m in leader] == [WARD_CHAIR]
    assert says(joined(leader), "reminder.escalation", level=1), (
        "the ack overdue and level 1, as one message"
    )
    after = [stamp(h.when) for h in week.heard[heard_before:] if h.message.chat_id == 7013]
    assert after == ["Wed 12:00", "Wed 14:00", "Wed 16:00"], "then on schedule, no repeats"


async def test_the_ward_leaders_escalation_at_the_deadline_says_it_has_just_passed(
    week_bot: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    """The first level reaches the ward leader at the deadline itself: it
    said "overdue by 0 hours"; it says the deadline has just passed."""
    db_path, clock = week_bot
    async with started_bot(db_path, clock, digest=None) as bot:
        week = Week(bot, clock)
        await week.run_until(at(23, 9))
        await file_sanitation_report(bot, bot.user(501, "An"))
        await week.run_until(at(25, 9))
    first = [h.message.text for h in week.to(WARD_CHAIR)][-1]
    assert says(first, "reminder.escalation_now", level=1)
    assert t("vi", "time.hours", hours=0) not in (first or "")


async def test_the_sweep_job_is_registered_and_runs(bot: BotDriver, clock: ManualClock) -> None:
    scheduler = bot.runtime.scheduler
    assert (scheduler.job, scheduler.interval) == (bot.runtime.tick, 30)
    await file_sanitation_report(bot, bot.user(501, "An"))
    clock.advance(timedelta(hours=4))
    await scheduler.job()
    sent = bot.new_messages()
    assert "chưa tiếp nhận" in joined(to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")))


# ---- Telegram errors on every send path -------------------------------------------------


async def _to_the_task(bot: BotDriver, clock: ManualClock) -> tuple[int, object]:
    """Up to the moment the cadre's task card is sent."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    return ENVIRONMENT_CADRE, lambda: bot.choose(an, "ok")


async def _to_the_reminder(bot: BotDriver, clock: ManualClock) -> tuple[int, object]:
    await file_sanitation_report(bot, bot.user(501, "An"))
    clock.advance(timedelta(hours=4))
    return ENVIRONMENT_CADRE, bot.tick


async def _to_the_resident(bot: BotDriver, clock: ManualClock) -> tuple[int, object]:
    await file_sanitation_report(bot, bot.user(501, "An"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    return 501, lambda: bot.press(cadre, "a:1")


PATHS = {"task": _to_the_task, "reminder": _to_the_reminder, "resident": _to_the_resident}
# What a leader is told when a message could not be delivered.
UNDELIVERED = (
    "notify.undeliverable",
    "notify.undeliverable_other",
    "notify.staff_unreachable",
    "owners.why_blocked",
)
MARK = {"task": "task.new_header", "reminder": "reminder.header", "resident": "notify.acknowledged"}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("error", ["retry_after", "server", "network", "forbidden"])
async def test_telegram_errors_on_every_send_path(
    bot: BotDriver, clock: ManualClock, path: str, error: str
) -> None:
    chat_id, trigger = await PATHS[path](bot, clock)
    if error == "retry_after":
        bot.api.fail_next("sendMessage", retry_after=7, chat_id=chat_id)
    elif error == "server":
        bot.api.fail_next("sendMessage", error_code=502, chat_id=chat_id)
    elif error == "network":
        bot.api.network_failure_next("sendMessage", chat_id=chat_id)
    else:
        bot.api.blocked_chats.add(chat_id)
    assert callable(trigger)
    await trigger()

    def received() -> list[SentMessage]:
        return [m for m in bot.api.messages_to(chat_id) if says(m.text, MARK[path])]

    assert received() == [], "not delivered yet"
    if error == "forbidden":
        clock.advance(timedelta(days=1))
        await bot.flush()
        assert received() == [], "a blocked chat is not retried"
        pending, _ = await bot.services.store.outbox_counts()
        assert pending == 0, "given up, not left pending"
        if chat_id == ENVIRONMENT_CADRE:
            warned = [
                m
                for m in bot.api.messages_to(WARD_CHAIR)
                if any(says(m.text, k) for k in UNDELIVERED)
            ]
            assert len(warned) == 1, "the ward leader is told, once"
        return
    wait = timedelta(seconds=7) if error == "retry_after" else timedelta(seconds=30)
    clock.advance(wait - timedelta(seconds=1))
    await bot.flush()
    assert received() == [], "not before the wait is over"
    clock.advance(timedelta(seconds=1))
    await bot.flush()
    assert len(received()) == 1, "sent once it may be"
    clock.advance(timedelta(hours=1))
    await bot.flush()
    assert len(received()) == 1, "and never again"


async def test_a_lost_answer_sends_at_most_once_more(bot: BotDriver, clock: ManualClock) -> None:
    """Telegram accepted the message but the bot never heard back (a crash or
    a timeout right after the send): the row is not marked sent, so it goes
    out once more — never zero times, never more than twice."""
    bot.api.lose_answer_next("sendMessage", chat_id=ENVIRONMENT_CADRE)
    await file_sanitation_report(bot, bot.user(501, "An"))
    cards = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if "Việc mới" in (m.text or "")]
    assert len(cards) == 1, "delivered, though the bot does not know it"
    assert await bot.services.store.outbox_counts() == (1, 1), "the receipt went; the card not"
    clock.advance(timedelta(minutes=1))
    await bot.flush()
    clock.advance(timedelta(days=1))
    await bot.flush()
    cards = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if "Việc mới" in (m.text or "")]
    assert len(cards) == 2
    assert await bot.services.store.outbox_counts() == (0, 2)


async def test_a_crash_before_the_send_sends_after_the_restart(
    tmp_path: Path, chart: OrgChart, clock: ManualClock
) -> None:
    db_path = tmp_path / "crash.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    async with started_bot(db_path, clock, api) as bot:
        api.network_failure_next("sendMessage", chat_id=ENVIRONMENT_CADRE)
        await file_sanitation_report(bot, bot.user(501, "An"))
        assert await bot.services.store.outbox_counts() == (1, 1)
    clock.advance(timedelta(minutes=1))
    async with started_bot(db_path, clock, api) as again:
        cards = [m for m in again.startup_messages if "Việc mới" in (m.text or "")]
        assert [m.chat_id for m in cards] == [ENVIRONMENT_CADRE]
        assert await again.services.store.outbox_counts() == (0, 2)


@pytest.mark.sqlite_only
async def test_a_long_reminder_lists_what_fits_and_counts_the_rest(bot: BotDriver) -> None:
    """A cadre back from leave with 45 tasks due gets one readable message
    (Telegram allows 4,096 characters), not a clipped wall of text."""
    cadre = bot.user(ENVIRONMENT_CADRE, "Môi trường")
    await bot.send(cadre.command("start"))
    now = utc_text(bot.services.now())
    db = bot.services.store.db  # type: ignore[attr-defined]
    async with db.transaction() as conn:
        for n in range(45):
            await conn.execute(
                "INSERT INTO complaints (category, family, area, ward, state, owner,"
                " description, created_at, due_at, clock_start, ack_due_at, swept_until,"
                " next_action_at) VALUES ('RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI',"
                " 'acknowledged', 'cb-hh-mt', ?, ?, ?, ?, ?, ?, ?)",
                (f"Rác {n}", now, now, now, now, now, now),
            )
        items = [{"id": n, "due": "resolve_due", "level": 0} for n in range(1, 46)]
        await conn.execute(
            "INSERT INTO outbox (staff_id, kind, payload, created_at, next_attempt_at)"
            " VALUES ('cb-hh-mt', 'reminders', ?, ?, ?)",
            (json.dumps({"items": items}), now, now),
        )
    sent = [m for m in await bot.flush() if m.chat_id == ENVIRONMENT_CADRE]
    assert len(sent) == 1
    body = sent[0].text or ""
    assert len(body) <= 4096
    listed = body.count("\n• PA-")
    assert 30 < listed < 45, "as many whole lines as fit"
    assert body.endswith(f"… và {45 - listed} việc khác cần xử lý: xem bằng /tasks")


async def test_more_complaints_due_than_a_batch_holds_come_as_one_list_per_batch_in_order(
    week_bot: tuple[Path | PostgresUrl, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven complaints due at once, three to a batch: the cadre gets one
    list per batch, the lists in the order of their complaints, each
    complaint in exactly one — also where the next batch is claimed and
    decided while the one before is still being written (PostgreSQL)."""
    monkeypatch.setattr(sweeping, "BATCH", 3)
    db_path, clock = week_bot
    async with started_bot(db_path, clock) as bot:
        for n in range(7):
            await file_sanitation_report(bot, bot.user(501 + n, f"Dân {n}"))
        bot.new_messages()
        clock.set(at(23, 12))  # the first "please acknowledge" of all seven has come
        sent = await bot.tick()
        sent += await bot.tick()
    lists = [m.text or "" for m in sent if m.chat_id == ENVIRONMENT_CADRE]
    assert [re.findall(r"PA-\d+", text) for text in lists] == [
        ["PA-000001", "PA-000002", "PA-000003"],
        ["PA-000004", "PA-000005", "PA-000006"],
        ["PA-000007"],
    ]
    assert all(says(text, "reminder.ack_reminder") for text in lists)


async def test_a_resident_is_not_told_it_goes_up_to_the_leaders_who_follow_it_already(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The ward leader has blocked the bot, so the escalation goes to the
    city's leaders at once: the resident hears that they follow it up, not
    also that it "goes up to the city's leaders" two days later."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)  # due Wednesday 09:00
    await bot.press(cadre, "a:1")
    await bot.send(bot.user(WARD_CHAIR, "Hùng").blocks_bot())
    clock.set(at(25, 9, 10))
    told = joined(to(await bot.tick(), an))
    city = t("vi", "notify.leaders_city", upper="thành phố Hạ Long")
    assert says(told, "notify.escalated", leaders=city)
    assert not says(told, "notify.next_step"), told
    assert says(told, "notify.no_next_step", code="PA-000001")
