"""Benchmark 2: 200 residents report at once while every Bot API call takes 50 ms.

The real Application polls the fake Bot API over HTTP on 127.0.0.1 with the
same loop `phananh run` uses (handlers/telegram/polling.py), with its update processor,
outbox sender and rate limiter; the fake and the residents run in a process
of their own, as Telegram would.  The fake answers every call after 50 ms.
200 residents each file one whole report by buttons, like benchmark 1; each
sends its next update as soon as the bot's first reply to the previous one
arrives, as a person tapping quickly would.  Measured: messages the bot sent
per second (everything Telegram's 30/s counts: replies, task cards), and the
time from an update reaching the fake to the first reply, at the 50th and
99th percentile.  Each chat's order is checked: its questions must arrive in
order, no press may be refused as stale, every resident gets one receipt.

The reference is the same bot handling one update at a time and sending one
message at a time — what python-telegram-bot does by default.  The request
class is chosen by measuring: PTB's httpx request (with ApplicationBuilder's
pool of 256 connections, and with a pool of 8) against an aiohttp one.

Run: .venv/bin/python -m bench.latency [RESIDENTS]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, HTTPXRequest

import bot.app.outbox
from bench.aiohttp_request import AiohttpRequest
from bench.common import EXAMPLE_ORG, START, count_complaints, percentile
from bench.table import Row
from bot.config import Secret, Settings
from bot.domain.clock import ManualClock
from bot.http import HttpServer
from bot.orgio.reader import load_org_file
from bot.ports import Channel
from bot.runtime import Core, running, telegram
from bot.sandbox.telegram import FakeBotApi, FakeUser, HttpFakeBotApi, JSONDict, SentMessage
from handlers.telegram.polling import poll
from handlers.telegram.processing import ChatOrderedProcessor
from handlers.telegram.ratelimit import is_message
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore

LATENCY = 0.05
RESIDENTS = 200
FIRST_CHAT = 500_000
SANITATION = ("RTPT", "RKTG", "CRNU", "DOTRAC", "ONMT")
RECEIPT = re.compile(r"PA-\d{6}")
Step = Callable[[FakeUser], JSONDict]


@dataclass
class Resident:
    user: FakeUser
    step: int = 0
    pushed_at: float | None = None
    latencies: list[float] = field(default_factory=list)
    receipts: int = 0


def question(seq: int) -> Callable[[SentMessage], bool]:
    """The bot's question number ``seq`` of the report (it has buttons q:seq:…)."""
    return lambda m: any(d.startswith(f"q:{seq}:") for _, d in FakeBotApi.buttons(m))


def plain(message: SentMessage) -> bool:
    return not FakeBotApi.buttons(message)


def receipt(message: SentMessage) -> bool:
    return bool(RECEIPT.search(message.text or ""))


