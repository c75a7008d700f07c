"""Receiving Zalo's updates: written down before they are handled, each
handled once, each chat's in order.

Zalo acknowledges nothing: `getUpdates` hands out one update and forgets
it, and whether a webhook that failed is called again is not documented.
So an update is stored in the database's inbox (the ``webhook_updates``
table, under channel "zalo") and committed first — a webhook is answered
200 only then — and handled after by the inbox worker (bot/app/inbox.py):
a chat's stored updates one after the other, in the order they came, by
whichever bot process holds the chat's turn; once handled, a row is
deleted.  The rows a crash left behind are handled at the next start (or
by another process at its next sweep).  Each update is claimed by its
message id in the processed-update table, so one delivered twice (a
webhook sent again, a row handled again after a crash) is handled once.

What is lost can only be lost before the update is stored: with long
polling, an update Zalo handed out at the moment the bot was killed (or
stopped mid-poll).  That is Zalo's at-most-once polling, and why the
webhook is the production mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.app.inbox import InboxWorker
from bot.app.services import Services
from bot.domain.channels import ZALO
from bot.domain.clock import Clock
from bot.ports import StoredUpdate, UpdateInbox
from bot.scheduler import Pause, pause
from handlers.zalo.client import ZaloBotClient, ZaloError, ZaloUnauthorized
from handlers.zalo.updates import (
    EventKind,
    IncomingEvent,
    MalformedUpdate,
    parse_update,
    unreadable_content,
)

log = logging.getLogger(__name__)

# (the update's id, its event, whether it was left stored by a stop or a crash and is
# handled now, at the next start: perhaps for the second time; when it was stored).
Handler = Callable[[str, IncomingEvent, bool, datetime], Awaitable[None]]
POLL_SECONDS = 30  # how long Zalo holds a getUpdates open when nothing comes
# An idle answer quicker than this (a server that does not hold the poll):
# the next poll waits the rest, so the loop never spins.
MIN_POLL_GAP = 1.0
BACKOFF_MAX = 30.0


def update_id_of(event: IncomingEvent, raw: object) -> str:
    """The key an update is stored and handled once by: its message id;
    for the few events without one (follow, unfollow), a hash of the update."""
    if event.message_id is not None:
        return event.message_id
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return "h-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def event_kind(event: IncomingEvent) -> str:
    """What the update is, in a word (a text starting with "/" is a command)."""
    if event.kind is EventKind.TEXT and (event.text or "").startswith("/"):
        return "command"
    return event.kind.value


class ZaloReceiver:
    """Stores updates, then hands them to ``handle`` (an update's id, its event)."""

    def __init__(self, inbox: UpdateInbox, services: Services, clock: Clock) -> None:
        self.worker = InboxWorker(inbox)
        self.services = services
        self.clock = clock
        self.handle: Handler | None = None
        self.after: Callable[[], Awaitable[None]] | None = None
        # Told of every update handled: (channel, kind, seconds) — the operators' metrics.
        self.watch: Callable[[str, str, float], None] | None = None

    @property
    def inbox(self) -> UpdateInbox:
        return self.worker.inbox

    # ---- the life cycle ---------------------------------------------------------------------

    async def open(
        self, handle: Handler, *, after: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Hand over what a crash (or a request that came before now) left
        stored, and from now on each update as it is stored; ``after`` each
        one is marked done (the outbox's flush: what the update queued is in
        the database and goes out from any process, so a crash while it is
        sent does not hand the update, and its reply, over a second time)."""
        self.handle = handle
        self.after = after
        await self.worker.open(self._handle)

    async def look_again(self) -> None:
        """What another process died with, or left stored (the sweep)."""
        await self.worker.look_again()

    async def close(self) -> None:
        """Hand nothing more over; let what is being handled finish (what a
        stop cuts off stays stored for the next start)."""
        await self.worker.close()

    async def settled(self) -> None:
        """Until every update handed over so far was handled (and deleted)."""
        await self.worker.settled()

    # ---- one update -------------------------------------------------------------------------

    async def receive(self, body: bytes) -> int:
        """An update as Zalo sent it (a webhook's body, bare or inside
        ``{"ok": true, "result": …}``): the HTTP status to answer."""
        try:
            payload = body.decode("utf-8")
            raw = json.loads(payload)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep
            log.warning("Zalo webhook request refused (400): the body is not JSON")
            return 400
        if not isinstance(raw, dict):
            log.warning("Zalo webhook request refused (400): JSON that is not an object")
            return 400
        return await self.accept(raw, payload)

    async def accept(self, raw: object, payload: str | None = None) -> int:
        """Store an update and hand it over: 200 once stored (or when there
        is nothing to store: an update the bot cannot read is logged and
        would only be sent again), 500 when the database refused it."""
        event = self._event(raw)
        if event is None:
            return 200
        update_id = update_id_of(event, raw)
        text = payload if payload is not None else json.dumps(raw, ensure_ascii=False)
        try:
            await self.worker.store(update_id, text, self.clock.now(), event.chat_id)
        except Exception as exc:  # the database refused: answered 500, sent again
            log.error("a Zalo update could not be stored (%s); answered 500", type(exc).__name__)
            return 500
        return 200

    @staticmethod
    def _event(raw: object) -> IncomingEvent | None:
        """The update's event; one whose content cannot be read is a message
        of a kind the bot cannot read (its sender is answered so)."""
        try:
            return parse_update(raw)
        except MalformedUpdate as exc:
            # The message names the missing field, never a value of the update.
            event = unreadable_content(raw)
            outcome = "skipped" if event is None else "answered as unreadable"
            log.warning("a Zalo update could not be read (%s); %s", exc, outcome)
            return event

    async def _handle(self, stored: StoredUpdate, recovered: bool) -> None:
        event = self._event(json.loads(stored.payload))
        if event is None:
            return
        started = time.perf_counter()
        try:
            await self._handle_event(stored, event, recovered)
        finally:
            if self.watch is not None:
                self.watch(ZALO, event_kind(event), time.perf_counter() - started)

    async def _handle_event(
        self, stored: StoredUpdate, event: IncomingEvent, recovered: bool
    ) -> None:
        services = self.services
        update_id = stored.update_id
        try:
            if not await services.claim_update(ZALO, update_id):
                return
            assert self.handle is not None
            await self.handle(update_id, event, recovered, stored.received_at)
        except Exception:
            # Handled as far as it went (and logged); not handed over again and again.
            log.exception("Zalo update %s failed", update_id)
        await services.finish_update(ZALO, update_id)
        if self.after is not None:
            await self.after()


class Polling:
    """Long polling: one getUpdates at a time, each update stored before it
    is handled; an idle poll (HTTP 408) is "nothing new"."""

    def __init__(
        self,
        client: ZaloBotClient,
        receiver: ZaloReceiver,
        *,
        poll_seconds: int = POLL_SECONDS,
        wait: Pause = pause,
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.poll_seconds = poll_seconds
        self._wait = wait

    async def poll_once(self) -> bool:
        """One getUpdates: True when it brought an update (stored by now)."""
        update = await self.client.get_updates(self.poll_seconds)
        if update is None:
            return False
        # Zalo has forgotten it: a stop arriving now must not cut the storing short.
        await asyncio.shield(self.receiver.accept(update))
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a token Zalo no longer accepts ends
        it (with the error), anything else is logged and tried again."""
        failures = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            began = loop.time()
            try:
                got = await _until(self.poll_once(), stop)
            except ZaloUnauthorized:
                raise
            except ZaloError as exc:
                failures += 1
                delay = min(BACKOFF_MAX, 2.0 ** min(failures, 5))
                log.warning("Zalo getUpdates failed (%s); again in %.0f s", exc, delay)
                await self._wait(delay, stop)
                continue
            failures = 0
            if got is False and loop.time() - began < MIN_POLL_GAP:
                await self._wait(MIN_POLL_GAP, stop)


async def _until(work: Awaitable[bool], stop: asyncio.Event) -> bool | None:
    """``work``'s result, or None when ``stop`` came first (the poll is
    cancelled: Zalo may have handed out an update that is then lost)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None
