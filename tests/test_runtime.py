"""The composition root (bot/runtime.py) and the scheduler (bot/scheduler.py).

The command line, the running bot, the demo and the tests build the use
cases in one place, with every setting that reaches them; the periodic job
is a loop of the runtime's own — the sweep, then each channel's outbox, at
once and then every `sweep_seconds` — and it stops cleanly.  The loop's
wait is injected, so nothing here waits for an interval to pass."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.error import InvalidToken

from bot.app.services import Services
from bot.cli.console import services_of
from bot.domain.clock import ManualClock
from bot.domain.digest import DigestSchedule
from bot.domain.orgchart import OrgChart
from bot.http import HttpServer
from bot.ports import Channel
from bot.runtime import ChannelFactory, Core, running, serve
from bot.sandbox.driver import BotDriver, driven
from bot.sandbox.telegram import FakeBotApi
from bot.scheduler import Scheduler
from handlers.telegram.channel import Polling, TelegramChannel
from handlers.telegram.links import TelegramLinks
from tests.factories import (
    ENVIRONMENT_CADRE,
    fake_telegram,
    file_sanitation_report,
    joined,
    load_chart,
    settings_for,
    to,
)

ROOT = Path(__file__).resolve().parents[1]


class HeldWait:
    """The scheduler's wait, held by the test: it records each interval
    asked for and returns when the test lets it (or the scheduler stops)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._go = asyncio.Event()
        self._waiting = asyncio.Event()

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.asked.append(seconds)
        self._waiting.set()
        waits = {asyncio.ensure_future(self._go.wait()), asyncio.ensure_future(stop.wait())}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        self._go.clear()

    async def reached(self) -> None:
        """Until the loop waits (again)."""
        await asyncio.wait_for(self._waiting.wait(), 5)
        self._waiting.clear()

    def release(self) -> None:
        self._go.set()


class RecordingChannel:
    """A second channel that only notes what the runtime asks of it (and
    can fail its flush, like a messenger that is down)."""

    name = "recording"

    def __init__(self, calls: list[str], *, failing: bool = False) -> None:
        self.calls = calls
        self.failing = failing
        self._stopped = asyncio.Event()

    @property
    def links(self) -> TelegramLinks:
        return TelegramLinks("recording_bot")

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")
        self._stopped.set()

    async def flush(self) -> None:
        self.calls.append("flush")
        if self.failing:
            raise RuntimeError("this channel's messenger is down")

    async def closed(self) -> None:
        await self._stopped.wait()


def recording(calls: list[str], *, failing: bool = False) -> ChannelFactory:
    def build(core: Core, http: HttpServer) -> Channel:
        return RecordingChannel(calls, failing=failing)

    return build


@pytest.fixture
async def db_path(tmp_path: Path, chart: OrgChart) -> Path:
    path = tmp_path / "bot.db"
    await load_chart(path, chart)
    return path


# ---- the periodic job -------------------------------------------------------------------------