class Residents:
    """Plays the residents against the fake.  Each waits for the reply its
    last update asked for (the next question, the photo's acknowledgement,
    the receipt), then sends its next update at once."""

    def __init__(self, api: FakeBotApi, count: int, rng: random.Random) -> None:
        self.api = api
        self.rng = rng
        self.people = {
            FIRST_CHAT + n: Resident(FakeUser(api, FIRST_CHAT + n, f"Cư dân {n}"))
            for n in range(count)
        }
        self.groups = tuple(g.code for g in load_org_file(EXAMPLE_ORG).groups())
        # (what the resident waits for, what it sends then); None: nothing to wait for
        self.steps: tuple[tuple[Callable[[SentMessage], bool] | None, Step], ...] = (
            (None, lambda u: u.command("new")),
            (question(1), lambda u: self.press(u, ("sanitation",))),
            (question(2), lambda u: self.press(u, SANITATION)),
            (question(3), lambda u: self.press(u, ("HONGHAI", "BACHDANG"))),
            (question(4), lambda u: self.press(u, self.groups)),
            (question(5), lambda u: u.text(f"Rác tràn ra đường ({self.rng.randrange(1000)})")),
            (question(6), lambda u: u.photo()),
            (plain, lambda u: self.press(u, ("d",))),
            (question(7), lambda u: self.press(u, ("ok",))),
        )
        self.finished = asyncio.Event()
        self.done = 0
        self.first_push = 0.0
        self.last_receipt = 0.0

    def begin(self) -> None:
        self.first_push = time.perf_counter()
        for resident in self.people.values():
            self._act(resident)

    def on_sent(self, message: SentMessage) -> None:
        resident = self.people.get(message.chat_id)
        if resident is None or resident.pushed_at is None:
            return
        if resident.step == len(self.steps):
            awaited = receipt
        else:
            wanted = self.steps[resident.step][0]
            assert wanted is not None
            awaited = wanted
        if not awaited(message):
            return  # the rest of an earlier reply
        now = time.perf_counter()
        resident.latencies.append(now - resident.pushed_at)
        resident.pushed_at = None
        if resident.step == len(self.steps):
            resident.receipts += 1
            self.done += 1
            self.last_receipt = now
            if self.done == len(self.people):
                self.finished.set()
            return
        self._act(resident)

    def _act(self, resident: Resident) -> None:
        update = self.steps[resident.step][1](resident.user)
        resident.step += 1
        resident.pushed_at = time.perf_counter()
        self.api.push_update(update)

    def press(self, user: FakeUser, keys: tuple[str, ...]) -> JSONDict:
        """Press one of ``keys`` on the newest question that offers it."""
        for message in reversed(self.api.messages_to(user.user_id)):
            found = [
                data
                for _, data in self.api.buttons(message)
                if data.startswith("q:") and data.rsplit(":", 1)[1] in keys
            ]
            if found:
                return user.press(message, self.rng.choice(found))
        raise LookupError(f"no button {keys} for {user.user_id}")


class ObservedApi(FakeBotApi):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.residents: Residents | None = None
        self.send_times: list[float] = []

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        status, body = await super().call(method, params)
        if status != 200 or not is_message(method):
            return status, body
        # The messages this very call created (others may have arrived while
        # it waited out its latency).
        result = body.get("result")
        for raw in result if isinstance(result, list) else [result]:
            message = self.message(raw["chat"]["id"], raw["message_id"])
            self.send_times.append(time.perf_counter())
            if self.residents is not None and message is not None:
                self.residents.on_sent(message)
        return status, body


@dataclass
class Outcome:
    label: str
    messages_per_second: float
    resident_replies_per_second: float
    p50: float
    p99: float
    complaints: int
    in_order: bool
    problems: list[str]


