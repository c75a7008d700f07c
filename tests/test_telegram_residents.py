"""Residents on Telegram, played through the real Application over the fake
Bot API (tests/channels.py): what they read when they stop following a
report they do not follow, when they go back from the place question, and
when they answer "Sự việc đã được khắc phục chưa?" in a sentence or photos
rather than its buttons — checked once (fixed, not fixed, or a new report,
as buttons), the words kept for the choice, never a new report unasked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import TELEGRAM
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.conversation import BACK
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from handlers.telegram.callbacks import encode_held_report
from tests.channels import Chat, Stage, TelegramChat, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report
from tests.test_following_channels import file_report as follow_file
from tests.test_following_channels import to_review

CODE = "PA-000001"
NEW = t("vi", "commands.new")


@pytest.fixture
async def play(tmp_path: Path, chart: OrgChart, clock: ManualClock) -> AsyncIterator[Stage]:
    path = tmp_path / "telegram.db"
    await load_chart(path, chart)
    async with stage(path, clock, "polling") as started:
        yield started


def resident(play: Stage, name: str) -> TelegramChat:
    chat = play.resident(TELEGRAM, name)
    assert isinstance(chat, TelegramChat)
    return chat


# ---- /unfollow --------------------------------------------------------------------------------


async def test_unfollowing_a_report_one_does_not_follow_says_so_not_that_it_is_unknown(
    play: Stage,
) -> None:
    await file_report(resident(play, "An"))
    binh = resident(play, "Bình")
    said = joined(await binh.command("unfollow", CODE))
    assert binh.says(said, "follow.not_following", code=CODE)
    assert "/mine" in said, "told where to see what they follow"
    assert not binh.says(said, "refusal.not_found")
    unknown = joined(await binh.command("unfollow", "PA-000999"))
    assert binh.says(unknown, "refusal.not_found"), "a code of no report stays unknown"


# ---- back from the place question -------------------------------------------------------------


async def test_back_from_the_place_question_takes_the_location_button_away_in_fitting_words(
    play: Stage,
) -> None:
    an = resident(play, "An")
    await an.command("new")
    await an.choose("sanitation")
    await an.choose("RKTG")  # the place is asked, with the location button
    sent = [m for m in await play.bot.choose(an.user, BACK) if m.chat_id == an.user.user_id]
    assert any(m.reply_markup == {"remove_keyboard": True} for m in sent), "the button goes"
    assert not any(an.says(m.text or "", "report.location_closed") for m in sent)
    assert an.says(joined([m.text or "" for m in sent]), "report.location_back")


# ---- a sentence at "Sự việc đã được khắc phục chưa?" ---------------------------------------


async def asked_if_fixed(play: Stage) -> tuple[TelegramChat, Chat]:
    """Lan reported rubbish; the officer reported it fixed: Lan's last
    message asks "đã khắc phục chưa?", with its two buttons."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(play, "Lan")
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    assert lan.says(lan.news()[-1], "notify.resolved", code=CODE)
    cadre.news()
    return lan, cadre


async def state_of(play: Stage) -> State:
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    return complaint.state


async def draft_of(play: Stage, chat: TelegramChat) -> str | None:
    """The kind of conversation the person is in (a new report's draft is "report")."""
    actor = await play.bot.services.identify_sender(TELEGRAM, str(chat.user.user_id), None)
    assert actor is not None
    state = await play.bot.services.store.load_conversation(actor.person_id)
    return None if state is None else state.kind


async def description_of(play: Stage, chat: TelegramChat) -> object:
    actor = await play.bot.services.identify_sender(TELEGRAM, str(chat.user.user_id), None)
    assert actor is not None
    state = await play.bot.services.store.load_conversation(actor.person_id)
    return None if state is None else state.data.get("description")


async def complaints(play: Stage) -> int:
    return len(await play.bot.services.store.all_complaints())


async def test_a_sentence_saying_it_is_still_not_fixed_is_checked_then_reopens_with_its_words(
    play: Stage,
) -> None:
    lan, cadre = await asked_if_fixed(play)
    said = joined(await lan.text("Vẫn còn rác, chưa ai dọn"))
    assert lan.says(said, "verdict.not_fixed", code=CODE)
    assert lan.choices() == [t("vi", "button.fixed"), t("vi", "button.not_fixed"), NEW]
    assert await draft_of(play, lan) is None, "no new report was started"
    assert await state_of(play) is State.RESOLVED, "nothing is done before the check"
    said = joined(await lan.act(Action.DISPUTE, 1))
    assert lan.says(said, "resident.reopened", code=CODE)
    assert await state_of(play) is State.REOPENED
    assert "Vẫn còn rác, chưa ai dọn" in joined(cadre.news()), "the officer reads it"
    assert await complaints(play) == 1


