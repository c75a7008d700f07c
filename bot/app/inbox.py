"""Stored updates handled a chat at a time, in the order they were stored —
whichever process stored them.

A channel stores each update it receives in the inbox (`UpdateInbox`) before
the platform hears 200 (a webhook) or before handling it (Zalo's long poll),
so a crash loses nothing; then it hands the chat to this worker.  The
worker takes the chat's *turn* and handles the chat's stored updates one by
one, oldest first, deleting each once handled, until none is left; then it
lets the turn go and looks once more, so an update stored while it was
letting go is not left behind.

With several bot processes on one PostgreSQL database (behind a load
balancer, the updates of one chat reach any of them), the turn is a lock in
the database: one process at a time works on a chat, in the order the
updates were stored, and a process that finds the turn taken leaves the
chat to the holder, who looks again after it.  A process that dies lets its
turns go with its connections; what it had not finished is handled by the
next process to take the chat's turn — at the latest at a sweep, when every
process looks for chats with stored updates (`look_again`).  On SQLite (one
process) the turn is always this process's.

Different chats are worked on side by side, at most `UpdateInbox.turns` at
once.  ``recovered`` tells the channel an update was not stored by this
process in its present life: a crash (or another process) left it, and it
may be one whose handling was cut off half-way (Zalo then keeps a bare
number from falling on an older list).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.ports import StoredUpdate, UpdateInbox

log = logging.getLogger(__name__)

# (the stored update, recovered): the channel's handling of one stored update.
Handle = Callable[[StoredUpdate, bool], Awaitable[None]]
# How many update ids stored here are remembered for ``recovered`` (those
# another process handled are never seen again here).
REMEMBERED = 10_000


class InboxWorker:
    def __init__(self, inbox: UpdateInbox) -> None:
        self.inbox = inbox
        self._handle: Handle | None = None
        self._open = False
        self._draining: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()  # stored here while the chat was being drained
        self._stored_here: OrderedDict[str, None] = OrderedDict()
        self._gate = asyncio.Semaphore(inbox.turns)

    # ---- the life cycle ---------------------------------------------------------------------

    async def open(self, handle: Handle) -> None:
        """From now on hand each stored update to ``handle``, starting with
        what a crash (or a request that came before now) left stored."""
        self._handle = handle
        self._open = True
        await self.look_again()

    async def look_again(self) -> None:
        """Work on every chat with stored updates: those another process
        died with, or left to a holder that stopped (the sweep calls this)."""
        if not self._open:
            return
        for chat in await self.inbox.waiting_chats():
            self._kick(chat)

    async def close(self) -> None:
        """Take no more; let the update being handled in each chat finish
        (what is left stays stored for the next start, or another process)."""
        self._open = False
        await self.settled()

    async def settled(self) -> None:
        """Until no chat is being worked on here."""
        while self._draining:
            await asyncio.wait(set(self._draining.values()))

    # ---- storing ----------------------------------------------------------------------------

    async def store(self, update_id: str, payload: str, at: datetime, chat: str) -> bool:
        """Store an update (committed when this returns; a database that
        refuses it raises), then see to its chat.  False when it was stored
        already (delivered again before it was handled): its chat is seen
        to all the same, in case the process that stored it died."""
        fresh = await self.inbox.put(update_id, payload, at, chat)
        if fresh:
            self._stored_here[update_id] = None
            while len(self._stored_here) > REMEMBERED:
                self._stored_here.popitem(last=False)
        if self._open:
            self._kick(chat)
        return fresh

    # ---- working on a chat ------------------------------------------------------------------

    def _kick(self, chat: str) -> None:
        if chat in self._draining:
            self._again.add(chat)
            return
        self._draining[chat] = asyncio.create_task(self._drain(chat))

    async def _drain(self, chat: str) -> None:
        try:
            async with self._gate:
                await self._work_on(chat)
        except Exception:
            # The database went away mid-way: the rows stay stored, and the
            # next sweep (here or in another process) looks again.
            log.exception("the stored updates of a chat could not be handled now")
        finally:
            # Removed here, with no await since the last look at the inbox:
            # a store after that look starts a new drain.
            self._draining.pop(chat, None)

    async def _work_on(self, chat: str) -> None:
        while self._open:
            self._again.discard(chat)
            async with self.inbox.turn(chat) as mine:
                if not mine:
                    return  # another process has it, and looks again when it lets go
                while self._open and (stored := await self.inbox.next_of(chat)) is not None:
                    await self._one(stored)
            if not self._open:
                return
            # The turn is let go: anything stored meanwhile is seen now.
            if await self.inbox.next_of(chat) is None and chat not in self._again:
                return

    async def _one(self, stored: StoredUpdate) -> None:
        """One update, handled as far as it goes, then deleted: one that
        fails is logged, not handed over again and again."""
        assert self._handle is not None
        update_id = stored.update_id
        recovered = update_id not in self._stored_here
        try:
            await self._handle(stored, recovered)
        except Exception:
            log.exception("update %s failed", update_id)
        await self.inbox.done(update_id)
        self._stored_here.pop(update_id, None)
