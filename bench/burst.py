"""Benchmark 5: an outgoing burst against a fake that enforces 30 messages/s.

10,000 reminders wait in the outbox (each one the real reminder message a
sweep queues: the task's line, its deadline), addressed to 10,000 people.
The real Application sends them with its real sender and rate limiter over
the in-memory fake Bot API, which answers 429 "retry after 1" to any message
that would make more than 30 in the last second.  The reference is PTB's
stock AIORateLimiter (30 a second from a bucket of 30, one retry) in front of
the same sender and fake, on a tenth of the messages.

Run: .venv/bin/python -m bench.burst [N]    (N defaults to 10,000: ~6 minutes)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from telegram.ext import AIORateLimiter, BaseRateLimiter

from bench.common import EXAMPLE_ORG, START
from bench.table import Row
from bot.app.sweep import REMINDERS
from bot.config import Secret, Settings
from bot.domain.clock import ManualClock
from bot.http import HttpServer
from bot.orgio.reader import load_org_file
from bot.ports import Channel
from bot.runtime import Core, running, telegram
from bot.sandbox.telegram import FakeBotApi, FakeUser, InMemoryRequest
from storage.sqlite.db import Database, utc_text
from storage.sqlite.store import SqliteStore

LIMIT = 30  # the fake's messages per second
FIRST_CHAT = 300_000


def seed(db_path: Path, count: int) -> None:
    """A few open complaints and ``count`` reminder rows, one per person."""
    now = utc_text(START)
    with sqlite3.connect(db_path) as conn:
        conn.executemany(
            "INSERT INTO complaints (category, family, area, ward, state, owner, description,"
            " created_at, due_at, clock_start, ack_due_at, swept_until, next_action_at)"
            " VALUES ('RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI', 'acknowledged', 'cb-hh-mt',"
            " ?, ?, ?, ?, ?, ?, ?)",
            [(f"Rác tràn ngõ {n}", now, now, now, now, now, now) for n in range(20)],
        )
        first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM people").fetchone()[0]
        people = list(range(first, first + count))
        conn.executemany(
            "INSERT INTO people (id, display_name, language, created_at) VALUES (?, ?, 'vi', ?)",
            [(person, f"Cán bộ {n}", now) for n, person in enumerate(people)],
        )
        conn.executemany(
            "INSERT INTO accounts (channel, external_id, person_id, created_at, last_seen_at)"
            " VALUES ('telegram', ?, ?, ?, ?)",
            [(str(FIRST_CHAT + n), person, now, now) for n, person in enumerate(people)],
        )
        conn.executemany(
            "INSERT INTO outbox (person_id, kind, payload, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    person,
                    REMINDERS,
                    json.dumps({"items": [{"id": 1 + n % 20, "due": "resolve_due", "level": 0}]}),
                    now,
                    now,
                )
                for n, person in enumerate(people)
            ],
        )


async def burst(
    tmp: Path, count: int, limiter: BaseRateLimiter[int] | None
) -> tuple[float, int, int]:
    """Messages per second, messages delivered, 429 answers."""
    db_path = tmp / f"burst-{'stock' if limiter else 'ours'}.db"
    db = await Database.open(db_path)
    await SqliteStore(db).replace_org(load_org_file(EXAMPLE_ORG))
    await db.close()
    api = FakeBotApi()
    for n in range(count):
        FakeUser(api, FIRST_CHAT + n, f"Cán bộ {n}")
    settings = Settings(telegram_token=Secret("123456:BURST"), db_path=db_path, rate_limit=True)

    def build(core: Core, http: HttpServer) -> Channel:
        channel = telegram(request=InMemoryRequest(api), updates_request=InMemoryRequest(api))(
            core, http
        )
        if limiter is not None:  # the reference's limiter
            channel.app.bot._rate_limiter = limiter
        return channel

    async with running(settings, clock=ManualClock(START), channels=[build]) as runtime:
        seed(db_path, count)
        api.rate_limit_per_second = LIMIT
        api.calls.clear()
        sender = runtime.telegram.wiring.sender
        started = time.perf_counter()
        sent = 0
        while sent < count and time.perf_counter() - started < 5 * count / LIMIT + 60:
            sent += await sender.flush()
        elapsed = time.perf_counter() - started
    refused = sum(1 for c in api.calls if c.status == 429)
    delivered = sum(1 for m in api.sent if m.chat_id >= FIRST_CHAT)
    return delivered / elapsed, delivered, refused


async def main(count: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        ours, delivered, refused = await burst(Path(tmp), count, None)
        reference_count = max(300, count // 10)
        stock = AIORateLimiter(max_retries=1)
        ref, ref_delivered, ref_refused = await burst(Path(tmp), reference_count, stock)
    return Row(
        name=f"Outgoing burst: {count:,} reminders, fake answers 429 above {LIMIT}/s",
        ours=f"{ours:.1f} msg/s, {refused} × 429",
        reference=(
            f"{ref:.1f} msg/s, {ref_refused} × 429"
            f" (PTB's AIORateLimiter, {reference_count:,} reminders)"
        ),
        ratio=f"{ours / LIMIT:.2f} of the {LIMIT}/s ceiling",
        target="≥ 27 msg/s and no 429",
        met=ours >= 27 and refused == 0 and delivered == count,
        details={
            "delivered": f"{delivered:,} of {count:,}",
            "reference delivered": f"{ref_delivered:,} of {reference_count:,}",
        },
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    asyncio.run(main(n)).emit()
