"""Every notice arrives, whole, once: texts fitted to Telegram's limits as
Telegram measures them, a refused photo that does not hold back the card,
rows that cannot be delivered given up with the ward leader told, one chat's
flood wait that holds back no one else, and no part of a notice sent twice."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import storage.sqlite.db
from bot.domain.clock import ManualClock
from bot.domain.geo import centroid
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, FakeUser, SentMessage
from handlers.telegram.outbox import GIVE_UP_AFTER
from handlers.telegram.render import TEXT_LIMIT, split_message, utf16_len
from storage.sqlite.db import utc_text
from tests.catalogue import digest_part, says
from tests.factories import (
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    button_data,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
    to,
)

GROUP1_LEADER = 7021  # tt-hh-01: rubbish in group 1
EMOJI = "🗑"  # one character, two UTF-16 code units: what Telegram counts
# The longest description, nearly all emoji (a description needs a word).
LONGEST = "Rác " + EMOJI * 1996
APOLOGY = t("vi", "fallback.error", ref="").split("(")[0]


def texts_to(bot: BotDriver, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.api.messages_to(chat_id) if m.kind == "text"]


def photos_to(bot: BotDriver, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.api.messages_to(chat_id) if m.kind in ("photo", "media_group_photo")]


async def file_with_photo(bot: BotDriver, user: FakeUser) -> str:
    """A sanitation report with one photo; returns the photo's file id."""
    await bot.send(user.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(user, key)
    await bot.send(user.text("Rác tràn ngõ 12"))
    update = user.photo()
    await bot.send(update)
    await bot.choose(user, "d")
    file_id: str = update["message"]["photo"][-1]["file_id"]
    return file_id


# ---- the longest possible card ---------------------------------------------------------------


async def test_the_longest_possible_card_reaches_the_cadre_whole(
    bot: BotDriver, chart: OrgChart
) -> None:
    """A name, a landmark and a description of emoji, each as long as the
    bot lets them be, passed every length check in characters but made a
    card twice Telegram's 4,096 UTF-16 units: it was refused, and the cadre
    never got it.  Now it arrives whole, in as many messages as it needs."""
    name = EMOJI * 64  # Telegram's longest first and last names
    an = bot.user(501, name, last_name=name)
    polygon = chart.areas["HH-TDP03"].polygon
    assert polygon is not None
    centre = centroid(polygon)
    landmark, description = EMOJI * 200, LONGEST  # the bot's own limits
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.send(an.venue(centre.lat, centre.lon, landmark, "Ngõ 12"))
    review = await bot.send(an.text(description))
    await bot.choose(an, "d")
    await bot.choose(an, "nm")  # the cadre may see the name
    sent = await bot.choose(an, "ok")
    assert APOLOGY not in joined(review + sent)
    assert "PA-000001" in joined(to(sent, an)), "the receipt"

    card = [m for m in to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")) if m.kind == "text"]
    assert len(card) >= 2, "more than one message's worth"
    assert all(utf16_len(m.text or "") <= TEXT_LIMIT for m in card)
    whole = "".join((m.text or "").replace("\n", "") for m in card)
    assert description in whole and landmark in whole and name in whole
    assert button_data(card[-1]) == ["a:1", "r:1", "t:1", "j:1", "h:1"]
    assert all(button_data(m) == [] for m in card[:-1]), "the buttons come once, at the end"
    assert {c.status for c in bot.api.calls_to("sendMessage")} == {200}

    # The resident's own view of it is delivered too.
    status = await bot.send(an.command("status", "PA-000001"))
    assert APOLOGY not in joined(status)
    assert description in "".join((m.text or "").replace("\n", "") for m in status)


def test_a_text_is_split_where_a_reader_expects_it() -> None:
    """At a line end if one fits, else after a word, else between two
    characters — and never more than the limit, counted Telegram's way."""
    lines = "\n".join(["dòng một", "dòng hai", "dòng ba"])
    assert split_message(lines, 18) == ["dòng một\ndòng hai", "dòng ba"]
    words = " ".join(["rác"] * 10)  # 39 characters
    pieces = split_message(words, 16)
    assert pieces == ["rác rác rác rác", "rác rác rác rác", "rác rác"]
    emoji = split_message(EMOJI * 10, 7)  # no space anywhere: 3 emoji (6 units) a piece
    assert emoji == [EMOJI * 3, EMOJI * 3, EMOJI * 3, EMOJI]
    assert all(utf16_len(p) <= 7 for p in emoji)
    assert split_message("  \n\n ", 10) == [], "nothing blank is sent"


async def test_a_reopened_card_with_the_longest_comment_arrives(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an, description=LONGEST)
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    comment = "🚮" * 2000
    sent = await bot.send(an.text(comment))
    card = [m for m in to(sent, cadre) if m.kind == "text"]
    whole = "".join((m.text or "").replace("\n", "") for m in card)
    assert comment in whole and LONGEST in whole
    assert "a:1" in button_data(card[-1])


async def test_a_caption_too_long_is_shortened_not_refused(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    photo = an.photo()
    file_id = photo["message"]["photo"][-1]["file_id"]
    sent = await bot.app.bot.send_photo(an.user_id, file_id, caption=EMOJI * 600)
    caption = sent.caption or ""
    assert caption.endswith("…") and utf16_len(caption) <= 1024
    assert caption.startswith(EMOJI * 500)


# ---- a failing part must not block the rest ------------------------------------------------


async def test_a_photo_telegram_refuses_does_not_hold_back_the_card(bot: BotDriver) -> None:
    """The card's photo is a file id Telegram does not know (400): the text
    card still goes, at once, and the row is done."""
    an = bot.user(501, "An")
    file_id = await file_with_photo(bot, an)
    bot.api.forget_file(file_id)
    sent = await bot.choose(an, "ok")
    cadre = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE]
    assert [m.kind for m in cadre] == ["text"]
    assert says(cadre[0].text, "task.card", header=t("vi", "task.new_header"), code="PA-000001")
    assert [c.status for c in bot.api.calls_to("sendPhoto")] == [400]
    assert await bot.services.store.outbox_counts() == (0, 2)


async def test_after_a_429_the_cards_photo_is_not_sent_again(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Telegram took the photo, then asked the bot to wait before the text:
    the retry sends the text alone."""
    an = bot.user(501, "An")
    await file_with_photo(bot, an)
    bot.api.fail_next("sendMessage", retry_after=7, chat_id=ENVIRONMENT_CADRE)
    await bot.choose(an, "ok")
    assert len(photos_to(bot, ENVIRONMENT_CADRE)) == 1
    assert texts_to(bot, ENVIRONMENT_CADRE) == []
    clock.advance(timedelta(seconds=7))
    await bot.flush()
    assert len(photos_to(bot, ENVIRONMENT_CADRE)) == 1, "the photo once"
    assert len(texts_to(bot, ENVIRONMENT_CADRE)) == 1, "the card once"
    assert await bot.services.store.outbox_counts() == (0, 2)


async def test_a_card_telegram_refuses_is_given_up_and_the_ward_leader_told(
    bot: BotDriver,
) -> None:
    """A text Telegram answers with a 400 would be refused again: the row is
    given up at once (not retried for days) and the ward leader hears of it."""
    bot.api.fail_next(
        "sendMessage", error_code=400, description="Bad Request: chat not found",
        chat_id=ENVIRONMENT_CADRE,
    )  # fmt: skip
    sent = await file_sanitation_report(bot, bot.user(501, "An"))
    assert texts_to(bot, ENVIRONMENT_CADRE) == []
    told = [m for m in sent if m.chat_id == WARD_CHAIR]
    assert len(told) == 1
    body = told[0].text or ""
    assert "PA-000001" in body and "Vũ Đức Thắng" in body
    assert "Không gửi được tin về PA-000001" in body
    assert await bot.services.store.outbox_counts() == (0, 2), "given up: pending no more"


async def test_persistent_server_errors_are_given_up_after_a_bounded_time(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Telegram answers 500 for one chat, hour after hour, while it takes
    everyone else's messages: the row is retried with growing waits, then
    given up and the ward leader told — once."""
    bot.api.fail_next("sendMessage", error_code=500, times=1000, chat_id=ENVIRONMENT_CADRE)
    await file_sanitation_report(bot, bot.user(501, "An"))
    waited = timedelta(0)
    others = 0
    while waited < GIVE_UP_AFTER + timedelta(hours=2):
        clock.advance(timedelta(minutes=20))
        waited += timedelta(minutes=20)
        # Meanwhile other residents report things for another cadre, which go through.
        if waited % timedelta(hours=1) == timedelta(0):
            others += 1
            await file_sanitation_report(bot, bot.user(600 + others, "Dân"), group="HH-TDP01")
        await bot.flush()
        pending, _ = await bot.services.store.outbox_counts()
        if pending == 0:
            break
    assert GIVE_UP_AFTER <= waited <= GIVE_UP_AFTER + timedelta(hours=2)
    assert await bot.services.store.outbox_counts() == (0, 1 + 2 * others + 1)
    told = [m for m in bot.api.messages_to(WARD_CHAIR) if "PA-000001" in (m.text or "")]
    assert len(told) == 1
    assert texts_to(bot, ENVIRONMENT_CADRE) == []
    assert len(texts_to(bot, GROUP1_LEADER)) == others


async def test_an_outage_of_the_bots_own_network_gives_nobody_up(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Nothing gets through (the bot's own network is down) for longer than
    the give-up time: that is no fault of the cadre's, so the card still goes
    once the network is back."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn ngõ 12"))
    await bot.choose(an, "d")
    for chat_id in (an.user_id, ENVIRONMENT_CADRE):
        bot.api.network_failure_next("sendMessage", times=1000, chat_id=chat_id)
    await bot.choose(an, "ok")
    for _ in range(12):
        clock.advance(timedelta(minutes=30))
        await bot.flush()
    assert await bot.services.store.outbox_counts() == (2, 0)
    bot.api.clear_faults()
    clock.advance(timedelta(hours=1))
    await bot.flush()
    assert len(texts_to(bot, ENVIRONMENT_CADRE)) == 1
    assert await bot.services.store.outbox_counts() == (0, 2)


async def test_a_row_that_cannot_be_prepared_does_not_stop_the_others(
    bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed row ahead of the cadre's new card (here a reminder naming
    no complaint) is logged and retried later; the card behind it still goes."""
    now = utc_text(bot.services.now())
    db = bot.services.store.db  # type: ignore[attr-defined]
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO outbox (staff_id, kind, payload, created_at, next_attempt_at)"
            " VALUES ('cb-hh-mt', 'reminders', '{\"items\": [{\"due\": \"ack_due\"}]}', ?, ?)",
            (now, now),
        )
    with caplog.at_level(logging.ERROR):
        await file_sanitation_report(bot, bot.user(501, "An"))
    assert "Việc mới — PA-000001" in joined(texts_to(bot, ENVIRONMENT_CADRE))
    assert any("could not be prepared" in r.getMessage() for r in caplog.records)
    assert await bot.services.store.outbox_counts() == (1, 2), "the bad row waits for a retry"


# ---- one chat's flood wait ---------------------------------------------------------------------


async def test_a_flood_wait_for_one_chat_does_not_hold_back_another_residents_reply(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """The cadre's chat gets a 429 asking for 20 s: another resident's reply
    goes out at once, and the card is sent when the 20 s are over."""
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    async with started_bot(db_path, clock, rate_limit=True) as bot:
        bot.api.fail_next("sendMessage", retry_after=20, chat_id=ENVIRONMENT_CADRE)
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with asyncio.timeout(10):
            await file_sanitation_report(bot, bot.user(501, "An"))
            sent = await bot.send(bot.user(502, "Bình").command("start"))
        assert says(joined(sent), "start.greeting", name="Bình")
        assert loop.time() - began < 5, "nobody waited for the cadre's 20 s"
        assert texts_to(bot, ENVIRONMENT_CADRE) == []
        clock.advance(timedelta(seconds=20))
        await bot.flush()
        assert len(texts_to(bot, ENVIRONMENT_CADRE)) == 1


async def test_a_429_in_one_chat_pauses_only_that_chat(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    lan, minh = FakeUser(api, 7100, "Lan"), FakeUser(api, 7101, "Minh")
    async with started_bot(db_path, clock, api, rate_limit=True) as bot:
        send = bot.app.bot.send_message
        api.fail_next("sendMessage", retry_after=1, chat_id=lan.user_id)
        loop = asyncio.get_running_loop()
        began = loop.time()
        to_lan = asyncio.create_task(send(lan.user_id, "Nhắc việc"))
        await asyncio.sleep(0.05)  # Lan's first try is answered 429
        await send(minh.user_id, "Chào Minh")
        assert loop.time() - began < 0.5, "Minh was not held back"
        assert not to_lan.done()
        await to_lan
        assert loop.time() - began >= 1, "Lan's chat waited as Telegram asked"
    assert [m.text for m in api.messages_to(lan.user_id)] == ["Nhắc việc"]


async def test_a_429_at_the_bots_ceiling_pauses_every_chat(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """When the bot was sending at its full rate, a 429 is the global limit:
    then every chat waits."""
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    people = [FakeUser(api, 7200 + n, f"Dân {n}") for n in range(32)]
    async with started_bot(db_path, clock, api, rate_limit=True) as bot:
        send = bot.app.bot.send_message
        await asyncio.gather(*(send(p.user_id, "Nhắc việc") for p in people[:30]))
        api.fail_next("sendMessage", retry_after=1, chat_id=people[30].user_id)
        loop = asyncio.get_running_loop()
        first = asyncio.create_task(send(people[30].user_id, "Nhắc việc"))
        await asyncio.sleep(0.2)  # its 429 has come back
        began = loop.time()
        await send(people[31].user_id, "Nhắc việc")
        assert loop.time() - began >= 0.7, "the other chat waited for the global pause"
        await first
    assert all(c.status in (200, 429) for c in api.calls_to("sendMessage"))


async def test_a_reply_refused_twice_by_telegram_still_reaches_the_resident(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """Telegram answered 429 twice to the greeting: the bot waits as told and sends it a
    third time; the resident gets their answer, not the error message (the scale-out
    benchmark's cap run lost 22 replies so, with one retry)."""
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    async with started_bot(db_path, clock, api, rate_limit=True) as bot:
        binh = bot.user(502, "Bình")
        api.fail_next("sendMessage", retry_after=1, times=2, chat_id=binh.user_id)
        sent = await bot.send(binh.command("start"))
    assert says(joined(sent), "start.greeting", name="Bình")
    assert not any(says(m.text, "fallback.error") for m in sent)
    assert [c.status for c in api.calls_to("sendMessage")][:3] == [429, 429, 200]


# ---- photos reach the right person, with their complaint's code -----------------------------


async def resolve(bot: BotDriver, cadre: FakeUser, note: str, *, photo: bool) -> list[SentMessage]:
    await bot.press(cadre, "r:1")
    sent = await bot.send(cadre.text(note))
    if photo:
        return sent + await bot.send(cadre.photo())
    return sent + await bot.choose(cadre, "s")


async def test_a_photo_sent_with_not_fixed_reaches_the_cadre_with_its_code(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_with_photo(bot, an)
    await bot.choose(an, "ok")
    await resolve(bot, cadre, "Đã thu gom", photo=False)
    await bot.press(an, "n:1")
    proof = an.photo()
    await bot.send(proof)
    sent = to(await bot.send(an.text("Chiều nay lại đổ ra")), cadre)
    assert [m.kind for m in sent] == ["photo", "text"]
    assert sent[0].media == [proof["message"]["photo"][-1]["file_id"]]
    assert sent[0].text == t("vi", "task.dispute_photos_caption", code="PA-000001")
    assert says(sent[1].text, "task.reopened_header", comment="Chiều nay lại đổ ra")


async def test_a_photo_sent_with_an_answer_carries_its_code(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Ngõ 12 hay ngõ 14?"))
    await bot.press(an, "i:1")
    await bot.send(an.photo())
    await bot.send(an.photo())
    sent = to(await bot.send(an.text("Ngõ 14")), cadre)
    assert [m.kind for m in sent] == ["media_group_photo"] * 2 + ["text"]
    assert sent[0].text == t("vi", "task.info_photos_caption", code="PA-000001")


async def test_a_second_resolution_without_a_photo_does_not_show_the_disputed_one(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    first = to(await resolve(bot, cadre, "Đã thu gom", photo=True), an)
    assert [m.kind for m in first] == ["photo", "text"]
    assert first[0].text == "📷 Ảnh kết quả xử lý — PA-000001"
    await bot.press(an, "n:1")
    await bot.send(an.text("Vẫn còn rác"))
    second = to(await resolve(bot, cadre, "Đã thu gom lần hai", photo=False), an)
    assert [m.kind for m in second] == ["text"], "no photo: the disputed one is not proof"
    assert "Đã thu gom lần hai" in (second[0].text or "")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.resolution_photos == ()


async def test_status_of_a_reopened_complaint_does_not_show_the_disputed_result(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await resolve(bot, cadre, "Đã thu gom sạch", photo=False)
    status = joined(await bot.send(an.command("status", "PA-000001")))
    assert "Kết quả xử lý: Đã thu gom sạch" in status
    await bot.press(an, "n:1")
    await bot.send(an.text("Vẫn còn rác"))
    status = joined(await bot.send(an.command("status", "PA-000001")))
    assert "Đã thu gom sạch" not in status
    assert t("vi", "state.reopened") in status
    # The history keeps it.
    notes = [e.note for e in await bot.services.store.events_of(1)]
    assert "Đã thu gom sạch" in notes


async def test_a_digest_cut_short_sends_only_its_chart_again(
    tmp_path: Path, chart: OrgChart
) -> None:
    """Monday's digest is two texts (the summary, the details) and a chart:
    Telegram takes the texts, then asks to wait before the chart.  The retry
    sends the chart alone."""
    db_path = tmp_path / "digest.db"
    await load_chart(db_path, chart)
    monday = datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    clock = ManualClock(monday - timedelta(days=6))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"))
        clock.set(monday)
        bot.api.fail_next("sendPhoto", retry_after=5, chat_id=WARD_CHAIR)
        await bot.tick()

        def digest_to_chair() -> list[str]:
            return [
                m.kind
                for m in bot.api.messages_to(WARD_CHAIR)
                if m.kind == "photo" or digest_part(m.text) is not None
            ]

        assert digest_to_chair() == ["text", "text"], "the texts went; the chart waits"
        clock.advance(timedelta(seconds=5))
        await bot.flush()
        assert digest_to_chair() == ["text", "text", "photo"], "the texts once, then the chart"


# ---- durability --------------------------------------------------------------------------------


async def test_a_receipt_leaves_only_once_its_complaint_is_on_disk(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With synchronous=NORMAL a commit survives kill -9 but not a power cut
    until the WAL reaches the disk: the outbox forces it there before it
    sends, so the tracking code a resident receives names a complaint a
    power cut cannot take back."""
    synced: list[int] = []  # how many Bot API calls had been made at each fsync of the WAL
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("-wal"):
            synced.append(len(bot.api.calls))
        real_fsync(fd)

    monkeypatch.setattr(storage.sqlite.db.os, "fsync", fsync)
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn ngõ 12"))
    await bot.choose(an, "d")
    pressed = len(bot.api.calls)
    await bot.choose(an, "ok")
    receipt = next(
        n
        for n, call in enumerate(bot.api.calls)
        if call.method == "sendMessage" and "PA-000001" in str(call.params.get("text"))
    )
    assert any(pressed <= at <= receipt for at in synced), (pressed, receipt, synced)
