"""Builders for the Telegram-level tests: a started bot over the fake Bot
API with the example org chart, and the people of the example ward."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import PostgresUrl, Secret, Settings
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.runtime import ChannelFactory, running, telegram
from bot.sandbox.driver import BotDriver, driven
from bot.sandbox.telegram import FakeBotApi, FakeUser, InMemoryRequest, SentMessage
from handlers.telegram.channel import Receiving
from handlers.telegram.context import BotApplication
from storage.engines import opened

# Staff of examples/org.yaml, by Telegram user id.
ENVIRONMENT_CADRE = 7013  # cb-hh-mt: sanitation in Hồng Hải
GROUP6_LEADER = 7026  # tt-hh-06: sidewalks and vending in group 6
CONSTRUCTION_K1 = 7011  # cb-hh-dc1
CONSTRUCTION_K2 = 7012  # cb-hh-dc2
POLICE_OFFICER = 7014  # cb-hh-ca: the ward police officer, urban order by default
WARD_CHAIR = 7001  # ld-hh-ct: the ward leader
WARD_SECRETARY = 7002  # ld-hh-bt: conduct leader
OTHER_WARD_LEADER = 7051  # ld-bd-ct
CITY_LEADER = 7091  # ld-tp-bt


# The tests' week (Monday 23/11/2026 on) is played on a calendar of its own
# with no public holiday in it, so that their deadlines do not move when the
# real list does (in 2026 Tuesday 24/11 became one: Ngày Văn hóa Việt Nam).
# It covers 2026 and 2027, so the bot does not warn of a missing list.
TEST_HOLIDAYS = frozenset({date(2026, 1, 1), date(2027, 1, 1)})


def settings_for(db: Path | PostgresUrl, **overrides: Any) -> Settings:
    # The rate limiter paces by the wall clock; tests that need it turn it on.
    values: dict[str, Any] = {"rate_limit": False, "holidays": TEST_HOLIDAYS, **overrides}
    place = {"db_url": db} if isinstance(db, PostgresUrl) else {"db_path": db}
    return Settings(telegram_token=Secret("123456:TEST"), **place, **values)


async def load_chart(db: Path | PostgresUrl, chart: OrgChart) -> None:
    async with opened(db) as storage:
        await storage.store.replace_org(chart)


@asynccontextmanager
async def started_bot(
    db: Path | PostgresUrl, clock: ManualClock, api: FakeBotApi | None = None, **settings: Any
) -> AsyncIterator[BotDriver]:
    async with driven(settings_for(db, **settings), clock, api) as driver:
        yield driver


def fake_telegram(
    api: FakeBotApi, receiving: Receiving = None, *, read_timeout: float = 5.0
) -> ChannelFactory:
    """The Telegram channel over the in-memory fake Bot API."""
    return telegram(
        receiving=receiving,
        request=InMemoryRequest(api, read_timeout=read_timeout),
        updates_request=InMemoryRequest(api),
    )


@asynccontextmanager
async def started_app(
    settings: Settings, clock: ManualClock, api: FakeBotApi
) -> AsyncIterator[BotApplication]:
    """The bot started through the runtime, its Telegram channel over the
    fake receiving nothing by itself: the test polls or hands in updates."""
    async with running(settings, clock=clock, channels=[fake_telegram(api)]) as runtime:
        yield runtime.telegram.app


def texts(messages: list[SentMessage]) -> list[str]:
    return [m.text or "" for m in messages]


def joined(messages: list[SentMessage]) -> str:
    return "\n".join(texts(messages))


def to(messages: list[SentMessage], user: FakeUser) -> list[SentMessage]:
    return [m for m in messages if m.chat_id == user.user_id]


def button_data(message: SentMessage) -> list[str]:
    return [data for _, data in FakeBotApi.buttons(message)]


def choice_key(data: str) -> str:
    match = re.match(r"^q:\d+:(.+)$", data)
    assert match, data
    return match.group(1)


async def file_sanitation_report(
    bot: BotDriver, user: FakeUser, group: str = "HH-TDP03", description: str = "Rác tràn ngõ"
) -> list[SentMessage]:
    """The shortest full report by buttons: sanitation / rubbish not collected."""
    await bot.send(user.command("new"))
    await bot.choose(user, "sanitation")
    await bot.choose(user, "RKTG")
    await bot.choose(user, "HONGHAI")
    await bot.choose(user, group)
    await bot.send(user.text(description))
    await bot.choose(user, "d")
    return await bot.choose(user, "ok")
