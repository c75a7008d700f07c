"""Delivering the outbox over Telegram: the shared delivery loop
(bot/app/outbox.py: parts recorded as accepted, retries, give-up, each
person's rows in order) with Telegram's side of it.

- A row's messages become Bot API calls in handlers/telegram/sender.py.
- Telegram's errors: a 429 is waited out by the row (not a failure; the
  rate limiter hands it straight back, `no_waiting`); 403 means the person
  blocked the bot or never started it; 400 means Telegram refused the
  message itself (a photo or a pin so refused is skipped, the rest goes);
  anything else from Telegram (the network, 5xx) is retried with backoff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.app.digests import Digests
from bot.app.notify import Room
from bot.app.outbox import (
    BATCH,
    GIVE_UP_AFTER,
    PARALLEL_RECIPIENTS,
    Failure,
    OutboxLoop,
    Part,
    Verdict,
    backoff,
)
from bot.app.outgoing import Outgoing
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.domain.channels import TELEGRAM
from bot.ports import OutboxItem
from handlers.telegram.ratelimit import no_waiting
from handlers.telegram.render import TEXT_LIMIT, Renderer, utf16_len
from handlers.telegram.sender import TelegramSender, chat_of

__all__ = [
    "BATCH",
    "GIVE_UP_AFTER",
    "PARALLEL_RECIPIENTS",
    "TELEGRAM_ROOM",
    "OutboxSender",
    "TelegramTransport",
    "backoff",
]

# What one Telegram message holds, measured as Telegram measures it: a
# list of tasks is cut to this (bot/app/notify.py).
TELEGRAM_ROOM = Room(TEXT_LIMIT, utf16_len)


class TelegramTransport:
    """Telegram's side of the delivery loop."""

    channel = TELEGRAM
    room = TELEGRAM_ROOM

    def __init__(self, bot: Bot, services: Services) -> None:
        self.services = services
        self.telegram = TelegramSender(bot, services)

    def parts(self, item: OutboxItem, actor: Actor, messages: Sequence[Outgoing]) -> list[Part]:
        parts = self.telegram.parts(chat_of(item), actor, messages)
        return [
            Part(p.key, p.send, p.optional, self._buttons(p.buttons_of, actor))
            if p.buttons_of is not None
            else Part(p.key, p.send, p.optional)
            for p in parts
        ]

    def _buttons(self, complaint_id: int, actor: Actor) -> Callable[[object], Awaitable[None]]:
        """Where the complaint's buttons now are, for redrawing them later."""

        async def remember(sent: object) -> None:
            if isinstance(sent, Message):
                await self.services.remember_buttons(
                    complaint_id, actor, str(sent.chat_id), str(sent.message_id)
                )

        return remember

    def judge(self, error: Exception) -> Failure | None:
        if isinstance(error, RetryAfter):
            wait: timedelta | int = error.retry_after
            delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
            return Failure(Verdict.WAIT, "retry_after", delay)
        if isinstance(error, Forbidden):
            return Failure(Verdict.UNREACHABLE, "forbidden")
        if isinstance(error, BadRequest):
            return Failure(Verdict.REFUSED, f"bad_request: {error.message}")
        if isinstance(error, NetworkError | TelegramError):
            return Failure(Verdict.RETRY, type(error).__name__)
        return None

    def sending(self) -> AbstractContextManager[None]:
        # A 429 reschedules the row; it never holds up the pass.
        return no_waiting()


class OutboxSender(OutboxLoop):
    """The outbox loop over this bot."""

    def __init__(
        self, services: Services, renderer: Renderer, bot: Bot, digests: Digests | None = None
    ) -> None:
        super().__init__(services, renderer, TelegramTransport(bot, services), digests)
