"""The Zalo channel against the fake Zalo Bot API: what comes in (a webhook
refused or accepted, updates twice, odd updates, photos that are gone,
stickers, groups), what goes out (long texts split, failures retried or
given up, pacing), what numbers and words mean, and the token kept out of
every log line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app.admin import Admin
from bot.app.pacing import Pacer
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import t
from bot.report.text import digest_text
from bot.sandbox.driver import PUBLIC_URL, ZALO_SECRET
from bot.sandbox.zalo import DEFAULT_TOKEN, SECRET_HEADER, FakeZaloGroup, JSONDict
from handlers.zalo.client import ZaloNetworkError
from handlers.zalo.links import ZaloLinks
from handlers.zalo.split import ZALO_TEXT_LIMIT
from storage.sqlite.db import Database
from tests.catalogue import says
from tests.channels import Stage, TelegramChat, ZaloChat, joined, stage
from tests.digest_data import Generator, write
from tests.factories import load_chart
from tests.test_channels_flow import file_report


@pytest.fixture
async def db_path(tmp_path: Path, chart: OrgChart) -> Path:
    path = tmp_path / "zalo.db"
    await load_chart(path, chart)
    return path


@pytest.fixture
async def hooked(db_path: Path, clock: ManualClock) -> AsyncIterator[Stage]:
    async with stage(db_path, clock, "webhook") as started:
        yield started


@pytest.fixture
async def polled(db_path: Path, clock: ManualClock) -> AsyncIterator[Stage]:
    async with stage(db_path, clock, "polling") as started:
        yield started


def resident(play: Stage, name: str = "Lan", **user: object) -> ZaloChat:
    chat = play.resident(ZALO, name)
    assert isinstance(chat, ZaloChat)
    if user:
        chat.user = play.zalo.user(name, **user)  # type: ignore[arg-type]
    return chat


async def stored_updates(play: Stage) -> int:
    rows = await play.bot.services.store.db.conn.execute_fetchall(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM webhook_updates WHERE channel = 'zalo'"
    )
    return int(next(iter(rows))[0])


# ---- the webhook ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "not-the-secret", ZALO_SECRET + "x"])
async def test_a_webhook_post_without_the_right_secret_is_refused_unread(
    hooked: Stage, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    lan = resident(hooked)
    update = lan.user.text("Bí mật của tôi: rác ngõ 5")
    with caplog.at_level(logging.DEBUG):
        delivery = await hooked.zalo.api.deliver_webhook(
            update, secret=secret, omit_secret=secret is None
        )
    assert delivery.status == 403
    await hooked.zalo.settle()
    assert hooked.zalo.api.texts_to(lan.user.user_id) == [], "nobody is answered"
    assert await stored_updates(hooked) == 0
    refusals = [r.getMessage() for r in caplog.records if "refused (403)" in r.getMessage()]
    assert len(refusals) == 1
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "Bí mật" not in everything, "the body is never logged"


async def test_the_webhook_route_is_set_with_its_secret_at_start(hooked: Stage) -> None:
    [call] = hooked.zalo.api.calls_to("setWebhook")
    assert call.params == {"url": PUBLIC_URL + "/zalo", "secret_token": ZALO_SECRET}


async def test_a_body_that_is_not_json_is_answered_400(hooked: Stage) -> None:
    client = hooked.zalo.api.webhook_client
    assert client is not None
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        response = await client.post(
            PUBLIC_URL + "/zalo", content=body, headers={SECRET_HEADER: ZALO_SECRET}
        )
        assert response.status_code == 400, body


async def test_an_update_in_the_envelope_is_handled_like_a_bare_one(hooked: Stage) -> None:
    lan = resident(hooked)
    for body in ("bare", "enveloped"):
        delivery = await hooked.zalo.api.deliver_webhook(lan.user.text("mới"), body=body)
        assert delivery.status == 200
        await hooked.zalo.settle()
    asked = [text for text in lan.news() if "1." in text]
    assert len(asked) == 2, "both asked the first question"


async def test_200_only_once_the_update_is_stored(hooked: Stage) -> None:
    lan = resident(hooked)
    inbox = hooked.zalo.channel.receiver.inbox

    async def refuse(*args: object) -> bool:
        raise OSError("disk full")

    original = inbox.put
    inbox.put = refuse  # type: ignore[method-assign]
    delivery = await hooked.zalo.api.deliver_webhook(lan.user.text("mới"))
    assert delivery.status == 500, "Zalo is told the update was not taken"
    await hooked.zalo.settle()
    assert lan.news() == []
    inbox.put = original  # type: ignore[method-assign]
    again = await hooked.zalo.api.deliver_webhook(lan.user.updates[-1])
    assert again.status == 200
    await hooked.zalo.settle()
    assert lan.news(), "sent again, it is handled"


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_an_update_delivered_twice_is_handled_once(
    db_path: Path, clock: ManualClock, mode: str
) -> None:
    async with stage(db_path, clock, mode) as play:
        lan = resident(play)
        await file_report(lan)
        await lan.command("new")
        first = lan.user.text("1")  # the family: urban order
        await play.zalo.send(first)
        await play.zalo.send(first)  # the same message id again
        state = await play.bot.services.store.load_conversation((await lan.person()).id)
        assert state is not None and state.step == "category", "taken once, not twice"
        assert len(lan.news()) == 1, "answered once"


async def cut_off(play: Stage, update: JSONDict, received: datetime | None = None) -> None:
    """What a kill after handling ``update`` leaves: the update stored (when it came:
    ``received``, else now), claimed, never marked done (handled again at the next start)."""
    message_id = update["message"]["message_id"]
    await play.bot.services.store.db.write(  # type: ignore[attr-defined]
        "UPDATE processed_updates SET done_at = NULL WHERE channel = ? AND update_id = ?",
        (ZALO, message_id),
    )
    inbox = play.zalo.channel.receiver.inbox
    await inbox.put(message_id, json.dumps(update), received or play.bot.services.now())


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_the_send_handled_again_after_a_crash_starts_no_new_report(
    db_path: Path, clock: ManualClock, mode: str
) -> None:
    """The bot filed the report and died before it marked the "1" that sent it as done:
    at the next start that update, still stored, is handled again.  The conversation is
    over by then; the "1" must not fall on an older list (the greeting's "1. new report")."""
    async with stage(db_path, clock, mode) as play:
        lan = resident(play)
        await lan.command("start")  # the greeting, whose list offers a new report as 1
        await file_report(lan)
        send = lan.user.updates[-1]
        assert send["message"]["text"] == "1"
        await cut_off(play, send)
        lan.news()
        api = play.zalo.api
    async with stage(db_path, clock, mode, zalo_api=api) as again:
        lan.bot, lan.zalo = again.bot, again.zalo
        await again.zalo.settle()
        said = joined(lan.news())
        assert not says(said, "report.ask_family"), "no new report was started"
        assert await again.bot.services.store.load_conversation((await lan.person()).id) is None
        assert len(await again.bot.services.store.all_complaints()) == 1


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_the_send_cut_off_twice_by_crashes_starts_no_new_report(
    db_path: Path, clock: ManualClock, mode: str
) -> None:
    """Killed after filing, then killed again after the restart had answered the "1" once
    more (with the help, whose list offers a new report as 1): handled a third time, the "1"
    must not take that list, shown only after it was typed."""
    async with stage(db_path, clock, mode) as play:
        lan = resident(play)
        await file_report(lan)
        send, sent_at = lan.user.updates[-1], clock.now()
        await cut_off(play, send, sent_at)
        api = play.zalo.api
    for restart in range(2):
        clock.advance(timedelta(seconds=5))
        async with stage(db_path, clock, mode, zalo_api=api) as again:
            lan.bot, lan.zalo = again.bot, again.zalo
            await again.zalo.settle()
            said = joined(lan.news())
            assert not says(said, "report.ask_family"), f"no new report (restart {restart + 1})"
            if restart == 0:
                await cut_off(again, send, sent_at)
            else:
                store = again.bot.services.store
                assert await store.load_conversation((await lan.person()).id) is None
                assert len(await store.all_complaints()) == 1


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_a_posters_code_handled_again_after_a_crash_asks_the_first_question_again(
    db_path: Path, clock: ManualClock, mode: str
) -> None:
    """Killed after the poster's code had started the draft: handled again, the code is not
    taken for an answer to the draft's first question ("no match"), and the area stays."""
    async with stage(db_path, clock, mode) as play:
        lan = resident(play)
        await lan.text("HH-TDP06")
        lan.news()
        await cut_off(play, lan.user.updates[-1])
        api = play.zalo.api
    clock.advance(timedelta(seconds=5))
    async with stage(db_path, clock, mode, zalo_api=api) as again:
        lan.bot, lan.zalo = again.bot, again.zalo
        await again.zalo.settle()
        said = joined(lan.news())
        assert says(said, "report.ask_family") and not says(said, "conv.no_match")
        state = await again.bot.services.store.load_conversation((await lan.person()).id)
        assert state is not None and state.data.get("area") == "HH-TDP06"


@pytest.mark.parametrize("skip", ["4", "bỏ qua", "bo qua"])
async def test_a_cadre_who_skips_the_note_to_the_resident_is_answered(
    hooked: Stage, skip: str
) -> None:
    """On Telegram a pressed button shows it was taken; on Zalo a typed "bỏ qua"
    met by silence leaves the cadre wondering whether it arrived."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    await file_report(hooked.resident(TELEGRAM, "An"))
    await cadre.act(Action.ACKNOWLEDGE, 1)
    said = joined(await cadre.text(skip))
    assert says(said, "conv.noted_zalo")
    assert await hooked.bot.services.store.load_conversation((await cadre.person()).id) is None  # type: ignore[attr-defined]


async def test_a_resident_filing_on_zalo_gets_the_receipt_alone_not_noted_first(
    hooked: Stage,
) -> None:
    """Typing 1 at the review files the report; its receipt says it was
    taken: a "Đã ghi nhận." before it only doubled it."""
    said = joined(await file_report(hooked.resident(ZALO, "Lan")))
    assert "PA-000001" in said, "the receipt"
    assert not says(said, "conv.noted_zalo")


async def test_a_number_typed_after_an_offer_ends_takes_up_the_card_again(
    hooked: Stage,
) -> None:
    """The card's list, then the acknowledgement's offer (a question) answered: typed now,
    "2" is the card's "Báo đã xử lý" again."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    await file_report(hooked.resident(TELEGRAM, "An"))
    await cadre.act(Action.ACKNOWLEDGE, 1)
    await cadre.choose("s")  # no note for the resident: the offer is over
    await cadre.act(Action.RESOLVE, 1)
    state = await hooked.bot.services.store.load_conversation((await cadre.person()).id)  # type: ignore[attr-defined]
    assert state is not None and (state.kind, state.data["code"]) == ("resolve", "PA-000001")


async def test_a_burst_from_one_chat_is_handled_in_order(hooked: Stage) -> None:
    """Stored as they come and handled one after the other: the photo and
    "done" typed right after it are never taken out of order."""
    lan = resident(hooked)
    steps = ["mới", "2", "2", "1", "3", "Rác tràn ra ngõ 12"]
    for step in steps:
        delivery = await hooked.zalo.api.deliver_webhook(lan.user.text(step))
        assert delivery.status == 200
    await hooked.zalo.api.deliver_webhook(lan.user.image())
    for step in ("xong", "1"):
        await hooked.zalo.api.deliver_webhook(lan.user.text(step))
    await hooked.zalo.settle()
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.category, complaint.area, len(complaint.photos)) == ("RKTG", "HH-TDP03", 1)


# ---- odd updates ----------------------------------------------------------------------------


async def test_an_update_with_unexpected_fields_is_handled(hooked: Stage) -> None:
    lan = resident(hooked)
    update = lan.user.text("mới")
    update["unexpected"] = {"nested": [1, 2, 3]}
    update["message"]["reactions"] = ["❤"]
    update["message"]["from"]["avatar"] = "https://zdn.example/a.jpg"
    update["message"]["chat"]["extra"] = True
    sent = await hooked.zalo.send(update)
    assert any(m.chat_id == lan.user.user_id for m in sent), "answered as usual"


async def test_an_event_not_known_yet_gets_a_polite_answer(hooked: Stage) -> None:
    lan = resident(hooked)
    update = lan.user.text("hello")
    update["event_name"] = "message.location.received"
    await hooked.zalo.send(update)
    said = joined(lan.news())
    assert t("vi", "media.other") in said


@pytest.mark.parametrize("content", [{"photo": None}, {"photo": "file:///sdcard/a.jpg"}, {}])
async def test_a_photo_whose_link_the_bot_cannot_read_is_answered_not_ignored(
    hooked: Stage, content: JSONDict
) -> None:
    """Zalo's sources disagree on where a photo's link is; one the bot cannot find
    must not leave the sender waiting for an answer that never comes."""
    lan = resident(hooked)
    update = lan.user.image()
    message = update["message"]
    del message["photo"]
    message.update({k: v for k, v in content.items() if v is not None})
    delivery = await hooked.zalo.api.deliver_webhook(update)
    assert delivery.status == 200
    await hooked.zalo.settle()
    said = joined(lan.news())
    assert says(said, "report.photo_unavailable_zalo"), "as a photo that could not be fetched"


