"""Benchmark 1: intake throughput on each engine against a bare
python-telegram-bot replaying the same Bot API calls.

Phản Ánh runs the real `telegram.ext.Application` over the in-memory fake
Bot API (`bot.sandbox.InMemoryRequest`), fed with `process_update` one
update at a time, and plays every update of a whole report — /new, the
category buttons, the ward and group, the description, a photo, done,
confirm — with its database writes, its outbox and its replies (the
receipt, the cadre's task card): on SQLite (a file in a fresh temporary
folder) and on PostgreSQL (a fresh database in a throwaway PostgreSQL
cluster with the server's durable defaults — fsync, synchronous_commit,
full-page writes — or the database ``PHANANH_BENCH_PG`` names, whose
schema ``phananh`` is dropped before each run).  What is timed is each
update's handling, from its JSON to the end of what it set going (the
outbox included), not the fake residents' work between updates (see
`phananh`); the rate over the whole loop is in the details.

The reference of each engine is the replay: a bare PTB Application over a
fresh fake that makes, for each of the same updates, the very Bot API calls
Phản Ánh made for it on that engine, with no database and no logic — what
python-telegram-bot itself costs for this conversation's messages.  A bare
echo bot (one reply per text message) is kept in the details.  The rate
limiter is off everywhere: this measures the work per update, not
Telegram's 30 messages/s.

On SQLite the run is repeated with ``PRAGMA synchronous = FULL`` (every
commit waits for the disk) and with NORMAL alone (without the fsync of the
WAL the outbox forces before it sends): the costs the README weighs under
"Durability".  Every variant and its replay run twice, taking turns, and
the better run of each counts (shared machines drift by the minute).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import asyncpg
from telegram import Message, Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters
from telegram.warnings import PTBUserWarning

from bench.common import (
    EXAMPLE_ORG,
    START,
    count_complaints,
    groups_by_ward,
    sanitation_categories,
)
from bench.table import Row
from bot.config import PostgresUrl, Secret, Settings
from bot.domain.clock import ManualClock
from bot.orgio.reader import load_org_file
from bot.sandbox.driver import BotDriver, driven
from bot.sandbox.telegram import FakeBotApi, FakeUser, InMemoryRequest, JSONDict, SentMessage
from storage.engines import Where, opened
from storage.sqlite.db import Database

REPORTS = 300  # one report each from 300 residents
STEPS = 9  # updates in one report
ROUNDS = 2  # each variant runs this many times, taking turns; the best counts
TOKEN = "123456:BENCH"


async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def bare_application(api: FakeBotApi) -> Application:  # type: ignore[type-arg]
    """A python-telegram-bot Application with nothing of ours, over ``api``."""
    return (
        Application.builder()
        .token(TOKEN)
        .request(InMemoryRequest(api))
        .get_updates_request(InMemoryRequest(api))
        .build()
    )


async def echo_bot(count: int) -> float:
    """Updates per second of the echo bot over ``count`` text messages."""
    api = FakeBotApi()
    app = bare_application(api)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    rng = random.Random(1)
    people = [FakeUser(api, 10_000 + n, f"Dân {n}") for n in range(REPORTS)]
    updates = [
        Update.de_json(rng.choice(people).text(f"tin nhắn {n}"), app.bot) for n in range(count)
    ]
    async with app:
        started = time.perf_counter()
        for update in updates:
            await app.process_update(update)
        elapsed = time.perf_counter() - started
    assert len(api.sent) == count, "the echo bot answered every message"
    return count / elapsed


def offered(bot: BotDriver, user: FakeUser, wanted: list[str], rng: random.Random) -> str:
    """One of ``wanted`` among the buttons of the newest question (long
    lists come a page at a time)."""
    last = bot.api.messages_to(user.user_id)[-1]
    keys = [data.rsplit(":", 1)[-1] for _, data in bot.api.buttons(last)]
    return rng.choice([k for k in keys if k in wanted])


async def one_report(bot: BotDriver, user: FakeUser, rng: random.Random) -> int:
    """Every update of one report by buttons; returns how many were sent."""
    ward, groups = rng.choice(groups_by_ward(bot))
    steps = [
        lambda: bot.send(user.command("new")),
        lambda: bot.choose(user, "sanitation"),
        lambda: bot.choose(user, rng.choice(sanitation_categories(bot))),
        lambda: bot.choose(user, ward),
        lambda: bot.choose(user, offered(bot, user, groups, rng)),
        lambda: bot.send(user.text(f"Rác tràn ra đường, bốc mùi ({rng.randrange(1000)})")),
        lambda: bot.send(user.photo()),
        lambda: bot.choose(user, "d"),
        lambda: bot.choose(user, "ok"),
    ]
    for step in steps:
        await step()
    return len(steps)


Recording = list[tuple[JSONDict, list[tuple[str, JSONDict]]]]


@dataclass(frozen=True)
class Run:
    """One intake run: updates per second, complaints stored, messages
    sent, and each update with the Bot API calls it caused (for the replay)."""

    rate: float  # updates per second of the bot's own handling (see `phananh`)
    stored: int
    sent: int
    recording: Recording
    whole: float  # updates per second over the whole loop, the fake residents' work included


async def phananh(where: Where) -> Run:
    """``REPORTS`` whole reports, one update at a time, on the database
    ``where`` names (empty: the org chart is loaded first).

    The rate counts the time the bot takes with each update — from the
    update's JSON to the end of what it queued (`BotDriver.send`: parsing,
    `process_update`, the outbox and menus it set going) — as the replay
    counts its own parsing and `process_update`; not the fake residents'
    work between updates (building the next update, finding the button to
    press among the messages), which the replay does not do at all.  The
    rate over the whole loop is kept too (`Run.whole`)."""
    async with opened(where) as storage:
        await storage.store.replace_org(load_org_file(EXAMPLE_ORG))
    place = {"db_url": where} if isinstance(where, PostgresUrl) else {"db_path": where}
    settings = Settings(telegram_token=Secret(TOKEN), rate_limit=False, **place)
    rng = random.Random(2)
    recording: Recording = []
    async with driven(settings, ManualClock(START)) as bot:
        send = bot.send

        handling = 0.0

        async def recorded(update: JSONDict) -> list[SentMessage]:
            nonlocal handling
            mark = len(bot.api.calls)
            started = time.perf_counter()
            out = await send(update)
            handling += time.perf_counter() - started
            recording.append((update, [(c.method, c.params) for c in bot.api.calls[mark:]]))
            return out

        bot.send = recorded  # type: ignore[method-assign]
        people = [bot.user(20_000 + n, f"Cư dân {n}") for n in range(REPORTS)]
        started = time.perf_counter()
        updates = 0
        for user in people:
            updates += await one_report(bot, user, rng)
        elapsed = time.perf_counter() - started
        sent = len(bot.api.sent)
    assert updates == len(recording), "every update was handled through the driver"
    stored = await stored_complaints(where)
    return Run(updates / handling, stored, sent, recording, updates / elapsed)


async def stored_complaints(where: Where) -> int:
    if not isinstance(where, PostgresUrl):
        return count_complaints(where)
    from storage.postgres.db import connect_arguments

    conn = await asyncpg.connect(**connect_arguments(where))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM complaints"))
    finally:
        await conn.close()


RETURNS_MESSAGE = {"sendMessage", "sendPhoto", "sendLocation", "editMessageReplyMarkup"}


async def replay(recording: Recording) -> float:
    """Updates per second of a bare PTB bot that makes, for each update, the
    very Bot API calls Phản Ánh made for it — no database, no logic: what
    python-telegram-bot itself costs for this conversation's messages."""
    api = FakeBotApi()
    app = bare_application(api)
    script = iter([calls for _, calls in recording])

    async def answer(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        for method, params in next(script):
            await app.bot.do_api_request(
                method,
                api_kwargs=dict(params),
                return_type=Message if method in RETURNS_MESSAGE else None,
            )

    failures: list[object] = []

    async def failed(_: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        failures.append(context.error)

    app.add_handler(TypeHandler(Update, answer))
    app.add_error_handler(failed)
    for n in range(REPORTS):
        FakeUser(api, 20_000 + n, f"Cư dân {n}")
    updates = [update for update, _ in recording]
    async with app:
        started = time.perf_counter()
        with warnings.catch_warnings():
            # PTB suggests its named methods over do_api_request: replaying needs the generic one.
            warnings.simplefilter("ignore", PTBUserWarning)
            for update in updates:
                if "message" in update:
                    # The resident's own message takes a message id in the chat, and its
                    # photo becomes a known file, as in the recorded run: the replayed edits
                    # and photos then find what they refer to.
                    message = update["message"]
                    api.next_message_id(message["chat"]["id"])
                    for size in message.get("photo", []):
                        api.put_file(size["file_id"])
                await app.process_update(Update.de_json(update, app.bot))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"the replay failed {len(failures)} times, e.g. {failures[0]!r}")
    return len(updates) / elapsed


async def _no_sync(_: Database) -> None:
    """`Database.on_disk` switched off, to measure what it costs."""


async def on_sqlite(variant: str) -> Run:
    """The intake run on SQLite with the database as ``variant`` says, in a
    fresh directory on the machine's disk: "bot" (synchronous=NORMAL, and
    the WAL forced to disk before each outbox pass: what the bot does),
    "NORMAL" (without that) or "FULL" (every commit waits for the disk)."""
    saved = Database.SYNCHRONOUS, Database.on_disk
    Database.SYNCHRONOUS = "FULL" if variant == "FULL" else "NORMAL"
    if variant == "NORMAL":
        Database.on_disk = _no_sync  # type: ignore[method-assign,assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return await phananh(Path(tmp) / "intake.db")
    finally:
        Database.SYNCHRONOUS, Database.on_disk = saved  # type: ignore[method-assign]


# A fresh, empty PostgreSQL database for each run, and what its server promises.
FreshDatabase = Callable[[], Awaitable[PostgresUrl]]


@asynccontextmanager
async def postgres() -> AsyncIterator[tuple[FreshDatabase, str]]:
    """``PHANANH_BENCH_PG`` (its schema dropped before each run), or a
    throwaway cluster with the server's durable defaults (a database made
    for each run); with the server's durability settings as read from it."""
    named = os.environ.get("PHANANH_BENCH_PG")
    if named:
        url = PostgresUrl.parse(named)

        async def emptied() -> PostgresUrl:
            from storage.postgres.db import SCHEMA, connect_arguments

            conn = await asyncpg.connect(**connect_arguments(url))
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            finally:
                await conn.close()
            return url

        yield emptied, await server_settings(url)
        return
    from tests.pgserver import TEMPLATE, find_binaries, throwaway_cluster

    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries: set PHANANH_BENCH_PG")
    with throwaway_cluster(binaries, durable=True) as cluster:
        numbers = count()

        async def made() -> PostgresUrl:
            name = f"intake_{next(numbers)}"
            await asyncio.to_thread(cluster.psql, f"CREATE DATABASE {name} OWNER phananh")
            return PostgresUrl.parse(cluster.url(name))

        yield made, await server_settings(PostgresUrl.parse(cluster.url(TEMPLATE)))


async def server_settings(url: PostgresUrl) -> str:
    from storage.postgres.db import connect_arguments

    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        values = [
            f"{name}={await conn.fetchval(f'SHOW {name}')}"
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        ]
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return f"PostgreSQL {version}, {', '.join(values)}"


def best(runs: list[Run]) -> Run:
    return max(runs, key=lambda r: r.rate)


def engine_row(
    engine: str, ours: Run, floor: float, echo: float, target: float, extra: dict[str, str]
) -> Row:
    ratio = ours.rate / floor
    calls = sum(len(c) for _, c in ours.recording) / len(ours.recording)
    return Row(
        name=f"Intake on {engine}: a whole report's updates per second (in-memory fake API)",
        ours=f"{ours.rate:,.0f} updates/s",
        reference=f"{floor:,.0f} updates/s (bare PTB replaying the same Bot API calls)",
        ratio=f"{ratio:.2f}× the replay",
        target=f"≥ {target}× the replay",
        met=ratio >= target,
        details={
            "reports": (
                f"{REPORTS} residents × {STEPS} updates = {len(ours.recording)} updates,"
                f" {ours.stored} complaints stored"
            ),
            "messages sent by Phản Ánh": str(ours.sent),
            "Bot API calls per update": f"{calls:.2f} (the echo bot: 1)",
            "replay: bare PTB making the same calls for the same updates, no database or logic": (
                f"{floor:,.0f} updates/s (best of {ROUNDS}, each after its own run)"
            ),
            "timed": (
                "each side's handling of every update, from its JSON to the end of what it"
                " set going; over the whole loop, the fake residents building updates and"
                f" finding buttons included, Phản Ánh made {ours.whole:,.0f} updates/s"
                f" = {ours.whole / floor:.2f}× the replay"
            ),
            "bare PTB echo bot": (
                f"{echo:,.0f} updates/s; Phản Ánh is {ours.rate / echo:.2f}× the echo bot,"
                f" the replay {floor / echo:.2f}×"
            ),
            **extra,
        },
    )


async def main() -> list[Row]:
    """Every variant ``ROUNDS`` times, taking turns, each followed by the
    replay of its own recording; the better run of each counts."""
    sqlite: dict[str, list[Run]] = {"bot": [], "NORMAL": [], "FULL": []}
    pg: list[Run] = []
    replays: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    echoes: list[float] = []
    async with postgres() as (fresh, server):
        for _ in range(ROUNDS):
            for variant, runs in sqlite.items():
                runs.append(await on_sqlite(variant))
                if variant == "bot":
                    replays["sqlite"].append(await replay(runs[-1].recording))
            pg.append(await phananh(await fresh()))
            replays["postgres"].append(await replay(pg[-1].recording))
            echoes.append(await echo_bot(REPORTS * STEPS))
    ours = best(sqlite["bot"])
    normal = (best(sqlite["NORMAL"])).rate
    full = (best(sqlite["FULL"])).rate
    echo = max(echoes)
    durability = {
        "durability (best of 2 runs each, taking turns)": (
            f"the bot's (synchronous=NORMAL, the WAL forced to disk before each outbox"
            f" pass) {ours.rate:,.0f} updates/s = {ours.rate / normal:.2f}× NORMAL alone"
            f" ({normal:,.0f}); synchronous=FULL (an fsync at every commit)"
            f" {full:,.0f} updates/s = {full / normal:.2f}× NORMAL alone"
        )
    }
    return [
        engine_row("SQLite", ours, max(replays["sqlite"]), echo, 0.5, durability),
        engine_row("PostgreSQL", best(pg), max(replays["postgres"]), echo, 0.4, {"server": server}),
    ]


if __name__ == "__main__":
    for row in asyncio.run(main()):
        row.emit()
