"""The fake Bot API must fool the real PTB Application, or every test built on it proves nothing."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.sandbox.telegram import FakeBotApi, FakeGroup, FakeUser, HttpFakeBotApi, InMemoryRequest

Context = ContextTypes.DEFAULT_TYPE
App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Rác thải", callback_data="cat:trash")],
        [
            InlineKeyboardButton("Lấn chiếm", callback_data="cat:sidewalk"),
            InlineKeyboardButton("Bản đồ", url="https://example.org/map"),
        ],
    ]
)


async def start(update: Update, context: Context) -> None:
    assert update.effective_message is not None and update.effective_user is not None
    payload = " ".join(context.args or [])
    await update.effective_message.reply_text(
        f"Xin chào <b>{update.effective_user.first_name}</b> {payload}".strip(),
        parse_mode="HTML",
        reply_markup=KEYBOARD,
    )


async def pick(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await query.edit_message_text(f"Đã chọn {query.data}")


async def echo(update: Update, context: Context) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


def in_memory_app(api: FakeBotApi) -> App:
    app = (
        ApplicationBuilder()
        .token("123:ABC")
        .request(InMemoryRequest(api))
        .get_updates_request(InMemoryRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pick))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def alice(api: FakeBotApi) -> FakeUser:
    return FakeUser(api, 1001, "Ánh", username="anh_hoan_kiem")


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[App]:
    application = in_memory_app(api)
    async with application:
        yield application


# ---- in memory ------------------------------------------------------------------------------


async def test_command_round_trip(api: FakeBotApi, alice: FakeUser, app: App) -> None:
    await app.process_update(Update.de_json(alice.command("start", "a-HH01"), app.bot))

    reply = api.last_to(alice.user_id)
    assert reply.kind == "text"
    assert reply.text == "Xin chào Ánh a-HH01"  # what the user sees: HTML rendered
    assert reply.params["text"] == "Xin chào <b>Ánh</b> a-HH01"
    assert api.calls[0].method == "getMe"
    assert api.tokens_seen == {"123:ABC"}


def test_command_entity_counts_utf16_units(api: FakeBotApi, alice: FakeUser) -> None:
    update = alice.command("báo_😀", "x")  # not a valid Telegram command, but lengths must hold
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert "entities" not in alice.text("xin chào")["message"]
    assert alice.text("/help")["message"]["entities"][0]["length"] == 5


async def test_inline_keyboard_echoed_and_listed(
    api: FakeBotApi, alice: FakeUser, app: App
) -> None:
    sent = await app.bot.send_message(alice.user_id, "Chọn loại", reply_markup=KEYBOARD)

    assert sent.reply_markup == KEYBOARD
    assert api.buttons(api.last_to(alice.user_id)) == [
        ("Rác thải", "cat:trash"),
        ("Lấn chiếm", "cat:sidewalk"),
    ]


async def test_reply_keyboard_is_recorded_but_not_echoed(
    api: FakeBotApi, alice: FakeUser, app: App
) -> None:
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Gửi vị trí", request_location=True)]])
    sent = await app.bot.send_message(alice.user_id, "Vị trí?", reply_markup=keyboard)

    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    assert api.reply_keyboard(api.last_to(alice.user_id)) == ["Gửi vị trí"]


async def test_press_reaches_callback_handler_and_edits(
    api: FakeBotApi, alice: FakeUser, app: App
) -> None:
    await app.process_update(Update.de_json(alice.command("start"), app.bot))
    menu = api.last_to(alice.user_id)

    assert alice.press_button(menu, "Lấn chiếm")["callback_query"]["data"] == "cat:sidewalk"
    press = alice.press(menu, "cat:trash")
    await app.process_update(Update.de_json(press, app.bot))

    assert api.callback_answers.keys() == {press["callback_query"]["id"]}
    assert menu.text == "Đã chọn cat:trash"
    assert menu.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert menu.history == [("Xin chào Ánh", KEYBOARD.to_dict())]
    with pytest.raises(ValueError, match="no button"):
        alice.press(menu, "cat:trash")


async def test_edit_errors_match_telegram(api: FakeBotApi, alice: FakeUser, app: App) -> None:
    sent = await app.bot.send_message(alice.user_id, "A")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await sent.edit_text("A")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("B", chat_id=alice.user_id, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(alice.user_id, "<b>đậm</i>", parse_mode="HTML")
    assert await sent.delete()
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await sent.delete()


async def test_photos_media_groups_and_files(api: FakeBotApi, alice: FakeUser, app: App) -> None:
    incoming = Update.de_json(alice.photo(caption="Rác ở ngõ 5"), app.bot)
    assert incoming.message is not None
    user_photo = incoming.message.photo[-1].file_id

    album = await app.bot.send_media_group(
        -100500,
        [InputMediaPhoto(user_photo, caption="Ảnh 1"), InputMediaPhoto(b"\xff\xd8raw jpeg")],
    )

    assert len(album) == 2
    assert all(isinstance(m, Message) for m in album)
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert album[0].photo[-1].file_id == user_photo
    assert album[1].photo[-1].file_id != user_photo
    recorded = api.messages_to(-100500)
    assert [m.kind for m in recorded] == ["media_group_photo", "media_group_photo"]
    assert recorded[0].text == "Ảnh 1"

    uploaded = await app.bot.send_photo(alice.user_id, b"\xff\xd8other", caption="Đã nhận")
    telegram_file = await app.bot.get_file(uploaded.photo[-1].file_id)
    assert bytes(await telegram_file.download_as_bytearray()) == b"\xff\xd8other"

    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await app.bot.send_photo(alice.user_id, "no-such-file-id")


async def test_length_limits_count_utf16_units_in_telegrams_words(
    api: FakeBotApi, alice: FakeUser, app: App
) -> None:
    """4,096 for a text and 1,024 for a caption, where an emoji counts two."""
    await app.bot.send_message(alice.user_id, "🗑" * 2048)  # exactly 4,096 units
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await app.bot.send_message(alice.user_id, "🗑" * 2000 + "x" * 97)
    photo = Update.de_json(alice.photo(), app.bot).message
    assert photo is not None
    file_id = photo.photo[-1].file_id
    await app.bot.send_photo(alice.user_id, file_id, caption="🗑" * 512)
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await app.bot.send_photo(alice.user_id, file_id, caption="🗑" * 512 + ".")
    api.forget_file(file_id)  # a file id Telegram does not know (another bot's)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await app.bot.send_photo(alice.user_id, file_id)


async def test_location_and_venue_parse(api: FakeBotApi, alice: FakeUser, app: App) -> None:
    sent = await app.bot.send_location(alice.user_id, 21.0285, 105.8542)
    venue = await app.bot.send_venue(alice.user_id, 21.03, 105.85, "Hồ Gươm", "Hoàn Kiếm")

    assert sent.location is not None and sent.location.latitude == pytest.approx(21.0285)
    assert venue.venue is not None and venue.venue.title == "Hồ Gươm"
    assert [m.location for m in api.messages_to(alice.user_id)] == [
        (21.0285, 105.8542),
        (21.03, 105.85),
    ]


def test_user_updates_parse(api: FakeBotApi, alice: FakeUser) -> None:
    group = FakeGroup(api, -100200, "Tổ dân phố 5")
    greeting = alice.text("chào")
    first = alice.location(21.0, 105.8, live_period=600)
    updates = [
        greeting,
        first,
        alice.edited_location(first, 21.1, 105.9),
        alice.venue(21.0, 105.8, "Chợ", "Phố Huế"),
        alice.photo(media_group_id="album-1"),
        alice.photo_as_document(caption="gốc"),
        alice.sticker(),
        alice.voice(),
        alice.video_note(),
        alice.document(),
        alice.contact("+84901234567"),
        alice.press_raw("forged:data", message_id=77),
        group.command_from(alice, "start", mention=True),
    ]
    parsed = [Update.de_json(api.push_update(u), None) for u in updates]

    assert [u.update_id for u in parsed] == list(range(1, len(updates) + 1))
    assert parsed[2].edited_message is not None and parsed[2].edited_message.location is not None
    assert parsed[2].edited_message.location.latitude == 21.1
    assert parsed[5].message is not None and parsed[5].message.document is not None
    assert parsed[5].message.document.mime_type == "image/jpeg"
    assert parsed[11].callback_query is not None
    assert parsed[11].callback_query.data == "forged:data"
    group_message = parsed[12].message
    assert group_message is not None and group_message.chat.type == "group"
    assert group_message.text == "/start@phananh_bot"
    message_ids = [u.message.message_id for u in parsed[:2] if u.message]
    assert message_ids == [1, 2]


async def test_injected_retry_after(
    api: FakeBotApi, alice: FakeUser, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the timedelta opt-in (`bot/__init__` sets it), PTB 22 warns while *building*
    # RetryAfter, so under `-W error` the warning, not RetryAfter, would reach the caller.
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    api.fail_next("sendMessage", retry_after=7)
    with pytest.warns(PTBDeprecationWarning, match="retry_after"), pytest.raises(RetryAfter):
        await app.bot.send_message(alice.user_id, "x")

    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", retry_after=7, chat_id=alice.user_id)
    await app.bot.send_message(2002, "another chat is not affected")
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(alice.user_id, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert [c.status for c in api.calls_to("sendMessage")] == [429, 200, 429]


async def test_injected_forbidden_and_network_failure(
    api: FakeBotApi, alice: FakeUser, app: App
) -> None:
    api.fail_next("sendMessage", error_code=403)
    with pytest.raises(Forbidden, match="blocked"):
        await app.bot.send_message(alice.user_id, "x")

    api.network_failure_next("sendMessage", times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await app.bot.send_message(alice.user_id, "x")
    await app.bot.send_message(alice.user_id, "x")
    assert len(api.messages_to(alice.user_id)) == 1


async def test_rate_limit(
    api: FakeBotApi, alice: FakeUser, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.rate_limit_per_second = 3
    for n in range(3):
        await app.bot.send_message(alice.user_id, str(n))
    with pytest.raises(RetryAfter):
        await app.bot.send_message(alice.user_id, "too fast")


async def test_the_rate_is_counted_when_a_message_arrives_not_when_it_is_answered(
    api: FakeBotApi, alice: FakeUser
) -> None:
    """As Telegram counts: three messages arriving over 1.2 s at a limit of two a second
    are all accepted, even when their answers come back together (a busy server, here a
    hold), and a third within one second of arrivals is refused."""
    now = [0.0]
    api.monotonic = lambda: now[0]
    api.rate_limit_per_second = 2
    released = api.hold("sendMessage")
    sends = []
    for at in (0.0, 0.6, 1.2):
        now[0] = at
        sends.append(asyncio.ensure_future(api.call("sendMessage", {"chat_id": 1, "text": "x"})))
        await api.wait_until(lambda: len(api.calls) == len(sends))
    released.set()
    assert [status for status, _ in await asyncio.gather(*sends)] == [200, 200, 200]
    now[0] = 1.3  # the second and third arrived within the last second
    status, body = await api.call("sendMessage", {"chat_id": 1, "text": "x"})
    assert status == 429 and body["parameters"] == {"retry_after": 1}


async def test_long_poll_wakes_on_push_and_on_close(api: FakeBotApi, alice: FakeUser) -> None:
    parked = asyncio.create_task(api.call("getUpdates", {"offset": 0, "timeout": 30}))
    await api.wait_until(lambda: bool(api.calls))
    api.push_update(alice.text("hi"))
    status, body = await asyncio.wait_for(parked, 1)
    assert status == 200 and [u["update_id"] for u in body["result"]] == [1]

    _, body = await api.call("getUpdates", {"offset": 2, "timeout": 0})
    assert body["result"] == [] and api.pending_updates == []

    parked = asyncio.create_task(api.call("getUpdates", {"offset": 2, "timeout": 30}))
    await api.wait_until(lambda: len(api.calls) == 3)
    await api.close()
    assert (await asyncio.wait_for(parked, 1))[1]["result"] == []


# ---- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
async def server(api: FakeBotApi) -> AsyncIterator[HttpFakeBotApi]:
    async with HttpFakeBotApi(api) as srv:
        yield srv


def http_app(srv: HttpFakeBotApi) -> App:
    app = (
        ApplicationBuilder()
        .token("123:ABC")
        .base_url(srv.base_url)
        .base_file_url(srv.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def test_polling_over_http(api: FakeBotApi, alice: FakeUser, server: HttpFakeBotApi) -> None:
    app = http_app(server)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=30))

    api.push_update(alice.text("42"))  # a numeric text must stay a string over the form encoding
    reply = await api.wait_for_sent(lambda m: m.chat_id == alice.user_id)
    assert reply.text == "42"

    # The next long-poll is parked on the server now; stopping must not wait it out.
    await api.wait_until(lambda: api.calls[-1].method == "getUpdates" and not api.calls[-1].status)
    began = time.monotonic()
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    assert time.monotonic() - began < 5
    assert api.pending_updates == []  # the final getUpdates confirmed the offset
    assert api.tokens_seen == {"123:ABC"}


async def test_http_calls_uploads_downloads_and_failures(
    api: FakeBotApi, alice: FakeUser, server: HttpFakeBotApi
) -> None:
    app = http_app(server)
    async with app:
        sent = await app.bot.send_message(alice.user_id, "Chọn", reply_markup=KEYBOARD)
        assert sent.reply_markup == KEYBOARD

        photo = await app.bot.send_photo(alice.user_id, b"\xff\xd8upload", caption="123")
        assert photo.caption == "123"
        data = await (await app.bot.get_file(photo.photo[-1].file_id)).download_as_bytearray()
        assert bytes(data) == b"\xff\xd8upload"

        api.fail_next("sendMessage", error_code=403)
        with pytest.raises(Forbidden):
            await app.bot.send_message(alice.user_id, "x")
        api.network_failure_next("sendMessage")
        with pytest.raises(NetworkError):
            await app.bot.send_message(alice.user_id, "x")
        assert await app.bot.set_my_commands([("start", "Bắt đầu")])
        assert [c.command for c in await app.bot.get_my_commands()] == ["start"]
