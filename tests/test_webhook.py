"""Webhook mode (handlers/telegram/webhook.py, on the bot's HTTP server, bot/http.py): the
secret is checked before the body is read, bad bodies get 400 and one log line, an update the
bot cannot read is confirmed past, and Telegram hears 200 only once the update is stored.

The kill -9 case (40 updates answered 200, the bot killed, all of them still
handled after the restart) is in tests/test_crash.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.http import HttpServer
from bot.runtime import Runtime, opened, running
from bot.sandbox.telegram import FakeBotApi, FakeUser, JSONDict
from handlers.telegram import webhook as webhook_module
from handlers.telegram.channel import Webhook
from handlers.telegram.webhook import (
    MAX_BODY,
    SECRET_HEADER,
    TelegramWebhook,
)
from storage.sqlite.db import Database
from tests.catalogue import says
from tests.factories import fake_telegram, load_chart, settings_for

SECRET = "s3cret-token_for-tests"
GOOD = {SECRET_HEADER: SECRET}
RESIDENT = 501
PUBLIC = "https://example.org/phananh"


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def settings(tmp_path: Path, chart: OrgChart) -> Settings:
    """The bot's settings: the example org chart, the HTTP server on a free loopback port."""
    db_path = tmp_path / "hook.db"
    await load_chart(db_path, chart)
    return settings_for(db_path, http_port=0)


@asynccontextmanager
async def webhook(
    settings: Settings, clock: ManualClock, api: FakeBotApi, read_timeout: float = 5.0
) -> AsyncIterator[tuple[Runtime, str]]:
    """The started bot, its Telegram webhook on the bot's HTTP server; the
    runtime and the webhook's local URL."""
    channel = fake_telegram(api, Webhook(PUBLIC, SECRET), read_timeout=read_timeout)
    async with running(settings, clock=clock, channels=[channel]) as runtime:
        yield runtime, f"http://127.0.0.1:{runtime.http.port}/phananh"


def route(runtime: Runtime) -> TelegramWebhook:
    hook = runtime.telegram.webhook
    assert hook is not None
    return hook


def stored(runtime: Runtime) -> Database:
    return runtime.db


async def inbox_ids(runtime: Runtime) -> list[int]:
    rows = await stored(runtime).conn.execute_fetchall("SELECT update_id FROM webhook_updates")
    return [int(row[0]) for row in rows]


def webhook_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Our own log lines and the HTTP server's."""
    ours = ("bot.", "handlers.", "uvicorn", "starlette")
    return [r for r in caplog.records if r.name.startswith(ours)]


