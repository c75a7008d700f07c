"""People in a story on either channel, for the tests that play the same
story on Telegram and on Zalo (tests/test_channels_flow.py).

A `Chat` is one person on one channel, doing what a person does there:
on Telegram pressing buttons and sending /commands through the real
Application, on Zalo typing numbers and words through the channel's real
receiving path (its long polling or its webhook, over the fake Zalo API).
Both read what the bot sent them from their fake, so a story asserts the
same things whichever channel each person is on.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.admin import ROLE_RANK, Admin
from bot.app.outgoing import CommandChoice, TaskChoice
from bot.config import PostgresUrl, Secret
from bot.domain.authz import Actor
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action
from bot.ports import Person
from bot.sandbox.driver import PUBLIC_URL, BotDriver, ZaloDriver, driven
from bot.sandbox.telegram import FakeUser, SentMessage
from bot.sandbox.zalo import DEFAULT_TOKEN, FakeZaloApi, FakeZaloUser, ZaloSent
from handlers.telegram.callbacks import encode_task
from handlers.telegram.render import callback_data
from handlers.zalo.commands import PHRASES
from handlers.zalo.links import ZaloLinks
from handlers.zalo.render import ZALO_WORDS, menu_item, typed_commands
from tests import catalogue
from tests.factories import settings_for

# Telegram user ids of the example chart's staff.
TELEGRAM_IDS = {
    "ld-hh-ct": 7001,
    "ld-hh-bt": 7002,
    "cb-hh-dc1": 7011,
    "cb-hh-dc2": 7012,
    "cb-hh-mt": 7013,
    "cb-hh-ca": 7014,
    "tt-hh-06": 7026,
    "ld-tp-bt": 7091,
}
_RESIDENT_IDS = itertools.count(501)


class Chat:
    """One person in the story, on one channel."""

    channel: str
    name: str

    async def text(self, text: str) -> list[str]:
        """Type ``text``; what this person was told because of it."""
        raise NotImplementedError

    async def command(self, name: str, *args: str) -> list[str]:
        raise NotImplementedError

    async def choose(self, key: str) -> list[str]:
        """Answer the question under way with its choice ``key``."""
        raise NotImplementedError

    async def act(self, action: Action, complaint_id: int) -> list[str]:
        """Take ``action`` on a complaint from the last message offering it."""
        raise NotImplementedError

    async def pick(self, command: str, *args: str) -> list[str]:
        """Take the choice that runs ``command`` from the last message
        offering it (a button on Telegram, a number on Zalo)."""
        raise NotImplementedError

    async def photo(self, caption: str | None = None) -> list[str]:
        raise NotImplementedError

    def texts(self) -> list[str]:
        """Everything this person read so far (texts and captions)."""
        raise NotImplementedError

    def photos(self) -> int:
        """How many photos this person received."""
        raise NotImplementedError

    def choices(self) -> list[str]:
        """The labels of the choices the last message offered (its buttons
        on Telegram, its numbered lines on Zalo)."""
        raise NotImplementedError

    def says(self, shown: str, key: str, **known: Any) -> bool:
        """Whether ``shown`` holds the catalogue entry ``key``, as this
        person's channel words it (tests/catalogue.py)."""
        return catalogue.says(shown, key, **known)

    def news(self) -> list[str]:
        """What this person read since the last look."""
        seen = self._seen
        found = self.texts()
        self._seen = len(found)
        return found[seen:]

    _seen: int = 0


def zalo_wording(template: str) -> str:
    """How Zalo words a Vietnamese catalogue entry (handlers/zalo/render.py)."""
    return typed_commands(template, "vi")


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


class TelegramChat(Chat):
    channel = TELEGRAM

    def __init__(self, bot: BotDriver, user: FakeUser, name: str) -> None:
        self.bot = bot
        self.user = user
        self.name = name
        self._seen = len(self.texts())

    def _mine(self, sent: list[SentMessage]) -> list[str]:
        self._seen = len(self.texts())
        return [m.text or "" for m in sent if m.chat_id == self.user.user_id]

    async def text(self, text: str) -> list[str]:
        return self._mine(await self.bot.send(self.user.text(text)))

    async def command(self, name: str, *args: str) -> list[str]:
        return self._mine(await self.bot.send(self.user.command(name, *args)))

    async def choose(self, key: str) -> list[str]:
        return self._mine(await self.bot.choose(self.user, key))

    async def act(self, action: Action, complaint_id: int) -> list[str]:
        return self._mine(await self.bot.press(self.user, encode_task(action, complaint_id)))

    async def pick(self, command: str, *args: str) -> list[str]:
        data = callback_data(CommandChoice("", command, args))
        return self._mine(await self.bot.press(self.user, data))

    async def photo(self, caption: str | None = None) -> list[str]:
        return self._mine(await self.bot.send(self.user.photo(caption=caption)))

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.bot.api.messages_to(self.user.user_id)]

    def photos(self) -> int:
        kinds = ("photo", "media_group_photo")
        return sum(1 for m in self.bot.api.messages_to(self.user.user_id) if m.kind in kinds)

    def choices(self) -> list[str]:
        return [label for label, _ in self.bot.api.buttons(self.bot.api.last_to(self.user.user_id))]


