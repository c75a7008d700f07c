"""The fake Zalo Bot API must behave like ZALO_NOTES.md says Zalo does, in memory and over
HTTP on 127.0.0.1, or every Zalo test built on it proves nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.domain.clock import ManualClock
from bot.sandbox.zalo import (
    DEFAULT_TOKEN,
    SECRET_HEADER,
    FakeZaloApi,
    FakeZaloGroup,
    FakeZaloTransport,
    FakeZaloUser,
    HttpFakeZaloApi,
    sample_jpeg,
)
from handlers.zalo.client import (
    ZaloBotClient,
    ZaloNetworkError,
    ZaloPermanentError,
    ZaloTransientError,
)
from handlers.zalo.updates import EventKind, parse_update
from tests.conftest import START

WEBHOOK = "https://phananh.example.vn/zalo/webhook"
SECRET = "webhook-secret-42"


@pytest.fixture
def api() -> FakeZaloApi:
    return FakeZaloApi(clock=ManualClock(START))


@pytest.fixture
def an(api: FakeZaloApi) -> FakeZaloUser:
    return FakeZaloUser(api, "Nguyễn Văn An")


async def raw_call(
    api: FakeZaloApi,
    method: str,
    *,
    verb: str = "POST",
    payload: object = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    """A request the project's client would never make, straight through the transport."""
    async with httpx.AsyncClient(transport=FakeZaloTransport(api)) as http:
        url = f"https://bot-api.zaloplatforms.com/bot{DEFAULT_TOKEN}/{method}"
        return await http.request(verb, url, json=payload, data=form)


# ---- the wire -----------------------------------------------------------------------------------


async def test_the_envelope_and_the_json_post(api: FakeZaloApi) -> None:
    ok = await raw_call(api, "getMe", payload={})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert ok.json()["result"]["id"] == DEFAULT_TOKEN.partition(":")[0]

    as_get = await raw_call(api, "getMe", verb="GET")
    as_form = await raw_call(api, "sendMessage", form={"chat_id": "x", "text": "y"})
    unknown = await raw_call(api, "editMessageText", payload={})
    assert (as_get.status_code, as_form.status_code, unknown.status_code) == (405, 400, 404)
    for answer in (as_get, as_form, unknown):
        body = answer.json()
        assert body["ok"] is False and body["error_code"] == answer.status_code
        assert isinstance(body["description"], str)


async def test_a_wrong_token_gets_a_401_envelope(api: FakeZaloApi) -> None:
    async with httpx.AsyncClient(transport=FakeZaloTransport(api)) as http:
        answer = await http.post("https://x/bot1:nope/getMe", json={})
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_an_idle_poll_is_408_request_timeout_at_once_in_memory(api: FakeZaloApi) -> None:
    answer = await raw_call(api, "getUpdates", payload={"timeout": 30})
    assert answer.status_code == 408
    assert answer.json() == {"ok": False, "description": "Request timeout"}


async def test_get_updates_takes_the_timeout_as_a_string_but_not_as_nonsense(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.push_update(an.text("x"))
    assert (await raw_call(api, "getUpdates", payload={"timeout": "30"})).status_code == 200
    assert (await raw_call(api, "getUpdates", payload={"timeout": "soon"})).status_code == 400
    assert (await raw_call(api, "getUpdates", payload={"timeout": -1})).status_code == 400


async def test_get_webhook_info_without_a_webhook_is_a_bare_404(api: FakeZaloApi) -> None:
    answer = await raw_call(api, "getWebhookInfo", payload={})
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "description": "Not Found"}


