"""Waiting on a fake platform without polling: both fakes (Telegram's and
Zalo's) notify a condition whenever a call arrives or ends, and a test waits
on it for what it expects, with a bound and a useful failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_on(
    changed: asyncio.Condition,
    condition: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109 - the callers bound it by default
    recent: Callable[[], object],
) -> None:
    """Until ``condition`` holds, re-checked at each notification; after
    ``timeout`` seconds a TimeoutError naming ``recent()`` (what the fake
    sent last, say)."""
    try:
        async with asyncio.timeout(timeout), changed:
            await changed.wait_for(condition)
    except TimeoutError:
        raise TimeoutError(f"not met within {timeout}s; last sent: {recent()}") from None