async def test_a_sender_named_by_first_name_is_greeted_by_that_name(hooked: Stage) -> None:
    chi = resident(hooked, "Chị Hoa", name_field="first_name")
    assert "Chị Hoa" in joined(await chi.command("start"))
    person = await chi.person()
    assert person.display_name == "Chị Hoa"


@pytest.mark.parametrize(("kind", "media"), [("sticker", "sticker"), ("voice", "voice")])
async def test_stickers_and_voice_get_a_clear_answer_in_the_persons_language(
    hooked: Stage, kind: str, media: str
) -> None:
    mai = resident(hooked, "Mai")
    await mai.command("lang", "en")
    mai.news()
    await hooked.zalo.send(getattr(mai.user, kind)())
    said = joined(mai.news())
    assert t("en", f"media.{media}") in said
    await mai.command("new")
    await hooked.zalo.send(getattr(mai.user, kind)())
    assert t("en", f"media.{media}") in joined(mai.news()), "at a question too"


async def test_a_cadre_sending_a_sticker_or_a_photo_that_is_gone_is_not_called_anh_chi(
    hooked: Stage,
) -> None:
    """Staff get short impersonal words (VOICE.md), never the residents' "anh/chị"."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    await file_report(hooked.resident(TELEGRAM, "An"))
    cadre.news()
    await hooked.zalo.send(cadre.user.sticker())
    said = joined(cadre.news())
    await cadre.text("báo đã xử lý")
    await cadre.text("Đã thu gom")
    gone = cadre.user.image()
    hooked.zalo.api.expire_media(gone["message"]["photo"])
    await hooked.zalo.send(gone)
    said += joined(cadre.news())
    # At the task card: the card's numbers still stand (test_zalo_verdicts.py).
    assert says(said, "fallback.media_list_zalo", kind=t("vi", "media.sticker"))
    assert says(said, "report.photo_unavailable_zalo")
    assert "anh/chị" not in said.casefold()


async def test_what_zalo_will_not_show_the_bot_gets_a_clear_answer(hooked: Stage) -> None:
    lan = resident(hooked)
    await hooked.zalo.send(lan.user.unsupported())
    # Zalo sends this for every message of a user the law protects: "gõ chữ" alone
    # would mislead one who typed; the ward office's desk is named too.
    assert says(joined(lan.news()), "fallback.unsupported_zalo")


async def test_a_group_chat_is_asked_to_write_privately(hooked: Stage) -> None:
    lan = resident(hooked)
    group = FakeZaloGroup(hooked.zalo.api)
    sent = await hooked.zalo.send(lan.user.text("mới", group=group))
    assert [m.chat_id for m in sent] == [group.group_id]
    assert sent[0].text == t("vi", "group.private_only_zalo")
    assert await hooked.bot.services.store.load_conversation((await lan.person()).id) is None


async def test_someone_who_unfollows_cannot_be_reached(hooked: Stage) -> None:
    lan = resident(hooked)
    await lan.command("start")
    await hooked.zalo.send(lan.user.unfollow())
    person = await lan.person()
    reach = await hooked.bot.services.store.mark_reachable(person.accounts[0])
    assert reach.before is False, "the account was marked unreachable"


# ---- photos ---------------------------------------------------------------------------------


async def test_a_photo_whose_link_is_gone_is_asked_again_and_nothing_is_lost(
    hooked: Stage,
) -> None:
    lan = resident(hooked)
    for step in ("mới", "2", "2", "1", "3", "Rác tràn ra ngõ 12"):
        await lan.text(step)
    gone = lan.user.image()
    hooked.zalo.api.expire_media(gone["message"]["photo"])
    await hooked.zalo.send(gone)
    assert t("vi", "report.photo_unavailable_zalo") in joined(lan.news())
    await lan.photo()
    await lan.text("xong")
    await lan.text("1")
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ 12"
    assert len(complaint.photos) == 1


async def test_a_photo_out_of_the_blue_starts_a_report_and_is_kept(hooked: Stage) -> None:
    lan = resident(hooked)
    await lan.photo(caption="Rác đầy gốc cây")
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.kind == "report"
    assert len(state.data["photos"]) == 1
    assert state.data["description"] == "Rác đầy gốc cây"


# ---- numbers and words ----------------------------------------------------------------------


async def test_a_bare_number_acts_on_the_right_complaint_later_and_after_a_restart(
    db_path: Path, clock: ManualClock
) -> None:
    """The card's "1. Tiếp nhận", typed after other messages and after the
    bot restarted, still acknowledges that card's complaint."""
    async with stage(db_path, clock) as play:
        cadre = await play.staff(ZALO, "cb-hh-mt", "Thắng")
        assert isinstance(cadre, ZaloChat)
        await file_report(play.resident(TELEGRAM, "An"))
        await file_report(play.resident(TELEGRAM, "Bình"), "Rác ở chợ")
        await cadre.text("trạng thái PA-000001")  # another list came after the first card
        api = play.zalo.api
    async with stage(db_path, clock, zalo_api=api) as again:
        cadre.bot, cadre.zalo = again.bot, again.zalo
        await cadre.text("1")  # "Tiếp nhận" on PA-000001's status, the last list
    assert await _state(db_path, 1) == "acknowledged"
    assert await _state(db_path, 2) == "submitted"