async def test_a_tick_sweeps_then_flushes_each_channel(
    db_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The reminder the sweep writes goes out in the same tick (the sweep
    ran before the flush), and every channel is asked for its outbox: one
    that fails is logged and holds up none of the others."""
    api = FakeBotApi()
    calls: list[str] = []
    channels = [recording(calls, failing=True), fake_telegram(api)]
    async with running(settings_for(db_path), clock=clock, channels=channels) as runtime:
        assert calls == ["start", "flush"], "started, then the catch-up tick"
        bot = BotDriver(runtime, api)
        await file_sanitation_report(bot, bot.user(501, "An"))
        clock.advance(timedelta(hours=4))
        sent = await bot.tick()
        assert calls == ["start", "flush", "flush"]
    assert calls[-1] == "stop"
    assert "chưa tiếp nhận" in joined(to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng")))
    failed = [r for r in caplog.records if r.getMessage() == "sending the recording outbox failed"]
    assert len(failed) == 2 and all(r.levelno == logging.ERROR for r in failed)


async def test_the_scheduler_runs_at_once_then_every_sweep_seconds(
    db_path: Path, clock: ManualClock
) -> None:
    """`phananh run`'s scheduler: the first tick is the catch-up after the
    start, then one every PHANANH_SWEEP_SECONDS, each waiting that long."""
    calls: list[str] = []
    wait = HeldWait()
    settings = settings_for(db_path, sweep_seconds=45)
    async with running(
        settings, clock=clock, channels=[recording(calls)], scheduled=True, wait=wait
    ) as runtime:
        await wait.reached()
        assert (runtime.scheduler.runs, wait.asked, calls) == (1, [45], ["start", "flush"])
        for tick in (2, 3):
            wait.release()
            await wait.reached()
            assert (runtime.scheduler.runs, wait.asked) == (tick, [45] * tick)
        assert calls == ["start", "flush", "flush", "flush"]
    assert calls[-1] == "stop"
    assert not runtime.scheduler.running


async def test_a_scheduler_started_late_waits_one_interval_first() -> None:
    runs: list[int] = []
    wait = HeldWait()

    async def job() -> None:
        runs.append(len(runs))

    scheduler = Scheduler(job, 30, wait=wait)
    scheduler.start(at_once=False)
    await wait.reached()
    assert (runs, wait.asked) == ([], [30])
    wait.release()
    await wait.reached()
    assert (runs, wait.asked) == ([0], [30, 30])
    await scheduler.stop()
    with pytest.raises(RuntimeError, match="started already"):
        scheduler.start()
    with pytest.raises(ValueError, match="positive"):
        Scheduler(job, 0)


async def test_stopping_between_runs_does_not_wait_out_the_interval() -> None:
    """The real wait: an hour's interval, and stopping returns at once."""
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    scheduler = Scheduler(job, 3600)
    scheduler.start()
    await asyncio.wait_for(ran.wait(), 5)
    async with asyncio.timeout(5):
        await scheduler.stop()
    assert (scheduler.runs, scheduler.running) == (1, False)


async def test_stopping_lets_the_run_under_way_finish_and_starts_no_other() -> None:
    release = asyncio.Event()
    began = asyncio.Event()
    finished: list[bool] = []

    async def job() -> None:
        began.set()
        await release.wait()
        finished.append(True)

    wait = HeldWait()
    scheduler = Scheduler(job, 30, wait=wait)
    scheduler.start()
    await asyncio.wait_for(began.wait(), 5)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)  # stop has been asked for; the run still holds
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert finished == [True]
    assert scheduler.runs == 1
    assert wait.asked == [30], "it waited once, cut short by the stop, and ran no more"


async def test_stopping_cuts_off_a_run_that_outlasts_the_grace() -> None:
    """The catch-up after a long downtime can send for minutes; a stop
    does not wait for all of it (what it had not sent stays in the outbox)."""
    began = asyncio.Event()
    cut_off: list[bool] = []

    async def job() -> None:
        began.set()
        try:
            await asyncio.Event().wait()  # a run that would never end by itself
        except asyncio.CancelledError:
            cut_off.append(True)
            raise

    scheduler = Scheduler(job, 30, wait=HeldWait())
    scheduler.start()
    await asyncio.wait_for(began.wait(), 5)
    await asyncio.wait_for(scheduler.stop(grace=0), 5)
    assert (cut_off, scheduler.running, scheduler.runs) == ([True], False, 1)


async def test_a_failed_run_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def job() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the database was locked")

    wait = HeldWait()
    scheduler = Scheduler(job, 30, wait=wait)
    scheduler.start()
    await wait.reached()
    wait.release()
    await wait.reached()
    await scheduler.stop()
    assert calls == [0, 1]
    [failure] = [r for r in caplog.records if r.name == "bot.scheduler"]
    assert failure.getMessage() == "the periodic sweep failed; it runs again in 30 s"
    assert failure.exc_info is not None


async def test_a_channel_that_stops_receiving_on_its_own_stops_the_bot_cleanly(
    db_path: Path, clock: ManualClock
) -> None:
    """A token revoked while the bot runs: the long poll gets 401, and
    `phananh run` stops (every part stopped in order) with that error,
    which the command line turns into one line."""
    api = FakeBotApi()
    built: list[TelegramChannel] = []

    def telegram_polling(core: Core, http: HttpServer) -> Channel:
        channel = fake_telegram(api, Polling())(core, http)
        assert isinstance(channel, TelegramChannel)
        built.append(channel)
        return channel

    api.fail_next("getUpdates", error_code=401, description="Unauthorized")
    with pytest.raises(InvalidToken):
        await asyncio.wait_for(
            serve(settings_for(db_path), clock=clock, channels=[telegram_polling]), 10
        )
    [channel] = built
    assert not channel.app.running
    refusal = max(n for n, call in enumerate(api.calls) if call.method == "getUpdates")
    later = {call.method for call in api.calls[refusal + 1 :]}
    # Only the staff chats' menus, set in the background since the start, may still go.
    assert later <= {"setMyCommands"}, "nothing was polled or sent after the refusal"


