"""Several bot processes on one database (issue 15, second section).

On PostgreSQL any number of bot processes share the work through the database: each stored
update is handled once and each chat's in order, whichever process got it (a per-chat turn);
the outbox is claimed person by person, so no message goes out twice; the platforms' rates are
one bucket for all; one process polls at a time.  The processes here are real bot runtimes
side by side, each with its own connection pool, on one PostgreSQL database (the end-to-end
run of real `phananh run` processes behind nginx is tests/test_scaleout.py).

SQLite serves one process: a second `phananh run` on the same file is refused in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.app.admin import LEADER_NOTE, Admin
from bot.app.inbox import InboxWorker
from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.leading import while_leading
from bot.ports import Notice, StoredUpdate
from bot.runtime import Runtime, running
from bot.sandbox.telegram import FakeBotApi, FakeUser, HttpFakeBotApi, JSONDict
from handlers.telegram.channel import Webhook
from handlers.telegram.ratelimit import SHARED_PER_SECOND
from handlers.telegram.webhook import SECRET_HEADER
from storage.engines import Storage, open_storage, opened
from storage.postgres.db import Database as PostgresDatabase
from storage.postgres.leader import CHECK_SECONDS, PostgresLeadership
from tests.catalogue import says
from tests.crashkit import CARD, STOP_TIMEOUT, BotProcess, bot_env, prepare_db, start_bot
from tests.engines import PgServer, setting
from tests.factories import (
    ENVIRONMENT_CADRE,
    WARD_CHAIR,
    fake_telegram,
    load_chart,
    settings_for,
)
from tests.test_services import file_by_typing

TOKEN = "626262:processes"


@pytest.fixture
def shared(postgres: PgServer) -> Iterator[PostgresUrl]:
    """One PostgreSQL database for several processes."""
    url = postgres.new_database()
    yield url
    postgres.release(url)


# ---- the inbox: each update once, each chat in order, whichever process got it ----------------


@dataclass
class Handled:
    """What the processes' handlers did, as the channels' handlers do it: claim the update in
    the processed-update ledger, handle it, finish it."""

    log: list[tuple[str, str, str, bool]] = field(default_factory=list)  # process, chat, id
    # (process, id): that process handles that update until the event is set.
    hold: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)
    started: dict[str, asyncio.Event] = field(default_factory=dict)

    async def worker(self, name: str, storage: Storage, clock: ManualClock) -> InboxWorker:
        """Process ``name``'s inbox worker, open."""
        worker = InboxWorker(storage.inbox("telegram"))

        async def handle(stored: StoredUpdate, recovered: bool) -> None:
            update_id, payload = stored.update_id, stored.payload
            store = storage.store
            if not await store.claim_update("telegram", update_id, clock.now()):
                return
            self.started.setdefault(update_id, asyncio.Event()).set()
            if (name, update_id) in self.hold:
                await self.hold[name, update_id].wait()
            self.log.append((name, json.loads(payload)["chat"], update_id, recovered))
            await store.finish_update("telegram", update_id, clock.now())

        await worker.open(handle)
        return worker

    def order(self, chat: str) -> list[str]:
        return [update_id for _, c, update_id, _ in self.log if c == chat]


async def store(worker: InboxWorker, clock: ManualClock, chat: str, update_id: str) -> bool:
    payload = json.dumps({"chat": chat, "id": update_id})
    return await worker.store(update_id, payload, clock.now(), chat)


@pytest.fixture
async def two(shared: PostgresUrl) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two bot processes' storage on the shared database, each with its own pools."""
    async with opened(shared) as a, opened(shared) as b:
        yield a, b


