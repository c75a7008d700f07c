"""A resident on Zalo answers "Sự việc đã được khắc phục chưa?" in a
sentence, over the real receiving path (webhook, inbox, intake) and the
fake Zalo: "vẫn còn rác, chưa ai dọn" or "cảm ơn anh, sạch rồi" is an
answer to that question — checked once, then taken, the sentence kept as
what the resident said — never a new report; a sentence that says neither
is asked back (fixed, not fixed, or a new report), and a genuine new
report chosen there keeps the words as its description."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from handlers.zalo.verdicts import FixedOrNot, leaning
from tests.catalogue import says
from tests.channels import Chat, Stage, ZaloChat, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report
from tests.test_following_channels import file_report as follow_file
from tests.test_following_channels import to_review

CODE = "PA-000001"


@pytest.fixture
async def hooked(tmp_path: Path, chart: OrgChart, clock: ManualClock) -> AsyncIterator[Stage]:
    path = tmp_path / "zalo.db"
    await load_chart(path, chart)
    async with stage(path, clock, "webhook") as started:
        yield started


async def asked_if_fixed(play: Stage) -> tuple[ZaloChat, Chat]:
    """Lan (on Zalo) reported rubbish; the officer (on Telegram) reported it
    fixed: Lan's last list asks "đã khắc phục chưa?"."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = play.resident(ZALO, "Lan")
    assert isinstance(lan, ZaloChat)
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    assert lan.says(lan.news()[-1], "notify.resolved_zalo", code=CODE)
    cadre.news()
    return lan, cadre


async def state_of(play: Stage) -> State:
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    return complaint.state


async def draft_of(play: Stage, lan: ZaloChat) -> str | None:
    """The kind of conversation Lan is in (a new report's draft is "report")."""
    state = await play.bot.services.store.load_conversation((await lan.person()).id)
    return None if state is None else state.kind


async def complaints(play: Stage) -> int:
    return len(await play.bot.services.store.all_complaints())


async def test_a_sentence_saying_it_is_still_not_fixed_is_checked_then_reopens_with_its_words(
    hooked: Stage,
) -> None:
    lan, cadre = await asked_if_fixed(hooked)
    said = joined(await lan.text("Vẫn còn rác, chưa ai dọn"))
    assert lan.says(said, "verdict.not_fixed_zalo", code=CODE)
    assert await draft_of(hooked, lan) is None, "no new report was started"
    assert await state_of(hooked) is State.RESOLVED, "nothing is done before the check"
    said = joined(await lan.text("2"))  # "not fixed", as on the first list
    assert lan.says(said, "resident.reopened", code=CODE)
    assert await state_of(hooked) is State.REOPENED
    told = joined(cadre.news())
    assert "Vẫn còn rác, chưa ai dọn" in told, "the officer reads what the resident wrote"
    assert await complaints(hooked) == 1


async def test_a_thank_you_saying_it_is_clean_is_checked_then_confirms(hooked: Stage) -> None:
    lan, _ = await asked_if_fixed(hooked)
    said = joined(await lan.text("Cảm ơn anh, sạch rồi ạ"))
    assert lan.says(said, "verdict.fixed_zalo", code=CODE)
    assert await draft_of(hooked, lan) is None
    said = joined(await lan.text("1"))
    assert lan.says(said, "resident.thanks_confirmed", code=CODE)
    assert await state_of(hooked) is State.CONFIRMED
    assert await complaints(hooked) == 1


@pytest.mark.parametrize(
    ("typed", "answer", "state"),
    [
        ("Vẫn còn rác, chưa ai dọn", "đúng", State.REOPENED),
        ("Vẫn còn rác, chưa ai dọn", "Dạ vâng", State.REOPENED),
        ("Cảm ơn anh, sạch rồi", "đúng rồi", State.CONFIRMED),
        ("Cảm ơn anh, sạch rồi", "chưa", State.REOPENED),
        ("Vẫn còn rác, chưa ai dọn", "2", State.REOPENED),
        ("Vẫn còn rác, chưa ai dọn", "1", State.CONFIRMED),
    ],
)
async def test_the_check_is_answered_in_words_or_by_number(
    hooked: Stage, typed: str, answer: str, state: State
) -> None:
    """ "Đúng không?" is answered "đúng", "vâng"; either way by the numbers
    of the first list (1 fixed, 2 not fixed) or by "rồi" / "chưa"."""
    lan, _ = await asked_if_fixed(hooked)
    await lan.text(typed)
    await lan.text(answer)
    assert await state_of(hooked) is state
    assert await draft_of(hooked, lan) in (None, "rate")
    assert await complaints(hooked) == 1


async def test_an_unclear_sentence_at_the_fixed_question_is_asked_back(hooked: Stage) -> None:
    lan, cadre = await asked_if_fixed(hooked)
    said = joined(await lan.text("Anh ơi cho em hỏi chút"))
    assert lan.says(said, "verdict.unclear_zalo", code=CODE)
    assert lan.choices() == [
        t("vi", "button.fixed"),
        t("vi", "button.not_fixed"),
        t("vi", "commands.new"),
    ]
    assert await draft_of(hooked, lan) is None
    assert await state_of(hooked) is State.RESOLVED
    await lan.text("Đầu ngõ vẫn bốc mùi")  # said again, more plainly: asked with the new words
    await lan.text("2")
    assert await state_of(hooked) is State.REOPENED
    told = joined(cadre.news())
    assert "Anh ơi cho em hỏi chút" in told and "Đầu ngõ vẫn bốc mùi" in told


