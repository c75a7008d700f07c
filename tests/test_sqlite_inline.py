"""The SQLite write connection runs on the event loop's thread
(storage/sqlite/inline.py): while another program holds the write lock the
bot must go on serving, and its write must land once the lock is free, or
fail after the busy timeout as before — never hang the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from storage.engines import opened
from storage.sqlite.db import BUSY_TIMEOUT_MS


def _holding_the_write_lock(path: Path) -> sqlite3.Connection:
    """Another program (the command line loading a chart) in the middle of
    its write transaction."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO meta (key, value) VALUES ('other', 'program')")
    return holder


async def test_a_write_waits_for_another_program_without_stopping_the_bot(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ward.db"
    async with opened(path) as storage:
        holder = _holding_the_write_lock(path)
        try:
            loop = asyncio.get_running_loop()
            served = asyncio.Event()
            write = asyncio.create_task(storage.store.set_meta("mine", "written"))
            loop.call_later(0.05, served.set)  # the bot's other work, meanwhile
            began = time.monotonic()
            done, _ = await asyncio.wait({write}, timeout=0.5)
            waited = time.monotonic() - began
            assert not done, "the write waits while the other program holds the lock"
            assert served.is_set(), "the event loop ran other work meanwhile"
            assert waited < 2, "the wait never held the event loop"
            holder.execute("COMMIT")
            await write
        finally:
            holder.close()
        assert await storage.store.get_meta("mine") == "written"
        assert await storage.store.get_meta("other") == "program", "nothing of theirs lost"


async def test_a_write_still_gives_up_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "ward.db"
    async with opened(path) as storage:
        holder = _holding_the_write_lock(path)
        try:
            began = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await storage.store.set_meta("mine", "written")
            waited = time.monotonic() - began
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert BUSY_TIMEOUT_MS / 1000 <= waited < BUSY_TIMEOUT_MS / 1000 + 5
        await storage.store.set_meta("mine", "written")
        assert await storage.store.get_meta("mine") == "written", "once free, it goes through"