async def serve(residents: int) -> None:
    """The fake's side, in a process of its own (so its CPU does not slow
    the bot's event loop): serve the fake, play the residents once the bot
    polls, print the measurements as JSON, serve on until stdin closes."""
    api = ObservedApi(latency=LATENCY)
    async with HttpFakeBotApi(api) as server:
        print(server.base_url, flush=True)
        await api.wait_until(lambda: bool(api.calls_to("getUpdates")), 120)
        people = Residents(api, residents, random.Random(5))
        api.residents = people
        people.begin()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(people.finished.wait(), timeout=residents * 2 + 120)
        elapsed = (people.last_receipt or time.perf_counter()) - people.first_push
        end = people.first_push + elapsed
        sends = [t for t in api.send_times if people.first_push <= t <= end]
        latencies = [x for r in people.people.values() for x in r.latencies]
        to_residents = sum(len(api.messages_to(chat)) for chat in people.people)
        result = {
            "messages_per_second": len(sends) / elapsed,
            "resident_replies_per_second": to_residents / elapsed,
            "p50": percentile(latencies, 0.5) if latencies else float("nan"),
            "p99": percentile(latencies, 0.99) if latencies else float("nan"),
            "problems": check_order(api, people),
        }
        print(json.dumps(result), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the bot has stopped


async def run(
    tmp: Path, label: str, residents: int, request: BaseRequest | None, sequential: bool
) -> Outcome:
    db_path = tmp / f"{label}.db"
    db = await Database.open(db_path)
    await SqliteStore(db).replace_org(load_org_file(EXAMPLE_ORG))
    await db.close()
    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.latency",
        "--serve",
        str(residents),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert fake.stdout is not None and fake.stdin is not None
    base_url = (await fake.stdout.readline()).decode().strip()
    settings = Settings(
        telegram_token=Secret("123456:LATENCY"),
        db_path=db_path,
        telegram_api_url=base_url,
        rate_limit=True,
    )
    saved = bot.app.outbox.PARALLEL_RECIPIENTS

    def build(core: Core, http: HttpServer) -> Channel:
        channel = telegram(request=request)(core, http)
        if sequential:
            # The reference: python-telegram-bot's default, one update at a
            # time, and one message at a time.
            channel.app._update_processor = ChatOrderedProcessor(1)
        return channel

    if sequential:
        bot.app.outbox.PARALLEL_RECIPIENTS = 1
    try:
        async with running(settings, clock=ManualClock(START), channels=[build]) as runtime:
            app = runtime.telegram.app
            await app.start()
            stop = asyncio.Event()
            polling = asyncio.create_task(poll(app, stop))
            line = await fake.stdout.readline()
            stop.set()
            await polling
            await app.stop()
    finally:
        bot.app.outbox.PARALLEL_RECIPIENTS = saved
        fake.stdin.close()
        await fake.wait()
    result = json.loads(line)
    return Outcome(
        label=label,
        messages_per_second=result["messages_per_second"],
        resident_replies_per_second=result["resident_replies_per_second"],
        p50=result["p50"],
        p99=result["p99"],
        complaints=count_complaints(db_path),
        in_order=not result["problems"],
        problems=result["problems"][:5],
    )


def check_order(api: FakeBotApi, people: Residents) -> list[str]:
    """Each chat's questions arrive in order, no press was refused, one receipt each."""
    problems = []
    refusals = [c for c in api.calls if c.method == "answerCallbackQuery" and c.params.get("text")]
    if refusals:
        problems.append(f"{len(refusals)} presses refused, e.g. {refusals[0].params.get('text')}")
    for chat, resident in people.people.items():
        seqs = [
            int(data.split(":")[1])
            for m in api.messages_to(chat)
            for _, data in api.buttons(m)[:1]
            if data.startswith("q:")
        ]
        if seqs != sorted(seqs):
            problems.append(f"chat {chat}: questions out of order {seqs}")
        if resident.receipts != 1 or resident.step != len(people.steps):
            problems.append(f"chat {chat}: step {resident.step}, {resident.receipts} receipts")
    return problems


def describe(o: Outcome) -> str:
    return (
        f"{o.messages_per_second:.1f} msg/s ({o.resident_replies_per_second:.1f} to residents),"
        f" p50 {o.p50 * 1000:.0f} ms, p99 {o.p99 * 1000:.0f} ms, {o.complaints} complaints,"
        f" order {'kept' if o.in_order else 'BROKEN: ' + '; '.join(o.problems)}"
    )


async def main(residents: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        transports: dict[str, BaseRequest | None] = {
            "httpx, pool 256": None,  # what ApplicationBuilder builds
            "httpx, pool 8": HTTPXRequest(connection_pool_size=8),
            "aiohttp": AiohttpRequest(),
        }
        outcomes = {}
        for label, request in transports.items():
            outcomes[label] = await run(path, label, residents, request, sequential=False)
        chosen = outcomes["httpx, pool 256"]
        reference = await run(path, "sequential", residents, None, sequential=True)
    return Row(
        name=f"Under 50 ms latency: {residents} residents report at once (HTTP fake)",
        ours=f"{chosen.messages_per_second:.1f} msg/s, p50 {chosen.p50 * 1000:.0f} ms,"
        f" p99 {chosen.p99 * 1000:.0f} ms, order kept: {'yes' if chosen.in_order else 'NO'}",
        reference=f"{reference.messages_per_second:.1f} msg/s, p50 {reference.p50 * 1000:.0f} ms,"
        f" p99 {reference.p99 * 1000:.0f} ms (one update at a time)",
        ratio=f"{chosen.messages_per_second / reference.messages_per_second:.2f}× one at a time",
        target="≥ 28 msg/s, each chat in order",
        met=chosen.messages_per_second >= 28 and chosen.in_order,
        details={label: describe(o) for label, o in {**outcomes, "sequential": reference}.items()},
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve(int(sys.argv[2])))
    else:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else RESIDENTS
        asyncio.run(main(count)).emit()
