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
import signal
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.app import catch_up, shutdown, startup
from handlers.context import BotApplication

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds Telegram holds a getUpdates open when nothing comes
BACKOFF_MAX = 30.0


async def poll(
    app: BotApplication, stop: asyncio.Event, allowed_updates: Sequence[str] | None = None
) -> None:
    """Fetch a batch, handle it, confirm it — until ``stop`` is set."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            app.bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed_updates
            )
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
            await _pause(stop, wait.total_seconds() if isinstance(wait, timedelta) else wait)
            continue
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            await _pause(stop, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        backoff = 1.0
        if updates:
            await handle_batch(app, updates)
            offset = updates[-1].update_id + 1
    if offset is not None:
        # Confirm what was handled before leaving, as python-telegram-bot does.
        with contextlib.suppress(NetworkError, TimedOut):
            await app.bot.get_updates(offset=offset, timeout=0)


async def handle_batch(app: BotApplication, updates: Sequence[Update]) -> None:
    """Handle one getUpdates batch through the application's update
    processor — chats side by side, each chat in order (bot/processing.py) —
    and return when all of it is done, so the next fetch may confirm it."""
    processor = app.update_processor
    await asyncio.gather(
        *(processor.process_update(update, app.process_update(update)) for update in updates)
    )


async def _catch_up(app: BotApplication) -> None:
    try:
        await catch_up(app)
    except Exception:
        # The periodic sweep runs the same work again in 30 s.
        log.exception("catching up after the start failed")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run(app: BotApplication, allowed_updates: Sequence[str] | None = None) -> None:
    """Start the bot, poll until SIGINT or SIGTERM, stop it cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app:
        await startup(app, catch_up_now=False)
        await app.bot.delete_webhook()
        await app.start()
        catching_up = asyncio.create_task(_catch_up(app))
        try:
            await poll(app, stop, allowed_updates)
        finally:
            if not catching_up.done():
                catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await catching_up
            await app.stop()
            await shutdown(app)
