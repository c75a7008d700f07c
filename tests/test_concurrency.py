"""Chats side by side, each chat in order; messages paced under Telegram's
limits (handlers/telegram/processing.py, polling.py and ratelimit.py, the
outbox).

The pacing tests run on the wall clock — the rate limiter paces by it, as
Telegram counts by it — and take about a second each; nothing here sleeps to
wait for the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telegram import Update

from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.telegram import FakeBotApi, FakeUser, JSONDict
from handlers.telegram.polling import poll
from handlers.telegram.processing import ChatOrderedProcessor, chat_key
from handlers.telegram.ratelimit import MESSAGES_PER_SECOND, WINDOW_SECONDS, is_message
from tests.factories import load_chart, settings_for, started_app


def update_of(user: FakeUser, text: str) -> Update:
    return Update.de_json(user.text(text), None)


async def test_one_chat_in_order_and_different_chats_side_by_side() -> None:
    api = FakeBotApi()
    lan, minh = FakeUser(api, 1, "Lan"), FakeUser(api, 2, "Minh")
    processor = ChatOrderedProcessor(8)
    order: list[str] = []
    release = asyncio.Event()

    async def handle(name: str, wait: bool) -> None:
        order.append(f"{name} start")
        if wait:
            await release.wait()
        order.append(f"{name} end")

    jobs = [
        asyncio.create_task(processor.process_update(update_of(lan, "1"), handle("lan 1", True))),
        asyncio.create_task(processor.process_update(update_of(lan, "2"), handle("lan 2", False))),
        asyncio.create_task(processor.process_update(update_of(minh, "1"), handle("minh", False))),
    ]
    # Minh is not held up by Lan's slow update; Lan's second waits for her first.
    for _ in range(5):
        await asyncio.sleep(0)  # let the tasks run as far as they can
    assert order == ["lan 1 start", "minh start", "minh end"]
    release.set()
    await asyncio.gather(*jobs)
    assert order[3:] == ["lan 1 end", "lan 2 start", "lan 2 end"]
    assert processor._tails == {}  # nothing kept once a chat is idle


async def test_a_cancelled_update_does_not_block_the_chat() -> None:
    api = FakeBotApi()
    lan = FakeUser(api, 1, "Lan")
    processor = ChatOrderedProcessor(8)
    hold = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await hold.wait()

    async def record(name: str) -> None:
        done.append(name)

    first = asyncio.create_task(processor.process_update(update_of(lan, "1"), slow()))
    second = asyncio.create_task(processor.process_update(update_of(lan, "2"), record("2")))
    await asyncio.sleep(0)
    second.cancel()  # e.g. the bot stops while it waits its turn
    third = asyncio.create_task(processor.process_update(update_of(lan, "3"), record("3")))
    hold.set()
    await first
    await third
    assert done == ["3"]


def test_what_keeps_its_order() -> None:
    api = FakeBotApi()
    lan = FakeUser(api, 7, "Lan")
    assert chat_key(update_of(lan, "hi")) == 7
    assert chat_key(Update(update_id=1)) is None
    assert chat_key("not an update") is None


class InFlightApi(FakeBotApi):
    """Counts how many sendMessage calls were in flight at once."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.in_flight = 0
        self.most_in_flight = 0

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        if method != "sendMessage":
            return await super().call(method, params)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await super().call(method, params)
        finally:
            self.in_flight -= 1


async def test_polling_handles_a_batch_side_by_side_and_each_chat_in_order(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = InFlightApi(latency=0.02)  # every call answered after 20 ms
    people = [FakeUser(api, 6000 + n, f"Cư dân {n}") for n in range(20)]
    for person in people:
        api.push_update(person.command("start"))
    lan = people[0]
    api.push_update(lan.command("help"))
    api.push_update(lan.command("mine"))
    stop = asyncio.Event()
    async with started_app(settings_for(db_path), clock, api) as app:
        polling = asyncio.create_task(poll(app, stop))
        await api.wait_until(lambda: len(api.messages_to(lan.user_id)) >= 3, timeout=10)
        await api.wait_until(lambda: all(api.messages_to(p.user_id) for p in people), 10)
        stop.set()
        await asyncio.wait_for(polling, 10)
    assert api.most_in_flight > 1, "different chats were answered side by side"
    greeting, help_text, _ = (m.text or "" for m in api.messages_to(lan.user_id)[:3])
    assert greeting == t("vi", "start.greeting", name="Cư dân 0")
    assert help_text == t("vi", "help.resident")
    assert api.pending_updates == []


def test_only_messages_count_against_the_limit() -> None:
    assert is_message("sendMessage") and is_message("sendPhoto") and is_message("sendMediaGroup")
    assert not is_message("sendChatAction")
    assert not is_message("editMessageReplyMarkup")
    assert not is_message("answerCallbackQuery")


async def test_a_burst_goes_out_paced_with_no_429(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    api.rate_limit_per_second = 30  # Telegram's ceiling, enforced by the fake
    people = [FakeUser(api, 7000 + n, f"Cư dân {n}") for n in range(40)]
    async with started_app(settings_for(db_path, rate_limit=True), clock, api) as app:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(app.bot.send_message(p.user_id, "Nhắc việc") for p in people))
        took = loop.time() - started
    assert [c.status for c in api.calls_to("sendMessage")] == [200] * 40
    # 30 messages 1/30 s apart, then the 31st waits for the window to move
    # on: the 40th leaves 1.025 s + 9/30 s after the first.
    assert took >= WINDOW_SECONDS + 9 / MESSAGES_PER_SECOND - 0.05


async def test_a_429_pauses_sends_and_is_retried(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "bot.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    lan = FakeUser(api, 7100, "Lan")
    async with started_app(settings_for(db_path, rate_limit=True), clock, api) as app:
        api.fail_next("sendMessage", retry_after=1)
        await app.bot.send_message(lan.user_id, "Nhắc việc")
    assert [c.status for c in api.calls_to("sendMessage")] == [429, 200]
    assert [m.text for m in api.messages_to(lan.user_id)] == ["Nhắc việc"]
