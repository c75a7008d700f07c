"""Asking the resident for more information (the clock pauses), leaders
reassigning and extending, and the morning briefing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import (
    CONSTRUCTION_K1,
    ENVIRONMENT_CADRE,
    GROUP6_LEADER,
    WARD_CHAIR,
    button_data,
    file_sanitation_report,
    joined,
    to,
)

pytestmark = pytest.mark.both_engines

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def test_asking_the_resident_pauses_the_clock_until_the_answer(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    before = await bot.services.complaint(1)
    assert before is not None
    await bot.press(cadre, "h:1")
    sent = await bot.send(cadre.text("Chính xác là ngõ 12 hay ngõ 14?"))
    relayed = to(sent, an)
    assert "ngõ 12 hay ngõ 14" in joined(relayed)
    assert button_data(relayed[-1]) == ["i:1"]
    paused = await bot.services.complaint(1)
    assert paused is not None
    assert paused.paused_since == clock.now()

    clock.advance(timedelta(hours=3))  # three working hours pass (Monday 09:00 → 12:00)
    await bot.press(an, "i:1")
    await bot.send(an.photo())
    sent = await bot.send(an.text("Ngõ 14, cạnh cột điện"))
    to_cadre = to(sent, cadre)
    assert [m.kind for m in to_cadre] == ["photo", "text"], "the answer comes with its photo"
    assert "Ngõ 14, cạnh cột điện" in joined(to_cadre)
    resumed = await bot.services.complaint(1)
    assert resumed is not None
    assert resumed.paused_since is None
    assert resumed.due_at == before.due_at + timedelta(hours=3), "the deadline moved by the wait"
    actions = [e.action for e in await bot.services.store.events_of(1)]
    assert actions[-2:] == [Action.ASK_INFO, Action.ANSWER_INFO]


async def test_a_resident_who_types_the_answer_without_pressing_reply_reaches_the_cadre(
    bot: BotDriver,
) -> None:
    """Asked "which house?", a resident types "Số 12" straight away, as
    people do: it is the answer (the cadre gets it, the clock runs again),
    not the help about filing a report, nor a second report when the answer
    reads like one."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Chính xác ở số nhà nào?"))
    sent = await bot.send(an.text("Rác đổ trước số 12, cạnh cột điện"))
    assert says(joined(to(sent, an)), "info_reply.sent", code="PA-000001")
    assert "Rác đổ trước số 12, cạnh cột điện" in joined(to(sent, cadre))
    answered = await bot.services.complaint(1)
    assert answered is not None
    assert answered.paused_since is None
    assert await bot.services.complaint(2) is None, "no second report"
    sent = await bot.send(an.text("Số 12"))
    assert not says(joined(sent), "info_reply.sent"), "answered once; the rest is as usual"


async def test_a_resident_who_never_answers_restarts_the_clock_after_3_working_days(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)  # Monday 09:00
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Ngõ nào?"))
    clock.set(local(26, 8, 50))
    early = await bot.tick()
    assert not says(joined(early), "notify.info_timeout"), "not before three working days"
    clock.set(local(26, 9, 0))  # Thursday 09:00: three working days later
    sent = await bot.tick()
    assert says(joined(to(sent, cadre)), "notify.info_timeout", code="PA-000001")
    resumed = await bot.services.complaint(1)
    assert resumed is not None
    assert resumed.paused_since is None
    # The answer comes late: it still reaches the cadre, and the deadline,
    # running again since the time-out, does not move a second time.
    await bot.press(an, "i:1")
    sent = await bot.send(an.text("Ngõ 14"))
    assert "Ngõ 14" in joined(to(sent, cadre))
    after = await bot.services.complaint(1)
    assert after is not None
    assert after.due_at == resumed.due_at


async def test_an_answer_started_in_time_and_sent_after_the_time_out_reaches_the_cadre(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)  # Monday 09:00
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Ngõ nào?"))
    clock.set(local(25, 16, 0))
    await bot.press(an, "i:1")  # Wednesday: the resident starts answering…
    clock.set(local(26, 9, 0))
    await bot.tick()  # …the wait times out on Thursday morning…
    sent = await bot.send(an.photo(caption="Ngõ 14, cạnh cột điện"))  # …and then answers
    to_cadre = to(sent, cadre)
    assert [m.kind for m in to_cadre] == ["photo", "text"]
    assert "Ngõ 14, cạnh cột điện" in joined(to_cadre)
    assert says(joined(to(sent, an)), "info_reply.sent", code="PA-000001")
    actions = [e.action for e in await bot.services.store.events_of(1)]
    assert actions[-2:] == [Action.RESUME, Action.ANSWER_INFO]


