"""Benchmark 6: memory with 100,000 open complaints, and time to the first getUpdates.

The real `phananh run` starts as its own process on a database holding the
example org chart and 100,000 open complaints (1 % due for a reminder), with
the fake Bot API served over HTTP on 127.0.0.1.  Measured from just before
the process is spawned to the moment the fake receives its first getUpdates
— start-up includes the catch-up sweep over the open complaints and sending
what it queued — and the process's resident set size then (and its peak).
The reference is a bare python-telegram-bot echo bot (`bench/echo_bot.py`,
`run_polling`) started the same way against the same fake.  Each of the
bot's starts is on a fresh copy of the seeded file: each catches up on the
same 1 % (a stopped bot may have sent all of it, leaving the next start
nothing to send).

Run: .venv/bin/python -m bench.memory [OPEN_COMPLAINTS]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bench.common import EXAMPLE_ORG, ROOT, seed_open_complaints
from bench.table import Row
from bot.orgio.reader import load_org_file
from bot.sandbox.telegram import FakeBotApi, HttpFakeBotApi
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore

OPEN = 100_000
TOKEN = "123456:MEMORY"
RUNS = 3  # the median start of three


def memory_of(pid: int) -> tuple[float, float]:
    """Resident set size now and at its peak, in MB (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def start(
    command: list[str], env: dict[str, str], api: FakeBotApi, *, catch_up: bool = False
) -> tuple[float, float, float]:
    """Seconds from spawn to the first getUpdates; RSS (after the catch-up
    sweep, for Phản Ánh) and its peak."""
    mark = len(api.calls)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_until(lambda: any(c.method == "getUpdates" for c in api.calls[mark:]), 60)
        took = time.perf_counter() - started
        if catch_up:
            # The catch-up sweep runs beside polling; its first reminder going
            # out means the sweep is done: the peak now includes it.
            await api.wait_until(
                lambda: any(c.method == "sendMessage" for c in api.calls[mark:]), 60
            )
        rss, peak = memory_of(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"{command} exited with {proc.returncode}: {err.decode()[-2000:]}")
    return took, rss, peak


def fresh_copy(source: Path, target: Path) -> None:
    """``target`` as ``source`` is now (SQLite's backup: the WAL included)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def main(count: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "memory.db"
        db = await Database.open(db_path)
        await SqliteStore(db).replace_org(load_org_file(EXAMPLE_ORG))
        await db.close()
        due = seed_open_complaints(db_path, count, 0.01, now=datetime.now(UTC))
        run_path = Path(tmp) / "run.db"
        api = FakeBotApi()
        async with HttpFakeBotApi(api) as server:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
            env.update(
                PHANANH_TELEGRAM_API_URL=server.base_url,
                PHANANH_TELEGRAM_TOKEN=TOKEN,
                PHANANH_DB=str(run_path),
            )
            ours = []
            for _ in range(RUNS):
                # Each start from the same seeded file, with the same 1 % to catch up on.
                fresh_copy(db_path, run_path)
                command = [sys.executable, "-m", "bot.cli", "run"]
                ours.append(await start(command, env, api, catch_up=True))
            echo = [
                await start(
                    [sys.executable, "-m", "bench.echo_bot", server.base_url, TOKEN], env, api
                )
                for _ in range(RUNS)
            ]
    start_s, rss, peak = (
        median([o[0] for o in ours]),
        max(o[1] for o in ours),
        max(o[2] for o in ours),
    )
    echo_s, echo_rss = median([e[0] for e in echo]), max(e[1] for e in echo)
    return Row(
        name=f"Memory with {count:,} open complaints; start to first getUpdates",
        ours=f"{rss:.0f} MB RSS (peak {peak:.0f} MB), start {start_s:.2f} s",
        reference=f"{echo_rss:.0f} MB RSS, start {echo_s:.2f} s (bare PTB echo bot)",
        ratio=f"{rss / echo_rss:.2f}× the memory, {start_s / echo_s:.2f}× the start",
        target="≤ 120 MB and ≤ 1.5 s",
        met=peak <= 120 and start_s <= 1.5,
        details={
            "starts (s)": ", ".join(f"{o[0]:.2f}" for o in ours),
            "echo bot starts (s)": ", ".join(f"{e[0]:.2f}" for e in echo),
            "due at start": f"{due:,} complaints swept before the first getUpdates",
        },
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else OPEN
    asyncio.run(main(n)).emit()
