"""Benchmark 7: scale-out — three `phananh run` processes behind nginx against one.

The real processes (webhook mode, each on a port of its own) behind a real nginx with the
shipped configuration (examples/nginx-phananh.conf, its surplus upstream lines left out for
one process), all on one throwaway PostgreSQL cluster (tests/pgserver.py), a fresh database
for each run; the fake Bot API over HTTP answers every call after 50 ms.  What
tests/test_scaleout.py runs, at scale (its `launch`, `Fleet` and killing fake are used as
they are).

Every resident files one whole report by typing, six updates (/start with the area's link,
"2", "2", the description, "xong", "1"), posted to nginx over HTTPS as Telegram posts a
webhook: a chat's next update once the one before was answered 200 (stored), every chat at
once, through at most 40 connections (Telegram's default for a webhook).  An update nobody
answered 200 (the killed process's) is posted again, as Telegram would.  What each chat got
is read from the fake: the bot's eight messages (greeting, area, five questions, the
receipt) in order, each once.

1. Throughput: 1,000 residents at once, one process, then three; no cap at the fake and the
   bot's own pacing off (PHANANH_RATE_LIMIT=false: else the bot holds itself to 27.5 messages
   a second, and both would measure that).  Updates handled per second, from the first post
   to the last receipt; the ratio three against one.  Each process's CPU time, the time it
   waited for a CPU (run queue, /proc/PID/schedstat), PostgreSQL's, nginx's, this driver's
   (the fake and the residents) and the machine's: on a shared two-core machine the run is
   CPU-bound, not latency-bound, and the details say so in numbers.
2. The same burst on three processes, one killed with SIGKILL in the middle (the moment the
   fake accepted the Nth message of the burst, before the bot heard back) and not restarted:
   nginx passes its share to the other two, which take up the updates it had stored at
   their next sweep (10 s).  Six complaints filed ten days ago and the week's digest are
   put in as the burst starts, so the processes' sweeps queue reminders, escalations and
   digests while it runs.  Counted: complaints lost or stored twice (the database), replies,
   receipts and task cards lost or sent twice, reminder lines and digests sent twice.
3. The fake enforcing 30 messages a second in all (429 above; counted as each message arrives,
   as Telegram counts, not after the fake's 50 ms answer delay, when its own late wake-ups
   bunched them), the bot's pacing on: three
   processes, 200 residents; messages accepted per second by the three together, from the
   first message to the last resident's receipt (a cadre's queue of task cards may still be
   draining after it, one card at a time in order: the details say how many, how long), and
   the number of 429 answers.

Run: .venv/bin/python -m bench.scaleout [RESIDENTS]
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.table import Row
from bot.config import PostgresUrl
from bot.domain.complaints import format_code
from bot.domain.orgchart import OrgChart
from bot.orgio.reader import load_org_file
from bot.sandbox.telegram import FakeUser, HttpFakeBotApi, JSONDict
from handlers.telegram.ratelimit import is_message
from storage.engines import opened
from storage.postgres.db import Database as PostgresDatabase
from tests.crashkit import CARD, EXAMPLE_ORG, FILED, Reply, bot_env
from tests.engines import PgServer, setting
from tests.factories import load_chart
from tests.nginx import find_nginx, free_port, running_nginx
from tests.pgserver import TEMPLATE, find_binaries, throwaway_cluster
from tests.test_scaleout import (
    GROUPS,
    TOKEN,
    VICTIM,
    Fleet,
    KillingBotApi,
    classify,
    file_old_complaints,
    launch,
    reminders_told,
)

LATENCY = 0.05
RESIDENTS = 1000
CAP_RESIDENTS = 200
CAP = 30  # messages a second the fake accepts in all
PROCESSES = 3
SWEEP_SECONDS = 10
# Telegram's webhook connections at once (setWebhook's max_connections, which the bot leaves
# at its default).  More at once also slows the fake's own HTTP client more than the bot:
# httpx's pool grows slow with a thousand requests queued in it.
WEBHOOK_CONNECTIONS = 40
FIRST_CHAT = 810_001
SEED = 20261206
KILL_AT = (0.4, 0.6)  # the share of the burst's messages accepted when the victim dies
RUN_TIMEOUT = 300.0  # for what is stored or due to be handled
# What a resident gets, in order: the greeting and the area (notes), the five questions,
# the receipt.  Each once.
EXPECTED: tuple[Reply | None, ...] = (
    None,
    None,
    Reply.FAMILY,
    Reply.CATEGORY,
    Reply.DESCRIPTION,
    Reply.PHOTOS,
    Reply.REVIEW,
    Reply.FILED,
)
MESSAGES_PER_RESIDENT = len(EXPECTED) + 1  # and the task card to the cadre


# ---- the fake ---------------------------------------------------------------------------------


class BenchApi(KillingBotApi):
    """The killing fake, keeping when it accepted each message and how many it refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepted_at: list[float] = []
        self.when: dict[tuple[int, int], float] = {}  # (chat, message id): accepted at
        self.killed_at = 0.0
        self.too_many = 0

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        kills = self.kills
        status, body = await super().call(method, params)
        if self.kills > kills:
            self.killed_at = time.perf_counter()
        if is_message(method):
            if status == 200:
                now = time.perf_counter()
                self.accepted_at.append(now)
                result = body.get("result")
                if isinstance(result, dict):
                    self.when[int(result["chat"]["id"]), int(result["message_id"])] = now
            elif status == 429:
                self.too_many += 1
        return status, body