async def test_a_thank_you_saying_it_is_clean_is_checked_then_confirms(play: Stage) -> None:
    lan, _ = await asked_if_fixed(play)
    said = joined(await lan.text("Cảm ơn anh, sạch rồi ạ"))
    assert lan.says(said, "verdict.fixed", code=CODE)
    assert await draft_of(play, lan) is None
    said = joined(await lan.act(Action.CONFIRM, 1))
    assert lan.says(said, "resident.thanks_confirmed", code=CODE)
    assert await state_of(play) is State.CONFIRMED
    assert await complaints(play) == 1


@pytest.mark.parametrize(
    ("typed", "answer", "state"),
    [
        ("Vẫn còn rác, chưa ai dọn", "đúng", State.REOPENED),
        ("Vẫn còn rác, chưa ai dọn", "Dạ vâng", State.REOPENED),
        ("Cảm ơn anh, sạch rồi", "đúng rồi", State.CONFIRMED),
    ],
)
async def test_the_check_is_answered_yes_in_words(
    play: Stage, typed: str, answer: str, state: State
) -> None:
    lan, _ = await asked_if_fixed(play)
    await lan.text(typed)
    await lan.text(answer)
    assert await state_of(play) is state
    assert await complaints(play) == 1


async def test_no_at_the_check_asks_again_plainly_and_does_nothing(play: Stage) -> None:
    lan, cadre = await asked_if_fixed(play)
    await lan.text("Vẫn còn rác, chưa ai dọn")
    said = joined(await lan.text("Không"))
    assert lan.says(said, "verdict.unclear", code=CODE)
    assert await state_of(play) is State.RESOLVED
    await lan.act(Action.DISPUTE, 1)
    assert await state_of(play) is State.REOPENED
    assert "Vẫn còn rác, chưa ai dọn" in joined(cadre.news())


async def test_an_unclear_sentence_is_asked_back_and_a_second_one_joins_it(play: Stage) -> None:
    lan, cadre = await asked_if_fixed(play)
    said = joined(await lan.text("Anh ơi cho em hỏi chút"))
    assert lan.says(said, "verdict.unclear", code=CODE)
    assert await state_of(play) is State.RESOLVED
    await lan.text("Đầu ngõ vẫn bốc mùi")
    await lan.act(Action.DISPUTE, 1)  # pressed on the first message: the words still go
    assert await state_of(play) is State.REOPENED
    told = joined(cadre.news())
    assert "Anh ơi cho em hỏi chút" in told and "Đầu ngõ vẫn bốc mùi" in told


async def test_a_new_problem_typed_at_the_fixed_question_becomes_a_report_when_chosen(
    play: Stage,
) -> None:
    lan, _ = await asked_if_fixed(play)
    problem = "Có người đổ trộm xà bần ở đầu ngõ 7 từ tối qua"
    said = joined(await lan.text(problem))
    assert lan.says(said, "verdict.unclear", code=CODE)
    said = joined(lan._mine(await play.bot.press(lan.user, encode_held_report(1))))
    assert await draft_of(play, lan) == "report"
    assert await description_of(play, lan) == problem
    assert lan.says(said, "report.words_kept")
    assert await state_of(play) is State.RESOLVED, "the first report still waits"


async def test_a_forged_new_report_press_starts_an_empty_report(play: Stage) -> None:
    lan = resident(play, "Lan")
    await lan.command("start")
    greeting = play.bot.api.last_to(lan.user.user_id)
    await play.bot.send(lan.user.press_raw(encode_held_report(42), greeting.message_id))
    assert await draft_of(play, lan) == "report"
    assert await description_of(play, lan) is None


async def test_a_sentence_typed_when_nothing_asks_if_fixed_is_a_new_report(play: Stage) -> None:
    lan = resident(play, "Lan")
    said = joined(await lan.text("Vẫn còn rác ở ngõ 5, chưa ai dọn"))
    assert not lan.says(said, "verdict.not_fixed", code=CODE)
    assert await draft_of(play, lan) == "report"


async def test_a_sentence_typed_in_a_draft_goes_to_the_draft_though_the_fix_was_reported(
    play: Stage,
) -> None:
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(play, "Lan")
    await file_report(lan)
    await lan.command("new")
    await lan.choose("sanitation")
    await lan.choose("RKTG")
    await lan.choose("HONGHAI")
    await lan.choose("HH-TDP03")  # the description is asked
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    said = joined(await lan.text("Rác chưa ai thu ở cổng chợ"))
    assert not lan.says(said, "verdict.not_fixed", code=CODE)
    assert await draft_of(play, lan) == "report"
    assert await description_of(play, lan) == "Rác chưa ai thu ở cổng chợ"


