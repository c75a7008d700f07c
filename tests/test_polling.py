"""handlers/telegram/polling.py in process: an update is confirmed to Telegram (the
getUpdates offset moves past it) only once the bot has handled it, a failed
getUpdates is waited out, and SIGTERM stops the bot cleanly.

The crash test proves the point with kill -9 on a real process; these run the
same loop over the fake Bot API, where a failure is easier to read (and where
coverage sees it)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.http import HttpServer
from bot.ports import Channel
from bot.runtime import Core, serve
from bot.sandbox.telegram import ApiCall, FakeBotApi, FakeUser
from handlers.telegram.channel import Polling, TelegramChannel
from handlers.telegram.context import BotApplication
from handlers.telegram.polling import poll
from tests.catalogue import says
from tests.factories import fake_telegram, load_chart, settings_for, started_app

Started = Callable[[], AbstractAsyncContextManager[BotApplication]]

RESIDENT = 5001


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def settings(tmp_path: Path, chart: OrgChart) -> Settings:
    """The bot's settings, over a database with the example org chart."""
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    return settings_for(db_path)


@pytest.fixture
def bot(settings: Settings, clock: ManualClock, api: FakeBotApi) -> Started:
    """Starts the bot (through the runtime) over the fake API; the test polls."""
    return lambda: started_app(settings, clock, api)


def first(calls: list[ApiCall], method: str, **params: object) -> int:
    """The index of the first call of ``method`` with these parameters."""
    return next(
        i
        for i, call in enumerate(calls)
        if call.method.lower() == method.lower()
        and all(call.params.get(k) == v for k, v in params.items())
    )


async def test_an_update_is_confirmed_only_after_it_was_handled(
    bot: Started, api: FakeBotApi
) -> None:
    lan = FakeUser(api, RESIDENT, "Lan")
    update_id = api.push_update(lan.command("start"))["update_id"]
    stop = asyncio.Event()
    async with bot() as app:
        polling = asyncio.create_task(poll(app, stop))
        # The next long poll asks past the update: that is the confirmation.
        await api.wait_until(lambda: bool(api.calls_to("getUpdates")[1:]))
        stop.set()
        await asyncio.wait_for(polling, 5)
    calls = api.calls
    fetched = first(calls, "getUpdates")
    replied = first(calls, "sendMessage", chat_id=RESIDENT)
    confirmed = first(calls, "getUpdates", offset=update_id + 1)
    # python-telegram-bot's Updater confirms a batch as soon as it has it, so a
    # crash while answering would lose the update; here the answer comes first.
    assert "offset" not in calls[fetched].params
    assert fetched < replied < confirmed
    assert api.pending_updates == []


async def test_stopping_confirms_what_was_handled(bot: Started, api: FakeBotApi) -> None:
    lan = FakeUser(api, RESIDENT, "Lan")
    update_id = api.push_update(lan.command("start"))["update_id"]
    stop = asyncio.Event()
    async with bot() as app:
        polling = asyncio.create_task(poll(app, stop))
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
        # Stop while a long poll may still be waiting: it is cancelled, and
        # one last getUpdates confirms the handled update before leaving.
        stop.set()
        await asyncio.wait_for(polling, 5)
    last = api.calls_to("getUpdates")[-1]
    assert last.params.get("offset") == update_id + 1
    assert api.pending_updates == []