async def _state(db_path: Path, complaint_id: int) -> str:
    db = await Database.open(db_path)
    try:
        rows = await db.conn.execute_fetchall(
            "SELECT state FROM complaints WHERE id = ?", (complaint_id,)
        )
        return str(next(iter(rows))[0])
    finally:
        await db.close()


async def test_a_number_typed_before_a_new_card_arrived_does_not_act_on_that_card(
    hooked: Stage, clock: ManualClock
) -> None:
    """The cadre types "1" on PA-000001's card; PA-000002's card is sent while that
    message is on its way (Zalo delivers it late, or the bot is restarting): the
    "1" must not acknowledge PA-000002, a card the cadre had not seen."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    an = hooked.resident(TELEGRAM, "An")
    await file_report(an)
    clock.advance(timedelta(minutes=1))
    typed = cadre.user.text("1")  # Zalo dates it now
    clock.advance(timedelta(seconds=20))
    await file_report(an, "Rác ở chợ")  # PA-000002's card comes in meanwhile
    cadre.news()
    clock.advance(timedelta(seconds=20))
    await hooked.zalo.send(typed)
    assert (await hooked.bot.services.complaint(2)).state is State.SUBMITTED  # type: ignore[union-attr]
    assert says(joined(cadre.news()), "fallback.list_changed_zalo", number=1)
    await cadre.text("1")  # typed again, on the card now shown
    assert (await hooked.bot.services.complaint(2)).state is State.ACKNOWLEDGED  # type: ignore[union-attr]


async def test_a_number_zalo_dates_a_moment_before_the_list_still_takes_it(
    hooked: Stage, clock: ManualClock
) -> None:
    """Zalo's clock is not the bot's: a number Zalo dates a second or two before
    the card went out (the server's clock runs ahead) is still the card's."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    typed = cadre.user.text("1")
    clock.advance(timedelta(seconds=2))
    await file_report(hooked.resident(TELEGRAM, "An"))
    await hooked.zalo.send(typed)
    assert (await hooked.bot.services.complaint(1)).state is State.ACKNOWLEDGED  # type: ignore[union-attr]


@pytest.mark.parametrize("at_a_question", [False, True])
async def test_a_text_of_thousands_of_digits_is_told_too_long_not_an_error(
    hooked: Stage, at_a_question: bool
) -> None:
    """Python refuses to read a number of over 4,300 digits; Telegram never sends a
    text that long, Zalo documents no limit.  The sender is told it is too long."""
    lan = resident(hooked)
    if at_a_question:
        await lan.command("new")
    said = joined(await lan.text("9" * 5000))
    assert says(said, "conv.too_long", length="5.000", limit="2.000")
    assert not says(said, "fallback.error")


async def test_a_number_no_list_offers_is_explained(hooked: Stage) -> None:
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    await file_report(hooked.resident(TELEGRAM, "An"))
    cadre.news()
    said = joined(await cadre.text("9"))
    assert t("vi", "fallback.no_such_number_zalo", number=9, count=5) in said


async def test_an_action_typed_as_words_picks_the_complaint(hooked: Stage) -> None:
    """Named by its code it acts at once; without one, on the only task it
    can be; with several, the person picks from a numbered list."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    an = hooked.resident(TELEGRAM, "An")
    await file_report(an)
    await cadre.text("tiep nhan")  # the card just shown: its complaint
    assert (await hooked.bot.services.complaint(1)).state is State.ACKNOWLEDGED  # type: ignore[union-attr]
    await cadre.text("bỏ qua")
    await file_report(an, "Rác ở chợ")
    await file_report(an, "Rác ở cổng trường")
    cadre.news()
    await cadre.text("tiếp nhận PA-000003")
    assert (await hooked.bot.services.complaint(3)).state is State.ACKNOWLEDGED  # type: ignore[union-attr]
    await cadre.text("bỏ qua")
    cadre.news()
    listed = joined(await cadre.text("báo đã xử lý"))
    assert "PA-000001" in listed and "PA-000002" in listed and "PA-000003" in listed
    await cadre.text("2")  # PA-000002 in that list
    state = await hooked.bot.services.store.load_conversation((await cadre.person()).id)  # type: ignore[attr-defined]
    assert state is not None and (state.kind, state.data["code"]) == ("resolve", "PA-000002")


async def test_a_line_of_the_list_copied_or_typed_whole_is_that_line(hooked: Stage) -> None:
    """Elderly users type "số 1"; others copy the whole line they mean, number,
    sign and all ("3. ✋ Tiếp nhận"): each is that line, never "unclear"."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    an = hooked.resident(TELEGRAM, "An")
    for description in ("Rác ở ngõ 12", "Rác ở chợ", "Rác ở cổng trường"):
        await file_report(an, description)
    await cadre.text("việc")  # 1/2: PA-000001, 3/4: PA-000002, 5/6: PA-000003
    await cadre.text("3. ✋ Tiếp nhận")
    await cadre.text("bỏ qua")
    await cadre.text("việc")
    await cadre.text("5. ✋ Tiếp nhận PA-000003")
    await cadre.text("bỏ qua")
    await cadre.text("việc")
    said = joined(await cadre.text("số 1"))
    states = [(await hooked.bot.services.complaint(n)).state for n in (1, 2, 3)]  # type: ignore[union-attr]
    assert states == [State.ACKNOWLEDGED] * 3
    assert not says(said, "fallback.staff")


async def test_so_2_at_a_question_picks_its_second_choice(hooked: Stage) -> None:
    """ "Số 2" is how many people type a number; at a question with numbered
    choices it is the second, not "nothing matches"."""
    lan = resident(hooked)
    await lan.command("new")
    said = joined(await lan.text("số 2"))
    assert says(said, "report.ask_category", family=t("vi", "family.sanitation"))


async def test_a_residents_verdict_typed_as_words(hooked: Stage) -> None:
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(hooked)
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    await lan.text("da khac phuc")
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.CONFIRMED


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        *[("rồi", True), ("roi", True), ("Dạ rồi ạ", True), ("chưa", False)],
        *[("vẫn còn", False), ("Không", False), ("ko ạ", False)],
    ],
)
async def test_a_resident_answering_has_it_been_fixed_with_roi_or_chua_is_understood(
    hooked: Stage, typed: str, fixed: bool
) -> None:
    """ "Sự việc đã được khắc phục chưa?" is answered in Vietnamese with "rồi" (yes)
    or "chưa" (not yet), not with the list's number: neither may get the help
    (whose list would replace the question's) or start a new report."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(hooked)
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    said = joined(await lan.text(typed))
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    if fixed:
        assert complaint.state is State.CONFIRMED
        assert says(said, "resident.thanks_confirmed", code="PA-000001")
    else:
        assert state is not None and state.kind == "dispute"
        assert says(said, "dispute.ask_comment", code="PA-000001")


@pytest.mark.parametrize(
    ("typed", "stars"),
    [
        *[("rất hài lòng", 5), ("Hài lòng ạ", 4), ("khong hai long", 2)],
        *[("rất không hài lòng", 1), ("Tốt", 4), ("rất tốt ạ", 5), ("Tuyệt vời", 5)],
        *[("tạm được", 3), ("kém", 2), ("5đ", 5)],
    ],
)
async def test_a_rating_typed_in_the_questions_own_words_is_taken_not_a_new_report(
    hooked: Stage, typed: str, stars: int
) -> None:
    """The question says "1 = rất không hài lòng, 5 = rất hài lòng"; a resident who
    answers in those words is thanked for the rating, never asked what their new
    report "hài lòng" is about."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(hooked)
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    await lan.text("1")  # fixed: the rating is asked
    said = joined(await lan.text(typed))
    assert says(said, "rate.thanks", stars=stars)
    assert await hooked.bot.services.store.load_conversation((await lan.person()).id) is None