async def test_photos_at_the_fixed_question_are_checked_once_and_reach_the_officer(
    play: Stage,
) -> None:
    lan, cadre = await asked_if_fixed(play)
    said = joined(await lan.photo("Vẫn chưa ai dọn"))
    assert lan.says(said, "verdict.not_fixed", code=CODE)
    said = joined(await lan.photo())
    assert lan.says(said, "verdict.photo_kept")
    assert await draft_of(play, lan) is None
    said = joined(await lan.act(Action.DISPUTE, 1))
    assert lan.says(said, "resident.reopened", code=CODE)
    assert "Vẫn chưa ai dọn" in joined(cadre.news())
    photos = await play.bot.services.store.db.conn.execute_fetchall(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM complaint_photos WHERE kind = 'dispute'"
    )
    assert next(iter(photos))[0] == 2


async def test_a_follower_who_writes_it_is_still_there_reopens_it_after_the_check(
    play: Stage,
) -> None:
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    await follow_file(resident(play, "An"))
    binh = resident(play, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    binh.news()
    said = joined(await binh.text("Vẫn còn rác ở góc ngõ"))
    assert binh.says(said, "verdict.not_fixed", code=CODE)
    await binh.text("vâng")
    assert await state_of(play) is State.REOPENED
    assert "Vẫn còn rác ở góc ngõ" in joined(cadre.news())
    assert await complaints(play) == 1


# ---- the rating after "fixed" ---------------------------------------------------------------


async def at_the_rating(play: Stage) -> TelegramChat:
    lan, _ = await asked_if_fixed(play)
    said = joined(await lan.act(Action.CONFIRM, 1))
    assert lan.says(said, "rate.ask", code=CODE)
    return lan


async def rating(play: Stage) -> int | None:
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    return complaint.rating


async def test_a_sticker_at_the_rating_leaves_the_stars_to_press(play: Stage) -> None:
    """A thumbs-up sticker is no rating; the stars stay (before, the offer
    ended: the help came, and a star pressed next was refused)."""
    lan = await at_the_rating(play)
    said = joined(lan._mine(await play.bot.send(lan.user.sticker())))
    assert lan.says(said, "rate.hint")
    assert not lan.says(said, "fallback.help")
    await lan.choose("5")
    assert await rating(play) == 5


@pytest.mark.parametrize("typed", ["Cảm ơn các anh nhiều ạ", "cam on", "Thanks"])
async def test_thanks_at_the_rating_are_thanked_back_not_told_how_to_report(
    play: Stage, typed: str
) -> None:
    """As on Zalo: the offer ends, and the thanks are answered in kind."""
    lan = await at_the_rating(play)
    said = joined(await lan.text(typed))
    assert lan.says(said, "fallback.thanks")
    assert not lan.says(said, "fallback.help")
    assert await draft_of(play, lan) is None


@pytest.mark.parametrize(
    ("typed", "stars"), [("tốt lắm", 5), ("Hài lòng lắm ạ", 5), ("kém quá", 1)]
)
async def test_a_rating_said_with_very_after_it_counts(play: Stage, typed: str, stars: int) -> None:
    """ "Tốt lắm" is "rất tốt": a rating, never a new report's description."""
    lan = await at_the_rating(play)
    said = joined(await lan.text(typed))
    assert lan.says(said, "rate.thanks", stars=str(stars))
    assert await rating(play) == stars
    assert await draft_of(play, lan) is None
    assert await complaints(play) == 1


async def test_fixed_pressed_while_saying_why_not_ends_the_not_fixed_and_asks_the_rating(
    play: Stage,
) -> None:
    """ "👎" then "👍" on the same message (a change of mind): the complaint
    is confirmed, and the resident is not told "Đang làm dở ý kiến…" and
    asked for a comment that could no longer be sent."""
    lan, _ = await asked_if_fixed(play)
    await lan.act(Action.DISPUTE, 1)
    said = joined(await lan.act(Action.CONFIRM, 1))
    assert lan.says(said, "resident.thanks_confirmed", code=CODE)
    assert not lan.says(said, "conv.busy", kind=t("vi", "conv.kind_dispute"))
    assert lan.says(said, "rate.ask", code=CODE)
    assert await state_of(play) is State.CONFIRMED
    assert await draft_of(play, lan) == "rate"


@pytest.mark.parametrize("kind", ["sticker", "voice"])
async def test_a_sticker_at_the_fixed_question_is_told_how_to_answer_it(
    play: Stage, kind: str
) -> None:
    """Not "to send a report, type /new": the question still stands."""
    lan, _ = await asked_if_fixed(play)
    said = joined(lan._mine(await play.bot.send(getattr(lan.user, kind)())))
    assert lan.says(said, "verdict.unread", code=CODE)
    assert not lan.says(said, "fallback.help")
    await lan.act(Action.CONFIRM, 1)
    assert await state_of(play) is State.CONFIRMED
