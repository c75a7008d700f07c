"""End to end over real HTTP: PTB's own httpx transport and the bot's long polling against the
loopback fake Bot API, first in process (one complaint from report to rating), then the real
`phananh run` command as a subprocess that must answer, and stop cleanly on SIGTERM.

Nothing sleeps: every wait is the fake's bounded `wait_until` / `wait_for_sent`.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import PostgresUrl, load_settings
from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.i18n import t
from bot.orgio.reader import load_org_file
from bot.runtime import running, telegram
from bot.sandbox.telegram import FakeBotApi, FakeUser, HttpFakeBotApi, JSONDict, SentMessage
from handlers.telegram.channel import Polling
from storage.engines import opened
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore
from tests.catalogue import first_line_of, says
from tests.engines import setting
from tests.factories import TEST_HOLIDAYS

EXAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 23/11/2026 09:00 in Hạ Long
TOKEN = "123456:TEST"
CLI_TOKEN = "424242:cli-secret-Zx9q"
LONG_POLL = dtm.timedelta(seconds=30)
CLI_START_TIMEOUT = 60.0  # a cold interpreter importing PTB on a busy machine
CLI_STOP_TIMEOUT = 10.0
RESIDENT = 501
CADRE = 7013  # cb-hh-mt: sanitation in Hồng Hải, RKTG outside tổ 1 and 12
CODE = "PA-000001"
NOTE = "Đã thu gom toàn bộ rác ở đầu ngõ 12."


@pytest.fixture
async def server() -> AsyncIterator[HttpFakeBotApi]:
    """The fake on a free loopback port; stopping twice is harmless, so tests may stop it."""
    async with HttpFakeBotApi() as srv:
        yield srv


async def load_example_org(where: Path | PostgresUrl) -> None:
    async with opened(where) as storage:
        await storage.store.replace_org(load_org_file(EXAMPLE_ORG))


def bot_environ(server: HttpFakeBotApi, token: str, where: Path | PostgresUrl) -> dict[str, str]:
    return {
        "PHANANH_TELEGRAM_API_URL": server.base_url,
        "PHANANH_TELEGRAM_TOKEN": token,
        "PHANANH_DB": setting(where),
        # The tests' calendar, without the real list's Tuesday 24/11/2026.
        "PHANANH_HOLIDAYS": ",".join(sorted(d.isoformat() for d in TEST_HOLIDAYS)),
    }


def find_button(api: FakeBotApi, chat_id: int, pattern: str) -> tuple[SentMessage, str]:
    """The newest message to `chat_id` with a button whose callback data matches `pattern`."""
    regex = re.compile(pattern)
    for message in reversed(api.messages_to(chat_id)):
        for _, data in api.buttons(message):
            if not message.deleted and regex.fullmatch(data):
                return message, data
    raise LookupError(f"no button matching {pattern!r} in chat {chat_id}")


async def sent_after(api: FakeBotApi, since: int, chat_id: int, *needles: str) -> SentMessage:
    """The first message to `chat_id` recorded after the first `since` whose text contains
    every needle, waiting (bounded) until it arrives."""
    found: list[SentMessage] = []

    def arrived() -> bool:
        found[:] = [
            m
            for m in api.sent[since:]
            if m.chat_id == chat_id and all(n in (m.text or "") for n in needles)
        ][:1]
        return bool(found)

    await api.wait_until(arrived)
    return found[0]


async def push(api: FakeBotApi, update: JSONDict, chat_id: int, *needles: str) -> SentMessage:
    """Deliver one update through getUpdates and wait for the bot's answer to `chat_id`."""
    since = len(api.sent)
    api.push_update(update)
    return await sent_after(api, since, chat_id, *needles)


async def press(api: FakeBotApi, user: FakeUser, pattern: str, *needles: str) -> SentMessage:
    """Press the newest button matching `pattern` in the user's chat; wait for the answer."""
    message, data = find_button(api, user.user_id, pattern)
    return await push(api, user.press(message, data), user.user_id, *needles)


def has_button(message: SentMessage, pattern: str) -> bool:
    return any(re.fullmatch(pattern, data) for _, data in FakeBotApi.buttons(message))


def is_parked_poll(api: FakeBotApi) -> Callable[[], bool]:
    """A getUpdates waiting on the server with the long-poll timeout we asked for."""
    seconds = int(LONG_POLL.total_seconds())
    return lambda: any(
        c.status == 0 and c.params.get("timeout") == seconds for c in api.calls_to("getUpdates")
    )


# ---- 1. in process, long polling over HTTP --------------------------------------------------


