"""After a crash, an answer never lands on the wrong question.

Telegram delivers again an update the bot had not finished (see
tests/test_crash.py); the processed-update table lets it be handled once more.
If its effect was already stored — the draft moved on — handling it again
must change nothing: each conversation records the update that last moved it.
"""

from __future__ import annotations

import pytest

from bot.app.services import Services
from bot.domain.conversation import ConversationEngine, ConversationState, TextAnswer
from bot.domain.flows import ALL_FLOWS, OPTIONAL_LIFETIMES, FlowEnv
from bot.domain.orgchart import OrgChart
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeUser, JSONDict
from tests.catalogue import says
from tests.engines import execute
from tests.factories import joined

pytestmark = pytest.mark.both_engines


async def cut_off_after_its_effect(bot: BotDriver, update: JSONDict) -> None:
    """The bot handled ``update`` and stored its effect, then was killed
    before it marked the update done: exactly what a redelivery meets."""
    await execute(
        bot.services.store.db,  # type: ignore[attr-defined]
        "UPDATE processed_updates SET done_at = NULL WHERE channel = 'telegram' AND update_id = ?",
        str(update["update_id"]),
    )


async def draft_of(bot: BotDriver, user: FakeUser) -> ConversationState | None:
    actor = await bot.services.identify("telegram", str(user.user_id), None)
    return await bot.services.store.load_conversation(actor.person_id)


def test_the_engine_ignores_an_update_it_already_applied(chart: OrgChart) -> None:
    engine = ConversationEngine(ALL_FLOWS, OPTIONAL_LIFETIMES)
    env = FlowEnv(chart, "vi")
    draft = ConversationState("report", "category", {"family": "sanitation"}, seq=2)
    first = engine.handle(env, draft, TextAnswer("2"), update_id="41")
    assert first.state is not None
    assert first.state.step == "place"
    assert first.state.last_update == "41"
    again = engine.handle(env, first.state, TextAnswer("2"), update_id="41")
    assert again.replayed
    assert again.state == first.state
    assert again.prompt is not None
    assert again.prompt.question.key == "report.ask_ward", "the current question, asked again"
    following = engine.handle(env, first.state, TextAnswer("2"), update_id="42")
    assert following.state is not None
    assert following.state.data["ward"] == "BACHDANG", "a new update is an answer as usual"


async def test_a_replayed_answer_is_not_applied_again(services: Services) -> None:
    an = await services.identify("zalo", "r1", "An")
    await services.start_report(an)
    await services.answer(an, TextAnswer("2"), update_id="7")
    stored = await services.store.load_conversation(an.person_id)
    reply = await services.answer(an, TextAnswer("2"), update_id="7")
    assert reply is not None
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_category"
    assert await services.store.load_conversation(an.person_id) == stored


async def test_a_typed_category_replayed_is_not_stored_as_the_description(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("start", "a-HH-TDP03"))  # the group chosen by the poster
    await bot.choose(an, "sanitation")
    category = an.text("2")
    sent = await bot.send(category)
    assert says(joined(sent), "report.ask_description")
    await cut_off_after_its_effect(bot, category)
    sent = await bot.send(category)  # Telegram delivers it again after the restart
    assert says(joined(sent), "report.ask_description"), "the question it is at, asked again"
    draft = await draft_of(bot, an)
    assert draft is not None
    assert (draft.step, draft.data.get("description")) == ("description", None)
    await bot.send(an.text("Rác tràn ngõ 5"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.category, complaint.description) == ("RKTG", "Rác tràn ngõ 5")


async def test_a_typed_2_replayed_is_not_applied_again_at_the_ward_question(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    category = an.text("2")
    sent = await bot.send(category)
    assert says(joined(sent), "report.ask_ward")
    await cut_off_after_its_effect(bot, category)
    sent = await bot.send(category)
    assert says(joined(sent), "report.ask_ward")
    draft = await draft_of(bot, an)
    assert draft is not None
    assert draft.step == "place"
    assert "ward" not in draft.data, "no ward was picked by the replay"


async def test_a_replayed_press_asks_the_current_question_again(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    message, data = bot.find_button(501, r"^q:\d+:sanitation$")
    press = an.press(message, data)
    await bot.send(press)
    await cut_off_after_its_effect(bot, press)
    sent = await bot.send(press)
    assert says(joined(sent), "report.ask_category")
    assert not says(joined(sent), "conv.stale_button"), "not a stale-button complaint"
