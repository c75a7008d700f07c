"""Work only one bot process may do at a time, done while this process
leads it: long polling a messenger.

A messenger's long poll hands each update to whoever asks first, so of
several processes on one database (PostgreSQL) only the one that leads a
channel polls it (`Leadership`, storage/postgres/leader.py); the others
stand by, serving webhooks, sweeping and sending, and one of them takes
over the moment the leader stops or dies.  With one process (SQLite, or no
leadership given) the work simply runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.ports import Leadership

log = logging.getLogger(__name__)

T = TypeVar("T")
# The work, told to stop by the event it is given.
Work = Callable[[asyncio.Event], Awaitable[None]]


async def while_leading(
    leadership: Leadership | None, name: str, stop: asyncio.Event, work: Work
) -> None:
    """Run ``work`` whenever this process leads ``name``, until ``stop``:
    wait for the lead, work until the lead is lost (another process may
    lead by now) or ``stop``, let the lead go, and wait again.  An error of
    ``work`` ends it (and is raised), the lead let go."""
    if leadership is None:
        await work(stop)
        return
    while not stop.is_set():
        lead = await _unless_stopped(leadership.acquire(name), stop)
        if lead is None:
            return
        log.info("this process now polls %s", name)
        ended = asyncio.Event()
        relay = asyncio.ensure_future(_either(stop, lead.lost, ended))
        try:
            await work(ended)
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            await lead.release()
        if lead.lost.is_set() and not stop.is_set():
            log.warning("the lead of %s was lost with its database connection; waiting again", name)


async def _either(first: asyncio.Event, second: asyncio.Event, then: asyncio.Event) -> None:
    """Set ``then`` once either event is set."""
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    then.set()


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None when ``stop`` came first (``work`` is
    cancelled; what it had acquired it lets go of itself)."""
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