# ---- what the machine spent -------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_of(pid: int, children: bool = False) -> float:
    """CPU seconds a process spent (and its reaped children, if asked); NaN once it is gone."""
    try:
        fields = _stat(pid)
    except OSError:
        return float("nan")
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


def waited_of(pid: int) -> float:
    """Seconds the process's threads were runnable but waited for a CPU; NaN once it is gone."""
    if not Path(f"/proc/{pid}/task").exists():
        return float("nan")
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[1])
    return total / 1e9


def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat(int(entry))[1]) == parent:
                    found.append(int(entry))
    return found


def tree_cpu(root: int) -> float:
    """A server's CPU: itself, its reaped children, its living children."""
    living = [cpu_of(pid) for pid in children_of(root)]
    return cpu_of(root, children=True) + sum(c for c in living if c == c)


def machine_busy() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine, every program's."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


@dataclass
class Usage:
    """CPU seconds per second of the run, per part."""

    bots: list[float]
    waited: list[float]
    postgres: float
    nginx: float
    driver: float
    machine: float  # cores busy, all programs
    took: float  # seconds measured

    def bot_seconds(self) -> float:
        """CPU seconds the bot processes spent in all (a killed one: nothing counted)."""
        return sum(b for b in self.bots if b == b) * self.took

    def describe(self) -> str:
        bots = ", ".join(f"{b:.2f}" if b == b else "killed" for b in self.bots)
        waited = ", ".join(f"{w:.2f}" if w == w else "killed" for w in self.waited)
        pairs = zip(self.bots, self.waited, strict=True)
        runnable = ", ".join(f"{b + w:.2f}" if b == b else "killed" for b, w in pairs)
        return (
            f"bot processes runnable {runnable} of each second (ran {bots}, waited for a CPU"
            f" {waited}: near 1, a process is CPU-bound, not waiting on the Bot API or the"
            f" database); CPU s/s: PostgreSQL"
            f" {self.postgres:.2f}, nginx {self.nginx:.2f}, fake and residents {self.driver:.2f};"
            f" machine {self.machine:.2f} of {os.cpu_count()} cores busy"
        )


