"""An optional step (the note to the resident after acknowledging, the
rating after a confirmed fix) never captures what was meant for something
else: a tracking code, a command, a press elsewhere or time ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.domain.conversation import (
    ChoiceAnswer,
    ConversationEngine,
    ConversationState,
    LocationAnswer,
    PhotoAnswer,
    TextAnswer,
)
from bot.domain.flows import ALL_FLOWS, OPTIONAL_LIFETIMES, FlowEnv
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeUser
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined, to

ENGINE = ConversationEngine(ALL_FLOWS, OPTIONAL_LIFETIMES)
OFFERED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TASK = {"complaint_id": 1, "code": "PA-000001", "category": "RKTG"}


def offer(kind: str = "ack_reply", step: str = "reply") -> ConversationState:
    return ConversationState(kind, step, dict(TASK), seq=1, updated_at=OFFERED)


# ---- the engine's rule, as a table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "step", "answer", "later", "released"),
    [
        ("ack_reply", "reply", TextAnswer("Sẽ xử lý"), timedelta(minutes=29), False),
        ("ack_reply", "reply", TextAnswer("Sẽ xử lý"), timedelta(minutes=31), True),
        ("ack_reply", "reply", TextAnswer("PA-000001"), timedelta(0), True),
        ("ack_reply", "reply", TextAnswer("pa 12"), timedelta(0), True),
        ("ack_reply", "reply", ChoiceAnswer(1, "t1"), timedelta(minutes=31), True),
        ("ack_reply", "reply", ChoiceAnswer(0, "t1"), timedelta(0), True),  # an older message
        ("ack_reply", "reply", PhotoAnswer(1), timedelta(0), True),
        ("ack_reply", "reply", LocationAnswer(20.9, 107.1), timedelta(0), True),
        ("rate", "stars", TextAnswer("Rác lại tràn ra ngõ"), timedelta(0), True),
        ("rate", "stars", TextAnswer("5 sao"), timedelta(hours=23), False),
        ("rate", "stars", TextAnswer("5 sao"), timedelta(hours=25), True),
        ("rate", "stars", PhotoAnswer(1), timedelta(0), True),
    ],
)
def test_an_optional_step_steps_aside(
    chart: OrgChart,
    kind: str,
    step: str,
    answer: TextAnswer | ChoiceAnswer | PhotoAnswer | LocationAnswer,
    later: timedelta,
    released: bool,
) -> None:
    turn = ENGINE.handle(FlowEnv(chart, "vi"), offer(kind, step), answer, now=OFFERED + later)
    assert turn.released is released
    if not released:
        assert turn.result is not None


def test_a_draft_is_not_optional_a_tracking_code_in_it_is_text(chart: OrgChart) -> None:
    draft = ConversationState(
        "report",
        "description",
        {"family": "sanitation", "category": "RKTG", "area": "HH-TDP03", "ward": "HONGHAI"},
        seq=5,
        updated_at=OFFERED,
    )
    turn = ENGINE.handle(
        FlowEnv(chart, "vi"), draft, TextAnswer("PA-000001"), now=OFFERED + timedelta(days=9)
    )
    assert not turn.released
    assert turn.state is not None
    assert turn.state.data["description"] == "PA-000001"


# ---- what a cadre sees -----------------------------------------------------------------------


async def acknowledged(bot: BotDriver) -> tuple[FakeUser, FakeUser]:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    sent = await bot.press(cadre, "a:1")
    assert says(joined(to(sent, cadre)), "ack_reply.ask", code="PA-000001")
    return an, cadre


async def test_a_tracking_code_typed_after_acknowledging_is_looked_up_not_sent_to_the_resident(
    bot: BotDriver, clock: ManualClock
) -> None:
    an, cadre = await acknowledged(bot)
    clock.advance(timedelta(minutes=5))
    sent = await bot.send(cadre.text("PA-000001"))
    assert to(sent, an) == []
    assert says(
        joined(to(sent, cadre)),
        "task.card",
        header=t("vi", "task.details_header"),
        code="PA-000001",
    ), "the task's card"
    events = [e.action.value for e in await bot.services.store.events_of(1)]
    assert "reply" not in events


async def test_text_typed_two_hours_after_acknowledging_does_not_reach_the_resident(
    bot: BotDriver, clock: ManualClock
) -> None:
    an, cadre = await acknowledged(bot)
    clock.advance(timedelta(hours=2))
    sent = await bot.send(cadre.text("Chiều nay họp giao ban"))
    assert to(sent, an) == []
    told = joined(to(sent, cadre))
    assert says(told, "fallback.staff"), "a staff member's ordinary help, nothing was sent"


async def test_a_command_ends_the_offer_to_send_a_note(bot: BotDriver) -> None:
    an, cadre = await acknowledged(bot)
    await bot.send(cadre.command("tasks"))
    sent = await bot.send(cadre.text("Nhắc mình kiểm tra ngõ 12"))
    assert to(sent, an) == []


async def test_acknowledging_another_task_offers_the_note_for_that_one(bot: BotDriver) -> None:
    an, cadre = await acknowledged(bot)
    binh = bot.user(502, "Bình")
    await file_sanitation_report(bot, binh, description="Rác ngõ 14")
    sent = await bot.press(cadre, "a:2")  # a press elsewhere while the first offer waits
    assert says(joined(to(sent, cadre)), "ack_reply.ask", code="PA-000002")
    sent = await bot.send(cadre.text("Chiều nay xuống kiểm tra"))
    assert to(sent, an) == [], "the first resident hears nothing"
    assert "Chiều nay xuống kiểm tra" in joined(to(sent, binh))


async def test_a_note_typed_right_away_still_reaches_the_resident(
    bot: BotDriver, clock: ManualClock
) -> None:
    an, cadre = await acknowledged(bot)
    clock.advance(timedelta(minutes=3))
    sent = await bot.send(cadre.text("Chiều nay tổ sẽ thu gom"))
    assert "Chiều nay tổ sẽ thu gom" in joined(to(sent, an))


async def confirmed(bot: BotDriver) -> tuple[FakeUser, FakeUser]:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    sent = await bot.press(an, "f:1")
    assert "đánh giá" in joined(to(sent, an))
    return an, cadre


async def test_after_confirming_a_new_problem_typed_is_not_taken_for_a_rating(
    bot: BotDriver,
) -> None:
    an, cadre = await confirmed(bot)
    sent = await bot.send(an.text("Rác lại tràn ra ngõ 14"))
    assert to(sent, cadre) == []
    assert says(joined(to(sent, an)), "report.words_kept"), "a new report, keeping the words"
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.rating is None


async def test_a_rating_typed_in_words_is_taken(bot: BotDriver) -> None:
    an, cadre = await confirmed(bot)
    sent = await bot.send(an.text("5 sao"))
    assert "5/5" in joined(to(sent, cadre))
