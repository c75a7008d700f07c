"""The Zalo client against the project's fake Zalo Bot API: typed results, errors a sender can
act on, an idle poll that is "nothing new", and a token that never leaves the process."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.zalo import (
    FakeZaloApi,
    FakeZaloTransport,
    FakeZaloUser,
    MemoryPhotoHost,
    sample_jpeg,
)
from handlers.zalo.client import (
    DEFAULT_BASE_URL,
    BotInfo,
    SentMessage,
    WebhookInfo,
    ZaloBotClient,
    ZaloError,
    ZaloNetworkError,
    ZaloPermanentError,
    ZaloTransientError,
    ZaloUnauthorized,
)
from handlers.zalo.updates import EventKind, parse_update
from tests.conftest import START

TOKEN = "1122334455667788990:Sup3r-s3cret_t0ken"


@pytest.fixture
def photos() -> MemoryPhotoHost:
    return MemoryPhotoHost()


@pytest.fixture
def api(photos: MemoryPhotoHost) -> FakeZaloApi:
    return FakeZaloApi(token=TOKEN, clock=ManualClock(START), fetcher=photos)


@pytest.fixture
async def zalo(api: FakeZaloApi) -> AsyncIterator[ZaloBotClient]:
    async with ZaloBotClient(TOKEN, transport=FakeZaloTransport(api)) as client:
        yield client


@pytest.fixture
def an(api: FakeZaloApi) -> FakeZaloUser:
    return FakeZaloUser(api, "Nguyễn Văn An")


# ---- calls and results ------------------------------------------------------------------------


async def test_get_me_reads_the_bot(zalo: ZaloBotClient, api: FakeZaloApi) -> None:
    me = await zalo.get_me()
    assert me == BotInfo(
        id="1122334455667788990",
        account_name="phananh_bot",
        display_name="Phản Ánh",
        account_type="BASIC",
        can_join_groups=False,
    )
    assert api.calls[0].method == "getMe" and api.calls[0].status == 200


async def test_calls_go_to_the_base_url_plus_token_and_method_as_json_posts() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "m", "date": 1}})

    base = "https://bot-api.zapps.me/bot"
    async with ZaloBotClient(TOKEN, base_url=base, transport=httpx.MockTransport(answer)) as c:
        await c.send_message("chat-1", "chào anh")

    assert str(seen[0].url) == f"{base}{TOKEN}/sendMessage"
    assert seen[0].method == "POST"
    assert seen[0].headers["content-type"] == "application/json"
    assert httpx.Response(200, content=seen[0].content).json() == {
        "chat_id": "chat-1",
        "text": "chào anh",
    }
    assert DEFAULT_BASE_URL == "https://bot-api.zaloplatforms.com/bot"


async def test_one_update_per_poll_and_none_when_idle(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    first, second = api.push_update(an.text("một")), api.push_update(an.text("hai"))

    assert await zalo.get_updates() == first  # one object, not a list
    assert await zalo.get_updates() == second
    assert await zalo.get_updates() is None  # HTTP 408: nothing new, not an error
    assert [c.status for c in api.calls_to("getUpdates")] == [200, 200, 408]
    assert api.calls_to("getUpdates")[0].params == {"timeout": 30}


async def test_an_update_handed_out_is_gone_even_if_its_answer_is_lost(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.push_update(an.text("mất"))
    api.lose_answer_next("getUpdates")

    with pytest.raises(ZaloNetworkError):
        await zalo.get_updates()

    assert await zalo.get_updates() is None  # at most once: the bot must store before handling
    assert api.delivered_updates[0]["message"]["text"] == "mất"


async def test_polling_is_refused_while_a_webhook_is_set(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.push_update(an.text("chờ"))
    await zalo.set_webhook("https://phananh.example.vn/zalo", "s3cret-s3cret")

    with pytest.raises(ZaloPermanentError):
        await zalo.get_updates()

    await zalo.delete_webhook()
    update = await zalo.get_updates()
    assert update is not None and parse_update(update).text == "chờ"


async def test_webhook_set_read_and_deleted(zalo: ZaloBotClient) -> None:
    assert await zalo.get_webhook_info() is None  # Zalo: HTTP 404 when there is none

    info = await zalo.set_webhook("https://phananh.example.vn/zalo", "x" * 8)
    assert info == WebhookInfo(url="https://phananh.example.vn/zalo", updated_at=START)
    assert await zalo.get_webhook_info() == info

    deleted = await zalo.delete_webhook()
    assert deleted.url == "" and await zalo.get_webhook_info() is None


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://phananh.example.vn/zalo", "s3cret-s3cret"),
        ("https://phananh.example.vn/zalo", "short"),
        ("https://phananh.example.vn/zalo", "x" * 257),
        ("phananh.example.vn/zalo", "s3cret-s3cret"),
    ],
)
async def test_a_webhook_needs_https_and_a_secret_of_8_to_256(
    zalo: ZaloBotClient, url: str, secret: str
) -> None:
    with pytest.raises(ZaloPermanentError) as caught:
        await zalo.set_webhook(url, secret)
    assert caught.value.status == 400
    assert await zalo.get_webhook_info() is None


async def test_a_sent_text_has_a_string_id_and_a_millisecond_date(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    sent = await zalo.send_message(an.user_id, "Đã nhận phản ánh PA-000123.")

    assert isinstance(sent.message_id, str) and sent.message_id
    assert sent.date == START
    assert api.texts_to(an.user_id) == ["Đã nhận phản ánh PA-000123."]
    assert api.last_to(an.user_id).message_id == sent.message_id


@pytest.mark.parametrize("length", [0, 2001])
async def test_texts_outside_1_to_2000_characters_are_refused(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser, length: int
) -> None:
    with pytest.raises(ZaloPermanentError) as caught:
        await zalo.send_message(an.user_id, "ư" * length)
    assert caught.value.status == 400
    assert api.messages_to(an.user_id) == []


async def test_a_text_of_exactly_2000_characters_goes(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    await zalo.send_message(an.user_id, "ư" * 2000)
    assert api.texts_to(an.user_id) == ["ư" * 2000]


async def test_a_photo_is_sent_by_a_url_zalo_fetches(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser, photos: MemoryPhotoHost
) -> None:
    url = photos.put("https://phananh.example.vn/media/abc.jpg", sample_jpeg(7))

    sent = await zalo.send_photo(an.user_id, url, caption="Đã xử lý xong")

    assert sent.message_id and photos.requests == [url]
    message = api.last_to(an.user_id)
    assert (message.kind, message.photo, message.caption) == (
        "photo",
        sample_jpeg(7),
        "Đã xử lý xong",
    )


async def test_a_photo_zalo_cannot_fetch_is_refused(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser, photos: MemoryPhotoHost
) -> None:
    photos.put("https://phananh.example.vn/media/page.jpg", b"<html>login</html>")

    for url in (
        "https://phananh.example.vn/media/gone.jpg",
        "https://phananh.example.vn/media/page.jpg",
    ):
        with pytest.raises(ZaloPermanentError):
            await zalo.send_photo(an.user_id, url)
    assert api.messages_to(an.user_id) == []


async def test_a_user_photo_can_be_sent_on_until_its_link_expires(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    event = parse_update(an.image())
    assert event.kind is EventKind.PHOTO and event.photo_url is not None

    await zalo.send_photo(an.user_id, event.photo_url)
    api.expire_media(event.photo_url)
    with pytest.raises(ZaloPermanentError):
        await zalo.send_photo(an.user_id, event.photo_url)


async def test_a_caption_over_2000_characters_is_refused(
    zalo: ZaloBotClient, an: FakeZaloUser, photos: MemoryPhotoHost
) -> None:
    url = photos.put("https://phananh.example.vn/media/a.jpg", sample_jpeg())
    with pytest.raises(ZaloPermanentError):
        await zalo.send_photo(an.user_id, url, caption="x" * 2001)


async def test_a_sticker_and_a_chat_action(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    sticker = await zalo.send_sticker(an.user_id, "bfe3a5d2f1")
    await zalo.send_chat_action(an.user_id)  # {"ok": true}, no result

    assert api.last_to(an.user_id).sticker == "bfe3a5d2f1" and sticker.message_id
    assert api.chat_actions == [(an.user_id, "typing")]
    with pytest.raises(ZaloPermanentError):
        await zalo.send_chat_action(an.user_id, "recording")


async def test_an_unknown_chat_is_refused(zalo: ZaloBotClient) -> None:
    with pytest.raises(ZaloPermanentError):
        await zalo.send_message("no-such-chat", "x")


async def test_a_receipt_without_id_still_counts_as_sent() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True, "result": True})

    async with ZaloBotClient(TOKEN, transport=httpx.MockTransport(answer)) as client:
        assert await client.send_message("c", "x") == SentMessage(message_id=None, date=None)


# ---- errors ------------------------------------------------------------------------------------


async def test_429_and_502_are_transient_and_the_next_call_goes(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.fail_next("sendMessage", 429)
    api.fail_next("sendMessage", 502)

    for status in (429, 502):
        with pytest.raises(ZaloTransientError) as caught:
            await zalo.send_message(an.user_id, "x")
        assert not isinstance(caught.value, ZaloNetworkError)
        assert (caught.value.status, caught.value.error_code) == (status, status)
    await zalo.send_message(an.user_id, "x")
    assert api.texts_to(an.user_id) == ["x"]


async def test_a_proxy_error_page_is_transient(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.fail_next("sendMessage", 502, raw_body=b"<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(ZaloTransientError) as caught:
        await zalo.send_message(an.user_id, "x")
    assert caught.value.status == 502


async def test_other_4xx_are_permanent_for_that_chat_only(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    binh = FakeZaloUser(api, "Trần Thị Bình")
    api.fail_next("sendMessage", 403, chat_id=an.user_id, times=2)

    with pytest.raises(ZaloPermanentError) as caught:
        await zalo.send_message(an.user_id, "x")
    await zalo.send_message(binh.user_id, "y")

    assert caught.value.status == 403
    assert not isinstance(caught.value, ZaloUnauthorized)
    assert api.texts_to(binh.user_id) == ["y"]


async def test_a_wrong_token_is_unauthorized(api: FakeZaloApi) -> None:
    async with ZaloBotClient("1:wrong-token", transport=FakeZaloTransport(api)) as client:
        with pytest.raises(ZaloUnauthorized) as caught:
            await client.get_me()
    assert isinstance(caught.value, ZaloPermanentError) and caught.value.status == 401


async def test_no_answer_is_a_network_error(
    zalo: ZaloBotClient, api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.network_failure_next("sendMessage")
    with pytest.raises(ZaloNetworkError) as caught:
        await zalo.send_message(an.user_id, "x")
    assert isinstance(caught.value, ZaloTransientError) and caught.value.status == 0
    assert api.messages_to(an.user_id) == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"ok": False, "error_code": 429, "description": "slow down"}, ZaloTransientError),
        (200, {"ok": False, "error_code": 400, "description": "bad"}, ZaloPermanentError),
        (200, {"ok": False}, ZaloPermanentError),
        (500, {"ok": False, "description": "oops"}, ZaloTransientError),
        (408, {"ok": False, "description": "Request timeout"}, ZaloTransientError),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, ZaloUnauthorized),
        (200, ["not", "an", "object"], ZaloTransientError),
    ],
)
async def test_error_answers_are_classified(
    status: int, body: object, expected: type[ZaloError]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    async with ZaloBotClient(TOKEN, transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(expected) as caught:
            await client.send_message("c", "x")
    assert type(caught.value) is expected


async def test_an_idle_408_only_means_nothing_new_for_get_updates() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": False, "error_code": 408, "description": "idle"})

    async with ZaloBotClient(TOKEN, transport=httpx.MockTransport(answer)) as client:
        assert await client.get_updates(poll_seconds=5) is None
        with pytest.raises(ZaloTransientError):
            await client.get_me()


@pytest.mark.parametrize("token", ["", "has space:x", "a/b:c", "a?b", "a#b", "a%2Fb"])
def test_a_token_that_is_not_one_path_segment_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token") as caught:
        ZaloBotClient(token)
    if token:
        assert token not in str(caught.value)


def test_the_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="base URL"):
        ZaloBotClient(TOKEN, base_url="ftp://bot-api.zaloplatforms.com/bot")


async def test_a_lent_http_client_is_not_closed(api: FakeZaloApi) -> None:
    async with httpx.AsyncClient(transport=FakeZaloTransport(api)) as http:
        async with ZaloBotClient(TOKEN, http=http) as client:
            await client.get_me()
        assert not http.is_closed


# ---- the token stays secret ---------------------------------------------------------------------


async def test_the_token_is_in_no_log_line_exception_or_repr(
    api: FakeZaloApi, an: FakeZaloUser, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs every request URL at INFO, and the token is in the URL path."""
    api.fail_next("sendMessage", 400, description=f"bad request to /bot{TOKEN}/sendMessage")
    api.network_failure_next("sendPhoto")
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        async with ZaloBotClient(TOKEN, transport=FakeZaloTransport(api)) as client:
            await client.get_me()
            await client.get_updates()
            for call in (
                client.send_message(an.user_id, "x"),
                client.send_photo(an.user_id, "https://x.example/p.jpg"),
            ):
                try:
                    await call
                except ZaloError as exc:
                    errors.append(exc)
            texts = [repr(client), str(client)]
        async with ZaloBotClient("1:wrong", transport=FakeZaloTransport(api)) as wrong:
            try:
                await wrong.get_me()
            except ZaloError as exc:
                errors.append(exc)

    lines = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request: POST" in line and "/sendMessage" in line for line in lines)
    assert any("<redacted>" in line for line in lines)
    assert len(errors) == 3
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += ["".join(traceback.format_exception(e)) for e in errors]
    for text in [*lines, *texts]:
        assert TOKEN not in text and "Sup3r-s3cret" not in text and "1:wrong" not in text


