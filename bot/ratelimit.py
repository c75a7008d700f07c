"""Keeping under Telegram's flood limits without wasting them.

Telegram lets a bot send about 30 messages a second (20 a minute into one
group) and answers 429 "retry after" above that.  PTB's AIORateLimiter
counts every call that names a chat — removing a keyboard or answering a
button press too — against the 30, and its bucket lets a burst of 60 through
in the first second.  Here only messages count (the `send…` methods); they
leave at least 1/30 s apart and never more than 30 within 1.025 s, so no
one-second window at Telegram holds more than 30 even with a little jitter
(29.3 a second when busy); a 429 that slips
through anyway pauses every send for the time Telegram asks, then is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 30  # the spacing between two messages: 1/30 s
WINDOW_MESSAGES = 30  # and at most 30 in any window of
WINDOW_SECONDS = 1.025  # seconds: 29.3 a second when busy
GROUP_MESSAGES_PER_MINUTE = 20

Result = bool | dict[str, Any] | list[dict[str, Any]]


def is_message(endpoint: str) -> bool:
    return endpoint.startswith("send") and endpoint != "sendChatAction"


class MessagePacer(BaseRateLimiter[int]):
    __slots__ = ("_gap", "_groups", "_lock", "_next", "_resume_at", "_window", "max_retries")

    def __init__(self, per_second: float = MESSAGES_PER_SECOND, max_retries: int = 1) -> None:
        self._gap = 1 / per_second
        self.max_retries = max_retries
        self._lock = asyncio.Lock()
        self._next = 0.0  # loop time before which no message may leave
        self._resume_at = 0.0  # end of a 429's pause
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._window: deque[float] = deque(maxlen=WINDOW_MESSAGES)  # the latest slots

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def _turn(self) -> None:
        """Wait for this message's slot: slots are handed out one at a time
        and `_gap` apart, in the order they were asked for, and never more
        than `WINDOW_MESSAGES` within `WINDOW_SECONDS` (a little over one
        second, so a message that reaches Telegram a few milliseconds late
        cannot make a 31st in its count)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            slot = max(now, self._next, self._resume_at)
            if len(self._window) == WINDOW_MESSAGES:
                slot = max(slot, self._window[0] + WINDOW_SECONDS)
            self._window.append(slot)
            self._next = slot + self._gap
        if slot > now:
            await asyncio.sleep(slot - now)

    def _group_limiter(self, chat_id: object) -> contextlib.AbstractAsyncContextManager[Any]:
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
            if chat_id not in self._groups:
                self._groups[chat_id] = AsyncLimiter(GROUP_MESSAGES_PER_MINUTE, 60)
            return self._groups[chat_id]
        return contextlib.nullcontext()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        if not is_message(endpoint):
            return await callback(*args, **kwargs)
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        async with self._group_limiter(data.get("chat_id")):
            for attempt in range(retries + 1):
                await self._turn()
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    if attempt == retries:
                        raise
                    wait = exc.retry_after
                    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
                    log.warning("Telegram asked to slow down: pausing sends for %.1f s", seconds)
                    loop = asyncio.get_running_loop()
                    self._resume_at = max(self._resume_at, loop.time() + seconds + 0.1)
        raise AssertionError("unreachable")  # pragma: no cover
