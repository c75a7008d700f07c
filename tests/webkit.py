"""The dashboard under test: the bot started with a public URL over the
fake Bot API, an HTTP client on its one ASGI application (the browser
tests use a real socket instead), and the steps a leader takes — type
/web, open the link, press "sign in"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.complaints import Complaint, Photo
from bot.domain.orgchart import OrgChart
from bot.ports import NewComplaint
from bot.sandbox.driver import BotDriver
from tests.factories import load_chart, started_bot, texts

PUBLIC_URL = "https://bot.example.org"
LINK = re.compile(r"https://bot\.example\.org(/web/signin/[A-Za-z0-9_-]{43})")


@dataclass
class Dash:
    bot: BotDriver
    http: httpx.AsyncClient
    clock: ManualClock

    async def link(self, user_id: int, name: str = "Lãnh đạo") -> str:
        """What a leader gets for typing /web: the link's path."""
        user = self.bot.user(user_id, name)
        said = "\n".join(texts(await self.bot.send(user.command("web"))))
        found = LINK.search(said)
        assert found, said
        return found.group(1)

    async def sign_in(self, user_id: int) -> httpx.Response:
        """/web, open the link, press the button: signed in (the client keeps the cookie)."""
        path = await self.link(user_id)
        assert (await self.http.get(path)).status_code == 200
        return await self.http.post(path)

    async def complaint(self, **fields: Any) -> Complaint:
        """A complaint filed as the bot would store it (a resident of its own)."""
        store = self.bot.services.store
        now: datetime = fields.pop("created_at", self.clock.now())
        person = await store.upsert_person(
            "telegram", str(fields.pop("reporter", 424242)), "Lan", "vi"
        )
        values: dict[str, Any] = {
            "category": "RKTG",
            "family": "sanitation",
            "area": "HH-TDP03",
            "ward": "HONGHAI",
            "owner": "cb-hh-mt",
            "description": "Rác tràn ngõ",
            "created_at": now,
            "due_at": now + timedelta(days=2),
            **fields,
        }
        return await store.create_complaint(NewComplaint(**values), person.id, now, [])

    async def photo(self, content: bytes) -> Photo:
        return Photo(await self.bot.services.media.keep(content))


@asynccontextmanager
async def dashboard(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart, **settings: Any
) -> AsyncIterator[Dash]:
    await load_chart(where, chart)
    values = {"public_url": PUBLIC_URL, "http_host": "127.0.0.1", "http_port": 0, **settings}
    async with started_bot(where, clock, **values) as driver:
        transport = httpx.ASGITransport(app=driver.runtime.http.asgi())
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield Dash(driver, client, clock)
