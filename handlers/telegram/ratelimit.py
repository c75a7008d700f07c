"""Keeping under Telegram's flood limits without wasting them.

Telegram lets a bot send about 30 messages a second (20 a minute into one
group) and answers 429 "retry after" above that.  PTB's AIORateLimiter
counts every call that names a chat — removing a keyboard or answering a
button press too — against the 30, and its bucket lets a burst of 60 through
in the first second.  Here only messages count (the `send…` methods); they
leave at least 1/30 s apart and never more than 30 within 1.025 s, so no
one-second window at Telegram holds more than 30 even with a little jitter
(29.3 a second when busy).

A 429 that slips through anyway pauses only what it is about.  Telegram does
not say whether it counted the chat (one message a second into a private
chat, 20 a minute into a group) or the bot as a whole; the bot's own count
does: when the last 30 messages left within the last few seconds, the whole
bot was at its ceiling and every send waits; otherwise only that chat does,
and every other chat goes on at once.  A call made with `no_waiting()` (the
outbox's) is not held for a chat's pause at all: its 429 comes straight back
as `RetryAfter`, and the outbox retries the row (and holds that person's
next rows) by its own clock, so one chat's wait never holds up a pass that
has other people's messages in it.

With several bot processes on one PostgreSQL database, the 30 a second are
the bot's, not each process's: each message's slot is then reserved in the
database (`SharedPace`, storage/postgres/pace.py), in one bucket all
processes draw from, evenly `1 / SHARED_PER_SECOND` apart (27.5 a second:
slack for a message that leaves its process later than its slot), and a
429 that says the bot as a whole was too fast holds every process's bucket.  Should the database not
answer, the process paces itself as above.  The per-group and per-chat
pauses stay each process's own: a chat's updates are handled by one process
at a time, and the bot only ever answers a group with one pointer message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.app.pacing import SharedSlots
from bot.domain.channels import TELEGRAM
from bot.ports import SharedPace

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 30  # the spacing between two messages: 1/30 s
WINDOW_MESSAGES = 30  # and at most 30 in any window of
WINDOW_SECONDS = 1.025  # seconds: 29.3 a second when busy
GROUP_MESSAGES_PER_MINUTE = 20
# A reply to an update is sent again after each 429, waiting as Telegram says, up
# to so many times: with one retry, two 429s in a row (a busy second) left the
# resident with the error message instead of their answer.
REPLY_RETRIES = 3

Result = bool | dict[str, Any] | list[dict[str, Any]]


# Shared by several processes, slots are this many a second: a slot is
# reserved at the database and the message leaves when its process gets to
# it, a few milliseconds late or more on a busy machine, and reaches Telegram
# after the network's own jitter, so 30 slots of a shared second could reach
# it within less than a second.  At 27.5 a second the 31st message leaves
# 1.09 s after the first: 90 ms of slack (bot/app/pacing.py takes 10 of them
# for a process's own lateness).  At 28 (70 ms) the scale-out benchmark's
# capped run still met a 429 in most runs on a busy two-core machine; at 27.5,
# none in three, at 27.2-27.3 messages a second together.
SHARED_PER_SECOND = 27.5

# How recently the 30th-latest message must have left for a 429 to count as
# the bot's global limit rather than one chat's.
GLOBAL_SECONDS = 2.0

_no_waiting: ContextVar[bool] = ContextVar("no_waiting", default=False)


@contextlib.contextmanager
def no_waiting() -> Iterator[None]:
    """Within this block, a send that would have to wait out a 429 raises
    `RetryAfter` instead (the caller has a clock of its own to retry by)."""
    token = _no_waiting.set(True)
    try:
        yield
    finally:
        _no_waiting.reset(token)


def is_message(endpoint: str) -> bool:
    return endpoint.startswith("send") and endpoint != "sendChatAction"


def _chat_key(chat_id: object) -> int | str | None:
    """A chat id as PTB passes it (an int, or an @channel name)."""
    if isinstance(chat_id, int | str):
        with contextlib.suppress(ValueError):
            return int(chat_id)
        return chat_id
    return None


class MessagePacer(BaseRateLimiter[int]):
    __slots__ = (
        "_chat_resume",
        "_gap",
        "_groups",
        "_lock",
        "_next",
        "_resume_at",
        "_shared",
        "_shared_busy_at",
        "_slots",
        "_window",
        "max_retries",
    )

    def __init__(
        self,
        per_second: float = MESSAGES_PER_SECOND,
        max_retries: int = REPLY_RETRIES,
        *,
        shared: SharedPace | None = None,
    ) -> None:
        self._gap = 1 / per_second
        self.max_retries = max_retries
        self._shared = shared
        self._shared_busy_at = -GLOBAL_SECONDS  # when a shared slot last had to wait
        self._slots = SharedSlots()
        self._lock = asyncio.Lock()
        self._next = 0.0  # loop time before which no message may leave
        self._resume_at = 0.0  # end of a global 429's pause
        self._chat_resume: dict[int | str, float] = {}  # end of one chat's 429 pause
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._window: deque[float] = deque(maxlen=WINDOW_MESSAGES)  # the latest slots

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def _turn(self) -> None:
        """Wait for this message's slot: the bot's, shared by every process
        (when shared), else this process's own."""
        if self._shared is not None and await self._shared_turn(self._shared):
            return
        await self._own_turn()

    async def _shared_turn(self, shared: SharedPace) -> bool:
        """This message's slot in the bucket every process draws from; False
        when the database did not answer (the process paces itself)."""
        loop = asyncio.get_running_loop()
        if self._resume_at > loop.time():  # a global 429 this process heard
            await asyncio.sleep(self._resume_at - loop.time())
        if await self._slots.wait(lambda: self._shared_slot(shared)) is None:
            return False
        # The slot the message leaves in, once (a slot given up for being late is not).
        self._window.append(asyncio.get_running_loop().time())
        return True

    async def _shared_slot(self, shared: SharedPace) -> float:
        """One slot of the shared bucket: the seconds until it."""
        wait = await shared.slot(TELEGRAM, 1 / SHARED_PER_SECOND)
        if wait > 0:
            self._shared_busy_at = asyncio.get_running_loop().time()
        return wait

    async def _own_turn(self) -> None:
        """Slots handed out one at a time and `_gap` apart, in the order
        they were asked for, and never more than `WINDOW_MESSAGES` within
        `WINDOW_SECONDS` (a little over one second, so a message that
        reaches Telegram a few milliseconds late cannot make a 31st in its
        count)."""
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

    def _group_limiter(self, chat: int | str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        if (isinstance(chat, int) and chat < 0) or isinstance(chat, str):
            if chat not in self._groups:
                self._groups[chat] = AsyncLimiter(GROUP_MESSAGES_PER_MINUTE, 60)
            return self._groups[chat]
        return contextlib.nullcontext()

    def _at_the_ceiling(self, now: float) -> bool:
        """Whether the bot as a whole was sending at Telegram's limit: this
        process's last 30 messages left within the last moments, or (shared)
        the bucket every process draws from made a message wait lately."""
        full = len(self._window) == WINDOW_MESSAGES
        if full and now - self._window[0] <= GLOBAL_SECONDS:
            return True
        return self._shared is not None and now - self._shared_busy_at <= GLOBAL_SECONDS

    async def _pause(self, chat: int | str | None, seconds: float) -> None:
        """Record a 429: the whole bot (every process, when shared), or
        only this chat, waits ``seconds``."""
        now = asyncio.get_running_loop().time()
        until = now + seconds + 0.1
        if chat is None or self._at_the_ceiling(now):
            log.warning("Telegram asked the bot to slow down: pausing sends for %.1f s", seconds)
            self._resume_at = max(self._resume_at, until)
            if self._shared is not None:
                with contextlib.suppress(Exception):  # paced alone meanwhile (_shared_turn)
                    await self._shared.hold(TELEGRAM, seconds + 0.1)
        else:
            log.warning("Telegram asked to slow down in one chat: pausing it for %.1f s", seconds)
            self._chat_resume[chat] = max(self._chat_resume.get(chat, 0.0), until)

    async def _chat_turn(self, chat: int | str | None) -> None:
        """Wait out this chat's own pause, if any (`no_waiting` callers keep
        their own schedule for it)."""
        if chat is None or chat not in self._chat_resume or _no_waiting.get():
            return
        left = self._chat_resume[chat] - asyncio.get_running_loop().time()
        if left <= 0:
            del self._chat_resume[chat]
            return
        await asyncio.sleep(left)

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
        if _no_waiting.get():
            retries = 0
        chat = _chat_key(data.get("chat_id"))
        async with self._group_limiter(chat):
            for attempt in range(retries + 1):
                await self._chat_turn(chat)
                await self._turn()
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    wait = exc.retry_after
                    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
                    await self._pause(chat, seconds)
                    if attempt == retries:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover
