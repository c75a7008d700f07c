"""Telegram's side of the operators' metrics (bot/metrics.py): every
update the Application handles, with its kind and how long it took, and
every Bot API call with Telegram's answer.

Both are taken at the one place everything passes: `Application.process_update`
(long polling, the webhook's stored updates and the tests' driver all call
it) and the request object under the bot (every call, the sends of the
outbox and the direct answers alike).  Only fixed words leave here: the
update's kind, the API method's name, the HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.domain.channels import TELEGRAM

# (channel, kind, seconds): an update handled.
UpdateWatch = Callable[[str, str, float], None]
# (channel, API method, HTTP status; 0: no answer): a call answered.
ApiWatch = Callable[[str, str, int], None]


def update_kind(update: object) -> str:
    """What the update is, in a word: a button, a command, a text, a
    photo, a place… (never anything it carries)."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "button"
    if update.my_chat_member is not None:
        return "membership"
    if update.edited_message is not None:
        return "edited"
    message = update.message
    if message is None:
        return "other"
    if message.text is not None:
        return "command" if message.text.startswith("/") else "text"
    if message.photo:
        return "photo"
    if message.location is not None or message.venue is not None:
        return "location"
    for kind in ("contact", "voice", "sticker", "document"):
        if getattr(message, kind) is not None:
            return kind
    return "other"


class TelegramApplication(Application[ExtBot[None], Any, Any, Any, Any, None]):
    """PTB's Application, timing each update it handles."""

    # Told of every update handled; set by the channel (None: nobody watches).
    watch: UpdateWatch | None = None

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            if self.watch is not None:
                self.watch(TELEGRAM, update_kind(update), time.perf_counter() - started)


def api_method(url: str) -> str:
    """The Bot API method a request's URL names (its last path segment;
    the token is the one before it and is not kept)."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


class WatchedRequest(BaseRequest):
    """A request object that tells ``watch`` how each call was answered,
    then hands the answer on unchanged (PTB turns it into errors)."""

    __slots__ = ("inner", "watch")

    def __init__(self, inner: BaseRequest, watch: ApiWatch) -> None:
        self.inner = inner
        self.watch = watch

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = api_method(url)
        try:
            status, body = await self.inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception:
            self.watch(TELEGRAM, name, 0)
            raise
        self.watch(TELEGRAM, name, status)
        return status, body