@pytest.mark.parametrize("with_photo", [False, True])
async def test_a_resident_who_answers_the_cadres_question_directly_is_heard(
    hooked: Stage, with_photo: bool
) -> None:
    """Asked "Nhà số mấy ạ?", a resident types the answer (or sends a photo) at once
    rather than "1" first: it reaches the cadre, and starts no new report."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, TelegramChat)
    lan = resident(hooked)
    await file_report(lan)
    await cadre.act(Action.ASK_INFO, 1)
    await cadre.text("Nhà số mấy ạ?")
    cadre.news()
    said = joined(await (lan.photo("Nhà số 12") if with_photo else lan.text("Nhà số 12")))
    assert says(said, "info_reply.sent", code="PA-000001")
    assert says(joined(cadre.news()), "notify.info_answered", code="PA-000001", answer="Nhà số 12")
    assert await hooked.bot.services.store.load_conversation((await lan.person()).id) is None
    assert len(await hooked.bot.services.store.all_complaints()) == 1


async def test_a_cadre_who_sends_the_photo_of_the_fix_after_the_card_reports_the_fix(
    hooked: Stage,
) -> None:
    """Back from the scene, the cadre sends the photo of the fix straight after the
    card, without "2" first: it is the fix report's photo, not a resident's new
    report about rubbish filed by the cadre."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    await file_report(hooked.resident(TELEGRAM, "An"))
    await cadre.act(Action.ACKNOWLEDGE, 1)
    await cadre.choose("s")
    said = joined(await cadre.photo())
    assert says(said, "resolve.ask_note", code="PA-000001")
    assert says(said, "resolve.photo_kept")
    await cadre.text("Đã dọn sạch")
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.RESOLVED
    assert len(await hooked.bot.services.store.all_complaints()) == 1


async def test_roi_or_chua_without_the_fixed_question_is_no_verdict(hooked: Stage) -> None:
    """Typed when the last list asks nothing of the kind, they are no verdict."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(hooked)
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")
    await lan.command("start")  # the greeting's list comes after the question
    await lan.text("rồi")
    assert (await hooked.bot.services.complaint(1)).state is State.RESOLVED  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_zalo_resident_is_told_what_to_type_never_a_slash_command(
    hooked: Stage, lang: str
) -> None:
    """Texts shared with Telegram name its /commands; on Zalo, where nothing is tapped
    and no menu shows them, they name the words to type instead."""
    cadre = await hooked.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = resident(hooked)
    await lan.command("lang", lang)
    await lan.command("mine")  # nothing yet: "type new to report"
    await file_report(lan)
    await cadre.act(Action.ACKNOWLEDGE, 1)
    await cadre.choose("s")
    await lan.command("new")
    await lan.text("huy" if lang == "vi" else "cancel")
    told = lan.texts()
    slashed = [text for text in told if re.search(r"(?<![\w/])/[a-z]+", text)]
    assert slashed == []
    typed = "trạng thái" if lang == "vi" else "status"
    assert any(f"“{typed} PA-000001”" in text for text in told), "the receipt says what to type"


@pytest.mark.parametrize("typed", ["mới\u200b", "\ufeffmới", "mới\u2060 "])
async def test_a_command_with_an_invisible_character_pasted_along_is_the_command(
    hooked: Stage, typed: str
) -> None:
    """Text copied from a web page or a document brings invisible characters (a
    zero-width space, a byte-order mark): "mới" is still "new report", not a
    report whose text "mới" the bot files under "môi trường"."""
    lan = resident(hooked)
    said = joined(await lan.text(typed))
    assert says(said, "report.ask_family")


async def test_a_posters_group_code_starts_a_report_there(hooked: Stage) -> None:
    lan = resident(hooked)
    await lan.text("hh-tdp06")
    state = await hooked.bot.services.store.load_conversation((await lan.person()).id)
    assert state is not None and state.data.get("area") == "HH-TDP06"


@pytest.mark.parametrize("pasted", ["{code}.", "“{code}”", "Mã: {code}", "i- {bare}", "{bare}!"])
async def test_an_invite_code_pasted_with_quotes_or_a_full_stop_binds_the_account(
    hooked: Stage, pasted: str
) -> None:
    """The ward office sends the code in a message ("Mã của đồng chí: i-…."); the
    cadre copies it with what was around it, or the phone adds a space after "i-".
    It binds the account; it never starts a report with the secret code as its text."""
    member = hooked.bot.services.chart.staff["cb-hh-mt"]
    link = await Admin(hooked.bot.services).invite("cb-hh-mt", Role.CADRE, ZaloLinks(), rebind=True)
    thang = resident(hooked, "Thắng")
    bare = link.code.removeprefix("i-")
    said = joined(await thang.text(pasted.format(code=link.code, bare=bare)))
    assert says(said, "invite.welcome", name=member.name)
    assert await hooked.bot.services.store.staff_of_person((await thang.person()).id) == "cb-hh-mt"  # type: ignore[attr-defined]
    assert await hooked.bot.services.store.load_conversation((await thang.person()).id) is None


@pytest.mark.parametrize("problem", ["unknown", "used", "expired"])
async def test_an_invite_code_that_does_not_work_is_called_a_code_not_a_link(
    hooked: Stage, clock: ManualClock, problem: str
) -> None:
    """On Zalo the cadre typed a code; being told "this invite link is not valid"
    sends them looking for a link they never had."""
    link = await Admin(hooked.bot.services).invite("cb-hh-mt", Role.CADRE, ZaloLinks(), rebind=True)
    code = link.code if problem != "unknown" else "i-" + "x" * 24
    if problem == "used":
        await resident(hooked, "Thắng").text(code)
    if problem == "expired":
        clock.advance(timedelta(days=8))
    said = joined(await resident(hooked, "Khách").text(code))
    assert says(said, f"invite.{problem}_zalo")


async def test_an_invite_code_binds_a_zalo_account_to_the_staff_record(hooked: Stage) -> None:
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    staff = await hooked.bot.services.store.staff_of_person((await cadre.person()).id)  # type: ignore[attr-defined]
    assert staff == "cb-hh-mt"
    assert "PA-000001" in joined(await _filed_to(hooked, cadre))


async def _filed_to(play: Stage, cadre: object) -> list[str]:
    await file_report(play.resident(TELEGRAM, "An"))
    assert isinstance(cadre, ZaloChat)
    return cadre.news()


# ---- sending --------------------------------------------------------------------------------


async def test_a_digest_of_2500_characters_arrives_whole_in_pieces(
    db_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db = await Database.open(db_path)
    last_week = clock.now() - timedelta(days=7)
    await write(db, Generator(chart, last_week - timedelta(days=20), 27, [], 5).many(300))
    await db.close()
    async with stage(db_path, clock) as play:
        city = await play.staff(ZALO, "ld-tp-bt", "Sơn")
        assert isinstance(city, ZaloChat)
        before = len(play.zalo.api.messages_to(city.user.user_id))
        await city.command("digest")
        sent = play.zalo.api.messages_to(city.user.user_id)[before:]
        digests = play.bot.runtime.digests
        built = await digests.build(digests.scope_for(await city.actor()), digests.last_week())  # type: ignore[arg-type]
    whole = digest_text(built, digests.chart, "vi", digests.tz)
    assert len(whole) > 2500, "a digest longer than one Zalo message"
    pieces = [m.text or "" for m in sent if m.kind == "text"]
    assert len(pieces) >= 2 and all(len(p) <= ZALO_TEXT_LIMIT for p in pieces)
    assert " ".join(pieces).split() == whole.split(), "nothing lost, nothing added"
    assert sent[-1].kind == "photo", "then the chart, by link"


@pytest.mark.parametrize("status", [429, 502])
async def test_a_refusal_to_slow_down_or_a_server_fault_is_retried_later_and_sent_once(
    hooked: Stage, clock: ManualClock, status: int
) -> None:
    chair = hooked.bot.user(7001, "Hùng")
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    hooked.zalo.api.fail_next("sendMessage", status, chat_id=cadre.user.user_id)
    await file_report(hooked.resident(TELEGRAM, "An"))
    assert not [s for s in cadre.news() if "🆕" in s], "the card met the failure"
    pending, _ = await hooked.bot.services.store.outbox_counts()
    assert pending == 1, "and waits in the outbox"
    await hooked.tick()
    assert not [s for s in cadre.news() if "🆕" in s], "not before its retry time"
    clock.advance(timedelta(minutes=5))
    await hooked.tick()
    assert len([s for s in cadre.news() if "🆕" in s and "PA-000001" in s]) == 1
    assert (await hooked.bot.services.store.outbox_counts())[0] == 0
    clock.advance(timedelta(days=1))
    await hooked.tick()
    assert not [s for s in cadre.news() if "🆕" in s], "sent once"
    told = [m.text or "" for m in hooked.bot.api.messages_to(chair.user_id)]
    undelivered = t("vi", "notify.undeliverable", name="\0", code="PA-000001").split("\0")[0]
    assert not [text for text in told if undelivered in text], "a retry is nobody's concern"


async def test_a_message_zalo_refuses_is_given_up_and_the_leader_told(
    hooked: Stage, clock: ManualClock
) -> None:
    chair = hooked.bot.user(7001, "Hùng")
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    hooked.zalo.api.fail_next("sendMessage", 400, chat_id=cadre.user.user_id)
    await file_report(hooked.resident(TELEGRAM, "An"))
    await hooked.tick()
    told = "\n".join(m.text or "" for m in hooked.bot.api.messages_to(chair.user_id))
    undelivered = t("vi", "notify.undeliverable", name="\0", code="PA-000001").split("\0")[0]
    assert undelivered in told and "PA-000001" in told, "the ward leader hears who did not get what"
    clock.advance(timedelta(hours=3))
    await hooked.tick()
    assert not [s for s in cadre.news() if "🆕" in s], "given up, never retried"
    assert (await hooked.bot.services.store.outbox_counts())[0] == 0


async def test_after_repeated_refusals_the_account_is_unreachable_and_its_tasks_move(
    hooked: Stage,
) -> None:
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    assert isinstance(cadre, ZaloChat)
    hooked.zalo.api.fail_next("sendMessage", 403, chat_id=cadre.user.user_id, times=20)
    hooked.zalo.api.fail_next("sendPhoto", 403, chat_id=cadre.user.user_id, times=20)
    an = hooked.resident(TELEGRAM, "An")
    for n in range(3):
        await file_report(an, f"Rác ở ngõ {n}")
    reach = await hooked.bot.services.reach()
    assert "cb-hh-mt" in reach.refused
    complaints = [await hooked.bot.services.complaint(n) for n in (1, 2, 3)]
    assert all(c is not None and c.owner != "cb-hh-mt" for c in complaints)


async def test_every_send_waits_for_the_pacers_turn() -> None:
    waits: list[float] = []
    now = [100.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    pacer = Pacer(4.0, sleep=sleep, now=lambda: now[0])
    for _ in range(5):
        await pacer.turn()
    assert waits == pytest.approx([0.25, 0.5, 0.75, 1.0])
    pacer.pause(3.0)
    await pacer.turn()
    assert waits[-1] == pytest.approx(3.0)


async def test_the_rate_is_the_setting(db_path: Path, clock: ManualClock) -> None:
    async with stage(db_path, clock, zalo_rate=2.0) as play:
        assert play.zalo.channel.pacer.gap == pytest.approx(0.5)


# ---- files by link --------------------------------------------------------------------------


async def test_an_export_is_a_link_that_expires(hooked: Stage, clock: ManualClock) -> None:
    chair = await hooked.staff(ZALO, "ld-hh-ct", "Hùng")
    await file_report(hooked.resident(TELEGRAM, "An"))
    clock.advance(timedelta(hours=1))
    said = joined(await chair.command("export", "year"))
    url = next(w for w in said.split() if "/files/" in w and w.endswith(".csv"))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=hooked.bot.runtime.http.asgi()))
    async with client:
        response = await client.get(url)
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        assert "PA-000001" in response.content.decode("utf-8-sig")
        clock.advance(timedelta(hours=2))
        assert (await client.get(url)).status_code == 404


# ---- the token ------------------------------------------------------------------------------


async def test_the_token_is_in_no_log_line_exception_or_repr(
    db_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # httpx's own logger too: the CLI quiets it for the whole process (an earlier test ran it).
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        async with stage(db_path, clock, "polling") as play:
            cadre = await play.staff(ZALO, "cb-hh-mt", "Thắng")
            api = play.zalo.api
            api.fail_next("sendMessage", 502)
            api.network_failure_next("sendPhoto")
            await file_report(play.resident(ZALO, "Lan"))
            await cadre.command("tasks")
            api.network_failure_next("getUpdates")
            with pytest.raises(ZaloNetworkError) as raised:
                await play.zalo.channel.poll_once()
            assert DEFAULT_TOKEN not in str(raised.value)
            assert DEFAULT_TOKEN not in repr(play.zalo.channel.client)
            assert DEFAULT_TOKEN not in repr(play.bot.runtime.settings)
    records = [r for r in caplog.records if r.name.startswith(("httpx", "bot", "handlers"))]
    assert any(r.name == "httpx" for r in records), "httpx logged its requests"
    for record in caplog.records:
        text = f"{record.getMessage()} {record.exc_text or ''}"
        assert DEFAULT_TOKEN not in text, record.name
        assert DEFAULT_TOKEN.split(":")[1] not in text, record.name
    assert DEFAULT_TOKEN not in json.dumps([r.getMessage() for r in caplog.records])
