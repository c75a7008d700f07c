"""Pacing a channel's messages: at most so many a second, evenly spaced, in
the order they were asked for.

Telegram's pacing lives in its rate limiter (handlers/telegram/ratelimit.py),
fitted to limits Telegram publishes.  A channel whose limits are not
published (Zalo) is paced here at a configured rate, conservative by
default; when the platform says "slow down" anyway (a 429), every send of
the channel waits a moment, and the delivery loop (bot/app/outbox.py)
retries the message and holds that person's next ones.

The wait is injected (like the scheduler's), so tests see the spacing the
pacer asks for without waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    def __init__(
        self,
        per_second: float,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] | None = None,
    ) -> None:
        if per_second <= 0:
            raise ValueError("a rate must be above 0")
        self.gap = 1 / per_second
        self._sleep = sleep
        self._now = now
        self._next = 0.0  # before this moment no message may leave
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds asked to wait so far (what tests read)

    def _time(self) -> float:
        return self._now() if self._now is not None else asyncio.get_running_loop().time()

    async def turn(self) -> None:
        """Wait for this message's slot: slots are handed out one at a
        time, `gap` apart, in the order they were asked for."""
        async with self._lock:
            now = self._time()
            slot = max(now, self._next)
            self._next = slot + self.gap
        if slot > now:
            self.waited += slot - now
            await self._sleep(slot - now)

    def pause(self, seconds: float) -> None:
        """The platform asked to slow down: no message leaves for ``seconds``."""
        self._next = max(self._next, self._time() + seconds)