async def test_a_new_problem_typed_at_the_fixed_question_becomes_a_report_when_chosen(
    hooked: Stage,
) -> None:
    lan, _ = await asked_if_fixed(hooked)
    problem = "Có người đổ trộm xà bần ở đầu ngõ 7 từ tối qua"
    said = joined(await lan.text(problem))
    assert lan.says(said, "verdict.unclear_zalo", code=CODE)
    said = joined(await lan.text("3"))
    assert await draft_of(hooked, lan) == "report"
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.data.get("description") == problem
    assert lan.says(said, "report.words_kept")
    assert await state_of(hooked) is State.RESOLVED, "the first report still waits for its answer"


async def test_a_sentence_typed_when_nothing_asks_if_fixed_is_a_new_report(hooked: Stage) -> None:
    """The check belongs to the fixed question only: a resident with no such
    question open who writes a problem starts a report at once."""
    lan = hooked.resident(ZALO, "Lan")
    assert isinstance(lan, ZaloChat)
    said = joined(await lan.text("Vẫn còn rác ở ngõ 5, chưa ai dọn"))
    assert not lan.says(said, "verdict.not_fixed_zalo", code=CODE)
    assert await draft_of(hooked, lan) == "report"


@pytest.mark.parametrize(
    ("typed", "leans"),
    [
        ("Chưa sạch anh ạ", FixedOrNot.NOT_FIXED),
        ("chua ai don ca", FixedOrNot.NOT_FIXED),
        ("Cảm ơn anh nhưng vẫn còn rác", FixedOrNot.NOT_FIXED),
        ("👎", FixedOrNot.NOT_FIXED),
        ("Dọn sạch sẽ rồi", FixedOrNot.FIXED),
        ("cam on can bo nhieu", FixedOrNot.FIXED),
        ("👍", FixedOrNot.FIXED),
        ("Sạch rồi nhưng tối lại đổ", None),
        ("Đề nghị phường xử lý giúp", None),
    ],
)
def test_which_way_a_sentence_leans(typed: str, leans: FixedOrNot | None) -> None:
    """A "not" before a word for fixed turns it round ("chưa sạch"); thanks
    lean to fixed only when nothing says otherwise; both ways is neither."""
    assert leaning(typed) is leans


async def test_photos_sent_at_the_fixed_question_are_checked_once_and_reach_the_officer(
    hooked: Stage,
) -> None:
    """A resident answers with photos of the place as it is now (Zalo sends
    each alone): one check, not one per photo, and no new report; "not
    fixed" takes the photos to the officer with the comment typed after."""
    lan, cadre = await asked_if_fixed(hooked)
    said = joined(await lan.photo())
    assert lan.says(said, "verdict.unclear_zalo", code=CODE)
    said = joined(await lan.photo())
    assert lan.says(said, "verdict.photo_kept_zalo")
    assert not lan.says(said, "verdict.unclear_zalo", code=CODE), "asked once"
    assert await draft_of(hooked, lan) is None
    said = joined(await lan.text("2"))
    assert lan.says(said, "dispute.comment_hint") or lan.says(
        said, "dispute.ask_comment", code=CODE
    )
    said = joined(await lan.text("Vẫn còn nguyên đống rác"))
    assert lan.says(said, "resident.reopened", code=CODE)
    assert "Vẫn còn nguyên đống rác" in joined(cadre.news())
    photos = await hooked.bot.services.store.db.conn.execute_fetchall(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM complaint_photos WHERE kind = 'dispute'"
    )
    assert next(iter(photos))[0] == 2


async def test_a_photo_with_a_caption_saying_not_fixed_reopens_after_yes(hooked: Stage) -> None:
    lan, _ = await asked_if_fixed(hooked)
    said = joined(await lan.photo("Vẫn chưa ai dọn"))
    assert lan.says(said, "verdict.not_fixed_zalo", code=CODE)
    said = joined(await lan.text("Đúng"))
    assert lan.says(said, "resident.reopened", code=CODE)
    assert await state_of(hooked) is State.REOPENED


async def test_a_photo_at_the_fixed_question_can_still_start_a_new_report(hooked: Stage) -> None:
    lan, _ = await asked_if_fixed(hooked)
    await lan.photo()
    await lan.text("3")
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"
    assert len(state.data.get("photos", [])) == 1
    assert await state_of(hooked) is State.RESOLVED


