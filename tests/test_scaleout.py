"""Three real `phananh run` processes on one PostgreSQL database, behind a real nginx (the
shipped examples/nginx-phananh.conf, on loopback, with a certificate made for the run), in
Telegram webhook mode; the fake Bot API posts every update to nginx over HTTPS, as Telegram
would, and nginx passes each to any of the three.

1. At their start the three sweep a database holding complaints filed ten days ago and
   never acknowledged (so reminders and escalations are due) and the week's digest not sent:
   every reminder line, every escalation and every digest reaches its reader once.
2. Residents each type several commands in a row, each posted as soon as the one before
   was stored (as Telegram posts a chat's updates): the updates of one chat land on
   different processes, and each chat's replies come back in the order typed, once each.
3. A burst of residents files complaints by typing; in the middle, one process is killed
   with SIGKILL and not restarted (nginx passes what it would have had to the others, which
   also take up the updates it had stored but not handled, at their next sweep).  At the end
   every complaint is stored once, every resident has every receipt and every cadre every
   task card — twice at most, and no more of them twice than the outbox had in flight at the
   kill (the at-most-once-more window) — and nothing is left in the outbox or the inbox.

Waits are the fake's bounded `wait_until` on a condition, or a condition on the database
checked until a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app.media import TemporaryFiles
from bot.config import PostgresUrl, load_settings
from bot.domain.clock import ManualClock
from bot.domain.complaints import format_code
from bot.domain.orgchart import OrgChart
from bot.http import HttpServer, add_files_route
from bot.runtime import opened as opened_core
from bot.sandbox.telegram import FakeBotApi, FakeUser, HttpFakeBotApi, JSONDict, SentMessage
from handlers.telegram.outbox import PARALLEL_RECIPIENTS
from storage.engines import opened
from storage.postgres.db import Database as PostgresDatabase
from tests.catalogue import digest_part, opens_with, says
from tests.crashkit import (
    CARD,
    FILED,
    START_TIMEOUT,
    STOP_TIMEOUT,
    BotProcess,
    Killer,
    Reader,
    Reply,
    bot_env,
    wait_or_fail,
)
from tests.engines import PgServer, setting
from tests.factories import load_chart
from tests.nginx import Nginx, free_port, nginx_or_skip, running_nginx
from tests.test_services import file_by_typing

# Real processes, a kill -9, a minute or so: `make crash-test` runs it with the others.
pytestmark = pytest.mark.crash

TOKEN = "737373:scale-out"
PROCESSES = 3
VICTIM = 1  # the process killed in the burst
SEED = 20261207
OLD = 6  # complaints filed ten days ago, never acknowledged
FIRST_OLD = 61001
IN_A_ROW = 4  # commands each resident of the ordering phase types in a row
TYPISTS = 40
FIRST_TYPIST = 62001
RESIDENTS = 60
PER_RESIDENT = 2
FIRST_RESIDENT = 63001
KILL_AFTER = (150, 300)  # messages the fake accepts in the burst before the kill
GROUPS = [f"HH-TDP{i:02d}" for i in range(1, 15) if i != 12]
SWEEP_SECONDS = 10  # the shortest: a dead process's stored updates wait at most this
PHASE_TIMEOUT = 120.0

classify = Reader().classify
STATUS_OF = Reader().status
CODE_RE = re.compile(r"PA-\d{6,}")


class KillingBotApi(Killer, FakeBotApi):
    """The fake, able to SIGKILL one process the moment it accepted a message."""

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        status, body = await super().call(method, params)
        sent = status == 200 and method.lower() == "sendmessage"
        if sent and self.accepted(int(params["chat_id"]), str(params.get("text", ""))):
            await self._notify()
        return status, body


# ---- the three processes --------------------------------------------------------------------


@dataclass
class Fleet:
    """The bot processes behind nginx, and the updates posted to them."""

    api: KillingBotApi
    nginx: Nginx
    bots: list[BotProcess]
    logs: list[str] = field(default_factory=list)

    @property
    def alive(self) -> list[BotProcess]:
        return [b for b in self.bots if b.proc.returncode is None]

    async def post(self, update: JSONDict) -> int:
        """As Telegram posts it: to the webhook address (nginx), with the secret."""
        return await self.api.deliver(update)

    async def stop(self) -> None:
        """The survivors stopped with SIGTERM: each exits 0 (their output kept)."""
        for bot in self.alive:
            bot.proc.send_signal(signal.SIGTERM)
        for bot in self.bots:
            async with asyncio.timeout(STOP_TIMEOUT):
                self.logs.append(await bot.collect())
        survivors = [b for n, b in enumerate(self.bots) if n != VICTIM]
        assert [b.proc.returncode for b in survivors] == [0] * len(survivors), self.logs


async def launch(
    api: KillingBotApi, env: dict[str, str], cwd: Path, hook: str, ports: list[int]
) -> list[BotProcess]:
    """Start the processes, each on a port of its own, all at once, and wait until each has
    set the webhook (a process that exits first fails the test with what they wrote)."""
    mark = len(api.calls)
    bots = []
    for port in ports:
        args = ("run", "--webhook", hook, "--listen", "127.0.0.1", "--port", str(port))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        bots.append(BotProcess(proc, asyncio.ensure_future(proc.communicate())))

    def ready() -> bool:
        if any(b.output.done() for b in bots):
            return True
        # Answered, not only asked: a fake with latency records the call before it sets the
        # webhook.
        answered = [c for c in api.calls[mark:] if c.method == "setWebhook" and c.status == 200]
        return len(answered) >= len(bots)

    try:
        await api.wait_until(ready, START_TIMEOUT)
        if any(bot.output.done() for bot in bots):
            raise AssertionError("a bot exited before it started")
    except BaseException as failure:
        failure.add_note("\n".join([(await bot.kill())[-3000:] for bot in bots]))
        raise
    return bots


# ---- 1. what was due while nobody ran -------------------------------------------------------


async def file_old_complaints(url: PostgresUrl, env: dict[str, str]) -> None:
    """Complaints filed ten days ago by typing and never acknowledged, and the week's digest
    not yet sent (the digest ran the week they were filed)."""
    past = ManualClock(datetime.now(UTC) - timedelta(days=10))
    settings = load_settings({k: v for k, v in env.items() if k.startswith("PHANANH_")})
    async with opened_core(settings, past) as core:
        services = core.services
        for i in range(OLD):
            actor = await services.identify("telegram", str(FIRST_OLD + i), f"Cũ {i}")
            await file_by_typing(services, actor)
        await core.digests.queue_weekly(past.now())


async def until(condition: Callable[[], Awaitable[bool]], why: str) -> None:
    """A condition on the database, checked until a deadline (another process's work)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PHASE_TIMEOUT
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(why)
        await asyncio.sleep(0.1)


async def due_left(db: PostgresDatabase) -> int:
    """Outbox rows due now and not sent (nor given up)."""
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL"
            " AND next_attempt_at <= now()"
        )
    )