class Meter:
    def __init__(self, bots: list[int], postmaster: int, nginx: int) -> None:
        self.pids, self.postmaster, self.nginx = bots, postmaster, nginx
        self.began = time.perf_counter()
        self.start = self._read()

    def _read(self) -> tuple[list[float], list[float], float, float, float, tuple[int, int]]:
        return (
            [cpu_of(pid) for pid in self.pids],
            [waited_of(pid) for pid in self.pids],
            tree_cpu(self.postmaster),
            tree_cpu(self.nginx),
            time.process_time(),
            machine_busy(),
        )

    def read(self) -> Usage:
        took = time.perf_counter() - self.began
        bots, waited, pg, web, me, busy = self._read()
        bots0, waited0, pg0, web0, me0, busy0 = self.start
        cores = os.cpu_count() or 1
        return Usage(
            [(b - a) / took for a, b in zip(bots0, bots, strict=True)],
            [(b - a) / took for a, b in zip(waited0, waited, strict=True)],
            (pg - pg0) / took,
            (web - web0) / took,
            (me - me0) / took,
            cores * (busy[0] - busy0[0]) / max(1, busy[1] - busy0[1]),
            took,
        )


# ---- the residents ----------------------------------------------------------------------------


@dataclass
class Resident:
    user: FakeUser
    updates: list[JSONDict]

    def description(self) -> str:
        return f"Rác ngõ {self.user.user_id}"


def residents(api: BenchApi, count: int, rng: random.Random) -> list[Resident]:
    """Each resident's whole report, typed: the area's link, the family and the category by
    number, the description, no photo, send."""
    made = []
    for n in range(count):
        user = FakeUser(api, FIRST_CHAT + n, f"Dân {n + 1}")
        resident = Resident(user, [])
        resident.updates = [
            user.command("start", f"a-{rng.choice(GROUPS)}"),
            user.text("2"),
            user.text("2"),
            user.text(resident.description()),
            user.text("xong"),
            user.text("1"),
        ]
        made.append(resident)
    return made


@dataclass
class Posting:
    reposted: int = 0  # posts answered otherwise than 200, posted again
    statuses: Counter[int] = field(default_factory=Counter)


async def post_all(fleet: Fleet, people: list[Resident], posting: Posting) -> None:
    """Every chat at once, through at most `WEBHOOK_CONNECTIONS` posts at a time (as
    Telegram does); each chat's next update once the one before was answered 200."""
    connections = asyncio.Semaphore(WEBHOOK_CONNECTIONS)

    async def one(resident: Resident) -> None:
        for update in resident.updates:
            while True:
                async with connections:
                    status = await fleet.post(update)
                if status == 200:
                    break
                posting.reposted += 1
                posting.statuses[status] += 1

    await asyncio.gather(*(one(r) for r in people))


# ---- what each chat got -----------------------------------------------------------------------


@dataclass
class Chats:
    """What the residents and cadres got, read from the fake."""

    out_of_order: int = 0  # chats whose first copies are not the expected sequence
    replies_lost: int = 0
    replies_twice: int = 0
    receipts_lost: int = 0
    receipts_twice: int = 0
    cards_lost: int = 0
    cards_twice: int = 0
    unexpected: int = 0  # messages of a kind a resident should not have got
    example: str = ""
    # For each message sent twice: when its first copy was accepted, in ms from the kill.
    first_copies: list[float] = field(default_factory=list)

    @property
    def in_order(self) -> bool:
        return self.out_of_order == 0