@pytest.mark.parametrize("kind", ["sticker", "voice", "unsupported"])
async def test_a_sticker_at_the_fixed_question_leaves_the_question_standing(
    hooked: Stage, kind: str
) -> None:
    """A thumbs-up sticker (or a voice note) the bot cannot read is said so,
    without the help's list replacing "1 fixed, 2 not fixed": "rồi" or "1"
    typed next still answers the question."""
    lan, _ = await asked_if_fixed(hooked)
    said = joined(lan._mine(await lan.zalo.send(getattr(lan.user, kind)())))
    unread = "fallback.unsupported_zalo" if kind == "unsupported" else "fallback.media_list_zalo"
    assert lan.says(said, unread)
    assert not lan.says(said, "fallback.help"), "no list of its own"
    await lan.text("rồi")
    assert await state_of(hooked) is State.CONFIRMED


async def test_a_sticker_at_a_task_card_leaves_its_numbers_to_the_card(hooked: Stage) -> None:
    """A cadre on Zalo sends a sticker at a task card, then "1": the card's
    first action (accept), not the first line of the help."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    await file_report(hooked.resident(TELEGRAM, "An"))
    cadre.news()
    await cadre.zalo.send(cadre.user.sticker())
    await cadre.act(Action.ACKNOWLEDGE, 1)
    assert await state_of(hooked) is State.ACKNOWLEDGED


async def test_a_follower_who_writes_it_is_still_there_reopens_it_after_the_check(
    hooked: Stage,
) -> None:
    """Bình follows An's report; told it is fixed, he writes what he sees."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    await follow_file(hooked.resident(TELEGRAM, "An"))
    binh = hooked.resident(ZALO, "Bình")
    assert isinstance(binh, ZaloChat)
    await to_review(binh)
    await binh.choose("f1")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    binh.news()
    said = joined(await binh.text("Vẫn còn rác ở góc ngõ"))
    assert binh.says(said, "verdict.not_fixed_zalo", code=CODE)
    await binh.text("vâng")
    assert await state_of(hooked) is State.REOPENED
    assert "Vẫn còn rác ở góc ngõ" in joined(cadre.news())
    assert await complaints(hooked) == 1


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Thanks, it is clean now", "verdict.fixed_zalo"),
        ("Still dirty, nobody came", "verdict.not_fixed_zalo"),
        ("Hello, a question please", "verdict.unclear_zalo"),
    ],
)
async def test_a_resident_writing_in_english_is_checked_in_english(
    hooked: Stage, typed: str, key: str
) -> None:
    lan, _ = await asked_if_fixed(hooked)
    await lan.command("lang", "en")
    said = joined(await lan.text(typed))
    assert says(said, key, "en", code=CODE)
    assert t("en", "button.fixed") in said and t("en", "commands.new") in said


@pytest.mark.parametrize("typed", ["mới", "phản ánh mới", "gui phan anh"])
async def test_new_typed_at_the_check_starts_the_report_with_the_sentence(
    hooked: Stage, typed: str
) -> None:
    """Asked about their sentence, a resident types the command rather than 3:
    the report still starts with what they wrote, not empty."""
    lan, _ = await asked_if_fixed(hooked)
    problem = "Có người đổ trộm xà bần ở đầu ngõ 7 từ tối qua"
    await lan.text(problem)
    await lan.text(typed)
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"
    assert state.data.get("description") == problem


async def test_a_sentence_typed_in_a_draft_goes_to_the_draft_though_the_fix_was_reported(
    hooked: Stage,
) -> None:
    """Lan is writing a second report when the first one is reported fixed:
    the description she types next is her draft's, not a check about the fix
    (the numbers and "rồi" / "chưa" still answer the fix's list)."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = hooked.resident(ZALO, "Lan")
    assert isinstance(lan, ZaloChat)
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
    assert not lan.says(said, "verdict.not_fixed_zalo", code=CODE)
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"
    assert state.data.get("description") == "Rác chưa ai thu ở cổng chợ"


async def test_no_at_the_check_asks_again_and_does_nothing(hooked: Stage) -> None:
    """ "… chưa được khắc phục, đúng không?" — "Không": the guess was wrong;
    asked again plainly, the sentence still kept, nothing done."""
    lan, cadre = await asked_if_fixed(hooked)
    await lan.text("Vẫn còn rác, chưa ai dọn")
    said = joined(await lan.text("Không"))
    assert lan.says(said, "verdict.unclear_zalo", code=CODE)
    assert await state_of(hooked) is State.RESOLVED
    await lan.text("2")
    assert await state_of(hooked) is State.REOPENED
    assert "Vẫn còn rác, chưa ai dọn" in joined(cadre.news())


async def test_the_check_works_the_same_over_long_polling(
    tmp_path: Path, chart: OrgChart, clock: ManualClock
) -> None:
    """The same story received by getUpdates instead of the webhook."""
    path = tmp_path / "polled.db"
    await load_chart(path, chart)
    async with stage(path, clock, "polling") as polled:
        lan, cadre = await asked_if_fixed(polled)
        said = joined(await lan.text("Vẫn còn rác, chưa ai dọn"))
        assert lan.says(said, "verdict.not_fixed_zalo", code=CODE)
        await lan.text("2")
        assert await state_of(polled) is State.REOPENED
        assert "Vẫn còn rác, chưa ai dọn" in joined(cadre.news())
