"""The bot's one periodic job, on a scheduler of its own.

Everything timed lives in the database (due reminders, escalations, the
briefing, the digest, outbox retries), so the bot needs no job per
complaint: one loop that runs the job now and then every ``interval``
seconds is all.  It used to be python-telegram-bot's JobQueue (APScheduler
inside), which tied the sweep to one channel's library; this loop belongs
to the runtime and serves every channel (bot/runtime.py gives it `tick`:
the sweep, then each channel's outbox).

The interval is measured from the end of one run to the start of the next,
so a slow run is never overlapped by the next one.  A run that fails is
logged and the loop goes on: the next run does the same work again.
Stopping lets a run under way finish for a few seconds, then cuts it off:
the catch-up after a long downtime can send for minutes, and everything it
had not done yet is still in the database for the next start (the sweep's
transactions roll back, unsent outbox rows stay due).

The wait between runs is injected (`Pause`), so tests see the interval the
loop asks for without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
STOP_GRACE = 5.0  # seconds stopping waits for a run under way
# Waits ``seconds``, or less when the event is set (the scheduler stops).
Pause = Callable[[float, asyncio.Event], Awaitable[None]]


async def pause(seconds: float, stop: asyncio.Event) -> None:
    """The real wait: ``seconds`` of the event loop's clock, cut short by ``stop``."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class Scheduler:
    def __init__(
        self, job: Job, interval: float, *, name: str = "sweep", wait: Pause = pause
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.job = job
        self.interval = interval
        self.name = name
        self._wait = wait
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0  # finished runs, failed ones included

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, *, at_once: bool = True) -> None:
        """Run the job now (``at_once``: the catch-up after a start) or after
        the first interval, then every interval, in the background."""
        if self._task is not None:
            raise RuntimeError("the scheduler was started already")
        self._task = asyncio.create_task(self._loop(at_once), name=f"scheduler:{self.name}")

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """No run after this one: a run under way may finish within
        ``grace`` seconds, else it is cut off."""
        self._stop.set()
        task = self._task
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.info("the periodic %s was cut off by the stop; the rest stays due", self.name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, at_once: bool) -> None:
        if not at_once:
            await self._wait(self.interval, self._stop)
        while not self._stop.is_set():
            await self._run_once()
            await self._wait(self.interval, self._stop)

    async def _run_once(self) -> None:
        try:
            await self.job()
        except Exception:
            log.exception(
                "the periodic %s failed; it runs again in %.0f s", self.name, self.interval
            )
        finally:
            self.runs += 1