async def test_a_chats_updates_are_handled_once_and_in_order_whichever_process_got_them(
    two: tuple[Storage, Storage], clock: ManualClock
) -> None:
    """Behind a load balancer a chat's updates reach any process.  The one holding the chat's
    turn handles them in the order they were stored; the other leaves the chat to it; an
    update delivered again, to the same process or another, is handled once."""
    a, b = two
    handled = Handled()
    wa, wb = await handled.worker("a", a, clock), await handled.worker("b", b, clock)
    handled.hold["a", "1"] = asyncio.Event()
    assert await store(wa, clock, "X", "1")
    await handled.started.setdefault("1", asyncio.Event()).wait()  # a holds X's turn now
    # The same chat's next updates come to both processes, and another chat's to b.
    assert await store(wb, clock, "X", "2")
    assert await store(wa, clock, "X", "3")
    assert await store(wb, clock, "Y", "4")
    assert not await store(wb, clock, "X", "2"), "delivered again before it was handled"
    await wb.settled()
    assert handled.order("X") == [], "b left X to a, which holds its turn"
    assert handled.order("Y") == ["4"]
    handled.hold["a", "1"].set()
    await wa.settled()
    await wb.settled()
    assert handled.order("X") == ["1", "2", "3"]
    assert {(name, update_id) for name, chat, update_id, _ in handled.log if chat == "X"} == {
        ("a", "1"),
        ("a", "2"),
        ("a", "3"),
    }, "a took b's update of X in its turn, after the one before it"
    # Delivered again after it was handled, to either process: handled once all the same.
    assert await store(wb, clock, "X", "2"), "stored again: its row was deleted once handled"
    assert await store(wa, clock, "X", "3")
    await wa.settled()
    await wb.settled()
    assert handled.order("X") == ["1", "2", "3"]
    assert await a.inbox("telegram").backlog() == []
    await wa.close()
    await wb.close()


async def test_a_stored_update_goes_before_a_later_one_of_its_chat_in_another_process(
    two: tuple[Storage, Storage], clock: ManualClock
) -> None:
    """a stored update 5 and has not turned to it yet when b gets update 6 of the same chat:
    b handles 5 first (the order they were stored), then 6, and a finds nothing left."""
    a, b = two
    handled = Handled()
    wb = await handled.worker("b", b, clock)
    assert await a.inbox("telegram").put("5", json.dumps({"chat": "Z"}), clock.now(), "Z")
    assert await store(wb, clock, "Z", "6")
    await wb.settled()
    assert handled.order("Z") == ["5", "6"]
    assert [recovered for *_, recovered in handled.log] == [True, False], (
        "5 was not stored by b: it may have been cut off elsewhere"
    )
    await wb.close()


async def test_what_a_dead_process_was_handling_is_handled_by_another_in_order(
    shared: PostgresUrl, clock: ManualClock
) -> None:
    """a dies (its connections gone: the server lets its turns go) while it handles update 7;
    b, which stored 8 of the same chat meanwhile and found the turn taken, handles 7 again
    (cut off: claimed, never finished) and then 8, at its next look (the sweep)."""
    handled = Handled()
    async with opened(shared) as b:
        a = await open_storage(shared)
        wa, wb = await handled.worker("a", a, clock), await handled.worker("b", b, clock)
        handled.hold["a", "7"] = asyncio.Event()
        assert await store(wa, clock, "W", "7")
        await handled.started.setdefault("7", asyncio.Event()).wait()
        assert await store(wb, clock, "W", "8")
        await wb.settled()
        assert handled.order("W") == []
        # kill -9: every connection of a's is gone at once.
        a.database.pool.terminate()
        a.database.locks.terminate()
        await until(lambda: server_let_go(b.database))
        await wb.look_again()
        await wb.settled()
        assert [(n, u, r) for n, _, u, r in handled.log] == [("b", "7", True), ("b", "8", False)]
        handled.hold["a", "7"].set()  # the dead process's handler never writes again
        await wa.settled()
        assert await b.inbox("telegram").backlog() == []
        assert await b.store.claim_update("telegram", "7", clock.now()) is False
        await wb.close()


async def test_a_second_bot_process_on_one_sqlite_file_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """Two `phananh run` on one SQLite file would both sweep and both send every reminder:
    the second says why it will not run, in one line, and exits 1; the first runs on."""
    db_path = tmp_path / "ward.db"
    await prepare_db(db_path)
    api = FakeBotApi()
    async with HttpFakeBotApi(api) as server:
        env = bot_env(
            PHANANH_TELEGRAM_API_URL=server.base_url,
            PHANANH_TELEGRAM_TOKEN=TOKEN,
            PHANANH_DB=str(db_path),
        )
        first = await start_bot(api, env, tmp_path)
        try:
            second = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=tmp_path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            async with asyncio.timeout(60):
                out, err = await second.communicate()
            assert second.returncode == 1
            lines = (out + err).decode().strip().splitlines()
            assert len(lines) == 1, lines
            assert says(lines[0], "cli.db_one_process", db=db_path)
            assert first.proc.returncode is None, "the first one runs on"
        finally:
            first.proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STOP_TIMEOUT):
                await first.collect()
    assert first.proc.returncode == 0


