"""Pacing a channel's messages: at most so many a second, evenly spaced, in
the order they were asked for.

Telegram's pacing lives in its rate limiter (handlers/telegram/ratelimit.py),
fitted to limits Telegram publishes.  A channel whose limits are not
published (Zalo) is paced here at a configured rate, conservative by
default; when the platform says "slow down" anyway (a 429), every send of
the channel waits a moment, and the delivery loop (bot/app/outbox.py)
retries the message and holds that person's next ones.

With several bot processes on one PostgreSQL database the rate is the
bot's, not each process's: each slot is then reserved in the database
(`SharedPace`), in one bucket every process draws from, and a "slow down"
one process hears holds them all (at its next send).  Should the database
not answer, the process paces itself.

The wait is injected (like the scheduler's), so tests see the spacing the
pacer asks for without waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.ports import SharedPace

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# A process that wakes for its slot more than `LATE_SECONDS` late (its event
# loop was busy) takes a new slot rather than send at once: every message
# whose slot passed during the stall would otherwise leave together, a burst
# the platform counts against the bot's rate (Telegram answers 429).  After so
# many late wakes in a row the message goes anyway.
LATE_SLOTS = 3
# How late is late.  Telegram's shared slots, 27.5 a second, keep its 30 in any
# second only if every message reaches it within 90 ms of its slot, all delays
# counted (handlers/telegram/ratelimit.py); the process's own lateness may take
# 10 of them, the rest is the network's and the platform's.  One gap (36 ms)
# was too much: the scale-out benchmark's capped run met 429s.
LATE_SECONDS = 0.010


async def wait_for_shared_slot(
    take: Callable[[], Awaitable[float]],
    *,
    sleep: Sleep = asyncio.sleep,
    now: Callable[[], float] | None = None,
) -> float:
    """Take a slot from the shared bucket (``take`` reserves one and says how
    long until it) and wait for it; a slot missed by more than
    `LATE_SECONDS` is taken again (`LATE_SLOTS`).  Returns the seconds asked
    to wait in all."""
    clock = now or asyncio.get_running_loop().time
    waited = 0.0
    for _ in range(LATE_SLOTS):
        wait = await take()
        due = clock() + wait
        if wait > 0:
            waited += wait
            await sleep(wait)
        if clock() - due <= LATE_SECONDS:
            break
    return waited


class SharedSlots:
    """The bucket every process draws from, as one process uses it: the wait
    for a slot, or None when the database did not answer (the process then
    paces itself; said once in the log until the database answers again)."""

    def __init__(self, *, sleep: Sleep = asyncio.sleep, now: Callable[[], float] | None = None):
        self._sleep = sleep
        self._now = now
        self.failing = False

    async def wait(self, take: Callable[[], Awaitable[float]]) -> float | None:
        """`wait_for_shared_slot` of ``take``: the seconds asked to wait, or None."""
        try:
            waited = await wait_for_shared_slot(take, sleep=self._sleep, now=self._now)
        except Exception as exc:
            if not self.failing:
                log.warning("the shared send rate is out of reach (%s): pacing alone", exc)
            self.failing = True
            return None
        self.failing = False
        return waited


class Pacer:
    def __init__(
        self,
        per_second: float,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] | None = None,
        shared: SharedPace | None = None,
        bucket: str = "",
    ) -> None:
        if per_second <= 0:
            raise ValueError("a rate must be above 0")
        self.gap = 1 / per_second
        self._sleep = sleep
        self._now = now
        self._next = 0.0  # before this moment no message may leave
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds asked to wait so far (what tests read)
        self._shared = shared
        self._slots = SharedSlots(sleep=sleep, now=now)
        self._bucket = bucket
        self._hold = 0.0  # a "slow down" not yet passed on to the shared bucket

    def _time(self) -> float:
        return self._now() if self._now is not None else asyncio.get_running_loop().time()

    async def turn(self) -> None:
        """Wait for this message's slot: slots are handed out one at a
        time, `gap` apart, in the order they were asked for — by every
        process together when shared, else by this one."""
        if self._shared is not None:
            shared = self._shared
            waited = await self._slots.wait(lambda: self._shared_slot(shared))
            if waited is not None:
                self.waited += waited
                return
        async with self._lock:
            now = self._time()
            slot = max(now, self._next)
            self._next = slot + self.gap
        if slot > now:
            self.waited += slot - now
            await self._sleep(slot - now)

    async def _shared_slot(self, shared: SharedPace) -> float:
        """The wait for this message's slot in the shared bucket (a pause
        heard here passed on first)."""
        if self._hold > 0:
            await shared.hold(self._bucket, self._hold)
            self._hold = 0.0
        wait = await shared.slot(self._bucket, self.gap)
        # Slow-downs heard here apply to this process's own pacing too.
        return max(wait, self._next - self._time())

    def pause(self, seconds: float) -> None:
        """The platform asked to slow down: no message leaves for ``seconds``
        (from any process, when shared: passed on at the next send)."""
        self._next = max(self._next, self._time() + seconds)
        self._hold = max(self._hold, seconds)