async def test_an_update_the_bot_cannot_read_is_confirmed_past_and_the_bot_keeps_serving(
    bot: Started, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll in an older Bot API's shape, which PTB 22.8 cannot read, made
    `phananh run` exit with code 1, came back after every restart, and put
    the whole batch's names and texts in the log.  Now it is logged by its
    id alone and confirmed past, and the rest of the batch is handled."""
    lan = FakeUser(api, RESIDENT, "Lan Nguyễn")
    poll_id = api.push_update(lan.legacy_poll("Có nên dọn rác ngõ 12?", ["Có", "Không"]))[
        "update_id"
    ]
    start_id = api.push_update(lan.command("start"))["update_id"]
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO):
        for logger in ("bot", "handlers", "storage"):
            caplog.set_level(logging.DEBUG, logger=logger)
        async with bot() as app:
            polling = asyncio.create_task(poll(app, stop))
            greeting = await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
            stop.set()
            await asyncio.wait_for(polling, 5)
    assert says(greeting.text, "start.greeting", name="Lan Nguyễn")
    assert api.calls_to("getUpdates")[-1].params.get("offset") == start_id + 1
    assert api.pending_updates == [], "confirmed: it does not come back"
    ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers", "storage"))]
    assert [r.getMessage() for r in ours] == [
        f"update {poll_id} (message) could not be read (TypeError); confirmed and skipped"
    ]
    everything = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for private in ("Lan", "Nguyễn", "dọn rác", "ngõ 12"):
        assert private not in everything, private


async def test_flood_control_is_waited_out_and_the_update_still_handled(
    bot: Started, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    lan = FakeUser(api, RESIDENT, "Lan")
    api.push_update(lan.command("start"))
    api.fail_next("getUpdates", retry_after=1)  # 429: Telegram's least wait, one second
    stop = asyncio.Event()
    async with bot() as app:
        polling = asyncio.create_task(poll(app, stop))
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
        stop.set()
        await asyncio.wait_for(polling, 5)
    statuses = [call.status for call in api.calls_to("getUpdates")]
    assert statuses[:2] == [429, 200]
    # Flood control is Telegram's instruction, not a failure: waited out, not logged.
    assert not [m for m in caplog.messages if "getUpdates failed" in m]
    assert api.pending_updates == []


async def test_a_network_failure_is_logged_and_retried(
    bot: Started, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    lan = FakeUser(api, RESIDENT, "Lan")
    api.push_update(lan.command("start"))
    api.network_failure_next("getUpdates")
    stop = asyncio.Event()
    async with bot() as app:
        polling = asyncio.create_task(poll(app, stop))
        # The retry comes after the first backoff, one second.
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
        stop.set()
        await asyncio.wait_for(polling, 5)
    assert "getUpdates failed (NetworkError); retrying in 1 s" in caplog.messages
    assert [call.status for call in api.calls_to("getUpdates")][:2] == [0, 200]
    assert api.pending_updates == []


async def test_another_poller_of_the_bot_is_waited_out_not_a_crash(
    bot: Started, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram answers 409 Conflict while another process still polls the bot (one that
    lost its lead a moment ago): the poll waits and goes on, rather than stopping the bot."""
    lan = FakeUser(api, RESIDENT, "Lan")
    api.push_update(lan.command("start"))
    api.fail_next(
        "getUpdates", error_code=409, description="Conflict: terminated by other getUpdates request"
    )
    stop = asyncio.Event()
    async with bot() as app:
        polling = asyncio.create_task(poll(app, stop))
        await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
        stop.set()
        await asyncio.wait_for(polling, 5)
    assert "getUpdates: another poller of this bot (409); again in 1 s" in caplog.messages
    assert [call.status for call in api.calls_to("getUpdates")][:2] == [409, 200]
    assert api.pending_updates == []


async def test_run_starts_the_bot_polls_and_stops_on_sigterm(
    settings: Settings, clock: ManualClock, api: FakeBotApi
) -> None:
    lan = FakeUser(api, RESIDENT, "Lan")
    built: list[TelegramChannel] = []

    def telegram_polling(core: Core, http: HttpServer) -> Channel:
        channel = fake_telegram(api, Polling(allowed_updates=None))(core, http)
        assert isinstance(channel, TelegramChannel)
        built.append(channel)
        return channel

    bot = asyncio.create_task(serve(settings, clock=clock, channels=[telegram_polling]))
    # Polling starts after the signal handlers are in place: SIGTERM is safe.
    await api.wait_until(lambda: bool(api.calls_to("getUpdates")))
    assert api.calls_to("deleteWebhook")  # long polling cannot work while a webhook is set
    update_id = api.push_update(lan.command("start"))["update_id"]
    await api.wait_for_sent(lambda m: m.chat_id == RESIDENT)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(bot, 5)
    assert api.calls_to("getUpdates")[-1].params.get("offset") == update_id + 1
    assert api.pending_updates == []
    assert not built[0].app.running
