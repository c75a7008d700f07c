"""How many messages and taps filing a report takes, counted by playing it.

A resident files one complaint with one photo and a location pin, from
``/start`` to the receipt, through the real Application over the fake Bot
API (the same stack `make demo` and the tests drive).  Each path opens its
own way — the menu button, a photo with a caption, a sentence typed — and
then answers whatever the bot asks, the way a resident would: a tap on the
choice that fits, the pin at the place question, the photo when photos are
asked for, the description when it is asked for.  So the count is the bot's,
not the script's: a question the bot no longer asks is a step saved.

Run: ``.venv/bin/python -m bot.sandbox.steps`` (tests/test_intake.py
asserts the same numbers).
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.config import Secret, Settings
from bot.domain.clock import ManualClock
from bot.domain.geo import centroid
from bot.i18n import catalogue
from bot.orgio.reader import load_org_file
from bot.runtime import opened
from bot.sandbox.driver import BotDriver, driven
from bot.sandbox.telegram import FakeUser, JSONDict, SentMessage

EXAMPLE_ORG = Path(__file__).resolve().parent.parent.parent / "examples" / "org.yaml"
# Monday 23/11/2026, 09:00 in Hạ Long: working hours, so nothing waits for the morning.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# What the resident reports: rubbish dumped on the sidewalk, in tổ dân phố 3.
FAMILY = "sanitation"
CATEGORY = "RTPT"
GROUP = "HH-TDP03"
SENTENCE = "Có người đổ rác ra vỉa hè đầu ngõ 12 Lê Lợi"
MOST_STEPS = 20  # a path that has not reached the receipt by then is broken
_CHOICE = re.compile(r"^q:\d+:(.+)$")


@dataclass(frozen=True)
class Tally:
    """What the resident did (messages sent, taps) and how many messages
    the bot sent them on the way."""

    path: str
    messages: int
    taps: int
    bot_messages: int

    @property
    def steps(self) -> int:
        return self.messages + self.taps


class Resident:
    """One resident filing the report: opens the path's way, then answers
    each question as it comes."""

    def __init__(self, driver: BotDriver, user: FakeUser, spot: tuple[float, float]) -> None:
        self.driver = driver
        self.user = user
        self.spot = spot
        self.messages = 0
        self.taps = 0
        self.heard = 0
        self.filed = False
        self.pinned = False
        self.photographed = False

    async def _send(self, update: JSONDict, *, tap: bool) -> None:
        if tap:
            self.taps += 1
        else:
            self.messages += 1
        sent = [m for m in await self.driver.send(update) if m.chat_id == self.user.user_id]
        self.heard += len(sent)
        receipt = _opening(catalogue("vi")["report.filed"])
        self.filed = self.filed or any((m.text or "").startswith(receipt) for m in sent)

    async def command(self, name: str) -> None:
        await self._send(self.user.command(name), tap=False)

    async def text(self, value: str) -> None:
        await self._send(self.user.text(value), tap=False)

    async def photo(self, caption: str | None = None) -> None:
        self.photographed = True
        await self._send(self.user.photo(caption=caption), tap=False)

    async def pin(self) -> None:
        self.pinned = True
        await self._send(self.user.location(*self.spot), tap=False)

    async def tap(self, message: SentMessage, data: str) -> None:
        await self._send(self.user.press(message, data), tap=True)

    def _question(self) -> tuple[SentMessage, dict[str, str]] | None:
        """The newest message with buttons, and its choices by key."""
        api = self.driver.api
        for message in reversed(api.messages_to(self.user.user_id)):
            found = api.buttons(message)
            if found:
                return message, {_key(data): data for _, data in found}
        return None

    async def answer(self) -> None:
        """One answer to what the bot asks now."""
        asked = self._question()
        assert asked is not None, "the bot asked nothing"
        message, choices = asked
        areas = self.driver.services.chart.areas
        for wanted in ("ok", "new", CATEGORY, FAMILY):
            if wanted in choices:
                await self.tap(message, choices[wanted])
                return
        if set(choices) <= {"x", "^"}:  # a question typed words answer: the description
            await self.text(SENTENCE)
        elif any(key in areas for key in choices) and not self.pinned:
            await self.pin()
        elif "d" in choices and not self.photographed:
            await self.photo()
        elif "d" in choices:
            await self.tap(message, choices["d"])
        else:
            raise AssertionError(f"no answer for {message.text!r} {sorted(choices)}")

    async def file(self, opening: Callable[[Resident], Any]) -> None:
        await opening(self)
        while not self.filed:
            if self.messages + self.taps >= MOST_STEPS:
                raise AssertionError(f"no receipt after {MOST_STEPS} steps")
            await self.answer()


def _key(data: str) -> str:
    match = _CHOICE.match(data)
    return match.group(1) if match else data


def _opening(entry: str) -> str:
    """The words a catalogue entry starts with, up to its first parameter."""
    return entry.split("{", 1)[0]


async def _menu(resident: Resident) -> None:
    """/start, then the report button and the questions, one by one."""
    await resident.command("start")


async def _photo_first(resident: Resident) -> None:
    """/start, then a photo whose caption says what and where."""
    await resident.command("start")
    await resident.photo(caption=SENTENCE)


async def _sentence_first(resident: Resident) -> None:
    """/start, then the problem typed in a sentence instead of a tap."""
    await resident.command("start")
    await resident.text(SENTENCE)


PATHS: dict[str, Callable[[Resident], Any]] = {
    "photo with a caption": _photo_first,
    "a sentence typed": _sentence_first,
    "the menu": _menu,
}


async def count(path: str, workdir: Path) -> Tally:
    """Play one path in a fresh database (in ``workdir``) and count it."""
    db_path = workdir / f"steps-{list(PATHS).index(path)}.db"
    settings = Settings(telegram_token=Secret("123456:STEPS"), db_path=db_path, rate_limit=False)
    clock = ManualClock(START)
    chart = load_org_file(EXAMPLE_ORG)
    async with opened(settings, clock) as core:
        await core.store.replace_org(chart)
    polygon = chart.areas[GROUP].polygon
    assert polygon is not None
    spot = centroid(polygon)
    async with driven(settings, clock) as driver:
        resident = Resident(driver, driver.user(601, "Hoa"), (spot.lat, spot.lon))
        await resident.file(PATHS[path])
        complaint = await driver.services.complaint(1)
        assert complaint is not None and len(complaint.photos) == 1
        assert complaint.location is not None and complaint.area == GROUP
        assert complaint.category == CATEGORY
    return Tally(path, resident.messages, resident.taps, resident.heard)


async def count_all() -> list[Tally]:
    with tempfile.TemporaryDirectory() as folder:
        return [await count(path, Path(folder)) for path in PATHS]


def table(tallies: list[Tally]) -> str:
    lines = [
        "Filing one report with one photo and a location pin, /start to the receipt:",
        f"{'path':<22} {'messages':>8} {'taps':>5} {'steps':>6} {'bot messages':>13}",
    ]
    lines += [
        f"{t.path:<22} {t.messages:>8} {t.taps:>5} {t.steps:>6} {t.bot_messages:>13}"
        for t in tallies
    ]
    return "\n".join(lines)


# The tallies `main` printed last (for the test that reads them).
LAST: list[Tally] = []


def main(out: TextIO = sys.stdout) -> int:
    LAST[:] = asyncio.run(count_all())
    out.write(table(LAST) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