async def test_a_wards_file_is_not_copied_into_postgresql_while_its_bot_still_runs(
    tmp_path: Path, shared: PostgresUrl
) -> None:
    """`phananh db copy` from a ward's file whose `phananh run` is still running would
    leave behind whatever the bot records after it (a report filed a minute later): it is
    refused in one line, nothing copied; once the bot is stopped it goes through."""
    db_path = tmp_path / "ward.db"
    await prepare_db(db_path)
    api = FakeBotApi()
    copy = ("-m", "bot.cli", "db", "copy", "--from", str(db_path))
    async with HttpFakeBotApi(api) as server:
        env = bot_env(
            PHANANH_TELEGRAM_API_URL=server.base_url,
            PHANANH_TELEGRAM_TOKEN=TOKEN,
            PHANANH_DB=str(db_path),
        )
        copy_env = bot_env(PHANANH_DB=shared.reveal())
        bot = await start_bot(api, env, tmp_path)
        try:
            refused = await asyncio.create_subprocess_exec(
                sys.executable, *copy, cwd=tmp_path, env=copy_env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            async with asyncio.timeout(60):
                out, err = await refused.communicate()
            assert refused.returncode == 1
            assert (out, err.decode().splitlines()) == (
                b"",
                [t("vi", "cli.copy_bot_running", path=db_path)],
            )
        finally:
            bot.proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STOP_TIMEOUT):
                await bot.collect()
    async with opened(shared) as storage:
        assert await storage.store.load_org() is None, "nothing was copied"
    copied = await asyncio.create_subprocess_exec(
        sys.executable, *copy, cwd=tmp_path, env=copy_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        _, err = await copied.communicate()
    assert copied.returncode == 0, err.decode()
    async with opened(shared) as storage:
        assert await storage.store.load_org() is not None


# ---- the outbox: claimed person by person, so no message goes out twice -----------------------

RESIDENTS = 24
FIRST_RESIDENT = 40001


class HoldingApi(FakeBotApi):
    """The fake, holding the next message to one chat until `release` is set (the process
    sending it is stuck in the send, or dies in it)."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.held_chat: int | None = None
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        if method.lower() == "sendmessage" and int(params["chat_id"]) == self.held_chat:
            self.held_chat = None
            self.holding.set()
            await self.release.wait()
        return await super().call(method, params)


@asynccontextmanager
async def bots(
    url: PostgresUrl, clock: ManualClock, api: FakeBotApi, n: int
) -> AsyncIterator[list[Runtime]]:
    """``n`` bot processes on one database, each with its own pools, sending to one fake."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                running(settings_for(url), clock=clock, channels=[fake_telegram(api)])
            )
            for _ in range(n)
        ]


async def file_reports(runtime: Runtime, count: int, *, first: int = 0) -> list[int]:
    """``count`` residents on Telegram file a report each (by typing); nothing is sent yet."""
    services = runtime.services
    residents = []
    for i in range(first, first + count):
        actor = await services.identify("telegram", str(FIRST_RESIDENT + i), f"Dân {i}")
        await file_by_typing(services, actor)
        residents.append(FIRST_RESIDENT + i)
    return residents


def receipts(api: FakeBotApi, chat: int) -> list[str]:
    return [m.text or "" for m in api.messages_to(chat) if says(m.text, "report.filed")]


def cards(api: FakeBotApi) -> Counter[str]:
    return Counter(
        found.group(1)
        for m in api.messages_to(ENVIRONMENT_CADRE)
        if (found := CARD.search(m.text or ""))
    )