def read_chats(api: BenchApi, people: list[Resident], codes: set[str]) -> Chats:
    """Each chat's messages: the first copy of each in the expected order (the questions and
    the receipt by kind; the notes — greeting, area — by count, as a /start handled again may
    greet in other words), and every further copy."""
    questions = [kind for kind in EXPECTED if kind is not None]
    notes = len(EXPECTED) - len(questions)
    chats = Chats()
    for resident in people:
        messages = api.messages_to(resident.user.user_id)
        texts = [m.text or "" for m in messages]
        first = list(dict.fromkeys(texts))
        kinds = [classify(text) for text in first]
        asked = [kind for kind in kinds if kind is not None]
        twice = Counter(texts) - Counter(first)
        for text, n in twice.items():
            if classify(text) is Reply.FILED:
                chats.receipts_twice += n
            else:
                chats.replies_twice += n
            copy = next(m for m in messages if m.text == text)
            at = api.when.get((copy.chat_id, copy.message_id), 0.0)
            chats.first_copies.append(round((at - api.killed_at) * 1000))
        chats.replies_twice += max(0, kinds.count(None) - notes)  # said again in other words
        missing = Counter(EXPECTED) - Counter(kinds)
        chats.receipts_lost += missing.pop(Reply.FILED, 0)
        chats.replies_lost += sum(missing.values())
        chats.unexpected += sum((Counter(asked) - Counter(questions)).values())
        if list(dict.fromkeys(asked)) != [kind for kind in questions if kind in asked]:
            chats.out_of_order += 1
            chats.example = chats.example or f"chat {resident.user.user_id}: {asked}"
    cards = Counter(found.group(1) for m in api.sent if (found := CARD.search(m.text or "")))
    chats.cards_lost = len(codes - set(cards))
    chats.cards_twice = sum(n - 1 for code, n in cards.items() if code in codes)
    return chats


async def stored(db: PostgresDatabase, people: list[Resident]) -> tuple[int, int, set[str]]:
    """(complaints lost, complaints stored twice, their codes), from the database."""
    rows = await db.fetch(
        "SELECT c.id, c.description FROM complaints c WHERE c.description LIKE 'Rác ngõ %'"
    )
    by_description = Counter(str(r[1]) for r in rows)
    wanted = {r.description() for r in people}
    lost = len(wanted - set(by_description))
    twice = sum(n - 1 for n in by_description.values())
    return lost, twice, {format_code(int(r[0])) for r in rows}


