"""The resident always knows what happens next (issue 14 §3): withdrawing
asks first; "not fixed" gives the new deadlines; a rejection says where to
turn or which report to follow; overdue and escalated complaints are told,
once each, with a date to hold the ward to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import i18n
from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.domain.orgchart import OrgChart
from bot.report.present import Presenter
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeUser
from tests.catalogue import says
from tests.factories import (
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
    started_bot,
    to,
)

BACHDANG_CADRE = 7052  # cb-bd-dc: sidewalks in Bạch Đằng

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PRESENT = Presenter(TZ)


async def state_of(bot: BotDriver, complaint_id: int) -> State:
    complaint = await bot.services.complaint(complaint_id)
    assert complaint is not None
    return complaint.state


# ---- /withdraw asks first ----------------------------------------------------------------------


async def test_withdraw_asks_first_and_keeping_it_changes_nothing(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    sent = await bot.send(an.command("withdraw", "PA-000001"))
    assert says(joined(sent), "withdraw.ask_confirm", code="PA-000001")
    assert to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")) == []
    assert await state_of(bot, 1) is State.SUBMITTED, "nothing happens before the answer"
    sent = await bot.choose(an, "n")
    assert says(joined(sent), "withdraw.kept", code="PA-000001")
    assert await state_of(bot, 1) is State.SUBMITTED


async def test_withdraw_confirmed_ends_it_and_tells_the_cadre(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    await bot.send(an.command("withdraw", "pa000001"))
    sent = await bot.send(an.text("rút"))  # typed, as on a channel without buttons
    assert says(joined(to(sent, an)), "resident.withdrawn", code="PA-000001")
    cadre_side = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE]
    assert says(joined(cadre_side), "notify.withdrawn", code="PA-000001")
    assert await state_of(bot, 1) is State.WITHDRAWN


async def test_a_stale_or_forged_confirmation_is_refused_and_changes_nothing(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    binh = bot.user(502, "Bình")
    await file_sanitation_report(bot, an)
    await file_sanitation_report(bot, an, description="Rác ngõ 14")
    first = (await bot.send(an.command("withdraw", "PA-000001")))[-1]
    _, confirm_first = next(b for b in bot.api.buttons(first) if b[1].endswith(":w1"))
    await bot.choose(an, "n")
    # Another complaint's question now: the old confirmation is stale.
    await bot.send(an.command("withdraw", "PA-000002"))
    sent = await bot.send(an.press_raw(confirm_first, first.message_id))
    assert says(joined(sent), "conv.stale_button")
    assert says(joined(sent), "withdraw.ask_confirm", code="PA-000002"), "asked again"
    # Someone else pressing it: not theirs.
    before = len(bot.api.callback_answers)
    await bot.send(binh.press_raw(confirm_first, first.message_id))
    answers = list(bot.api.callback_answers.values())[before:]
    assert answers and says(str(answers[-1].get("text")), "refusal.bad_button")
    await bot.choose(an, "n")
    # With no question under way at all, it is refused the same way.
    before = len(bot.api.callback_answers)
    await bot.send(an.press_raw(confirm_first, first.message_id))
    answers = list(bot.api.callback_answers.values())[before:]
    assert answers and says(str(answers[-1].get("text")), "refusal.bad_button")
    assert [await state_of(bot, i) for i in (1, 2)] == [State.SUBMITTED, State.SUBMITTED]


async def test_a_confirmation_after_the_fix_was_reported_is_refused(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.send(an.command("withdraw", "PA-000001"))
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    sent = await bot.choose(an, "w1")
    assert says(joined(to(sent, an)), "refusal.wrong_state")
    assert await state_of(bot, 1) is State.RESOLVED


# ---- "not fixed" gives the new deadlines ------------------------------------------------------


async def test_not_fixed_tells_the_resident_the_new_deadlines(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    before = await bot.services.complaint(1)
    assert before is not None
    clock.advance(timedelta(hours=3))
    await bot.press(an, "n:1")
    sent = await bot.send(an.text("Vẫn còn rác"))
    after = await bot.services.complaint(1)
    assert after is not None and after.ack_due_at is not None
    assert after.due_at > before.due_at, "the clocks started again"
    assert says(
        joined(to(sent, an)),
        "resident.reopened",
        code="PA-000001",
        ack_due=PRESENT.when(after.ack_due_at),
        due=PRESENT.when(after.due_at),
    )


# ---- a rejection says where to turn, or which report to follow --------------------------------


async def test_not_in_the_wards_remit_says_where_to_turn_in_the_wards_own_words(
    bot: BotDriver, chart: OrgChart
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "j:1")
    await bot.choose(cadre, "not_remit")
    sent = await bot.send(cadre.text("Bãi rác do công ty môi trường của tỉnh quản lý"))
    told = joined(to(sent, an))
    ward_text = chart.wards["HONGHAI"].refer_to
    assert ward_text, "the example ward says where to turn"
    assert says(told, "notify.rejected_not_remit", code="PA-000001", refer_to=ward_text)
    assert "Bãi rác do công ty môi trường" in told


async def test_a_ward_without_its_own_words_gives_the_general_advice(bot: BotDriver) -> None:
    binh = bot.user(502, "Bình")
    cadre = bot.user(BACHDANG_CADRE, "Bình")
    await bot.send(binh.command("new"))
    for key in ("urban_order", "LCVH", "BACHDANG", "BD-TDP01"):
        await bot.choose(binh, key)
    await bot.send(binh.text("Quán bày bàn ghế kín vỉa hè"))
    await bot.choose(binh, "d")
    await bot.choose(binh, "ok")
    await bot.press(cadre, "j:1")
    await bot.choose(cadre, "not_remit")
    sent = await bot.send(cadre.text("Đường do tỉnh quản lý"))
    advice = i18n.t("vi", "notify.refer_default")
    assert says(joined(to(sent, binh)), "notify.rejected_not_remit", refer_to=advice)


async def test_a_duplicate_names_the_original_and_its_reporter_may_follow_it(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    binh = bot.user(502, "Bình")
    stranger = bot.user(503, "Cường")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an, description="Rác tràn ngõ 12, gọi 0912 345 678")
    await file_sanitation_report(bot, binh, description="Rác ngõ 12 không ai thu")
    await bot.press(cadre, "j:2")
    sent = await bot.choose(cadre, "duplicate")
    assert says(joined(sent), "reject.ask_original", code="PA-000002")
    offered = [data for _, data in bot.api.buttons(sent[-1])]
    assert offered == ["q:2:1", "q:2:^", "q:2:x"], "PA-000001 offered, and only it"
    sent = await bot.choose(cadre, "1")
    original = await bot.services.complaint(1)
    assert original is not None
    # Bình now follows the original (issue 17): told so, never "not accepted".
    assert says(
        joined(to(sent, binh)),
        "notify.rejected_following",
        code="PA-000002",
        original="PA-000001",
        original_state=i18n.t("vi", "state.submitted"),
        original_due=PRESENT.when(original.due_at),
    )
    assert await state_of(bot, 2) is State.REJECTED
    assert await bot.services.store.followers_of(1) == [await bot.services.reporter_id(2)]
    # Bình follows the original; its reporter's phone number is not his to read.
    shown = joined(await bot.send(binh.command("status", "PA-000001")))
    assert says(shown, "status.detail", code="PA-000001")
    assert "Rác tràn ngõ 12" in shown and "0912 345 678" not in shown
    assert says(joined(await bot.send(stranger.command("status", "PA-000001"))), "status.not_found")


async def test_a_duplicate_of_no_report_is_asked_again_keeping_the_choice(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await file_sanitation_report(bot, an, description="Rác ngõ 14")
    await bot.press(cadre, "j:2")
    await bot.choose(cadre, "duplicate")
    sent = await bot.send(cadre.text("không nhớ mã"))
    assert says(joined(sent), "reject.original_hint")
    for wrong in ("PA-000099", "pa000002"):  # no such report; this report itself
        sent = await bot.send(cadre.text(wrong))
        assert says(joined(sent), "reject.original_unknown", code="PA-000002")
        assert says(joined(sent), "reject.ask_original", code="PA-000002"), "asked again"
        assert await state_of(bot, 2) is State.SUBMITTED
    sent = await bot.send(cadre.text("PA-1"))
    assert says(joined(to(sent, an)), "notify.rejected_duplicate", original="PA-000001")
    assert await state_of(bot, 2) is State.REJECTED


# ---- told when it runs late, once per event -----------------------------------------------------


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def acknowledged_report(bot: BotDriver, an: FakeUser) -> None:
    """Filed Monday 23/11 09:00 (rubbish not collected: 2 working days, so
    due Wednesday 09:00; the ward leader at once, the city two working days
    later, then the whole round once more) and acknowledged at once."""
    await file_sanitation_report(bot, an)
    await bot.press(bot.user(ENVIRONMENT_CADRE, "Thắng"), "a:1")


async def test_overdue_and_escalated_are_told_once_each_with_the_next_date(
    bot: BotDriver, clock: ManualClock, tmp_path: Path
) -> None:
    an = bot.user(501, "An")
    await acknowledged_report(bot, an)
    clock.set(local(25, 8, 59))
    assert to(await bot.tick(), an) == [], "not before the deadline"
    clock.set(local(25, 9, 0))
    told = joined(to(await bot.tick(), an))
    ward_leaders = i18n.t("vi", "notify.leaders_ward", ward="Phường Hồng Hải")
    assert says(told, "notify.escalated", code="PA-000001", leaders=ward_leaders)
    city_leaders = i18n.t(
        "vi", "notify.leaders_city", upper=i18n.t("vi", "tier.city", name="Hạ Long")
    )
    assert says(told, "notify.next_step", when="27/11/2026 09:00", leaders=city_leaders)
    assert told.count("PA-000001 của anh/chị") == 1, "overdue and escalated: one message"
    clock.set(local(25, 15, 0))
    assert to(await bot.tick(), an) == [], "not on every sweep"

    db_path = bot.services.store.db.path  # type: ignore[attr-defined]
    async with started_bot(db_path, clock, bot.api) as again:
        again.new_messages()
        clock.set(local(26, 9, 0))
        assert to(await again.tick(), an) == [], "nor after a restart"
        clock.set(local(27, 9, 0))
        told = joined(to(await again.tick(), an))
        assert says(told, "notify.escalated", leaders=city_leaders)
        assert says(told, "notify.no_next_step", code="PA-000001"), "the last level"
        # The repeated round reminds the leaders; the resident has heard it.
        clock.set(local(3, 12, 0, month=12))
        swept = await again.tick()
        assert swept, "the leaders are reminded again"
        assert to(swept, an) == []


async def test_not_acknowledged_in_time_is_told_once(bot: BotDriver, clock: ManualClock) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.ack_due_at is not None
    clock.set(complaint.ack_due_at)
    told = joined(to(await bot.tick(), an))
    ward_leaders = i18n.t("vi", "notify.leaders_ward", ward="Phường Hồng Hải")
    assert says(
        told,
        "notify.ack_overdue",
        code="PA-000001",
        ack_due=PRESENT.when(complaint.ack_due_at),
        leaders=ward_leaders,
        due=PRESENT.when(complaint.due_at),
    )
    clock.advance(timedelta(hours=4))
    assert to(await bot.tick(), an) == [], "the reminders go on; the resident has heard it"


async def test_a_resident_who_erased_their_data_is_not_told(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    await acknowledged_report(bot, an)
    await bot.send(an.command("forget"))
    await bot.press(an, "forget")
    clock.set(local(27, 9, 0))
    swept = await bot.tick()
    assert swept, "the leaders hear of it"
    assert to(swept, an) == []


async def test_news_handled_before_it_goes_out_is_not_sent(
    bot: BotDriver, clock: ManualClock
) -> None:
    """An escalation found at night waits for the morning (urgent or not,
    the resident's side never speaks at night); fixed by then, it is not
    sent at all."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.send(an.command("new"))
    for key in ("sanitation", "CRNU", "HONGHAI", "HH-TDP03"):  # urgent: 24 hours
        await bot.choose(an, key)
    await bot.send(an.text("Cống tắc, nước ngập ngõ 12"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    await bot.press(cadre, "a:1")
    clock.set(local(24, 22, 0))  # the deadline (Tuesday 09:00) passed; 22:00 is quiet
    swept = await bot.tick()
    assert [m for m in swept if m.chat_id != an.user_id], "urgent: the leaders hear at once"
    assert to(swept, an) == [], "the resident not at night"
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thông cống"))
    await bot.choose(cadre, "s")
    clock.set(local(25, 7, 30))
    morning = to(await bot.tick(), an)
    assert not any(says(m.text, "notify.escalated") for m in morning), "fixed meanwhile"


# ---- a leader takes up a late task ----------------------------------------------------------


async def test_a_leader_who_acknowledges_an_overdue_task_is_named_and_the_delay_told(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The ward leader acknowledges from the escalation a task its cadre let
    run past its resolve deadline: the resident hears that the ward's
    leaders took it up (not "the officer in charge", who did nothing), and
    that it is late and what happens now — not the past deadline as if it
    were still a promise."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    clock.set(local(25, 9, 0))  # the resolve deadline: the ward leader is told
    await bot.tick()
    clock.set(local(25, 10, 0))
    told = joined(to(await bot.press(chair, "a:1"), an))
    ward_leaders = i18n.t("vi", "handler.ward_leaders", ward="Phường Hồng Hải")
    assert says(
        told,
        "notify.acknowledged_late",
        code="PA-000001",
        handler=ward_leaders,
        due="25/11/2026 09:00",
    )
    assert not says(told, "notify.acknowledged"), "no past date given as the deadline"
    city_leaders = i18n.t(
        "vi", "notify.leaders_city", upper=i18n.t("vi", "tier.city", name="Hạ Long")
    )
    assert says(told, "notify.next_step", when="27/11/2026 09:00", leaders=city_leaders)


async def test_a_leader_who_acknowledges_in_time_to_resolve_is_named_with_the_deadline(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Not acknowledged in time, so the ward leader took it up; its resolve
    deadline is still ahead: the resident hears who took it and by when."""
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    clock.set(local(23, 17, 0))
    await bot.tick()
    told = joined(to(await bot.press(bot.user(WARD_CHAIR, "Hùng"), "a:1"), an))
    ward_leaders = i18n.t("vi", "handler.ward_leaders", ward="Phường Hồng Hải")
    assert says(
        told, "notify.acknowledged", code="PA-000001", handler=ward_leaders, due="25/11/2026 09:00"
    )


async def test_a_cadre_who_acknowledges_past_the_resolve_deadline_tells_it_is_late(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    clock.set(local(26, 9, 0))
    await bot.tick()
    told = joined(to(await bot.press(bot.user(ENVIRONMENT_CADRE, "Thắng"), "a:1"), an))
    cadre = i18n.t("vi", "handler.cadre", area="Tổ dân phố 3", ward="Phường Hồng Hải")
    assert says(told, "notify.acknowledged_late", code="PA-000001", handler=cadre)
    assert not says(told, "notify.acknowledged")


async def test_a_leaders_word_to_the_resident_comes_from_the_leaders_and_tells_the_delay(
    bot: BotDriver, clock: ManualClock
) -> None:
    """The leader who took up the overdue task sends one of the short
    replies: the resident reads it as the ward leaders' word, not "the
    officer in charge", and the deadline already passed is told as late,
    not given as "Hạn giải quyết: 25/11/2026 09:00"."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    clock.set(local(25, 10, 0))
    await bot.tick()
    await bot.press(chair, "a:1")
    told = joined(to(await bot.press(chair, "q:1:t1"), an))
    ward_leaders = i18n.t("vi", "handler.ward_leaders", ward="Phường Hồng Hải")
    late = i18n.t("vi", "notify.message_late", due="25/11/2026 09:00", code="PA-000001")
    assert says(told, "notify.message", handler=ward_leaders, code="PA-000001", deadline=late)
    assert not says(told, "notify.message_due")


async def test_a_leader_who_asks_or_reports_the_fix_is_named_and_the_cadre_told(
    bot: BotDriver,
) -> None:
    """The ward leader asks the resident a question about a cadre's task,
    then reports it fixed: the resident reads both as the ward leaders'
    (not "Cán bộ phụ trách"), and the cadre who holds it hears that the
    leader reported it fixed for her."""
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    ward_leaders = i18n.t("vi", "handler.ward_leaders", ward="Phường Hồng Hải")
    await bot.send(chair.command("status", "PA-000001"))
    await bot.press(chair, "h:1")
    asked = joined(to(await bot.send(chair.text("Ở đầu ngõ hay cuối ngõ?")), an))
    assert says(asked, "notify.info_requested", handler=ward_leaders, code="PA-000001")
    await bot.press(an, "i:1")
    await bot.send(an.text("Cuối ngõ"))
    await bot.press(chair, "r:1")
    await bot.send(chair.text("Đã thu gom"))
    sent = await bot.choose(chair, "s")
    assert says(joined(to(sent, an)), "notify.resolved", handler=ward_leaders, code="PA-000001")
    told = joined(to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")))
    assert says(told, "notify.resolved_for_you", code="PA-000001")