async def test_a_leader_reassigns_from_the_escalation_and_by_command(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    clock.set(local(23, 17))  # the acknowledge deadline: the ward leader is told
    sent = await bot.tick()
    escalation = to(sent, chair)
    assert "g:1" in button_data(escalation[-1])
    await bot.press(chair, "g:1")
    sent = await bot.choose(chair, "tt-hh-01")
    assert says(joined(to(sent, chair)), "reassign.done", code="PA-000001", cadre="Hoàng Thị Mai")
    assert says(joined(to(sent, an)), "notify.transferred", code="PA-000001")
    assert [m for m in sent if m.chat_id == 7021], "the new cadre gets the task"
    assert says(
        joined([m for m in sent if m.chat_id == ENVIRONMENT_CADRE]),
        "notify.reassigned_away",
        code="PA-000001",
    )
    moved = await bot.services.complaint(1)
    assert moved is not None
    assert (moved.owner, moved.state) == ("tt-hh-01", State.SUBMITTED)

    sent = await bot.send(chair.command("reassign", "pa000001"))
    assert says(joined(sent), "reassign.ask_cadre", code="PA-000001")
    await bot.send(chair.text("Vu Duc Thang"))
    back = await bot.services.complaint(1)
    assert back is not None
    assert back.owner == "cb-hh-mt", "typed without diacritics"


async def test_only_leaders_reassign_or_extend(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    other = bot.user(GROUP6_LEADER, "Toàn")
    await file_sanitation_report(bot, an)
    for user in (an, cadre, other):
        sent = await bot.send(user.command("extend", "PA-000001"))
        assert len(sent) == 1, "a clear refusal"
        assert not says(joined(sent), "extend.ask_days"), user.user_id
        await bot.send(user.press_raw("g:1", 1))
        assert list(bot.api.callback_answers.values())[-1].get("show_alert") is True
    sent = await bot.send(bot.user(WARD_CHAIR, "Hùng").command("extend"))
    assert "/extend PA-000123" in joined(sent)
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.version == 0


async def test_a_leader_extends_with_a_reason_and_everyone_is_told(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    before = await bot.services.complaint(1)
    assert before is not None
    await bot.send(chair.command("extend", "PA-000001"))
    await bot.choose(chair, "2")
    sent = await bot.send(chair.text("Chờ xe chuyên dụng của công ty môi trường"))
    after = await bot.services.complaint(1)
    assert after is not None
    assert after.due_at == local(27, 9), "two more working days: Wednesday 09:00 → Friday 09:00"
    assert "Chờ xe chuyên dụng" in joined(to(sent, an))
    assert "27/11/2026 09:00" in joined(to(sent, an))
    assert "gia hạn" in joined([m for m in sent if m.chat_id == ENVIRONMENT_CADRE])
    events = await bot.services.store.events_of(1)
    assert (events[-1].action, events[-1].note) == (
        Action.EXTEND,
        "Chờ xe chuyên dụng của công ty môi trường",
    )


async def test_an_extension_typed_as_a_negative_or_in_weeks_is_asked_again(bot: BotDriver) -> None:
    """ "-1" is not one more day, "2 tuần" is not 2 days and "1,5" is not 1:
    the leader is asked again for working days; "+3 ngày", as the buttons
    write it, is 3."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    chair = bot.user(WARD_CHAIR, "Hùng")
    await bot.send(chair.command("extend", "PA-000001"))
    for typed in ("-1", "2 tuần", "1,5", "3 giờ"):
        sent = await bot.send(chair.text(typed))
        assert says(joined(sent), "extend.days_hint"), typed
        assert says(joined(sent), "extend.ask_days", code="PA-000001"), typed
    sent = await bot.send(chair.text("+3 ngày"))
    assert says(joined(sent), "extend.ask_reason")
    await bot.send(chair.text("Chờ xe chuyên dụng"))
    after = await bot.services.complaint(1)
    assert after is not None
    assert after.due_at == local(30, 9), "three more working days: Wednesday → Monday 09:00"


async def test_the_morning_briefing_lists_overdue_first_once_a_day(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an, group="HH-TDP03")  # due Wednesday 09:00
    clock.set(local(24, 9))
    await file_sanitation_report(bot, an, group="HH-TDP04")  # due Thursday 09:00
    await bot.tick()  # Tuesday's list was consumed at 09:00 already
    bot.new_messages()
    clock.set(local(26, 7, 30))  # Thursday: the first is overdue, the second due at 09:00
    sent = await bot.tick()
    briefing = [
        m for m in to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")) if says(m.text, "briefing.header")
    ]
    assert len(briefing) == 1
    lines = (briefing[0].text or "").splitlines()
    assert says(lines[0], "briefing.header", count=2, overdue=2), "both are marked late"
    late = t("vi", "task.late_mark")
    assert says(lines[1], "task.item", mark=late, code="PA-000001")
    assert says(lines[1], "task.resolve_late", due="25/11/2026 09:00"), "past its resolve deadline"
    assert says(lines[2], "task.item", mark=late, code="PA-000002")
    assert says(lines[2], "task.ack_late"), "not resolve-overdue yet, but not acknowledged in time"
    clock.set(local(26, 8))
    again = await bot.tick()
    assert not [m for m in again if says(m.text, "briefing.header")], "once a day"


async def test_the_briefing_counts_as_late_what_it_marks_late_as_tasks_does(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Not acknowledged in time but not yet past its resolve deadline: the
    line is marked late, so the header's count is 1, as /tasks says — it
    said "0 việc quá hạn" above a line marked "⚠ quá hạn tiếp nhận"."""
    await file_sanitation_report(bot, bot.user(501, "An"))  # acknowledge by Monday 17:00
    clock.set(local(24, 7, 30))
    sent = await bot.tick()
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    briefing = [m.text or "" for m in to(sent, cadre) if says(m.text, "briefing.header")]
    assert len(briefing) == 1
    head, line = briefing[0].splitlines()[:2]
    assert says(line, "task.item", mark=t("vi", "task.late_mark"), code="PA-000001")
    assert says(head, "briefing.header", count=1, overdue=1)
    assert says(joined(await bot.send(cadre.command("tasks"))), "task.header", count=1, overdue=1)


async def test_a_briefing_with_nothing_overdue_says_so_without_an_order_to_explain(
    bot: BotDriver, clock: ManualClock
) -> None:
    """A cadre whose tasks are all in time reads "none overdue", not "0
    overdue (the overdue listed first)" above a list with none."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.press(cadre, "a:1")  # acknowledged in time; resolve by Wednesday 09:00
    clock.set(local(25, 7, 30))
    sent = await bot.tick()
    mine = [m.text or "" for m in to(sent, cadre)]
    heads = [m for m in mine if says(m, "briefing.header_none_overdue", count=1)]
    assert len(heads) == 1
    assert not [m for m in mine if says(m, "briefing.header")]
    assert says(heads[0].splitlines()[1], "task.item", mark="", code="PA-000001")


async def test_the_task_card_and_the_receipt_show_both_deadlines(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await file_sanitation_report(bot, an)
    assert says(joined(to(sent, an)), "report.filed", ack_due="23/11/2026 17:00")
    card = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE][-1]
    assert says(card.text, "task.card", ack_due="23/11/2026 17:00", due="25/11/2026 09:00")
    assert [m for m in sent if m.chat_id == CONSTRUCTION_K1] == []


async def test_reply_templates_when_acknowledging_and_resolving(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    sent = await bot.press(cadre, "a:1")
    offer = to(sent, cadre)[-1]
    labels = [label for label, _ in bot.api.buttons(offer)]
    assert labels[0] == "1. Đã tiếp nhận, sẽ xử lý trong ngày."
    sent = await bot.choose(cadre, "t1")
    assert says(joined(to(sent, an)), "notify.message", text="Đã tiếp nhận, sẽ xử lý trong ngày.")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("2"))  # the second resolve template, by its number
    sent = await bot.choose(cadre, "s")
    assert says(joined(to(sent, an)), "notify.resolved", note="Đã lập biên bản, yêu cầu tháo dỡ.")


async def test_the_optional_reply_gives_way_to_any_other_action(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "a:1")  # the reply offer is pending…
    sent = await bot.press(cadre, "r:1")  # …and resolving simply replaces it
    assert says(joined(sent), "resolve.ask_note", code="PA-000001")
    sent = await bot.send(cadre.text("Tự viết: đã dọn sạch"))
    assert "ảnh" in joined(sent)


async def test_a_cadre_half_way_through_a_fix_on_a_task_reassigned_meanwhile_is_told_it_stopped(
    bot: BotDriver,
) -> None:
    """The leader gives the task to someone else while the cadre is writing
    the fix: his next words are not taken for a note the bot then refuses
    (after asking him for a photo too), but end the step with a clear word."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")
    await bot.send(chair.command("reassign", "PA-000001"))
    await bot.choose(chair, "cb-hh-dc1")
    sent = await bot.send(cadre.text("Đã thu gom xong"))
    assert says(joined(sent), "conv.task_stopped", code="PA-000001")
    assert not says(joined(sent), "resolve.ask_photo", code="PA-000001")
    sent = await bot.send(cadre.text("Đã thu gom xong"))
    assert not says(joined(sent), "conv.task_stopped", code="PA-000001"), "the step is over"
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.owner, complaint.state) == ("cb-hh-dc1", State.SUBMITTED)


async def test_the_briefing_says_a_reopened_task_was_not_taken_back_since_its_reopening(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Fixed and acknowledged on Monday, reopened by the resident on
    Tuesday afternoon: its clocks restart from the reopening.  Thursday's
    briefing says it is late to be taken back since it was reopened —
    not "quá hạn tiếp nhận", as if the cadre had never taken it — and its
    state is not "being handled" while nobody has taken it back."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "a:1")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    clock.set(local(24, 15))
    await bot.press(an, "n:1")
    await bot.send(an.text("Vẫn còn rác"))
    reopened = await bot.services.complaint(1)
    assert reopened is not None and reopened.ack_due_at == local(25, 13, 30)
    clock.set(local(26, 7, 30))
    sent = await bot.tick()
    briefing = [m.text or "" for m in to(sent, cadre) if says(m.text, "briefing.header")]
    assert len(briefing) == 1
    line = briefing[0].splitlines()[1]
    assert says(
        line,
        "task.reack_late",
        reopened="24/11/2026 15:00",
        due="25/11/2026 13:30",
        late="18 giờ",
    ), line
    assert not says(line, "task.ack_late"), line
    assert says(line, "task.item", state=t("vi", "state.reopened")), "to be taken back, not handled"
    reminders = joined([m for m in to(sent, cadre) if says(m.text, "reminder.header")])
    assert says(reminders, "reminder.reack_overdue"), reminders
    told = joined(to(sent, an))
    assert says(told, "notify.reack_overdue", code="PA-000001", ack_due="25/11/2026 13:30")
    assert not says(told, "notify.no_next_step"), "nothing promised beyond the follow-up"


async def test_the_cadre_is_told_when_a_leader_acknowledges_her_task_for_her(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The ward leader acknowledges from the escalation a task the cadre
    still holds: she hears it, and that it is still hers to resolve — her
    list no longer asked her to acknowledge, and nothing said why."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    clock.set(local(23, 17))
    await bot.tick()
    sent = await bot.press(bot.user(WARD_CHAIR, "Hùng"), "a:1")
    told = joined(to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")))
    assert says(told, "notify.acknowledged_for_you", code="PA-000001", due="25/11/2026 09:00")
    mine = joined(
        to(await bot.press(bot.user(ENVIRONMENT_CADRE, "Thắng"), "a:1"), bot.user(501, "An"))
    )
    assert not says(mine, "notify.acknowledged"), (
        "acknowledged once: the resident is not told twice"
    )


async def test_a_leaders_question_is_answered_to_the_leader_and_the_cadre_sees_what_was_asked(
    bot: BotDriver,
) -> None:
    """The ward leader asks the resident about a cadre's task: the answer
    reached only the cadre, who never saw the question; the leader who
    asked heard nothing.  Both now read the question with its answer."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.send(chair.command("status", "PA-000001"))
    await bot.press(chair, "h:1")
    await bot.send(chair.text("Rác ở đầu ngõ hay cuối ngõ?"))
    await bot.press(an, "i:1")
    sent = await bot.send(an.text("Cuối ngõ"))
    for staff in (chair, cadre):
        assert says(
            joined(to(sent, staff)),
            "notify.info_answered",
            code="PA-000001",
            question="Rác ở đầu ngõ hay cuối ngõ?",
            answer="Cuối ngõ",
        ), staff.user_id


async def test_extending_an_overdue_task_counts_from_now_not_from_the_missed_deadline(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Due Wednesday 25/11 09:00, extended by one working day on Monday
    30/11: the resident, the cadre and the leader were all given
    "26/11/2026 09:00", a date already past, as the new deadline."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    clock.set(local(30, 9))
    await bot.tick()
    await bot.send(chair.command("extend", "PA-000001"))
    await bot.choose(chair, "1")
    sent = await bot.send(chair.text("Chờ xe chuyên dụng"))
    after = await bot.services.complaint(1)
    assert after is not None
    assert after.due_at == datetime(2026, 12, 1, 9, tzinfo=TZ), "one working day from now"
    assert says(joined(to(sent, an)), "notify.extended", due="01/12/2026 09:00")
    assert says(joined(to(sent, chair)), "extend.done", due="01/12/2026 09:00")