async def test_send_chat_action_answers_ok_without_result(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    answer = await raw_call(
        api, "sendChatAction", payload={"chat_id": an.user_id, "action": "upload_photo"}
    )
    assert answer.json() == {"ok": True}


async def test_ids_must_be_strings(api: FakeZaloApi) -> None:
    FakeZaloUser(api, "An", user_id="12345")
    answer = await raw_call(api, "sendMessage", payload={"chat_id": 12345, "text": "x"})
    assert answer.status_code == 400


async def test_faults_last_for_the_given_number_of_calls(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    api.fail_next("sendMessage", 502, times=2)
    body = {"chat_id": an.user_id, "text": "x"}
    statuses = [(await raw_call(api, "sendMessage", payload=body)).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert [c.status for c in api.calls_to("sendMessage")] == statuses


async def test_the_fake_cdn_serves_user_photos_until_they_expire(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    url = parse_update(an.image(content=sample_jpeg(3))).photo_url
    assert url is not None
    async with httpx.AsyncClient(transport=FakeZaloTransport(api)) as http:
        first = await http.get(url)
        api.expire_media(url)
        second = await http.get(url)
    assert (first.status_code, first.content) == (200, sample_jpeg(3))
    assert second.status_code == 404


def test_sample_photos_are_distinct_jpegs() -> None:
    photos = {sample_jpeg(n) for n in range(20)}
    assert len(photos) == 20
    assert all(p.startswith(b"\xff\xd8\xff") for p in photos)


# ---- fake users ---------------------------------------------------------------------------------


def test_updates_look_like_zalo_ones(api: FakeZaloApi, an: FakeZaloUser) -> None:
    update = an.text("chào")
    message = update["message"]

    assert update["event_name"] == "message.text.received"
    assert message["from"] == {"id": an.user_id, "display_name": "Nguyễn Văn An", "is_bot": False}
    assert message["chat"] == {"id": an.user_id, "chat_type": "PRIVATE"}
    assert isinstance(message["message_id"], str) and isinstance(an.user_id, str)
    assert message["date"] == int(START.timestamp()) * 1000  # milliseconds
    assert an.updates == [update]


def test_every_event_kind_can_be_written(api: FakeZaloApi, an: FakeZaloUser) -> None:
    group = FakeZaloGroup(api)
    updates = [
        an.text("a"),
        an.image(),
        an.sticker(),
        an.voice(),
        an.unsupported(),
        an.follow(),
        an.text("b", group=group),
    ]
    assert [u["event_name"] for u in updates] == [
        "message.text.received",
        "message.image.received",
        "message.sticker.received",
        "message.voice.received",
        "message.unsupported.received",
        "user.follow",
        "message.text.received",
    ]
    assert updates[-1]["message"]["chat"] == {"id": group.group_id, "chat_type": "GROUP"}
    assert "voice_url" in updates[3]["message"] and "url" in updates[2]["message"]
    assert len({u["message"].get("message_id") for u in updates[:5]}) == 5  # fresh ids


def test_two_users_have_different_opaque_ids(api: FakeZaloApi) -> None:
    a, b = FakeZaloUser(api, "A"), FakeZaloUser(api, "B")
    assert a.user_id != b.user_id
    assert len(a.user_id) == 20 and int(a.user_id, 16) >= 0


# ---- webhooks -----------------------------------------------------------------------------------


class Recorder:
    """What the bot's webhook endpoint received, answering with a chosen status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)


@pytest.fixture
async def hook(api: FakeZaloApi) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        api.webhook_client = client
        async with ZaloBotClient(api.token, transport=FakeZaloTransport(api)) as zalo:
            await zalo.set_webhook(WEBHOOK, SECRET)
        yield recorder


async def test_a_webhook_gets_the_bare_update_with_the_secret(
    api: FakeZaloApi, an: FakeZaloUser, hook: Recorder
) -> None:
    update = an.text("Rác ở ngõ 5")
    assert await api.deliver(update) == 200

    request = hook.requests[0]
    assert (request.method, str(request.url)) == ("POST", WEBHOOK)
    assert request.headers[SECRET_HEADER] == SECRET
    assert json.loads(request.content) == update
    assert api.pending_updates == []  # not queued for polling as well


async def test_a_webhook_can_get_the_enveloped_update(
    api: FakeZaloApi, an: FakeZaloUser, hook: Recorder
) -> None:
    update = an.image(caption="ổ gà")
    delivery = await api.deliver_webhook(update, body="enveloped")

    body = json.loads(hook.requests[0].content)
    assert body == {"ok": True, "result": update} and delivery.enveloped
    assert parse_update(body) == parse_update(update)


async def test_the_envelope_can_be_the_default(
    api: FakeZaloApi, an: FakeZaloUser, hook: Recorder
) -> None:
    api.webhook_body = "enveloped"
    await api.deliver(an.text("x"))
    assert json.loads(hook.requests[0].content)["ok"] is True


async def test_a_webhook_can_get_a_wrong_or_no_secret(
    api: FakeZaloApi, an: FakeZaloUser, hook: Recorder
) -> None:
    hook.status = 403
    wrong = await api.deliver_webhook(an.text("x"), secret="guessed-secret")
    missing = await api.deliver_webhook(an.text("y"), omit_secret=True)

    assert hook.requests[0].headers[SECRET_HEADER] == "guessed-secret"
    assert SECRET_HEADER not in hook.requests[1].headers
    assert (wrong.status, missing.status) == (403, 403)
    assert [d.secret for d in api.webhook_deliveries] == ["guessed-secret", None]


async def test_a_webhook_that_cannot_be_reached_is_recorded_as_status_0(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api.webhook_url, api.webhook_secret = WEBHOOK, SECRET
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        api.webhook_client = client
        delivery = await api.deliver_webhook(an.text("x"))
    assert delivery.status == 0


async def test_without_a_webhook_deliver_queues_for_polling(
    api: FakeZaloApi, an: FakeZaloUser
) -> None:
    update = an.text("x")
    assert await api.deliver(update) is None
    assert api.pending_updates == [update]
    with pytest.raises(RuntimeError, match="setWebhook"):
        await api.deliver_webhook(update)


async def test_a_plain_http_webhook_only_on_loopback_and_only_when_allowed() -> None:
    strict = FakeZaloApi()
    demo = FakeZaloApi(allow_http_webhook=True)
    for fake, url, accepted in [
        (strict, "http://127.0.0.1:8080/zalo", False),
        (demo, "http://127.0.0.1:8080/zalo", True),
        (demo, "http://phananh.example.vn/zalo", False),
    ]:
        answer = await raw_call(fake, "setWebhook", payload={"url": url, "secret_token": SECRET})
        assert (answer.status_code == 200) is accepted, url


# ---- over HTTP on 127.0.0.1 ---------------------------------------------------------------------


@pytest.fixture
async def server(api: FakeZaloApi) -> AsyncIterator[HttpFakeZaloApi]:
    async with HttpFakeZaloApi(api) as running:
        yield running


@pytest.fixture
async def client(server: HttpFakeZaloApi) -> AsyncIterator[ZaloBotClient]:
    async with ZaloBotClient(server.api.token, base_url=server.base_url) as zalo:
        yield zalo


def parked(api: FakeZaloApi, count: int = 1) -> bool:
    return sum(1 for c in api.calls_to("getUpdates") if c.status == 0) == count


async def test_a_long_poll_waits_and_wakes_for_a_new_update(
    api: FakeZaloApi, an: FakeZaloUser, client: ZaloBotClient
) -> None:
    poll = asyncio.create_task(client.get_updates(poll_seconds=30))
    await api.wait_until(lambda: parked(api))
    update = api.push_update(an.text("vừa gửi"))

    assert await asyncio.wait_for(poll, 5) == update


async def test_an_idle_poll_over_http_ends_408_after_its_timeout(
    api: FakeZaloApi, client: ZaloBotClient
) -> None:
    assert await client.get_updates(poll_seconds=0) is None
    assert api.calls_to("getUpdates")[-1].status == 408


async def test_stopping_the_server_releases_a_parked_poll(
    api: FakeZaloApi, server: HttpFakeZaloApi, client: ZaloBotClient
) -> None:
    poll = asyncio.create_task(client.get_updates(poll_seconds=30))
    await api.wait_until(lambda: parked(api))
    await server.stop()
    assert await asyncio.wait_for(poll, 5) is None


async def test_a_poll_whose_client_hung_up_takes_no_update(
    api: FakeZaloApi, an: FakeZaloUser, client: ZaloBotClient
) -> None:
    poll = asyncio.create_task(client.get_updates(poll_seconds=30))
    await api.wait_until(lambda: parked(api))
    poll.cancel()
    await api.wait_until(lambda: api.calls_to("getUpdates")[-1].status == 499)

    update = api.push_update(an.text("còn đây"))
    assert await client.get_updates(poll_seconds=0) == update


async def test_two_parked_polls_get_one_update_each(
    api: FakeZaloApi, an: FakeZaloUser, server: HttpFakeZaloApi
) -> None:
    async with (
        ZaloBotClient(api.token, base_url=server.base_url) as one,
        ZaloBotClient(api.token, base_url=server.base_url) as two,
    ):
        polls = [asyncio.create_task(c.get_updates(poll_seconds=30)) for c in (one, two)]
        await api.wait_until(lambda: parked(api, 2))
        first, second = api.push_update(an.text("1")), api.push_update(an.text("2"))
        results = await asyncio.wait_for(asyncio.gather(*polls), 5)
    assert results in ([first, second], [second, first])


async def test_no_answer_over_http_is_a_network_error(
    api: FakeZaloApi, an: FakeZaloUser, client: ZaloBotClient
) -> None:
    api.network_failure_next("sendMessage")
    with pytest.raises(ZaloNetworkError):
        await client.send_message(an.user_id, "x")
    await client.send_message(an.user_id, "y")
    assert api.texts_to(an.user_id) == ["y"]


class BotSide(tornado.web.RequestHandler):
    """The bot's own web server, as far as Zalo sees it: a webhook and a media folder."""

    def initialize(self, received: list[tuple[str | None, bytes]]) -> None:
        self.received = received

    def post(self) -> None:
        self.received.append((self.request.headers.get(SECRET_HEADER), self.request.body))

    def get(self) -> None:
        if self.request.path == "/media/chart.png":
            self.set_header("Content-Type", "image/png")
            self.finish(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
        else:
            self.set_status(404)


@pytest.fixture
async def bot_side() -> AsyncIterator[tuple[str, list[tuple[str | None, bytes]]]]:
    received: list[tuple[str | None, bytes]] = []
    app = tornado.web.Application([(r"/.*", BotSide, {"received": received})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    http_server = tornado.httpserver.HTTPServer(app)
    http_server.add_sockets(sockets)
    yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}", received
    http_server.stop()
    await http_server.close_all_connections()


async def test_over_http_zalo_fetches_photos_from_the_bot_and_posts_to_its_webhook(
    an: FakeZaloUser,
    server: HttpFakeZaloApi,
    client: ZaloBotClient,
    bot_side: tuple[str, list[tuple[str | None, bytes]]],
) -> None:
    base, received = bot_side
    server.api.allow_http_webhook = True

    await client.send_photo(an.user_id, f"{base}/media/chart.png", caption="Tuần này")
    with pytest.raises(ZaloPermanentError):
        await client.send_photo(an.user_id, f"{base}/media/expired.png")
    await client.set_webhook(f"{base}/zalo", SECRET)
    update = an.text("qua webhook")
    assert await server.api.deliver(update) == 200

    assert server.api.last_to(an.user_id).photo_url == f"{base}/media/chart.png"
    assert received == [(SECRET, json.dumps(update, ensure_ascii=False).encode())]


async def test_over_http_user_photos_are_served_by_the_fake(
    an: FakeZaloUser, server: HttpFakeZaloApi
) -> None:
    event = parse_update(an.image())
    assert event.kind is EventKind.PHOTO and event.photo_url is not None
    assert event.photo_url.startswith(f"http://127.0.0.1:{server.port}/media/")
    async with httpx.AsyncClient() as http:
        answer = await http.get(event.photo_url)
    assert answer.status_code == 200 and answer.content == server.api.media_bytes(event.photo_url)


# ---- odds and ends ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("sendPhoto", {"photo": "not-a-url"}),
        ("sendSticker", {"sticker": ""}),
        ("sendMessage", {"text": 42}),
    ],
)
async def test_wrong_fields_are_refused(
    api: FakeZaloApi, an: FakeZaloUser, method: str, payload: dict[str, object]
) -> None:
    answer = await raw_call(api, method, payload={"chat_id": an.user_id, **payload})
    assert answer.status_code == 400 and api.sent == []


async def test_a_body_that_is_not_a_json_object_is_refused_and_an_empty_one_is_no_params(
    api: FakeZaloApi,
) -> None:
    assert (await raw_call(api, "getMe", payload=[1, 2])).status_code == 400
    assert (await raw_call(api, "getMe")).status_code == 200
    assert (await raw_call(api, "nosuch/path")).status_code == 404


async def test_a_photo_url_nobody_answers_is_refused(an: FakeZaloUser) -> None:
    api = an.api  # the default fetcher: a real GET, here to a port nobody listens on
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    sockets[0].close()
    url = f"http://127.0.0.1:{port}/media/a.jpg"
    answer = await raw_call(api, "sendPhoto", payload={"chat_id": an.user_id, "photo": url})
    assert answer.status_code == 400


async def test_a_poll_cap_shortens_long_polls(api: FakeZaloApi, client: ZaloBotClient) -> None:
    api.max_poll_seconds = 0
    assert await client.get_updates(poll_seconds=30) is None


async def test_inspection_helpers(api: FakeZaloApi, an: FakeZaloUser) -> None:
    with pytest.raises(LookupError, match="nothing"):
        api.last_to(an.user_id)
    await raw_call(api, "sendMessage", payload={"chat_id": an.user_id, "text": "x"})
    with pytest.raises(TimeoutError, match="not met within"):
        await api.wait_until(lambda: False, timeout=0)

    api.clear()
    assert (api.calls, api.sent, api.delivered_updates) == ([], [], [])


async def test_a_server_starts_once(server: HttpFakeZaloApi) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()


async def test_over_http_no_log_line_carries_the_token(
    api: FakeZaloApi, an: FakeZaloUser, server: HttpFakeZaloApi, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs URLs at INFO and httpcore talks at DEBUG: through the real stack, neither
    may show the token that sits in the URL path."""
    api.fail_next("sendMessage", 429)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        async with ZaloBotClient(api.token, base_url=server.base_url) as zalo:
            await zalo.get_me()
            with pytest.raises(ZaloTransientError):
                await zalo.send_message(an.user_id, "x")
            await zalo.get_updates(poll_seconds=0)

    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("HTTP Request: POST http://127.0.0.1") for line in lines)
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    secret = api.token.partition(":")[2]
    assert not [line for line in lines if secret in line]