@dataclass
class Told:
    """The reminder lines and digests the sweeps queued, and those that reached their reader
    (by chat, and by complaint code for a reminder line)."""

    queued: Counter[tuple[int, str]]
    told: Counter[tuple[int, str]]
    digests: Counter[int]
    summaries: Counter[int]


async def reminders_told(db: PostgresDatabase, api: FakeBotApi, chart: OrgChart) -> Told:
    """Every reminder line (a complaint in a staff member's reminder or escalation) and every
    digest the sweeps queued, beside those the fake accepted."""
    chat_of = {sid: m.telegram_id for sid, m in chart.staff.items() if m.telegram_id}
    queued: Counter[tuple[int, str]] = Counter()
    digests: Counter[int] = Counter()
    for staff_id, kind, payload in await db.fetch(
        "SELECT staff_id, kind, payload FROM outbox WHERE kind IN ('reminders', 'digest')"
    ):
        if kind == "digest":
            digests[chat_of[staff_id]] += 1
            continue
        for item in payload["items"]:
            queued[chat_of[staff_id], format_code(int(item["id"]))] += 1
    told: Counter[tuple[int, str]] = Counter()
    summaries: Counter[int] = Counter()
    for message in api.sent:
        text = message.text or ""
        if opens_with(text, "reminder.header"):
            for code in CODE_RE.findall(text):
                told[message.chat_id, code] += 1
        if digest_part(text) == "summary":
            summaries[message.chat_id] += 1
    return Told(queued, told, digests, summaries)