# ---- one run ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    processes: int
    residents: int
    seconds: float  # first post to last receipt
    messages: int  # accepted by the fake in that time
    usage: Usage
    chats: Chats
    posting: Posting
    complaints_lost: int
    complaints_twice: int
    too_many: int = 0
    rate: float = 0.0  # messages a second, first to last of the burst
    killed: bool = False
    reminder_lines: int = 0
    reminders_twice: int = 0
    reminders_lost: int = 0
    digests_twice: int = 0
    load: str = ""
    lag: list[float] = field(default_factory=list)  # how late this process's loop woke, ms
    drain: str = ""  # what the fake accepted after the last receipt, and over how long

    @property
    def updates(self) -> int:
        return self.residents * 6

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def describe(self) -> str:
        c = self.chats
        return (
            f"{self.residents} residents, {self.updates} updates in {self.seconds:.1f} s:"
            f" {self.per_second:.1f} updates/s ({self.residents / self.seconds:.1f} complaints/s,"
            f" {self.messages / self.seconds:.1f} messages/s; bot CPU"
            f" {1000 * self.usage.bot_seconds() / self.updates:.1f} ms per update); every chat"
            " in order:"
            f" {'yes' if c.in_order else f'NO ({c.out_of_order} chats, e.g. {c.example})'};"
            f" {self.usage.describe()}; the fake's event loop woke late by {self.lateness()};"
            f" load average at the start {self.load}"
        )

    def lateness(self) -> str:
        """The fake's (this process's) loop: how late a 10 ms tick came, p50/p99/max."""
        if not self.lag:
            return "-"
        ordered = sorted(self.lag)
        p50, p99 = (ordered[int(share * (len(ordered) - 1))] for share in (0.5, 0.99))
        return f"{p50:.0f}/{p99:.0f}/{ordered[-1]:.0f} ms (p50/p99/max)"

    def losses(self) -> str:
        c = self.chats
        return (
            f"complaints lost {self.complaints_lost}, stored twice {self.complaints_twice};"
            f" replies lost {c.replies_lost}, twice {c.replies_twice}; receipts lost"
            f" {c.receipts_lost}, twice {c.receipts_twice}; task cards lost {c.cards_lost},"
            f" twice {c.cards_twice}; unexpected messages {c.unexpected}; reminder lines"
            f" {self.reminder_lines}: lost {self.reminders_lost}, twice {self.reminders_twice};"
            f" digests twice {self.digests_twice}; posts answered otherwise than 200 and posted"
            f" again {self.posting.reposted} {dict(self.posting.statuses)}; first copies of"
            f" those sent twice, ms from the kill: {sorted(c.first_copies)}"
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """This process — the fake Telegram and the residents — without Python's cyclic
    garbage collector during a run: after the earlier runs it holds millions of objects,
    and a full collection stopped the fake's event loop for 100-220 ms, long enough to
    read a fifth of a second of the bot's messages at once and count them as a burst
    (the capped run's 429s).  Telegram's servers do not pause with the bot's harness;
    the bot processes are untouched."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@dataclass
class Bench:
    pg: PgServer
    nginx: Path
    chart: OrgChart
    folder: Path

    async def run(
        self, processes: int, count: int, *, kill: bool = False, cap: bool = False
    ) -> Outcome:
        url = self.pg.new_database()
        try:
            await load_chart(url, self.chart)
            with collector_paused():
                return await self._run(url, processes, count, kill=kill, cap=cap)
        finally:
            self.pg.drop(url)

    async def _run(
        self, url: PostgresUrl, processes: int, count: int, *, kill: bool, cap: bool
    ) -> Outcome:
        rng = random.Random(SEED + processes + 10 * kill)
        api = BenchApi(latency=LATENCY)
        if cap:
            api.rate_limit_per_second = CAP
        ports = [free_port() for _ in range(processes)]
        async with HttpFakeBotApi(api) as server, opened(url) as watcher:
            db = watcher.database
            assert isinstance(db, PostgresDatabase)
            env = bot_env(
                PHANANH_TELEGRAM_API_URL=server.base_url,
                PHANANH_TELEGRAM_TOKEN=TOKEN,
                PHANANH_DB=setting(url),
                PHANANH_RATE_LIMIT="true" if cap else "false",
                PHANANH_SWEEP_SECONDS=str(SWEEP_SECONDS),
            )
            with running_nginx(self.nginx, ports) as nginx:
                api.webhook_verify = ssl.create_default_context(cafile=str(nginx.certificate))
                bots = await launch(api, env, self.folder, nginx.url("/telegram"), ports)
                fleet = Fleet(api, nginx, bots)
                try:
                    outcome = await self._burst(fleet, db, url, env, count, rng, kill)
                    await fleet.stop()
                except BaseException as failure:
                    logs = [await bot.kill() for bot in fleet.bots]
                    failure.add_note("\n".join(log[-3000:] for log in logs))
                    failure.add_note(nginx.error_log()[-3000:])
                    raise
        outcome.too_many = api.too_many
        return outcome

    async def _burst(
        self,
        fleet: Fleet,
        db: PostgresDatabase,
        url: PostgresUrl,
        env: dict[str, str],
        count: int,
        rng: random.Random,
        kill: bool,
    ) -> Outcome:
        api = fleet.api
        assert isinstance(api, BenchApi)
        people = residents(api, count, rng)
        postmaster = int(
            (self.pg.cluster.data / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        )
        load = "/".join(f"{x:.1f}" for x in os.getloadavg())
        meter = Meter([b.proc.pid for b in fleet.bots], postmaster, fleet.nginx.process.pid)
        mark = len(api.sent)
        if kill:
            expected = count * MESSAGES_PER_RESIDENT
            low, high = (int(expected * share) for share in KILL_AT)
            api.arm(fleet.bots[VICTIM].proc.pid, rng.randint(low, high), cards_only=False)
        lag: list[float] = []
        ticking = asyncio.ensure_future(tick(lag))
        began = time.perf_counter()
        old = asyncio.ensure_future(file_old_complaints(url, env)) if kill else None
        posting = Posting()
        posts = asyncio.ensure_future(post_all(fleet, people, posting))

        chats = {r.user.user_id for r in people}
        receipts: list[float] = []  # when each resident's receipt was accepted
        read = mark

        def all_filed() -> bool:
            nonlocal read
            for message in api.sent[read:]:
                if message.chat_id in chats and FILED.search(message.text or ""):
                    receipts.append(api.when.get((message.chat_id, message.message_id), 0.0))
            read = len(api.sent)
            return len(receipts) >= count

        await settle(api, posts, all_filed)
        usage = meter.read()
        ticking.cancel()
        await posts
        if old is not None:
            await old
        ended = max(receipts, default=time.perf_counter())
        accepted = [t for t in api.accepted_at if began <= t <= ended]
        await drained(db)
        lost, twice, codes = await stored(db, people)

        def cards() -> bool:
            got = {f.group(1) for m in api.sent if (f := CARD.search(m.text or ""))}
            return codes <= got

        await settle(api, posts, cards)
        await drained(db)
        later = [t for t in api.accepted_at if t > ended]
        outcome = Outcome(
            processes=len(fleet.bots),
            residents=count,
            seconds=ended - began,
            messages=len(accepted),
            usage=usage,
            chats=read_chats(api, people, codes),
            posting=posting,
            complaints_lost=lost,
            complaints_twice=twice,
            rate=(len(accepted) - 1) / (accepted[-1] - accepted[0]) if len(accepted) > 1 else 0,
            killed=api.kills > 0,
            load=load,
            lag=lag,
            drain=f"{len(later)} messages in {later[-1] - ended:.1f} s" if later else "none",
        )
        if kill:
            assert api.kills == 1, "the kill struck inside the burst"
            told = await reminders_told(db, api, self.chart)
            outcome.reminder_lines = sum(told.queued.values())
            outcome.reminders_twice = sum((told.told - told.queued).values())
            outcome.reminders_lost = sum((told.queued - told.told).values())
            outcome.digests_twice = sum((told.summaries - told.digests).values())
        return outcome


async def settle(api: BenchApi, posts: asyncio.Future[None], done: Callable[[], bool]) -> None:
    """Until ``done``, or until every update was posted and nothing was sent for a minute
    (what never came is counted as lost, not waited for)."""

    def failed() -> bool:
        return posts.done() and posts.exception() is not None

    while not done():
        sent = len(api.sent)
        with contextlib.suppress(TimeoutError):
            await api.wait_until(lambda: done() or failed(), 60)
        if failed():
            posts.result()  # a failure to post, raised here
        if not done() and posts.done() and len(api.sent) == sent:
            return


async def tick(lag: list[float]) -> None:
    """Every 10 ms, how late the wake-up came (the fake's own delay on a busy machine: a late
    loop bunches the messages it counts against the cap)."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lag.append((loop.time() - due) * 1000)


async def drained(db: PostgresDatabase) -> None:
    """Until nothing is stored unhandled and nothing due is unsent (another process's work:
    the database, checked until a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RUN_TIMEOUT
    while True:
        left = await db.fetchval("SELECT COUNT(*) FROM webhook_updates")
        due = await db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL"
            " AND next_attempt_at <= now()"
        )
        if left == 0 and due == 0:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{left} stored updates and {due} due messages left")
        await asyncio.sleep(0.2)


# ---- the rows ---------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres() -> Iterator[PgServer]:
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL server binaries not found (set PHANANH_PG_BIN)")
    with throwaway_cluster(binaries) as cluster:
        yield PgServer(cluster)


async def migrate_template(pg: PgServer) -> None:
    template = PostgresUrl.parse(pg.cluster.url(TEMPLATE))
    await (await PostgresDatabase.open(template, pool_size=1)).close()


def throughput_row(one: Outcome, three: Outcome) -> Row:
    ratio = three.per_second / one.per_second
    in_order = one.chats.in_order and three.chats.in_order
    return Row(
        name=f"Scale-out: {one.residents} residents report at once, 3 processes behind nginx"
        " vs 1 (PostgreSQL, Bot API 50 ms, no cap)",
        ours=f"{three.per_second:.1f} updates/s with 3 processes; every chat in order:"
        f" {'yes' if in_order else 'NO'}",
        reference=f"{one.per_second:.1f} updates/s with 1 process",
        ratio=f"{ratio:.2f}× one process",
        target="≥ 2.5×, every chat in order",
        met=ratio >= 2.5 and in_order,
        details={
            "1 process": one.describe(),
            "3 processes": three.describe(),
            "what is counted": "updates handled per second: the 6 updates of every report, from"
            " the first post to nginx to the last receipt the fake accepted",
        },
    )


def kill_row(killed: Outcome, three: Outcome) -> Row:
    c = killed.chats
    wrong = {
        "complaints lost or twice": killed.complaints_lost + killed.complaints_twice,
        "replies lost or twice": c.replies_lost + c.replies_twice,
        "receipts and cards lost or twice": c.receipts_lost
        + c.receipts_twice
        + c.cards_lost
        + c.cards_twice,
        "reminders twice": killed.reminders_twice + killed.digests_twice,
    }
    return Row(
        name="Scale-out: the same burst, one of 3 processes killed with SIGKILL mid-way"
        " (not restarted)",
        ours="; ".join(f"{k} {v}" for k, v in wrong.items())
        + f"; in order: {'yes' if c.in_order else 'NO'}",
        reference=f"{three.per_second:.1f} updates/s without the kill",
        ratio=f"{killed.per_second / three.per_second:.2f}× the throughput without the kill",
        target="0 complaints, replies lost or twice, 0 reminders twice",
        met=not any(wrong.values()) and c.unexpected == 0,
        details={"with the kill": killed.describe(), "counted": killed.losses()},
    )


def cap_row(capped: Outcome) -> Row:
    return Row(
        name=f"Scale-out: 3 processes, the fake enforcing {CAP} messages/s in all"
        f" ({capped.residents} residents at once)",
        ours=f"{capped.rate:.1f} messages/s together, {capped.too_many} × 429",
        reference=f"Telegram's {CAP}/s",
        ratio=f"{capped.rate / CAP:.2f}× the cap",
        target="≥ 27/s and 0 × 429",
        met=capped.rate >= 27 and capped.too_many == 0,
        details={
            "run": capped.describe(),
            "counted": capped.losses(),
            "what is counted": "messages the fake accepted per second, from the first message"
            " to the last resident's receipt",
            "after the last receipt": capped.drain,
        },
    )


async def main(count: int) -> list[Row]:
    binary = find_nginx()
    if binary is None:
        raise SystemExit("nginx not found (apt-get install nginx)")
    chart = load_org_file(EXAMPLE_ORG)
    with postgres() as pg, tempfile.TemporaryDirectory() as tmp:
        await migrate_template(pg)
        bench = Bench(pg, binary, chart, Path(tmp))
        one = await bench.run(1, count)
        print(f"1 process: {one.describe()}", flush=True)
        three = await bench.run(PROCESSES, count)
        print(f"3 processes: {three.describe()}", flush=True)
        killed = await bench.run(PROCESSES, count, kill=True)
        print(f"killed: {killed.describe()}\n  {killed.losses()}", flush=True)
        capped = await bench.run(PROCESSES, min(count, CAP_RESIDENTS), cap=True)
        print(f"capped: {capped.describe()}\n  {capped.losses()}", flush=True)
    return [throughput_row(one, three), kill_row(killed, three), cap_row(capped)]


if __name__ == "__main__":
    for row in asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else RESIDENTS)):
        row.emit()