class ZaloChat(Chat):
    channel = ZALO

    def __init__(self, bot: BotDriver, user: FakeZaloUser, name: str) -> None:
        assert bot.zalo is not None
        self.bot = bot
        self.zalo: ZaloDriver = bot.zalo
        self.user = user
        self.name = name
        self._seen = len(self.texts())

    def says(self, shown: str, key: str, **known: Any) -> bool:
        """Zalo's words: its own entry where Telegram's speak of buttons, and
        what to type where a text names a /command."""
        return catalogue.says(shown, ZALO_WORDS.get(key, key), wording=zalo_wording, **known)

    def _mine(self, sent: list[ZaloSent]) -> list[str]:
        self._seen = len(self.texts())
        return [m.text or m.caption or "" for m in sent if m.chat_id == self.user.user_id]

    async def text(self, text: str) -> list[str]:
        return self._mine(await self.zalo.send(self.user.text(text)))

    async def command(self, name: str, *args: str) -> list[str]:
        """Typed as Vietnamese words, as on Zalo there is no menu to tap."""
        phrase = PHRASES[name][1][0]
        return await self.text(" ".join([phrase, *args]))

    async def person(self) -> Person:
        person = await self.bot.services.store.find_person(ZALO, self.user.user_id)
        assert person is not None, f"{self.name} has not written to the bot"
        return person

    async def actor(self) -> Actor:
        return await self.bot.services.actor_of_person(await self.person())

    async def choose(self, key: str) -> list[str]:
        """The number the question shows for ``key``, typed."""
        prompt = await self.bot.services.current_prompt(await self.actor())
        assert prompt is not None, f"no question is open for {self.name}"
        keys = [c.key for c in prompt.choices]
        assert key in keys, f"{key!r} is not a choice of {keys}"
        return await self.text(str(keys.index(key) + 1))

    async def act(self, action: Action, complaint_id: int) -> list[str]:
        """The number the last list shows for the action, typed."""
        return await self._number(menu_item(TaskChoice("", action, complaint_id)))

    async def pick(self, command: str, *args: str) -> list[str]:
        return await self._number(menu_item(CommandChoice("", command, args)))

    async def _number(self, wanted: tuple[str, ...]) -> list[str]:
        """The number the last list shows for ``wanted``, typed."""
        menu = await self.zalo.channel.intake.menus.menu_of((await self.person()).id)
        assert menu is not None, f"{self.name} was offered no choices"
        assert wanted in menu.items, f"{wanted} is not in {menu.items}"
        return await self.text(str(menu.items.index(wanted) + 1))

    async def photo(self, caption: str | None = None) -> list[str]:
        return self._mine(await self.zalo.send(self.user.image(caption=caption)))

    def texts(self) -> list[str]:
        return self.zalo.api.texts_to(self.user.user_id)

    def photos(self) -> int:
        return sum(1 for m in self.zalo.api.messages_to(self.user.user_id) if m.kind == "photo")

    def choices(self) -> list[str]:
        last = self.texts()[-1]
        return [m.group(1) for m in re.finditer(r"^\d+\. (.+)$", last, re.MULTILINE)]


@dataclass
class Stage:
    """A started bot with both channels, and the people of a story."""

    bot: BotDriver
    zalo_mode: str  # "polling" or "webhook": how the Zalo channel receives
    people: list[Chat] = field(default_factory=list)

    @property
    def zalo(self) -> ZaloDriver:
        assert self.bot.zalo is not None
        return self.bot.zalo

    def resident(self, channel: str, name: str) -> Chat:
        chat: Chat
        if channel == TELEGRAM:
            chat = TelegramChat(self.bot, self.bot.user(next(_RESIDENT_IDS), name), name)
        else:
            chat = ZaloChat(self.bot, self.zalo.user(name), name)
        self.people.append(chat)
        return chat

    async def staff(self, channel: str, staff_id: str, name: str, **user: Any) -> Chat:
        """A staff member of the example chart: on Telegram with the
        chart's Telegram id; on Zalo by typing the one-time code of an
        invite the ward office made (`phananh invite --rebind`)."""
        chat: Chat
        if channel == TELEGRAM:
            chat = TelegramChat(self.bot, self.bot.user(TELEGRAM_IDS[staff_id], name), name)
        else:
            member = self.bot.services.chart.staff[staff_id]
            role = min(member.roles, key=ROLE_RANK.__getitem__)
            link = await Admin(self.bot.services).invite(staff_id, role, ZaloLinks(), rebind=True)
            chat = ZaloChat(self.bot, self.zalo.user(name, **user), name)
            await chat.text(link.code)
            chat.news()
        self.people.append(chat)
        return chat

    async def tick(self) -> None:
        await self.bot.runtime.tick()
        await self.bot.settled()


@asynccontextmanager
async def stage(
    db_path: Path | PostgresUrl,
    clock: ManualClock,
    zalo_mode: str = "polling",
    zalo_api: FakeZaloApi | None = None,
    **settings: Any,
) -> AsyncIterator[Stage]:
    """The bot with Telegram and Zalo side by side over their fakes (the
    Zalo fake given: a restart over the same one)."""
    values: dict[str, Any] = {
        "zalo_token": Secret(DEFAULT_TOKEN),
        "public_url": PUBLIC_URL,
        "http_port": 0,
        "zalo_rate": 1000.0,
        **settings,
    }
    api = zalo_api or FakeZaloApi(clock=clock)
    async with driven(
        settings_for(db_path, **values), clock, zalo_api=api, zalo_webhook=zalo_mode == "webhook"
    ) as bot:
        yield Stage(bot, zalo_mode)