async def check_reminders_once(db: PostgresDatabase, api: FakeBotApi, chart: OrgChart) -> int:
    """Every reminder line the sweeps queued reached that person once; every digest its
    leader once."""
    found = await reminders_told(db, api, chart)
    assert found.queued, "the sweeps found reminders due"
    assert found.told == found.queued, "each reminder line once, none missing"
    assert found.summaries == found.digests and found.digests, "each leader's digest once"
    return sum(found.queued.values())


# ---- 2. a chat's updates across processes, in order ------------------------------------------


async def type_in_a_row(fleet: Fleet) -> None:
    """Each typist types `IN_A_ROW` status requests, each posted once the one before was
    stored (200); the typists all at once.  Each chat's answers, in the order typed."""
    typists = [FakeUser(fleet.api, FIRST_TYPIST + i, f"Gõ {i}") for i in range(TYPISTS)]
    asked = {t.user_id: [f"PA-{t.user_id}{n}" for n in range(IN_A_ROW)] for t in typists}

    async def one(typist: FakeUser) -> None:
        for code in asked[typist.user_id]:
            assert await fleet.post(typist.command("status", code)) == 200

    await asyncio.gather(*(one(t) for t in typists))

    def answered() -> bool:
        return all(len(fleet.api.messages_to(t.user_id)) >= IN_A_ROW for t in typists)

    await wait_or_fail(fleet.api, answered, PHASE_TIMEOUT, lambda: "typists still waiting")
    for typist in typists:
        told = [m.text or "" for m in fleet.api.messages_to(typist.user_id)]
        codes = [code for code in asked[typist.user_id] for text in told if f"“{code}”" in text]
        assert all(says(text, "status.not_found") for text in told)
        assert len(told) == IN_A_ROW, "each answered once"
        assert [next(c for c in asked[typist.user_id] if f"“{c}”" in text) for text in told] == (
            asked[typist.user_id]
        ), "in the order typed"
        assert sorted(codes) == sorted(asked[typist.user_id])


# ---- 3. the burst, with a kill ------------------------------------------------------------------

Step = tuple[str, ...]  # ("text", "2") or ("command", "start", "a-HH-TDP03")


@dataclass
class Resident:
    user: FakeUser
    groups: list[str]
    codes: dict[int, str] = field(default_factory=dict)
    n: int = 0
    inbox: list[SentMessage] = field(default_factory=list)
    since: int = 0
    last: Step = ()
    update: JSONDict = field(default_factory=dict)
    answered: str | None = None
    to_check: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.n >= PER_RESIDENT

    def description(self, n: int | None = None) -> str:
        return f"Rác ngõ {self.user.user_id}-{self.n if n is None else n}"

    def start_step(self) -> Step:
        return ("command", "start", f"a-{self.groups[self.n]}")


@dataclass
class Stats:
    reposted: int = 0  # posts no process answered 200, posted again (as Telegram does)
    replayed: int = 0  # an answer repeated: its update cut off by the kill, handled again
    redone: int = 0
    recovered: int = 0
    errors: int = 0