async def test_an_httpx_error_that_names_the_url_does_not_leak_it() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout(f"timed out connecting to {request.url}", request=request)

    async with ZaloBotClient(TOKEN, transport=httpx.MockTransport(explode)) as client:
        with pytest.raises(ZaloNetworkError) as caught:
            await client.get_me()

    assert "timed out connecting" in str(caught.value)
    assert TOKEN not in "".join(traceback.format_exception(caught.value))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_percent_encoded_token_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    token = "42:tok|en^with{odd}chars"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True, "result": {}})

    with caplog.at_level(logging.INFO, logger="httpx"):
        async with ZaloBotClient(token, transport=httpx.MockTransport(answer)) as client:
            await client.get_me()

    line = next(r.getMessage() for r in caplog.records if "HTTP Request" in r.getMessage())
    assert "tok" not in line and "<redacted>" in line


@pytest.mark.parametrize(
    ("call", "status", "body", "expected"),
    [
        ("get_updates", 502, {"ok": False, "description": "Bad Gateway"}, ZaloTransientError),
        ("get_webhook_info", 401, {"ok": False, "description": "no"}, ZaloUnauthorized),
        ("get_me", 200, {"ok": True, "result": ["odd"]}, ZaloTransientError),
    ],
)
async def test_special_cases_pass_other_errors_on(
    call: str, status: int, body: object, expected: type[ZaloError]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    async with ZaloBotClient(TOKEN, transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(expected):
            await getattr(client, call)()
