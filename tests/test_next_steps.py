"""The resident always knows what happens next (issue 14 §3): withdrawing
asks first; "not fixed" gives the new deadlines; a rejection says where to
turn or which report to follow; overdue and escalated complaints are told,
once each, with a date to hold the ward to."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.report.present import Presenter
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined, to

PRESENT = Presenter(ZoneInfo("Asia/Ho_Chi_Minh"))


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