class Burst:
    """Residents who answer the bot's last question once it came."""

    def __init__(self, fleet: Fleet, rng: random.Random) -> None:
        self.fleet = fleet
        self.api = fleet.api
        self.stats = Stats()
        self.residents: dict[int, Resident] = {}
        for i in range(RESIDENTS):
            user = FakeUser(self.api, FIRST_RESIDENT + i, f"Dân {i + 1}")
            groups = [rng.choice(GROUPS) for _ in range(PER_RESIDENT)]
            self.residents[user.user_id] = Resident(user, groups)
        self.read = 0
        self.cards: Counter[str] = Counter()
        self.card_chats: dict[str, set[int]] = {}
        self.posting: set[asyncio.Task[None]] = set()
        self.unposted: list[Resident] = []

    @property
    def finished(self) -> bool:
        return all(r.done for r in self.residents.values())

    def send(self, r: Resident, step: Step) -> None:
        r.last = step
        r.update = r.user.text(step[1]) if step[0] == "text" else r.user.command(*step[1:])
        r.since = len(r.inbox)
        self._post(r)

    def _post(self, r: Resident) -> None:
        async def post() -> None:
            if await self.fleet.post(r.update) != 200:
                self.unposted.append(r)

        task = asyncio.ensure_future(post())
        self.posting.add(task)
        task.add_done_callback(self.posting.discard)

    def begin(self) -> None:
        for r in self.residents.values():
            self.send(r, r.start_step())

    def take_in(self) -> None:
        fresh = self.api.sent[self.read :]
        self.read += len(fresh)
        for message in fresh:
            if message.chat_id in self.residents:
                self.residents[message.chat_id].inbox.append(message)
            elif card := CARD.search(message.text or ""):
                self.cards[card.group(1)] += 1
                self.card_chats.setdefault(card.group(1), set()).add(message.chat_id)

    def react(self) -> None:
        self.take_in()
        again, self.unposted = self.unposted, []
        for r in again:
            self.stats.reposted += 1
            self._post(r)
        for r in self.residents.values():
            if not r.done:
                self._react(r)

    def _answers(self, r: Resident) -> list[tuple[Reply, SentMessage]]:
        known = set(r.codes.values())
        found = []
        for message in r.inbox[r.since :]:
            text = message.text or ""
            kind = classify(text)
            if kind is Reply.FILED:
                filed = FILED.search(text)
                if filed is not None and filed.group(1) in known:
                    continue
            if kind is not None and (text == r.answered or self._stale(r, kind)):
                self.stats.replayed += 1
                r.since = r.inbox.index(message) + 1
                continue
            if kind is not None:
                found.append((kind, message))
        return found

    @staticmethod
    def _stale(r: Resident, kind: Reply) -> bool:
        """An answer to something else than the last step (an update cut off by the kill
        and handled again after the resident moved on)."""
        if kind is Reply.NO_DRAFT:
            return r.last == r.start_step()
        if kind is Reply.MINE:
            return r.last != ("command", "mine")
        if kind is Reply.STATUS:
            return r.last[:2] != ("command", "status")
        return False

    def _filed(self, r: Resident, code: str) -> None:
        r.codes[r.n] = code
        r.n += 1

    def _react(self, r: Resident) -> None:
        answers = self._answers(r)
        if not answers:
            return
        filed = False
        for kind, message in answers:
            found = FILED.search(message.text or "") if kind is Reply.FILED else None
            if found is not None and not r.done and found.group(1) not in r.codes.values():
                self._filed(r, found.group(1))
                filed = True
        kind, message = answers[-1]
        text = message.text or ""
        r.answered = text
        if kind is Reply.STATUS:
            status = STATUS_OF.match(text)
            if status is not None and status.group(2) == r.description():
                self._filed(r, status.group(1))
                self.stats.recovered += 1
                filed = True
        if r.done:
            r.since = len(r.inbox)
            return
        self.send(r, self._next(r, kind, text, filed))

    def _next(self, r: Resident, kind: Reply, text: str, filed: bool) -> Step:
        if filed or kind is Reply.CANCELLED:
            return r.start_step()
        if kind in (Reply.FAMILY, Reply.CATEGORY):
            return ("text", "2")
        if kind is Reply.DESCRIPTION:
            return ("text", r.description())
        if kind is Reply.PHOTOS:
            return ("text", "xong")
        if kind is Reply.REVIEW:
            if f"Mô tả: {r.description()}\n" in text:
                return ("text", "1")
            self.stats.redone += 1
            return ("command", "cancel")
        if kind is Reply.NO_DRAFT:
            return ("command", "mine") if r.last == ("text", "1") else r.start_step()
        if kind in (Reply.MINE, Reply.STATUS):
            if kind is Reply.MINE:
                known = set(r.codes.values())
                r.to_check = [c for c in CODE_RE.findall(text) if c not in known]
            return ("command", "status", r.to_check.pop(0)) if r.to_check else r.start_step()
        assert kind is Reply.ERROR
        self.stats.errors += 1
        return r.last

    def waiting(self) -> str:
        stuck = [r for r in self.residents.values() if not r.done]
        lines = [f"{r.user.user_id} #{r.n} last={r.last}" for r in stuck[:5]]
        if stuck:
            lines += [f"  told: {m.text}" for m in stuck[0].inbox[-4:]]
        return f"{len(stuck)} residents waiting, e.g.:\n" + "\n".join(lines)


