"""Updates from different chats side by side, each chat's in order.

python-telegram-bot handles one update at a time by default.  Every reply
waits for Telegram's answer (tens of milliseconds), so one slow round trip
holds up every other resident: at 50 ms a call that is about 18 replies a
second, under the 30 a bot may send.  `SimpleUpdateProcessor` runs updates
concurrently but lets two updates of one chat overtake each other — a
resident's "Done" could be handled before the photo sent just before it.
This processor chains the updates of one chat: each waits for the one before
it from the same chat, and only updates of different chats overlap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 64


def read_update(data: dict[str, Any], bot: Bot) -> Update | None:
    """The update as python-telegram-bot reads it, or None when it cannot
    (a field PTB requires is missing, say): logged with its id, its kind
    and the error's type only — never its content, which carries names and
    texts — so that the caller confirms it past and goes on serving."""
    try:
        return Update.de_json(data, bot)
    except Exception as exc:
        # The update's kind (``message``, ``poll``…), never a value.
        kinds = ",".join(
            sorted(k for k in data if k != "update_id" and k.isidentifier() and len(k) < 40)
        )
        log.warning(
            "update %s (%s) could not be read (%s); confirmed and skipped",
            data.get("update_id"),
            kinds or "-",
            type(exc).__name__,
        )
        return None


def chat_key(update: object) -> int | None:
    """What must stay in order: the chat, or the user when there is no chat
    (an inline query); None for updates tied to neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    __slots__ = ("_tails",)

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        # Registering happens before the first await, in the order the
        # updates were handed in (the semaphore wakes its waiters in order),
        # so the chain follows the order Telegram sent them.
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = done
        try:
            if previous is not None:
                try:
                    await asyncio.shield(previous)
                except BaseException:
                    if asyncio.iscoroutine(coroutine):
                        coroutine.close()  # cancelled while waiting its turn
                    raise
            await coroutine
        finally:
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