async def test_three_processes_flushing_at_once_send_every_notice_once(
    shared: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """Three processes deliver one outbox at the same moment (each update's flush, each
    sweep): each takes the people nobody else is sending to, so every receipt and every task
    card arrives once, and the cadre's cards in the order they were filed."""
    await load_chart(shared, chart)
    api = FakeBotApi(latency=0.005)  # each send a moment long: the passes overlap
    async with bots(shared, clock, api, 3) as three:
        residents = await file_reports(three[0], RESIDENTS)
        await asyncio.gather(*(bot.flush() for bot in three))
        await asyncio.gather(*(bot.core.senders.settled() for bot in three))
        pending, sent = await three[0].core.store.outbox_counts()
    assert pending == 0
    assert [len(receipts(api, chat)) for chat in residents] == [1] * RESIDENTS
    assert list(cards(api).values()) == [1] * RESIDENTS
    assert list(cards(api)) == sorted(cards(api)), "the cadre's cards in the order filed"
    assert sent == 2 * RESIDENTS


async def test_a_process_dying_mid_send_leaves_its_rows_to_the_others(
    shared: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """Process a is stuck sending the cadre's first card.  b, flushing meanwhile, sends the
    receipts of reports filed since but leaves the cadre to a (nothing twice, nothing out of
    order).  a dies (its connections gone): b's next flush sends the cadre's cards — the one a
    had in flight once more, the at-most-once-more window — and leaves nothing behind."""
    await load_chart(shared, chart)
    api = HoldingApi()
    async with bots(shared, clock, api, 1) as (b,):
        dying = running(settings_for(shared), clock=clock, channels=[fake_telegram(api)])
        a = await dying.__aenter__()
        first = await file_reports(b, 3)
        api.held_chat = ENVIRONMENT_CADRE
        stuck = asyncio.ensure_future(a.flush())
        await api.holding.wait()
        later = await file_reports(b, 3, first=len(first))
        await b.flush()
        await b.core.senders.settled()
        assert [len(receipts(api, chat)) for chat in first + later] == [1] * 6
        assert cards(api) == Counter(), "the cadre is a's while a sends to him"
        a.core.db.pool.terminate()  # kill -9: every connection of a's is gone
        a.core.db.locks.terminate()
        await until(lambda: server_let_go(b.core.db))
        await b.flush()
        await b.core.senders.settled()
        assert sum(cards(api).values()) == 6
        assert list(cards(api)) == sorted(cards(api))
        assert await b.core.store.outbox_counts() == (0, 12)
        api.release.set()  # what a had in flight reaches Telegram after all
        await stuck
        with contextlib.suppress(Exception):
            await dying.__aexit__(None, None, None)
    assert sorted(cards(api).values()) == [1] * 5 + [2], "the card in flight, once more"


# ---- the platforms' rate: one bucket for every process ----------------------------------------

NOTES = 90  # three seconds of Telegram's 30 a second


async def test_three_processes_together_keep_telegrams_thirty_a_second(
    shared: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """Each process paced itself to 30 a second, so three sent 90 and Telegram answered 429.
    Now every message's slot comes from one bucket in the database: the three together stay
    under the ceiling Telegram counts (the fake refuses the 31st message within a second)."""
    await load_chart(shared, chart)
    api = FakeBotApi()
    api.rate_limit_per_second = 30
    async with AsyncExitStack() as stack:
        three = [
            await stack.enter_async_context(
                running(
                    settings_for(shared, rate_limit=True),
                    clock=clock,
                    channels=[fake_telegram(api)],
                )
            )
            for _ in range(3)
        ]
        store = three[0].core.store
        notices = []
        for i in range(NOTES):
            found = await store.identify_person("telegram", str(FIRST_RESIDENT + i), None, "vi")
            note = {"event": "account_rebound", "staff": f"s{i}"}
            notices.append(Notice(LEADER_NOTE, person_id=found.person.id, payload=note))
        await store.enqueue(notices, clock.now())
        began = time.monotonic()
        await asyncio.gather(*(bot.flush() for bot in three))
        took = time.monotonic() - began
        assert await store.outbox_counts() == (0, NOTES)
    sends = [c for c in api.calls if c.method == "sendMessage"]
    print(f"\n{NOTES} messages from 3 processes in {took:.2f}s: {NOTES / took:.1f}/s")
    assert [c.status for c in sends] == [200] * NOTES, "no 429"
    assert took >= (NOTES - 1) / SHARED_PER_SECOND * 0.95, "paced, not merely lucky"


# ---- long polling: one process at a time --------------------------------------------------------

POLL_LOCKS = (
    "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def poll_locks(db: PostgresDatabase) -> list[tuple[int, bool]]:
    """Who holds a polling lock (True) and who waits for one (False), by server process."""
    return sorted((int(r[0]), bool(r[1])) for r in await db.fetch(POLL_LOCKS))


async def server_let_go(db: object) -> bool:
    """Whether the server holds no turn or claim lock any more: it ends a killed
    process's sessions (and lets its locks go) when it sees their sockets closed, not at
    once.  The process asking holds none of its own when it asks."""
    assert isinstance(db, PostgresDatabase)
    return await poll_locks(db) == []


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    """A condition checked until it holds, within a deadline (a server's view of another
    process: nothing to wait on but its tables)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"not so within {seconds} s")
        await asyncio.sleep(0.05)


async def test_one_process_leads_the_polling_and_another_takes_over_when_it_dies(
    shared: PostgresUrl,
) -> None:
    """a leads "telegram"; b waits in the lock itself; a's connection dies (the server ends
    its session, as when a is killed): a hears it has lost the lead, and b leads at once."""
    checks: list[float] = []

    async def check(seconds: float) -> None:  # the leader's watch, on a clock of its own
        checks.append(seconds)
        await asyncio.Event().wait()

    a, b = PostgresLeadership(shared, sleep=check), PostgresLeadership(shared, sleep=check)
    async with opened(shared) as watcher:
        db = watcher.database
        assert isinstance(db, PostgresDatabase)
        lead_a = await a.acquire("telegram")
        waiting = asyncio.ensure_future(b.acquire("telegram"))
        await until(lambda: _waits_one(db))
        [(leader, _)] = [lock for lock in await poll_locks(db) if lock[1]]
        assert not waiting.done()
        other = await b.acquire("zalo")  # another channel's lead is apart
        await db.execute("SELECT pg_terminate_backend($1)", leader)
        async with asyncio.timeout(10):
            lead_b = await waiting
            await lead_a.lost.wait()
        assert not lead_b.lost.is_set()
        assert [granted for _, granted in await poll_locks(db)] == [True, True]
        for lead in (lead_a, lead_b, other):
            await lead.release()
    assert checks and all(s == CHECK_SECONDS for s in checks)


async def _waits_one(db: PostgresDatabase) -> bool:
    """One process holds the polling lock, one waits for it."""
    return sorted(granted for _, granted in await poll_locks(db)) == [False, True]


async def test_when_the_polling_process_is_killed_another_polls_within_seconds(
    shared: PostgresUrl, chart: OrgChart, tmp_path: Path
) -> None:
    """Two real `phananh run` on one database, long polling: one polls, the other stands by
    (waiting in the lock).  kill -9 the poller: the other polls within seconds and answers."""
    await load_chart(shared, chart)
    api = FakeBotApi()
    async with opened(shared) as watcher, HttpFakeBotApi(api) as server:
        db = watcher.database
        assert isinstance(db, PostgresDatabase)
        env = bot_env(
            PHANANH_TELEGRAM_API_URL=server.base_url,
            PHANANH_TELEGRAM_TOKEN=TOKEN,
            PHANANH_DB=setting(shared),
        )
        first = await start_bot(api, env, tmp_path)
        second: BotProcess | None = None
        try:
            second = await start_bot(api, env, tmp_path, ready="deleteWebhook")
            await until(lambda: _waits_one(db))
            lan = FakeUser(api, FIRST_RESIDENT, "Lan")
            update = api.push_update(lan.command("start"))
            await api.wait_for_sent(lambda m: m.chat_id == lan.user_id)
            await api.wait_until(lambda: api.pending_updates == [], 30)  # confirmed: done
            assert update not in api.pending_updates
            mark = len(api.calls)
            killed = time.monotonic()
            await first.kill()
            await api.wait_until(lambda: any(c.method == "getUpdates" for c in api.calls[mark:]))
            takeover = time.monotonic() - killed
            print(f"\nthe poller killed: another polled {takeover:.2f}s later")
            assert takeover < 10
            an = FakeUser(api, FIRST_RESIDENT + 1, "An")
            api.push_update(an.command("start"))
            await api.wait_for_sent(lambda m: m.chat_id == an.user_id)
            assert [len(api.messages_to(u.user_id)) for u in (lan, an)] == [1, 1]
            second.proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STOP_TIMEOUT):
                output = await second.collect()
            assert second.proc.returncode == 0, output[-3000:]
            assert "stands by to take over" in output
        finally:
            for bot in (first, second):
                if bot is not None:
                    await bot.kill()


# ---- what the processes must agree on ---------------------------------------------------------

PUBLIC = "https://phananh.example.vn"


async def test_processes_behind_one_address_share_the_webhook_secret_and_the_photo_links(
    shared: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """With no secret configured, each process drew its own at start: behind a load balancer
    Telegram posted with the last setWebhook's token and every other process answered 403;
    a photo's link made by one process was 404 through another.  On PostgreSQL they now
    share one of each, kept in the database."""
    await load_chart(shared, chart)
    api = FakeBotApi()
    settings = settings_for(shared, http_port=0, public_url=PUBLIC)
    hook = fake_telegram(api, Webhook(PUBLIC + "/telegram", ""))
    async with (
        running(settings, clock=clock, channels=[hook]) as a,
        running(settings, clock=clock, channels=[hook]) as b,
        httpx.AsyncClient() as client,
    ):
        assert [c.method for c in api.calls].count("setWebhook") == 2
        secrets_sent = {c.params["secret_token"] for c in api.calls if c.method == "setWebhook"}
        assert len(secrets_sent) == 1, "one secret for every process"
        for n, bot in enumerate((a, b)):
            update = FakeUser(api, FIRST_RESIDENT + n, "Lan").command("start")
            answer = await client.post(
                f"http://127.0.0.1:{bot.http.port}/telegram",
                json=update,
                headers={SECRET_HEADER: api.webhook_secret},
            )
            assert answer.status_code == 200
        media_id = await a.core.store.put_media(
            "ab" * 32, b"\xff\xd8\xffphoto", "image/jpeg", clock.now()
        )
        link = a.core.media.link(media_id)
        path = link.removeprefix(PUBLIC)
        photo = await client.get(f"http://127.0.0.1:{b.http.port}{path}")
        assert (photo.status_code, photo.content) == (200, b"\xff\xd8\xffphoto")
        for bot in (a, b):
            assert bot.telegram.webhook is not None
            await bot.telegram.webhook.settled()
    assert [len(api.messages_to(FIRST_RESIDENT + n)) for n in (0, 1)] == [1, 1]


async def test_a_chart_change_made_in_one_process_reaches_the_others_at_their_sweep(
    shared: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """Process a deactivates the environment cadre (the ward office's command, or a leader's
    action, lands in one process).  The chart's version stamp in the database moves, and at
    its next sweep b reads the chart again: b routes new reports by the new chart, and the
    ward leader hears of each move once, not once per process."""
    await load_chart(shared, chart)
    api = FakeBotApi()
    async with bots(shared, clock, api, 2) as (a, b):
        await file_reports(a, 1)
        assert await Admin(a.services).deactivate("cb-hh-mt") == 1
        assert b.services.chart.staff["cb-hh-mt"].active, "b has not looked yet"
        await b.tick()
        await a.tick()
        assert not b.services.chart.staff["cb-hh-mt"].active
        await file_reports(b, 1, first=1)
        owners = {c.owner for c in await b.services.store.all_complaints()}
        await asyncio.gather(a.tick(), b.tick())
        for bot in (a, b):
            await bot.core.senders.settled()
    assert owners == {"ld-hh-ct"}, "the moved task and the new one: the ward leader's"
    told = [m.text or "" for m in api.messages_to(WARD_CHAIR) if says(m.text, "owners.header")]
    mentioned = Counter(code for text in told for code in re.findall(r"PA-\d{6}", text))
    assert mentioned == {"PA-000001": 1, "PA-000002": 1}, "each move told once, not per process"


async def test_polling_stops_when_its_lead_is_lost_and_starts_again_once_it_leads_again(
    shared: PostgresUrl,
) -> None:
    """The poller's lock connection breaks: another process may poll by now, so this one
    stops polling, waits for the lock again and polls once it has it.  Stopping while it
    waits for the lock (another process holds it) ends the wait."""
    never = asyncio.Event()

    async def no_checks(_: float) -> None:
        await never.wait()

    rounds: list[str] = []

    async def work(ended: asyncio.Event) -> None:
        rounds.append("polls")
        await ended.wait()
        rounds.append("stops")

    stop = asyncio.Event()
    leading = asyncio.ensure_future(
        while_leading(PostgresLeadership(shared, sleep=no_checks), "zalo", stop, work)
    )
    async with opened(shared) as watcher:
        db = watcher.database
        assert isinstance(db, PostgresDatabase)

        async def polls(times: int) -> bool:
            return rounds.count("polls") == times

        await until(lambda: polls(1))
        [(leader, _)] = await poll_locks(db)
        await db.execute("SELECT pg_terminate_backend($1)", leader)
        await until(lambda: polls(2))
        assert rounds == ["polls", "stops", "polls"]
        stop.set()
        await asyncio.wait_for(leading, 10)
        assert rounds[-1] == "stops"
        # Another process holds the lead: stopping ends the wait for it.
        other = await PostgresLeadership(shared, sleep=no_checks).acquire("zalo")
        stop_waiting = asyncio.Event()
        waiting = asyncio.ensure_future(
            while_leading(PostgresLeadership(shared), "zalo", stop_waiting, work)
        )
        await until(lambda: _waits_one(db))
        stop_waiting.set()
        await asyncio.wait_for(waiting, 10)
        await other.release()
    assert rounds.count("polls") == 2
