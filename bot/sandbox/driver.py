"""Drive the real channels over the fake APIs, one update at a time.

The demo and the tests both play stories this way: a fake user builds an
update, the channel's real receiving path handles it with the real
handlers and database, and the driver hands back what the bot sent.
Telegram: the real `Application.process_update` over the fake Bot API.
Zalo: the fake Zalo API hands the update out to the channel's own
``getUpdates`` (long polling, one poll at a time) or posts it to the
channel's webhook route on the bot's HTTP server, in process.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram import Update

from bot.app.digests import Digests
from bot.app.services import Services
from bot.config import Settings
from bot.domain.clock import Clock
from bot.runtime import ChannelFactory, Runtime, running, telegram, zalo
from bot.sandbox.telegram import FakeBotApi, FakeUser, InMemoryRequest, JSONDict, SentMessage
from bot.sandbox.zalo import FakeZaloApi, FakeZaloTransport, FakeZaloUser, ZaloSent
from handlers.telegram.context import BotApplication
from handlers.zalo.channel import Webhook, ZaloChannel

# Where the fake Zalo posts updates in webhook mode (the tests' public URL).
PUBLIC_URL = "https://bot.example.org"
ZALO_SECRET = "zalo-webhook-secret-for-tests"


@dataclass
class BotDriver:
    runtime: Runtime
    api: FakeBotApi
    _seen: int = 0
    users: dict[int, FakeUser] = field(default_factory=dict)
    startup_messages: list[SentMessage] = field(default_factory=list)
    zalo: ZaloDriver | None = None

    @property
    def app(self) -> BotApplication:
        return self.runtime.telegram.app

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def digests(self) -> Digests:
        return self.runtime.digests

    def user(self, user_id: int, first_name: str, **kwargs: Any) -> FakeUser:
        person = FakeUser(self.api, user_id, first_name, **kwargs)
        self.users[user_id] = person
        return person

    async def send(self, update: JSONDict) -> list[SentMessage]:
        """Process one update to the end (outbox included) and return the
        messages the bot sent because of it."""
        await self.app.process_update(Update.de_json(update, self.app.bot))
        # The story reads what the outbox sent, too (on every channel).
        await self.settled()
        return self.new_messages()

    async def settled(self) -> None:
        """What runs in the background after an update or a tick is done:
        every channel's outbox, and Telegram's command menus."""
        await self.runtime.core.senders.settled()
        await self.runtime.telegram.wiring.menus.settled()

    def new_messages(self) -> list[SentMessage]:
        fresh = self.api.sent[self._seen :]
        self._seen = len(self.api.sent)
        return fresh

    def find_button(self, chat_id: int, pattern: str) -> tuple[SentMessage, str]:
        """The newest message to ``chat_id`` with a button whose callback data
        matches ``pattern``, and that data."""
        regex = re.compile(pattern)
        for message in reversed(self.api.messages_to(chat_id)):
            for _, data in self.api.buttons(message):
                if regex.search(data):
                    return message, data
        raise LookupError(f"no button matching {pattern!r} in chat {chat_id}")

    async def choose(self, user: FakeUser, key: str) -> list[SentMessage]:
        """Press the choice ``key`` of the newest question asked to ``user``."""
        message, data = self.find_button(user.user_id, rf"^q:\d+:{re.escape(key)}$")
        return await self.send(user.press(message, data))

    async def press(self, user: FakeUser, data: str) -> list[SentMessage]:
        message, found = self.find_button(user.user_id, rf"^{re.escape(data)}$")
        return await self.send(user.press(message, found))

    async def tick(self) -> list[SentMessage]:
        """One run of the periodic job, as the scheduler would run it (tests
        move the injected clock instead of waiting)."""
        await self.runtime.tick()
        await self.settled()
        return self.new_messages()

    async def flush(self) -> list[SentMessage]:
        """What the channels' outboxes would send now."""
        await self.runtime.flush()
        await self.settled()
        return self.new_messages()


