"""Residents, officers and leaders on Zalo, played through the real
receiving path (webhook, inbox, intake) over the fake Zalo: what each
would find wrong, each a test that failed before its fix."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import PUBLIC_URL
from tests.channels import Stage, ZaloChat, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report


@pytest.fixture
async def hooked(tmp_path: Path, chart: OrgChart, clock: ManualClock) -> AsyncIterator[Stage]:
    path = tmp_path / "zalo.db"
    await load_chart(path, chart)
    async with stage(path, clock, "webhook") as started:
        yield started


@pytest.mark.parametrize("nod", ["ok", "Oke", "ừ", "vâng", "được"])
async def test_an_officer_who_types_ok_at_the_note_offer_sends_the_resident_nothing(
    hooked: Stage, nod: str
) -> None:
    """Asked "Gửi người phản ánh một lời nhắn?" after accepting, an officer on
    Zalo answers "ok" as to anything the bot says: the resident must not get
    "Cán bộ phụ trách nhắn anh/chị: “ok”"."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    an = hooked.resident(ZALO, "An")
    await file_report(an)
    await cadre.act(Action.ACKNOWLEDGE, 1)
    an.news()
    said = joined(await cadre.text(nod))
    assert not cadre.says(said, "ack_reply.sent")
    assert not any(an.says(t, "notify.message") for t in an.news())
    assert await hooked.bot.services.store.load_conversation((await cadre.person()).id) is None
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.ACKNOWLEDGED


async def test_a_number_past_a_list_of_one_is_told_to_type_1(hooked: Stage) -> None:
    """The help's list has one line ("1. Gửi phản ánh mới"): "7" is answered
    "gõ 1", never "một số từ 1 đến 1"."""
    lan = hooked.resident(ZALO, "Lan")
    await lan.text("alo")
    said = joined(await lan.text("7"))
    assert lan.says(said, "fallback.no_such_number_one_zalo", number=7)
    assert "1 đến 1" not in said


@pytest.mark.parametrize("thanks", ["Cảm ơn các anh nhiều", "cam on a", "Thanks"])
async def test_a_resident_who_says_thank_you_after_the_rating_is_thanked_back(
    hooked: Stage, thanks: str
) -> None:
    """Asked to rate, a resident writes thanks instead: answered in kind, not
    with "Để gửi phản ánh, anh/chị gõ mới" and its list."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = hooked.resident(ZALO, "Lan")
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    await lan.text("1")  # fixed: the rating is asked
    said = joined(await lan.text(thanks))
    assert lan.says(said, "fallback.thanks_zalo")
    assert not lan.says(said, "fallback.help")
    assert await hooked.bot.services.store.load_conversation((await lan.person()).id) is None


async def test_thanks_with_a_new_problem_in_it_is_a_report(hooked: Stage) -> None:
    lan = hooked.resident(ZALO, "Lan")
    said = joined(await lan.text("Cảm ơn anh, nhưng ngõ 7 lại có người đổ xà bần ra đường"))
    assert not lan.says(said, "fallback.thanks_zalo")
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"


@pytest.mark.parametrize(
    "typed",
    [
        "Chào anh, ngõ 7 có người đổ xà bần ra đường",
        "Xin chào các anh chị ạ, cống trước nhà số 12 bị tắc bốc mùi",
        "alo, rác ở đầu ngõ 5 mấy hôm nay không ai thu gom",
    ],
)
async def test_a_report_that_opens_with_a_greeting_is_a_report(hooked: Stage, typed: str) -> None:
    """Vietnamese greet an office before they say what is wrong: the
    sentence is the report's description, not small talk answered with the
    help (and typed again)."""
    lan = hooked.resident(ZALO, "Lan")
    said = joined(await lan.text(typed))
    assert lan.says(said, "report.words_kept")
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"
    assert state.data.get("description") == typed


@pytest.mark.parametrize("typed", ["xin chào", "cảm ơn cán bộ nhiệt tình", "Chào anh chị ạ"])
async def test_a_greeting_or_thanks_alone_is_still_not_a_report(hooked: Stage, typed: str) -> None:
    lan = hooked.resident(ZALO, "Lan")
    await lan.text(typed)
    assert await hooked.bot.services.store.load_conversation((await lan.person()).id) is None


async def test_an_official_account_event_sent_here_by_mistake_is_named_in_the_log(
    hooked: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    """A ward that points its Official Account's webhook at the bot: the OA's
    events ("user_send_text", signed X-ZEvent-Signature) are refused unread,
    and the log tells the city's IT what is wrong, not only "wrong secret"."""
    event = {
        "app_id": "1234",
        "event_name": "user_send_text",
        "sender": {"id": "8765"},
        "recipient": {"id": "4321"},
        "message": {"text": "Rác ở ngõ 5", "msg_id": "abc"},
        "timestamp": "1700000000000",
    }
    client = hooked.zalo.api.webhook_client
    assert client is not None
    with caplog.at_level(logging.WARNING):
        response = await client.post(
            PUBLIC_URL + "/zalo", json=event, headers={"X-ZEvent-Signature": "mac=0f0f"}
        )
    assert response.status_code == 403
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Official Account" in logged
    assert "Rác" not in logged


@pytest.mark.parametrize("name", ["", "   "])
async def test_a_person_zalo_gives_no_name_is_greeted_without_a_gap(
    hooked: Stage, name: str
) -> None:
    """Zalo may give no display name (a user whose data the law protects):
    the greeting reads "Chào anh/chị.", never "Chào anh/chị ."."""
    lan = hooked.resident(ZALO, "Lan")
    assert isinstance(lan, ZaloChat)
    lan.user = hooked.zalo.user(name)
    for update in (lan.user.follow(), lan.user.text("bắt đầu")):
        said = joined(lan._mine(await hooked.zalo.send(update)))
        assert lan.says(said, "start.greeting")
        assert t("vi", "start.hello_unnamed_zalo") in said
        assert "anh/chị ." not in said


@pytest.mark.parametrize("done", ["xong", "Xong rồi", "tiếp tục"])
async def test_done_typed_at_the_review_after_the_photos_does_not_repeat_the_review(
    hooked: Stage, done: str
) -> None:
    """The photo question says to type "xong" once the photos are sent; one
    photo brings the review at once, and the "xong" that follows gets how to
    send it, not the whole review a second time."""
    lan = hooked.resident(ZALO, "Lan")
    await lan.command("new")
    await lan.choose("sanitation")
    await lan.choose("RKTG")
    await lan.choose("HONGHAI")
    await lan.choose("HH-TDP03")
    await lan.text("Rác tràn ra ngõ 12")
    said = joined(await lan.photo())
    assert lan.says(said, "report.review")
    said = joined(await lan.text(done))
    assert lan.says(said, "report.review_hint")
    assert not lan.says(said, "report.review"), "the review is not sent again"
    await lan.text("1")
    assert len(await hooked.bot.services.store.all_complaints()) == 1


@pytest.mark.parametrize("unclear", ["ok", "nhận được rồi", "alo"])
async def test_an_officer_who_answers_a_task_card_unclearly_keeps_the_cards_numbers(
    hooked: Stage, unclear: str
) -> None:
    """An officer answers a new task card "ok", as to any message: told the
    bot did not understand, the card's numbers still stand ("2" reports the
    fix), not replaced by the help's one-line list."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    await file_report(hooked.resident(ZALO, "An"))
    cadre.news()
    said = joined(await cadre.text(unclear))
    assert cadre.says(said, "fallback.staff_list_zalo")
    said = joined(await cadre.act(Action.RESOLVE, 1))
    assert cadre.says(said, "resolve.ask_note", code="PA-000001")
