"""Long polling that confirms an update only after it was handled.

python-telegram-bot's Updater fetches a batch, queues it in memory and at
once asks for the next batch with ``offset = last + 1`` — which tells
Telegram the whole batch is done before any of it was handled.  A crash then
silently drops every update that was fetched but not finished.  Here the
offset moves past an update only once `Application.process_update` returned,
so after a crash Telegram delivers again exactly what was not finished, and
the processed-update table (storage migration 0004) keeps a finished one
from being handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram.error import Conflict, NetworkError, RetryAfter, TimedOut

from bot.scheduler import pause
from handlers.telegram.context import BotApplication
from handlers.telegram.processing import read_update

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds Telegram holds a getUpdates open when nothing comes
READ_MARGIN = 10  # seconds a getUpdates answer may take beyond its long-poll time
BACKOFF_MAX = 30.0


# A new getUpdates goes out once no more than this many updates of the last
# batch are still being handled: the slowest few of a batch then no longer
# hold up everyone else's next message, and the next batch carries at most
# these few again (skipped: they are already being handled).
LOW_WATER = 8


class _InFlight:
    """The updates being handled, by id; the lowest of them is the first that
    may not be confirmed yet."""

    def __init__(self, app: BotApplication) -> None:
        self.app = app
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.highest: int | None = None

    def start(self, batch: Sequence[Any]) -> None:
        """Hand each new update of a fetched batch to the update processor;
        one that cannot be read counts as done at once."""
        processor = self.app.update_processor
        for raw in batch:
            uid = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(uid, int):
                log.warning("getUpdates returned an entry without an update id; skipped")
                continue
            if uid in self.tasks or (self.highest is not None and uid <= self.highest):
                continue  # fetched again while still being handled, or already done
            self.highest = uid
            update = read_update(raw, self.app.bot)
            if update is None:
                continue
            task = asyncio.create_task(
                processor.process_update(update, self.app.process_update(update))
            )
            task.add_done_callback(self._finished(uid))
            self.tasks[uid] = task

    def _finished(self, uid: int) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self.tasks.pop(uid, None)
            if not task.cancelled() and task.exception() is not None:
                log.error("update %s failed", uid, exc_info=task.exception())

        return done

    def offset(self) -> int | None:
        """What getUpdates may confirm: everything below the lowest update
        still being handled, or everything fetched when none is."""
        if self.tasks:
            return min(self.tasks)
        return None if self.highest is None else self.highest + 1

    async def drain_to(self, count: int, stop: asyncio.Event) -> None:
        """Wait until at most ``count`` are in flight (at least one finished
        when ``count`` is already met), or until ``stop``."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            target = min(count, len(self.tasks) - 1)
            while len(self.tasks) > max(target, 0) and not stop.is_set():
                await asyncio.wait(
                    {stopping, *self.tasks.values()}, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            stopping.cancel()

    async def finish(self) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks.values()))


async def poll(
    app: BotApplication, stop: asyncio.Event, allowed_updates: Sequence[str] | None = None
) -> None:
    """Fetch, hand the updates to the update processor, confirm only what was
    handled — until ``stop`` is set.  Updates are handled side by side (each
    chat in order, handlers/telegram/processing.py); the offset never moves past one that
    is not finished, so after a crash Telegram delivers it again."""
    flight = _InFlight(app)
    backoff = 1.0
    while not stop.is_set():
        busy = bool(flight.tasks)
        fetch = asyncio.ensure_future(
            _get_updates(app, flight.offset(), 0 if busy else POLL_TIMEOUT, allowed_updates)
        )
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, NetworkError):
                await fetch
            break
        stopping.cancel()
        try:
            updates = fetch.result()
        except RetryAfter as exc:
            wait: timedelta | int = exc.retry_after
            await pause(wait.total_seconds() if isinstance(wait, timedelta) else wait, stop)
            continue
        except Conflict:
            # Another poller of this bot (a process that lost its lead a
            # moment ago, bot/leading.py; or another program): wait it out.
            log.warning("getUpdates: another poller of this bot (409); again in %.0f s", backoff)
            await pause(backoff, stop)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            await pause(backoff, stop)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        backoff = 1.0
        before = flight.highest
        flight.start(updates)
        if flight.highest != before:
            await flight.drain_to(LOW_WATER, stop)  # something new: let the batch run
        elif flight.tasks:
            await flight.drain_to(len(flight.tasks) - 1, stop)  # nothing new: one finishes
    # Finish what was started, then confirm it, as python-telegram-bot does.
    await flight.finish()
    offset = flight.offset()
    if offset is not None:
        with contextlib.suppress(NetworkError, TimedOut):
            await _get_updates(app, offset, 0, None)


async def _get_updates(
    app: BotApplication, offset: int | None, hold: int, allowed_updates: Sequence[str] | None
) -> list[Any]:
    """getUpdates, its answer left as JSON: each update is read on its own
    (`read_update`), so one PTB cannot read never fails the batch.  PTB's
    ``Bot._post`` is the one call that returns the raw answer without
    parsing it (``do_api_request`` warns for a method Bot already has)."""
    data = {"offset": offset, "timeout": hold, "allowed_updates": allowed_updates}
    result = await app.bot._post("getUpdates", data, read_timeout=hold + READ_MARGIN)
    return list(result) if isinstance(result, list) else []