def news(burst: Burst, read: int) -> Callable[[], bool]:
    """Something was sent, or a post was refused."""
    return lambda: len(burst.api.sent) > read or bool(burst.unposted)


async def run_burst(fleet: Fleet, burst: Burst, rng: random.Random) -> None:
    api = fleet.api
    api.arm(fleet.bots[VICTIM].proc.pid, rng.randint(*KILL_AFTER), cards_only=False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PHASE_TIMEOUT
    burst.begin()
    while not burst.finished:
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"the burst took over {PHASE_TIMEOUT}s\n{burst.waiting()}")
        await wait_or_fail(api, news(burst, burst.read), min(left, 30.0), burst.waiting)
        burst.react()
    assert api.kills == 1, "the kill struck inside the burst"
    codes = {code for r in burst.residents.values() for code in r.codes.values()}

    def all_cards() -> bool:
        burst.take_in()
        return codes <= set(burst.cards)

    await wait_or_fail(api, all_cards, PHASE_TIMEOUT, lambda: "task cards missing")
    await asyncio.gather(*burst.posting)


async def check_burst(db: PostgresDatabase, burst: Burst, api: KillingBotApi) -> int:
    """Every complaint stored once, with its resident; every receipt and card delivered, twice
    at most and no more twice than the outbox had in flight at the kill; nothing left."""
    rows = await db.fetch(
        "SELECT c.id, c.description, a.external_id FROM complaints c"
        " JOIN complaint_people p ON p.complaint_id = c.id AND p.role = 'reporter'"
        " JOIN accounts a ON a.person_id = p.person_id AND a.channel = 'telegram'"
        " WHERE c.description LIKE 'Rác ngõ %'"
    )
    stored = {format_code(r[0]): (r[1], int(r[2])) for r in rows}
    residents = burst.residents.values()
    expected = {r.description(n) for r in residents for n in range(PER_RESIDENT)}
    assert sorted(d for d, _ in stored.values()) == sorted(expected), "each complaint once"
    for r in residents:
        for n, code in r.codes.items():
            assert stored[code] == (r.description(n), r.user.user_id)
    receipts = Counter(
        (m.chat_id, found.group(1))
        for r in residents
        for m in r.inbox
        if (found := FILED.search(m.text or ""))
    )
    assert {code for _, code in receipts} == set(stored)
    cards = {code: n for code, n in burst.cards.items() if code in stored}
    assert set(cards) == set(stored)
    assert max(receipts.values()) <= 2 and max(cards.values()) <= 2
    doubled = [runs for runs in api.copies.values() if len(runs) > 1]
    assert len(doubled) <= PARALLEL_RECIPIENTS, "no more than the outbox had in flight"
    assert burst.stats.errors == 0
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_updates") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM processed_updates WHERE done_at IS NULL") == 0
    assert await due_left(db) == 0
    return len(stored)


# ---- the run -----------------------------------------------------------------------------------


