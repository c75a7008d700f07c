"""A task changing hands, and the schedule around it — played through the
real Application over the fake Bot API, with the example org chart.

Hồng Hải: Vũ Đức Thắng (cb-hh-mt, 7013) gets sanitation in group 3; the
chairman Nguyễn Văn Hùng (ld-hh-ct, 7001) is the ward leader; Hoàng Thị Mai
(tt-hh-01, 7021) leads group 1.  A report filed on Monday 23/11 09:00 must be
acknowledged by 17:00 the same day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import SentMessage
from tests.catalogue import says
from tests.factories import (
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
)

pytestmark = pytest.mark.both_engines

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP1_LEADER = 7021  # tt-hh-01: Hoàng Thị Mai


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def heard(bot: BotDriver, chat_id: int, key: str) -> int:
    """How many messages ``chat_id`` got so far that say ``key``."""
    return sum(says(m.text or "", key) for m in bot.api.messages_to(chat_id))


def late_reminder(sent: list[SentMessage], chat_id: int) -> bool:
    return says(joined([m for m in sent if m.chat_id == chat_id]), "reminder.ack_overdue")


async def test_a_task_reassigned_after_its_acknowledge_deadline_gives_the_new_cadre_a_fair_window(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The leader gives a task nobody took up to another cadre the next
    morning: she was marked late at once ("acknowledgement overdue by 15
    hours") and reminded as overdue at the next sweep, for a deadline that
    passed before the task was hers.  Now she has a full acknowledge window
    from the handover; the resolve deadline stays as the resident was told,
    and the resident hears "not acknowledged in time" once, with the date
    they were given — not again when her window ends."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    mai = bot.user(GROUP1_LEADER, "Mai")
    await file_sanitation_report(bot, an)
    filed = await bot.services.complaint(1)
    assert filed is not None
    clock.set(local(23, 17))
    await bot.tick()
    assert heard(bot, 501, "notify.ack_overdue") == 1

    clock.set(local(24, 8))  # Tuesday morning: the chairman hands it on
    await bot.send(chair.command("reassign", "PA-000001"))
    await bot.send(chair.text("Hoang Thi Mai"))
    moved = await bot.services.complaint(1)
    assert moved is not None
    assert (moved.owner, moved.state) == ("tt-hh-01", State.SUBMITTED)
    assert moved.ack_due_at is not None and moved.ack_due_at > clock.now(), "a window of her own"
    assert moved.due_at == filed.due_at, "the resolve deadline stays as promised"
    tasks = joined(await bot.send(mai.command("tasks")))
    assert says(tasks, "task.ack_by") and not says(tasks, "task.ack_late"), tasks

    clock.advance(timedelta(minutes=30))
    sent = await bot.tick()
    assert not late_reminder(sent, GROUP1_LEADER), "not reminded as late at once"

    clock.set(local(24, 16))  # her 8 working hours end: she and the chairman hear
    sent = await bot.tick()
    assert late_reminder(sent, GROUP1_LEADER)
    assert late_reminder(sent, WARD_CHAIR)
    assert heard(bot, 501, "notify.ack_overdue") == 1, "the resident is not told a second date"


async def test_a_task_transferred_late_to_another_group_is_not_late_for_its_new_cadre(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The cadre sends a task on to the group it belongs to after its
    acknowledge deadline: the receiving cadre is not shown as late for it."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    clock.set(local(24, 9))
    await bot.tick()
    await bot.press(cadre, "t:1")
    await bot.choose(cadre, "g")
    await bot.choose(cadre, "HH-TDP01")
    moved = await bot.services.complaint(1)
    assert moved is not None and moved.owner == "tt-hh-01"
    tasks = joined(await bot.send(bot.user(GROUP1_LEADER, "Mai").command("tasks")))
    assert says(tasks, "task.ack_by") and not says(tasks, "task.ack_late"), tasks
    clock.advance(timedelta(minutes=30))
    assert not late_reminder(await bot.tick(), GROUP1_LEADER)


async def test_a_task_moved_off_a_cadre_who_left_is_not_late_for_the_one_who_gets_it(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The automatic move (here: the cadre blocked the bot the day after):
    the chairman who receives the task gets a fair window, too."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    clock.set(local(24, 9))
    await bot.tick()
    await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").blocks_bot())
    moved = await bot.services.complaint(1)
    assert moved is not None and moved.owner == "ld-hh-ct"
    assert moved.ack_due_at is not None and moved.ack_due_at > clock.now()
    clock.advance(timedelta(minutes=30))
    assert not late_reminder(await bot.tick(), WARD_CHAIR)


async def test_a_leaders_question_left_unanswered_is_told_to_the_leader_who_asked_too(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The chairman asks the resident about a cadre's task; after three
    working days without an answer only the cadre heard that the wait timed
    out, and the chairman, who asked, was left waiting.  Both hear now."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)  # Monday 09:00
    await bot.send(chair.command("status", "PA-000001"))
    await bot.press(chair, "h:1")
    await bot.send(chair.text("Rác ở đầu ngõ hay cuối ngõ?"))
    clock.set(local(26, 9))  # Thursday 09:00: three working days later
    sent = await bot.tick()
    for staff in (ENVIRONMENT_CADRE, WARD_CHAIR):
        told = joined([m for m in sent if m.chat_id == staff])
        assert says(told, "notify.info_timeout", code="PA-000001"), staff


async def test_a_cadres_question_timing_out_after_the_task_was_reassigned_is_told_to_its_new_holder(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The cadre asks, then the leader hands the task to another cadre: the
    time-out goes to the one who holds it now, not to the cadre who asked
    and no longer has it."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Ngõ nào?"))
    await bot.send(chair.command("reassign", "PA-000001"))
    await bot.send(chair.text("Hoang Thi Mai"))
    clock.set(local(26, 9))
    sent = await bot.tick()
    told = {m.chat_id for m in sent if says(m.text or "", "notify.info_timeout")}
    assert told == {GROUP1_LEADER}, told


async def test_a_task_handed_on_late_is_never_to_be_acknowledged_after_its_resolve_deadline(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Handed on on Tuesday afternoon, with the resolve deadline Wednesday
    09:00: the new cadre's card said "acknowledge by" Wednesday afternoon
    under "resolve by" Wednesday morning.  Her window ends with the resolve
    deadline at the latest."""
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, bot.user(501, "An"))
    filed = await bot.services.complaint(1)
    assert filed is not None
    clock.set(local(24, 16))
    await bot.send(chair.command("reassign", "PA-000001"))
    await bot.send(chair.text("Hoang Thi Mai"))
    moved = await bot.services.complaint(1)
    assert moved is not None and moved.owner == "tt-hh-01"
    assert moved.ack_due_at is not None
    assert clock.now() < moved.ack_due_at <= moved.due_at == filed.due_at


async def test_a_task_handed_on_past_its_resolve_deadline_is_overdue_for_the_new_holder(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Past the resolve deadline nothing is fresh: the new cadre sees it
    overdue, as the leaders and the resident know it is."""
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, bot.user(501, "An"))
    clock.set(local(25, 10))
    await bot.tick()
    await bot.send(chair.command("reassign", "PA-000001"))
    await bot.send(chair.text("Hoang Thi Mai"))
    tasks = joined(await bot.send(bot.user(GROUP1_LEADER, "Mai").command("tasks")))
    assert says(tasks, "task.resolve_late"), tasks
