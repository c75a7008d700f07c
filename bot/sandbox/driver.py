"""Drive the real Application over the fake Bot API, one update at a time.

The demo and the tests both play stories this way: a fake user builds an
update, the real `Application.process_update` handles it with the real
handlers and database, and the driver hands back what the bot sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.app.digests import Digests
from bot.app.services import Services
from bot.config import Settings
from bot.domain.clock import Clock
from bot.runtime import Runtime, running, telegram
from bot.sandbox.telegram import FakeBotApi, FakeUser, InMemoryRequest, JSONDict, SentMessage
from handlers.telegram.context import BotApplication


@dataclass
class BotDriver:
    runtime: Runtime
    api: FakeBotApi
    _seen: int = 0
    users: dict[int, FakeUser] = field(default_factory=dict)
    startup_messages: list[SentMessage] = field(default_factory=list)

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
        await self.runtime.core.senders.settled()
        return self.new_messages()

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
        return self.new_messages()

    async def flush(self) -> list[SentMessage]:
        """What the channels' outboxes would send now."""
        await self.runtime.flush()
        return self.new_messages()


def texts(messages: list[SentMessage]) -> Iterator[str]:
    return (m.text or "" for m in messages)


@asynccontextmanager
async def driven(
    settings: Settings, clock: Clock, api: FakeBotApi | None = None
) -> AsyncIterator[BotDriver]:
    """The started bot (through the runtime, as `phananh run` builds it),
    with Telegram over an in-memory fake API, and its driver."""
    fake = api or FakeBotApi()
    channel = telegram(request=InMemoryRequest(fake), updates_request=InMemoryRequest(fake))
    before = len(fake.sent)  # a restart over the same fake: only what follows is new
    async with running(settings, clock=clock, channels=[channel]) as runtime:
        driver = BotDriver(runtime, fake, _seen=before)
        # Start-up is not part of the story, but what it sent (the catch-up
        # after a restart) is kept for whoever wants to look.
        driver.startup_messages = driver.new_messages()
        yield driver