async def test_complaint_round_trip_over_long_polling(
    server: HttpFakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = server.api
    db_path = tmp_path / "bot.db"
    await load_example_org(db_path)
    settings = load_settings(environ=bot_environ(server, TOKEN, db_path))
    assert settings.db_path == db_path
    assert settings.telegram_file_url == server.base_file_url
    lan = FakeUser(api, RESIDENT, "Lan")
    thang = FakeUser(api, CADRE, "Thắng")

    # The bot as `phananh run` builds it: Telegram over real HTTP, by long polling.
    channel = telegram(receiving=Polling())
    async with running(settings, clock=ManualClock(START), channels=[channel]) as runtime:
        await api.wait_until(is_parked_poll(api))

        # The resident files a sanitation complaint, choosing the place from the lists.
        ask_family = await push(api, lan.command("new"), RESIDENT, t("vi", "report.ask_family"))
        assert has_button(ask_family, r"q:\d+:sanitation")
        ask_category = await press(api, lan, r"q:\d+:sanitation", "Vệ sinh môi trường")
        # An answered question keeps no live buttons (the edit goes out beside the reply).
        await api.wait_until(lambda: not api.buttons(ask_family))
        assert has_button(ask_category, r"q:\d+:RKTG")
        since = len(api.sent)
        api.push_update(lan.press(*find_button(api, RESIDENT, r"q:\d+:RKTG")))
        ask_ward = await sent_after(api, since, RESIDENT, t("vi", "report.ask_ward"))
        assert has_button(ask_ward, r"q:\d+:HONGHAI") and has_button(ask_ward, r"q:\d+:BACHDANG")
        offer = await sent_after(api, since, RESIDENT, t("vi", "report.location_prompt"))
        assert api.reply_keyboard(offer) == ["📍 Gửi vị trí"]
        ask_group = await press(
            api, lan, r"q:\d+:HONGHAI", t("vi", "report.ask_place", ward="Phường Hồng Hải")
        )
        assert has_button(ask_group, r"q:\d+:HH-TDP03")
        await press(api, lan, r"q:\d+:HH-TDP03", t("vi", "report.ask_description", limit="2.000"))
        ask_photos = await push(
            api,
            lan.text("Rác ở đầu ngõ 12 ba ngày nay không ai thu gom."),
            RESIDENT,
            first_line_of("report.ask_photos", "vi"),
        )
        assert has_button(ask_photos, r"q:\d+:d")
        review = await press(api, lan, r"q:\d+:d", first_line_of("report.review", "vi"))
        assert "Rác không được thu gom" in (review.text or "")
        assert says(review.text, "report.review", area="Tổ dân phố 3, Phường Hồng Hải")
        assert "ngõ 12 ba ngày" in (review.text or "")

        since = len(api.sent)
        api.push_update(lan.press(*find_button(api, RESIDENT, r"q:\d+:ok")))
        filed = await sent_after(api, since, RESIDENT, first_line_of("report.filed", "vi"), CODE)
        # the injected clock, +2 days
        assert says(filed.text, "report.filed", code=CODE, due="25/11/2026 09:00")

        # The cadre gets the task card, with the task buttons.
        card = await sent_after(api, since, CADRE, CODE, t("vi", "task.new_header"))
        assert "Rác không được thu gom" in (card.text or "")
        assert says(card.text, "task.card", area="Tổ dân phố 3, Phường Hồng Hải")
        assert [d for _, d in api.buttons(card)] == ["a:1", "r:1", "t:1", "j:1", "h:1"]
        assert ("✋ Tiếp nhận", "a:1") in api.buttons(card)

        # Acknowledge: the cadre is told, the card loses that button, the resident is told.
        since = len(api.sent)
        api.push_update(thang.press(card, "a:1"))
        await sent_after(api, since, CADRE, t("vi", "task.acknowledged", code=CODE))
        await sent_after(api, since, RESIDENT, first_line_of("notify.acknowledged", "vi"), CODE)
        await api.wait_until(lambda: not has_button(card, "a:1"))
        assert has_button(card, "r:1")

        # Resolve: a note, then skip the photo.
        await push(api, thang.press(card, "r:1"), CADRE, t("vi", "resolve.ask_note", code=CODE))
        ask_photo = await push(
            api, thang.text(NOTE), CADRE, t("vi", "resolve.ask_photo", code=CODE)
        )
        assert has_button(ask_photo, r"q:\d+:s")
        since = len(api.sent)
        api.push_update(thang.press(*find_button(api, CADRE, r"q:\d+:s")))
        await sent_after(api, since, CADRE, t("vi", "task.resolved", code=CODE))
        verdict = await sent_after(
            api, since, RESIDENT, first_line_of("notify.resolved", "vi"), CODE, NOTE
        )
        assert [d for _, d in api.buttons(verdict)] == ["f:1", "n:1"]
        await api.wait_until(lambda: not api.buttons(card))  # nothing left for the cadre to do

        # The resident confirms and rates; the cadre hears both.
        since = len(api.sent)
        api.push_update(lan.press(verdict, "f:1"))
        await sent_after(api, since, RESIDENT, t("vi", "resident.thanks_confirmed", code=CODE))
        ask_rating = await sent_after(api, since, RESIDENT, t("vi", "rate.ask", code=CODE))
        await sent_after(api, since, CADRE, t("vi", "notify.confirmed", code=CODE))
        assert not api.buttons(verdict)
        assert has_button(ask_rating, r"q:\d+:5")
        since = len(api.sent)
        api.push_update(lan.press(*find_button(api, RESIDENT, r"q:\d+:5")))
        await sent_after(api, since, RESIDENT, t("vi", "rate.thanks", stars=5))
        await sent_after(api, since, CADRE, t("vi", "notify.rated", code=CODE, stars=5))

        # Every press was answered, nothing went wrong, and all of it went over the wire.
        presses = [
            u["callback_query"]["id"]
            for p in (lan, thang)
            for u in p.updates
            if "callback_query" in u
        ]
        assert set(presses) <= set(api.callback_answers)
        error = first_line_of("fallback.error", "vi")
        assert not [m.text for m in api.sent if error in (m.text or "")]
        assert api.calls[0].method == "getMe"
        default_menus = [c for c in api.calls_to("setMyCommands") if "chat_id" not in str(c.params)]
        assert len(default_menus) == 2  # Vietnamese default, and English; staff chats apart
        assert {c["command"] for cs in api.commands.values() for c in cs} >= {"new", "start"}
        assert len(api.calls_to("getUpdates")) > len(presses)
        assert api.tokens_seen == {TOKEN}

        # Stop while a long-poll is parked: it must not be waited out.
        await api.wait_until(is_parked_poll(api))
        began = time.monotonic()
        await runtime.stop()
        await server.stop()
        elapsed = time.monotonic() - began
    assert elapsed < LONG_POLL.total_seconds() / 6, f"stopping took {elapsed:.2f}s"
    assert api.pending_updates == []  # the last getUpdates confirmed the offset
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    # The file named by PHANANH_DB holds the whole story.
    db = await Database.open(db_path)
    try:
        [complaint] = await SqliteStore(db).all_complaints()
    finally:
        await db.close()
    assert (complaint.code, complaint.category, complaint.area) == (CODE, "RKTG", "HH-TDP03")
    assert (complaint.owner, complaint.state, complaint.rating) == ("cb-hh-mt", State.CONFIRMED, 5)
    assert complaint.resolution_note == NOTE


# ---- 2. the real command line ---------------------------------------------------------------


async def reap(
    proc: asyncio.subprocess.Process, output: asyncio.Future[tuple[bytes, bytes]]
) -> str:
    """Kill the process if it still runs; return what it wrote, for a failure's report."""
    if proc.returncode is None:
        proc.kill()
    stdout, stderr = await output
    return (stdout + stderr).decode(errors="replace")


async def until_called(
    api: FakeBotApi, method: str, output: asyncio.Future[tuple[bytes, bytes]]
) -> None:
    """Wait until the subprocess calls `method`; fail at once if it exits first."""
    called = asyncio.ensure_future(
        api.wait_until(lambda: bool(api.calls_to(method)), CLI_START_TIMEOUT)
    )
    racers: set[asyncio.Future[Any]] = {called, output}
    await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    if not called.done():
        called.cancel()
        await asyncio.gather(called, return_exceptions=True)
        pytest.fail(f"the bot exited before calling {method}")
    called.result()


@pytest.mark.both_engines
async def test_cli_run_polls_answers_and_stops_on_sigterm(
    server: HttpFakeBotApi, tmp_path: Path, where: Path | PostgresUrl
) -> None:
    """`phananh run` as the operator starts it, on the database PHANANH_DB
    names: a file, or a PostgreSQL server (whose password it never prints)."""
    api = server.api
    await load_example_org(where)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    env.update(bot_environ(server, CLI_TOKEN, where))
    minh = FakeUser(api, 601, "Minh")

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output = asyncio.ensure_future(proc.communicate())  # drained all along: pipes never fill
    try:
        await until_called(api, "getUpdates", output)
        default_menus = [c for c in api.calls_to("setMyCommands") if "chat_id" not in str(c.params)]
        assert api.calls_to("getMe")
        assert len(default_menus) == 2
        polls = api.calls_to("getUpdates")
        assert polls[0].params.get("allowed_updates") == [
            "message",
            "edited_message",
            "callback_query",
            "my_chat_member",  # blocked or unblocked (handlers/reach.py)
        ]

        greeting = await push(
            api, minh.command("start"), minh.user_id, t("vi", "start.greeting", name="Minh")
        )
        assert api.buttons(greeting) == [("📝 Gửi phản ánh mới", "new")]

        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(CLI_STOP_TIMEOUT):
            stdout, stderr = await asyncio.shield(output)
        elapsed = time.monotonic() - began
    except BaseException as failure:
        failure.add_note(f"bot output:\n{await reap(proc, output)}")
        raise
    assert proc.returncode == 0, stderr.decode(errors="replace")
    assert elapsed < 5, f"stopping took {elapsed:.2f}s"
    assert api.pending_updates == []  # it confirmed the offset before leaving
    assert api.tokens_seen == {CLI_TOKEN}
    text = (stdout + stderr).decode(errors="replace")
    assert "long polling" in text  # the run path wrote here: the next check means something
    assert CLI_TOKEN not in text and CLI_TOKEN.split(":")[1] not in text
    if isinstance(where, PostgresUrl):
        assert where.password.reveal() not in text
    async with opened(where) as storage:  # Minh's /start reached the database PHANANH_DB names
        assert await storage.store.find_person("telegram", str(minh.user_id)) is not None
