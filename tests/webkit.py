"""The dashboard under test: the bot started with a public URL over the
fake Bot API, an HTTP client on its one ASGI application (the browser
tests use a real socket instead), and the steps a leader takes — type
/web, open the link, press "sign in"."""

from __future__ import annotations

import io
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
from bot.domain.orgchart import GeoPoint, OrgChart
from bot.ports import NewComplaint
from bot.sandbox.driver import BotDriver
from tests.factories import load_chart, started_bot, texts

PUBLIC_URL = "https://bot.example.org"
LINK = re.compile(r"https?://\S+?(/web/signin/[A-Za-z0-9_-]{43})")


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


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (480, 360)) -> bytes:
    """A photo as a phone would send one (a plain picture, drawn here)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.line([(x, 0), (x + 120, size[1])], fill=(90, 90, 90), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


async def seed_story(dash: Dash) -> list[Complaint]:
    """A ward's week to look at: complaints in several groups and
    categories, one with a photo and a pin, some acknowledged, one late,
    one in the other ward; then the week is over."""
    services = dash.bot.services
    now = dash.clock.now()
    photo = await dash.photo(jpeg((170, 140, 90)))
    made = [
        await dash.complaint(
            description="Rác tràn ra ngõ 12 ba ngày nay, bốc mùi",
            landmark="Đầu ngõ 12, cạnh cột điện",
            location=GeoPoint(lon=107.0875, lat=20.953),
            photos=[photo],
        ),
        await dash.complaint(description="Rác chưa được thu gom", area="HH-TDP03"),
        await dash.complaint(description="Cống bốc mùi", area="HH-TDP06", category="CRNU"),
        await dash.complaint(
            description="Quán lấn chiếm vỉa hè",
            area="HH-TDP06",
            category="LCVH",
            family="urban_order",
            owner="cb-hh-ca",
            due_at=now + timedelta(hours=3),
        ),
        await dash.complaint(description="Rác đổ trộm", area="HH-TDP11"),
        await dash.complaint(
            description="Đèn đường hỏng",
            area="HH-TDP01",
            category="KHAC",
            family="other",
            owner="tt-hh-01",
        ),
        await dash.complaint(
            description="Lấn chiếm lòng đường",
            area="BD-TDP01",
            ward="BACHDANG",
            owner="cb-bd-dc",
            category="LCVH",
            family="urban_order",
        ),
    ]
    dash.clock.advance(timedelta(hours=2))
    for complaint in made[:2]:
        person = await services.store.person_of_staff(complaint.owner)
        assert person is not None
        await services.acknowledge(services.actor_for(person, complaint.owner), complaint.id)
    dash.clock.advance(timedelta(days=7))
    return made


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