@dataclass
class ZaloDriver:
    """Zalo's side of a story: updates through the channel's real receiving
    path, and what the bot sent on Zalo."""

    runtime: Runtime
    api: FakeZaloApi
    webhook: bool
    _seen: int = 0

    @property
    def channel(self) -> ZaloChannel:
        return self.runtime.zalo

    def user(self, display_name: str, **kwargs: Any) -> FakeZaloUser:
        return FakeZaloUser(self.api, display_name, **kwargs)

    async def send(self, update: JSONDict) -> list[ZaloSent]:
        """Deliver one update as Zalo would, let it be handled to the end
        (every channel's outbox included) and return what the bot sent on
        Zalo because of it."""
        await self.deliver(update)
        await self.settle()
        return self.new_messages()

    async def deliver(self, update: JSONDict) -> None:
        if self.webhook:
            delivery = await self.api.deliver_webhook(update)
            if delivery.status != 200:
                raise AssertionError(f"the webhook answered {delivery.status}")
            return
        self.api.push_update(update)
        while await self.channel.poll_once():
            pass

    async def settle(self) -> None:
        await self.channel.receiver.settled()
        await self.runtime.core.senders.settled()

    def new_messages(self) -> list[ZaloSent]:
        fresh = self.api.sent[self._seen :]
        self._seen = len(self.api.sent)
        return fresh

    async def tick(self) -> list[ZaloSent]:
        await self.runtime.tick()
        return self.new_messages()


def fake_zalo(api: FakeZaloApi, *, webhook: bool = False) -> ChannelFactory:
    """The Zalo channel over the in-memory fake Zalo API, receiving by its
    webhook route (``webhook``) or by polls the driver makes."""
    receiving = Webhook(PUBLIC_URL + "/zalo", ZALO_SECRET) if webhook else None
    return zalo(receiving=receiving, transport=FakeZaloTransport(api))


def connect_zalo(runtime: Runtime, api: FakeZaloApi) -> None:
    """The fake Zalo reaches the bot's web server in process: its webhook
    posts, and the photo links it fetches for sendPhoto."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.http.asgi()))
    api.webhook_client = client

    async def fetch(url: str) -> bytes | None:
        response = await client.get(url)
        return response.content if response.status_code == 200 and response.content else None

    api.fetcher = fetch


def texts(messages: list[SentMessage]) -> Iterator[str]:
    return (m.text or "" for m in messages)


@asynccontextmanager
async def driven(
    settings: Settings,
    clock: Clock,
    api: FakeBotApi | None = None,
    *,
    zalo_api: FakeZaloApi | None = None,
    zalo_webhook: bool = False,
) -> AsyncIterator[BotDriver]:
    """The started bot (through the runtime, as `phananh run` builds it),
    with Telegram over an in-memory fake API — and, given ``zalo_api``, Zalo
    over the in-memory fake Zalo API (``driver.zalo``) — and its driver."""
    fake = api or FakeBotApi()
    channels: list[ChannelFactory] = [
        telegram(request=InMemoryRequest(fake), updates_request=InMemoryRequest(fake))
    ]
    if zalo_api is not None:
        channels.append(fake_zalo(zalo_api, webhook=zalo_webhook))
    before = len(fake.sent)  # a restart over the same fake: only what follows is new
    zalo_before = len(zalo_api.sent) if zalo_api is not None else 0
    async with running(settings, clock=clock, channels=channels) as runtime:
        driver = BotDriver(runtime, fake, _seen=before)
        if zalo_api is not None:
            connect_zalo(runtime, zalo_api)
            driver.zalo = ZaloDriver(runtime, zalo_api, zalo_webhook, _seen=zalo_before)
            driver.zalo.new_messages()
        # Start-up is not part of the story, but what it sent (the catch-up
        # after a restart) is kept for whoever wants to look.
        await driver.settled()
        driver.startup_messages = driver.new_messages()
        try:
            yield driver
        finally:
            if zalo_api is not None and zalo_api.webhook_client is not None:
                await zalo_api.webhook_client.aclose()