# ---- one composition root -----------------------------------------------------------------------


def knobs(services: Services) -> dict[str, Any]:
    """Everything the settings decide in the use cases."""
    return {
        "max_reports_per_hour": services.max_reports_per_hour,
        "anonymous_by_default": services.anonymous_by_default,
        "locate_max_km": services.locate_max_km,
        "default_language": services.default_language,
        "calendar": services.schedule.calendar,
        "quiet": services.schedule.quiet,
    }


async def test_the_command_line_and_the_running_bot_build_the_same_use_cases(
    db_path: Path, clock: ManualClock
) -> None:
    """Each setting that reaches the use cases, away from its default: the
    command line's services (what `phananh staff deactivate` or `org import`
    act with) and the running bot's agree on all of them.  (The command line
    used to build its own, with the default report limit, anonymity,
    distance and calendar.)"""
    settings = settings_for(
        db_path,
        max_reports_per_hour=3,
        anonymous_by_default=False,
        locate_max_km=2.5,
        default_language="en",
        work_start=time(8, 0),
        work_end=time(16, 30),
        work_days=frozenset(range(6)),
        holidays=frozenset({date(2026, 11, 24), date(2027, 1, 1)}),
        quiet_start=time(22, 0),
        quiet_end=time(6, 0),
        briefing_time=time(8, 15),
        digest=DigestSchedule(1, time(9, 0)),
    )
    defaults = settings_for(db_path)
    async with services_of(settings) as cli:
        from_cli = knobs(cli)
    async with driven(settings, clock) as bot:
        from_bot = knobs(bot.services)
        sweeper, digests = bot.runtime.sweeper, bot.digests
    async with services_of(defaults) as default_cli:
        assert knobs(default_cli) != from_cli, "every setting above is away from its default"
    assert from_cli == from_bot
    assert from_bot == {
        "max_reports_per_hour": 3,
        "anonymous_by_default": False,
        "locate_max_km": 2.5,
        "default_language": "en",
        "calendar": settings.calendar(),
        "quiet": settings.quiet_hours(),
    }
    assert (sweeper.briefing_at, digests.schedule) == (time(8, 15), DigestSchedule(1, time(9, 0)))
    assert sweeper.services is bot.services and digests.services is bot.services


def test_the_use_cases_are_built_in_the_composition_root_only() -> None:
    """Three places used to build `Services` with different arguments (the
    bot's start-up, the command line, `phananh digest`): now one does."""
    built = re.compile(r"(?<!class )\b(?:Services|Digests|Sweeper)\(")
    places = sorted(
        str(path.relative_to(ROOT))
        for folder in ("bot", "handlers", "storage")
        for path in (ROOT / folder).rglob("*.py")
        if built.search(path.read_text(encoding="utf-8"))
    )
    assert places == ["bot/runtime.py"]


async def test_a_running_bot_reads_its_settings_once(db_path: Path, clock: ManualClock) -> None:
    settings = settings_for(db_path, sweep_seconds=120)
    async with running(settings, clock=clock, channels=[]) as runtime:
        assert runtime.settings is settings
        assert runtime.scheduler.interval == 120
        assert runtime.channels == ()
        with pytest.raises(LookupError):
            runtime.channel("zalo")
        assert not runtime.http.listening, "no webhook and no public URL: nothing to listen for"


async def test_the_telegram_channel_links_by_the_name_telegram_gave_it(bot: BotDriver) -> None:
    links = bot.runtime.channel("telegram").links
    assert links.invite("K7Q2") == "https://t.me/phananh_bot?start=i-K7Q2"
    assert links.start_report("HH-TDP06") == "https://t.me/phananh_bot?start=a-HH-TDP06"
