"""Webhook mode (bot/webhook.py): the secret is checked before the body is
read, bad bodies get 400 and one log line, an update the bot cannot read is
confirmed past, and Telegram hears 200 only once the update is stored.

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

from bot.app import build_application, running
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.sandbox import FakeBotApi, FakeUser, InMemoryRequest, JSONDict
from bot.webhook import MAX_BODY, SECRET_HEADER, WebhookServer, serving
from handlers.context import BotApplication
from storage.db import Database
from tests.catalogue import says
from tests.factories import load_chart, settings_for

SECRET = "s3cret-token_for-tests"
GOOD = {SECRET_HEADER: SECRET}
RESIDENT = 501


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def app(
    tmp_path: Path, chart: OrgChart, clock: ManualClock, api: FakeBotApi
) -> BotApplication:
    db_path = tmp_path / "hook.db"
    await load_chart(db_path, chart)
    return build_application(settings_for(db_path), clock=clock, request=InMemoryRequest(api))


@asynccontextmanager
async def webhook(app: BotApplication) -> AsyncIterator[tuple[WebhookServer, str]]:
    """The started bot behind its webhook server on a free loopback port."""
    async with running(app):
        await app.start()
        try:
            async with serving(app, "phananh", SECRET) as server:
                yield server, f"http://127.0.0.1:{server.port}/phananh"
        finally:
            await app.stop()


def stored(app: BotApplication) -> Database:
    db: Database = app.bot_data["runtime"].extras["db"]
    return db


async def inbox_ids(app: BotApplication) -> list[int]:
    rows = await stored(app).conn.execute_fetchall("SELECT update_id FROM webhook_updates")
    return [int(row[0]) for row in rows]


def webhook_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("bot.", "tornado"))]


async def test_the_webhook_takes_only_requests_with_the_secret(
    app: BotApplication, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    an = FakeUser(api, RESIDENT, "An")
    async with webhook(app) as (_, url), httpx.AsyncClient() as client:
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
    app: BotApplication, headers: dict[str, str], status: bytes
) -> None:
    """PTB's server read three 90 MB bodies without the secret into memory
    (55 MB → 289 MB).  Here the answer comes while not one byte of the body
    was sent: it was decided on the headers alone, and the connection closed."""
    async with webhook(app) as (server, _):
        answer = await _headers_only(server.port, headers)
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
    app: BotApplication, api: FakeBotApi, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with webhook(app) as (_, url), httpx.AsyncClient() as client:
        with caplog.at_level(logging.INFO):
            answer = await client.post(url, content=body, headers=GOOD)
        assert answer.status_code == 400
        records = webhook_records(caplog)
        assert [(r.levelno, r.getMessage().split(":")[0]) for r in records] == [
            (logging.WARNING, "webhook request refused (400)")
        ]
        assert records[0].exc_info is None, "no traceback"
        assert await inbox_ids(app) == []
        # The bot goes on serving.
        an = FakeUser(api, RESIDENT, "An")
        assert (await client.post(url, json=an.command("start"), headers=GOOD)).status_code == 200
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)


async def test_an_update_the_bot_cannot_read_is_skipped_and_the_bot_keeps_serving(
    app: BotApplication, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll in an older Bot API's shape: PTB 22.8 cannot read it.  It is
    answered 200 (Telegram would only send it again), logged by its id alone,
    and the next update is handled."""
    lan = FakeUser(api, RESIDENT, "Lan Nguyễn")
    poll = lan.legacy_poll("Có nên dọn rác ngõ 12 không?", ["Có", "Không"])
    async with webhook(app) as (_, url), httpx.AsyncClient() as client:
        # Everything at INFO (PTB's get_updates logged the batch's data at
        # CRITICAL), our own modules down to debug.
        with caplog.at_level(logging.INFO):
            for logger in ("bot", "handlers", "storage"):
                caplog.set_level(logging.DEBUG, logger=logger)
            answer = await client.post(url, json=poll, headers=GOOD)
            assert answer.status_code == 200
            assert await inbox_ids(app) == [], "nothing stored to come back"
    ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers", "storage"))]
    assert [r.getMessage() for r in ours] == [
        f"update {poll['update_id']} (message) could not be read (TypeError); confirmed and skipped"
    ]
    everything = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for private in ("Lan", "Nguyễn", "dọn rác", "ngõ 12"):
        assert private not in everything, private
    # The bot goes on serving.
    async with webhook(app) as (_, url), httpx.AsyncClient() as client:
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
    tmp_path: Path, chart: OrgChart, clock: ManualClock
) -> None:
    api = HeldSends()
    db_path = tmp_path / "held.db"
    await load_chart(db_path, chart)
    app = build_application(
        settings_for(db_path), clock=clock, request=InMemoryRequest(api, read_timeout=60)
    )
    an = FakeUser(api, RESIDENT, "An")
    start = an.command("start")
    async with webhook(app) as (server, url), httpx.AsyncClient() as client:
        answer = await client.post(url, json=start, headers=GOOD)
        assert answer.status_code == 200
        # Telegram heard 200 while the reply still waits: the update is in the database.
        assert await inbox_ids(app) == [start["update_id"]]
        [(payload,)] = await stored(app).conn.execute_fetchall(
            "SELECT payload FROM webhook_updates"
        )
        assert json.loads(payload) == start
        again = await client.post(url, json=start, headers=GOOD)  # sent again: taken once
        assert again.status_code == 200
        api.release.set()
        await server.settled()
        assert await inbox_ids(app) == [], "deleted once handled"
    assert len(api.messages_to(RESIDENT)) == 1


async def test_what_a_crash_left_stored_is_handled_at_the_next_start(
    app: BotApplication, api: FakeBotApi
) -> None:
    """The in-process half of the kill -9 test: rows in webhook_updates when
    the server starts are handed over before it listens, then deleted (an
    unreadable one too, unhandled)."""
    an = FakeUser(api, RESIDENT, "An")
    start = an.command("start")
    unreadable = an.legacy_poll("?", ["a"])
    async with running(app):
        await app.start()
        try:
            for update in (unreadable, start):
                await stored(app).write(
                    "INSERT INTO webhook_updates (channel, update_id, payload, received_at)"
                    " VALUES ('telegram', ?, ?, '2026-11-23 02:00:00')",
                    (update["update_id"], json.dumps(update)),
                )
            async with serving(app, "phananh", SECRET) as server:
                await server.settled()
                assert await inbox_ids(app) == []
        finally:
            await app.stop()
    [greeting] = api.messages_to(RESIDENT)
    assert says(greeting.text, "start.greeting", name="An")


async def test_other_paths_and_methods_are_not_served(app: BotApplication) -> None:
    async with webhook(app) as (server, url), httpx.AsyncClient() as client:
        elsewhere = await client.post(
            f"http://127.0.0.1:{server.port}/other", json={}, headers=GOOD
        )
        fetched = await client.get(url, headers=GOOD)
    assert (elsewhere.status_code, fetched.status_code) == (404, 405)