async def test_three_processes_behind_nginx_lose_and_double_nothing_when_one_is_killed(
    postgres: PgServer, chart: OrgChart, tmp_path: Path
) -> None:
    binary = nginx_or_skip()
    url = postgres.new_database()
    began = time.monotonic()
    try:
        await load_chart(url, chart)
        api = KillingBotApi()
        ports = [free_port() for _ in range(PROCESSES)]
        async with HttpFakeBotApi(api) as server, opened(url) as watcher:
            db = watcher.database
            assert isinstance(db, PostgresDatabase)
            env = bot_env(
                PHANANH_TELEGRAM_API_URL=server.base_url,
                PHANANH_TELEGRAM_TOKEN=TOKEN,
                PHANANH_DB=setting(url),
                PHANANH_RATE_LIMIT="false",
                PHANANH_SWEEP_SECONDS=str(SWEEP_SECONDS),
            )
            await file_old_complaints(url, env)
            with running_nginx(binary, ports) as nginx:
                api.webhook_verify = ssl.create_default_context(cafile=str(nginx.certificate))
                hook = nginx.url("/telegram")
                fleet = Fleet(api, nginx, await launch(api, env, tmp_path, hook, ports))
                try:
                    await until(lambda: _nothing_due(db), "the startup sweeps' notices unsent")
                    reminders = await check_reminders_once(db, api, chart)
                    await type_in_a_row(fleet)
                    burst = Burst(fleet, random.Random(SEED))
                    await run_burst(fleet, burst, random.Random(SEED + 1))
                    await until(lambda: _drained(db), "stored updates or due rows left")
                    await fleet.stop()
                except BaseException as failure:
                    fleet.logs = [await bot.kill() for bot in fleet.bots]
                    failure.add_note("\n".join(log[-3000:] for log in fleet.logs))
                    failure.add_note(nginx.error_log()[-3000:])
                    raise
                complaints = await check_burst(db, burst, api)
        survivors = fleet.logs[:VICTIM] + fleet.logs[VICTIM + 1 :]
        assert [line for log in survivors for line in log.splitlines() if " ERROR " in line] == []
        print(
            f"\nscale-out: {PROCESSES} processes behind nginx, {reminders} reminder lines once,"
            f" {TYPISTS}×{IN_A_ROW} typed in a row in order, {complaints} complaints from"
            f" {RESIDENTS} residents with one process killed (receipts or cards doubled:"
            f" {sum(len(r) > 1 for r in api.copies.values())}, posts re-sent:"
            f" {burst.stats.reposted}, answers repeated: {burst.stats.replayed}),"
            f" {time.monotonic() - began:.1f}s"
        )
    finally:
        postgres.release(url)


async def _nothing_due(db: PostgresDatabase) -> bool:
    return await due_left(db) == 0


async def _drained(db: PostgresDatabase) -> bool:
    left = await db.fetchval("SELECT COUNT(*) FROM webhook_updates")
    return left == 0 and await due_left(db) == 0


async def test_a_file_link_made_by_one_process_opens_through_nginx_whichever_it_asks(
    clock: ManualClock,
) -> None:
    """A file made for one person (an export, /mydata: for Zalo, a link) lives in the memory
    of the process that made it.  nginx asks the processes in turn until the one holding it
    answers, so the link opens whichever process nginx tries first; one nobody holds is 404."""
    binary = nginx_or_skip()
    servers = [HttpServer("127.0.0.1", 0) for _ in range(PROCESSES)]
    holders = [TemporaryFiles(clock) for _ in range(PROCESSES)]
    for server, files in zip(servers, holders, strict=True):
        add_files_route(server, files.get)
        await server.start()
    try:
        link, _ = holders[1].put(b"ma;mo ta\r\n", "text/csv", "phan-anh.csv")
        with running_nginx(binary, [s.port for s in servers]) as nginx:
            context = ssl.create_default_context(cafile=str(nginx.certificate))
            async with httpx.AsyncClient(verify=context) as client:
                got = [(await client.get(nginx.url(link))).status_code for _ in range(6)]
                gone = await client.get(nginx.url("/files/" + "x" * 43 + "/gone.csv"))
        assert got == [200] * 6
        assert gone.status_code == 404
    finally:
        for server in servers:
            await server.stop()