async def test_the_webhook_takes_only_requests_with_the_secret(
    settings: Settings, clock: ManualClock, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    an = FakeUser(api, RESIDENT, "An")
    async with webhook(settings, clock, api) as (_, url), httpx.AsyncClient() as client:
        body = an.text("Nội dung riêng tư của người dân")
        with caplog.at_level(logging.DEBUG):
            missing = await client.post(url, json=body)
            wrong = await client.post(url, json=body, headers={SECRET_HEADER: "nope"})
        assert (missing.status_code, wrong.status_code) == (403, 403)
        rejected = [r for r in caplog.records if "webhook request refused (403)" in r.message]
        assert len(rejected) == 2
        assert all(r.levelno == logging.WARNING for r in rejected)
        everything = "\n".join(r.getMessage() for r in caplog.records)
        assert "riêng tư" not in everything, "the body is never logged"
        assert "nope" not in everything, "nor the wrong token"
        assert api.sent == []

        good = await client.post(url, json=an.command("start"), headers=GOOD)
        assert good.status_code == 200
        greeting = await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
        assert says(greeting.text, "start.greeting", name="An")


async def _headers_only(port: int, headers: dict[str, str]) -> bytes:
    """Send a request's headers and none of its body; what the server says."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = ["POST /phananh HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            return await reader.read()  # the server answers and hangs up
    finally:
        writer.close()


NINETY_MB = str(90 * 1024 * 1024)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Length": NINETY_MB}, b"403"),
        ({"Content-Length": NINETY_MB, SECRET_HEADER: "nope"}, b"403"),
        ({"Content-Length": NINETY_MB, **GOOD}, b"413"),
        ({"Content-Length": str(MAX_BODY + 1), **GOOD}, b"413"),
        ({"Transfer-Encoding": "chunked", **GOOD}, b"411"),
    ],
    ids=["no secret", "wrong secret", "too large", "one byte too many", "no length"],
)
async def test_a_large_body_is_refused_without_being_read(
    settings: Settings, clock: ManualClock, api: FakeBotApi, headers: dict[str, str], status: bytes
) -> None:
    """PTB's server read three 90 MB bodies without the secret into memory
    (55 MB → 289 MB).  Here the answer comes while not one byte of the body
    was sent: it was decided on the headers alone, and the connection closed."""
    async with webhook(settings, clock, api) as (runtime, _):
        answer = await _headers_only(runtime.http.port, headers)
    assert answer.split(b" ", 2)[1] == status


BAD_BODIES = {
    "malformed JSON": b'{"update_id": 1, "message": ',
    "empty": b"",
    "not UTF-8": b'{"update_id": 1, "note": "\xff\xfe\xfa"}',
    "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    "an array": b'[{"update_id": 1}]',
    "a number": b"42",
    "null": b"null",
    "an object without update_id": b'{"message": {}}',
    "a text update_id": b'{"update_id": "1"}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_bad_body_gets_400_and_one_log_line(
    settings: Settings,
    clock: ManualClock,
    api: FakeBotApi,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with webhook(settings, clock, api) as (runtime, url), httpx.AsyncClient() as client:
        with caplog.at_level(logging.INFO):
            answer = await client.post(url, content=body, headers=GOOD)
        assert answer.status_code == 400
        records = webhook_records(caplog)
        assert [(r.levelno, r.getMessage().split(":")[0]) for r in records] == [
            (logging.WARNING, "webhook request refused (400)")
        ]
        assert records[0].exc_info is None, "no traceback"
        assert await inbox_ids(runtime) == []
        # The bot goes on serving.
        an = FakeUser(api, RESIDENT, "An")
        assert (await client.post(url, json=an.command("start"), headers=GOOD)).status_code == 200
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)


async def test_an_update_the_bot_cannot_read_is_skipped_and_the_bot_keeps_serving(
    settings: Settings, clock: ManualClock, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll in an older Bot API's shape: PTB 22.8 cannot read it.  It is
    answered 200 (Telegram would only send it again), logged by its id alone,
    and the next update is handled."""
    lan = FakeUser(api, RESIDENT, "Lan Nguyễn")
    poll = lan.legacy_poll("Có nên dọn rác ngõ 12 không?", ["Có", "Không"])
    async with webhook(settings, clock, api) as (runtime, url), httpx.AsyncClient() as client:
        # Everything at INFO (PTB's get_updates logged the batch's data at
        # CRITICAL), our own modules down to debug.
        with caplog.at_level(logging.INFO):
            for logger in ("bot", "handlers", "storage"):
                caplog.set_level(logging.DEBUG, logger=logger)
            answer = await client.post(url, json=poll, headers=GOOD)
            assert answer.status_code == 200
            assert await inbox_ids(runtime) == [], "nothing stored to come back"
    ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers", "storage"))]
    assert [r.getMessage() for r in ours] == [
        f"update {poll['update_id']} (message) could not be read (TypeError); confirmed and skipped"
    ]
    everything = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for private in ("Lan", "Nguyễn", "dọn rác", "ngõ 12"):
        assert private not in everything, private
    # The bot goes on serving.
    async with webhook(settings, clock, api) as (_, url), httpx.AsyncClient() as client:
        assert (await client.post(url, json=lan.command("start"), headers=GOOD)).is_success
        greeting = await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
    assert says(greeting.text, "start.greeting", name="Lan Nguyễn")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class HeldSends(FakeBotApi):
    """A fake Telegram whose sendMessage waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        if method.lower() == "sendmessage":
            await self.release.wait()
        return await super().call(method, params)


async def test_200_means_the_update_is_stored_until_it_was_handled(
    settings: Settings, clock: ManualClock
) -> None:
    api = HeldSends()
    an = FakeUser(api, RESIDENT, "An")
    start = an.command("start")
    async with (
        webhook(settings, clock, api, read_timeout=60) as (runtime, url),
        httpx.AsyncClient() as client,
    ):
        answer = await client.post(url, json=start, headers=GOOD)
        assert answer.status_code == 200
        # Telegram heard 200 while the reply still waits: the update is in the database.
        assert await inbox_ids(runtime) == [start["update_id"]]
        [(payload,)] = await stored(runtime).conn.execute_fetchall(
            "SELECT payload FROM webhook_updates"
        )
        assert json.loads(payload) == start
        again = await client.post(url, json=start, headers=GOOD)  # sent again: taken once
        assert again.status_code == 200
        api.release.set()
        await route(runtime).settled()
        assert await inbox_ids(runtime) == [], "deleted once handled"
    assert len(api.messages_to(RESIDENT)) == 1


async def test_what_a_crash_left_stored_is_handled_at_the_next_start(
    settings: Settings, clock: ManualClock, api: FakeBotApi
) -> None:
    """The in-process half of the kill -9 test: rows in webhook_updates when
    the bot starts are handed over once the Application runs, then deleted
    (an unreadable one too, unhandled)."""
    an = FakeUser(api, RESIDENT, "An")
    start = an.command("start")
    unreadable = an.legacy_poll("?", ["a"])
    async with opened(settings, clock) as core:
        for update in (unreadable, start):
            await core.db.write(
                "INSERT INTO webhook_updates (channel, update_id, payload, received_at)"
                " VALUES ('telegram', ?, ?, '2026-11-23 02:00:00')",
                (update["update_id"], json.dumps(update)),
            )
    async with webhook(settings, clock, api) as (runtime, _):
        await route(runtime).settled()
        assert await inbox_ids(runtime) == []
    [greeting] = api.messages_to(RESIDENT)
    assert says(greeting.text, "start.greeting", name="An")


async def test_other_paths_and_methods_are_not_served(
    settings: Settings, clock: ManualClock, api: FakeBotApi
) -> None:
    async with webhook(settings, clock, api) as (runtime, url), httpx.AsyncClient() as client:
        elsewhere = await client.post(
            f"http://127.0.0.1:{runtime.http.port}/other", json={}, headers=GOOD
        )
        fetched = await client.get(url, headers=GOOD)
    assert (elsewhere.status_code, fetched.status_code) == (404, 405)


async def test_a_body_that_comes_too_slowly_is_refused_with_408(
    settings: Settings, clock: ManualClock, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that sends part of a body and then nothing holds no
    connection open for long: after `BODY_TIMEOUT` it is answered and let go."""
    monkeypatch.setattr(webhook_module, "BODY_TIMEOUT", 0.2)
    body = json.dumps(FakeUser(api, RESIDENT, "An").command("start")).encode()
    async with webhook(settings, clock, api) as (runtime, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", runtime.http.port)
        head = ["POST /phananh HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{SECRET_HEADER}: {SECRET}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body[:10])
        await writer.drain()
        try:
            async with asyncio.timeout(5):
                answer = await reader.read()  # answered, and the connection closed
        finally:
            writer.close()
        assert await inbox_ids(runtime) == []
    assert answer.split(b" ", 2)[1] == b"408"
    assert api.sent == []


async def test_an_update_that_comes_before_the_bot_runs_is_stored_and_handled_once_it_runs(
    settings: Settings, clock: ManualClock, api: FakeBotApi
) -> None:
    """The HTTP server listens before the channel has started (Telegram
    keeps a webhook set across restarts, so an update can come at once): it
    is stored, answered 200, and handled once the Application runs.  Called
    in process, through the server's ASGI application."""
    an = FakeUser(api, RESIDENT, "An")
    async with opened(settings, clock) as core:
        http = HttpServer("127.0.0.1", 0)
        channel = fake_telegram(api, Webhook(PUBLIC, SECRET))(core, http)
        transport = httpx.ASGITransport(app=http.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            answer = await client.post("/phananh", json=an.command("start"), headers=GOOD)
        assert answer.status_code == 200
        assert api.sent == [], "not handled yet"
        rows = await core.db.conn.execute_fetchall("SELECT update_id FROM webhook_updates")
        assert len(rows) == 1, "but stored"
        try:
            await channel.start()
            hook = getattr(channel, "webhook", None)
            assert isinstance(hook, TelegramWebhook)
            await hook.settled()
        finally:
            await channel.stop()
        assert await core.db.conn.execute_fetchall("SELECT update_id FROM webhook_updates") == []
    [greeting] = api.messages_to(RESIDENT)
    assert says(greeting.text, "start.greeting", name="An")
