"""What the kill -9 tests share, whatever the channel (tests/test_crash.py for Telegram,
tests/test_zalo_crash.py for Zalo): the real `phananh run` as a subprocess against a fake
messenger on 127.0.0.1, started, killed and reaped; the database it starts from; the
environment it runs in; the fake's bounded wait as a failure that says who is stuck; and how
a resident reads the bot's messages (through the catalogue, in the channel's own words).

Nothing sleeps: every wait is a fake's `wait_until`, on a condition.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.complaints import format_code
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.orgio.reader import load_org_file
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore
from tests.catalogue import Wording, capture, pattern

EXAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
START_TIMEOUT = 60.0  # a cold interpreter importing PTB on a busy machine
STALL_TIMEOUT = 60.0  # nothing sent for this long while residents still wait: a failure
# (a restart after a kill on a machine at load 9 took over 30 s: start-up alone may take 60)
STOP_TIMEOUT = 20.0

# What the bot says, read through the catalogue (compiled once: a burst reads thousands of
# messages).
CODE = r"PA-\d{6,}"
FILED = capture("report.filed", groups={"code": CODE})
STATUS = capture("status.detail", groups={"code": CODE, "description": r"[^\n]*"})
CARD = capture("task.card", groups={"code": CODE}, header=t("vi", "task.new_header"))


class Call(Protocol):
    method: str


class Watched(Protocol):
    """A fake messenger as these helpers use it: the calls it got, and its bounded wait."""

    @property
    def calls(self) -> Sequence[Call]: ...

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = ...,  # noqa: ASYNC109 - the fakes' own bounded wait
    ) -> None: ...


class Reply(Enum):
    """What a resident makes of a message from the bot."""

    FAMILY = "family"
    CATEGORY = "category"
    DESCRIPTION = "description"
    PHOTOS = "photos"
    REVIEW = "review"
    FILED = "filed"
    NO_DRAFT = "no_draft"
    CANCELLED = "cancelled"
    MINE = "mine"
    STATUS = "status"
    ERROR = "error"


# Messages that begin with one of these entries, and messages that hold one anywhere.
OPENINGS = {
    Reply.REVIEW: ("report.review",),
    Reply.NO_DRAFT: ("fallback.help",),
    Reply.CANCELLED: ("conv.cancelled", "cancel.none"),
    Reply.MINE: ("mine.header", "mine.empty"),
    Reply.STATUS: ("status.not_found",),
    Reply.ERROR: ("fallback.error",),
}
ANYWHERE = {
    Reply.FAMILY: ("report.ask_family",),
    Reply.CATEGORY: ("report.ask_category",),
    Reply.DESCRIPTION: ("report.ask_description", "report.ask_description_again"),
    Reply.PHOTOS: ("report.ask_photos", "report.photos_hint"),
}


class Reader:
    """Classifies the bot's messages as a resident reads them.  ``words`` maps a catalogue
    key to the one the channel says instead, and ``wording`` is how the channel words an
    entry (Zalo: its own entries where Telegram's speak of buttons, what to type where a
    text names a /command)."""

    def __init__(
        self, words: Mapping[str, str] | None = None, wording: Wording | None = None
    ) -> None:
        def compiled(table: dict[Reply, tuple[str, ...]]) -> dict[Reply, list[Any]]:
            return {
                kind: [pattern((words or {}).get(key, key), wording=wording) for key in keys]
                for kind, keys in table.items()
            }

        self.openings = compiled(OPENINGS)
        self.anywhere = compiled(ANYWHERE)
        self.filed = capture("report.filed", groups={"code": CODE}, wording=wording)
        self.status = capture(
            "status.detail", groups={"code": CODE, "description": r"[^\n]*"}, wording=wording
        )

    def classify(self, text: str) -> Reply | None:
        """None for a message that only leads up to a question (a greeting, a note)."""
        if self.filed.search(text):
            return Reply.FILED
        if self.status.match(text):
            return Reply.STATUS
        for kind, patterns in self.openings.items():
            if any(p.match(text) for p in patterns):
                return kind
        for kind, patterns in self.anywhere.items():
            if any(p.search(text) for p in patterns):
                return kind
        return None


class Killer:
    """Mixed into a fake messenger: SIGKILLs the bot the moment the fake has accepted the Nth
    further message (or task card), before the bot hears back — the worst moment for
    exactly-once — and records every outbox message accepted (receipts and task cards, by
    chat and code) with the number of kills so far.  A copy the dying bot had in flight at
    kill k may be accepted just after it, and so counts k, like the resend after it."""

    filed = FILED  # a receipt as the channel words it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._victim: int | None = None
        self._countdown = 0
        self._cards_only = False
        self.kills = 0
        self.kills_on_cards = 0
        self.kills_on_receipts = 0
        self.copies: dict[tuple[Hashable, str], list[int]] = {}

    def arm(self, pid: int, countdown: int, *, cards_only: bool) -> None:
        """Kill `pid` once `countdown` more messages (or task cards) have been accepted."""
        self._victim, self._countdown, self._cards_only = pid, countdown, cards_only

    @property
    def armed(self) -> bool:
        return self._victim is not None

    def accepted(self, chat: Hashable, text: str) -> bool:
        """The fake accepted ``text`` for ``chat``; True if that killed the bot."""
        notice = self.filed.search(text) or CARD.search(text)
        if notice is not None:
            self.copies.setdefault((chat, notice.group(1)), []).append(self.kills)
        if self._victim is None:
            return False
        card = CARD.search(text) is not None
        if card or not self._cards_only:
            self._countdown -= 1
        if self._countdown > 0:
            return False
        os.kill(self._victim, signal.SIGKILL)  # the answer is not written yet
        self._victim = None
        self.kills += 1
        self.kills_on_cards += card
        self.kills_on_receipts += self.filed.search(text) is not None
        return True


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    output: asyncio.Future[tuple[bytes, bytes]]

    async def collect(self) -> str:
        """What it wrote, once it has exited."""
        stdout, stderr = await self.output
        return (stdout + stderr).decode(errors="replace")

    async def kill(self) -> str:
        if self.proc.returncode is None:
            self.proc.kill()
        return await self.collect()


async def start_bot(
    api: Watched,
    env: dict[str, str],
    cwd: Path,
    args: Sequence[str] = ("run",),
    ready: str = "getUpdates",
) -> BotProcess:
    """Start `phananh run` and wait until it makes the `ready` call (it polls; setWebhook in
    webhook mode); fail at once if it exits first."""
    mark = len(api.calls)
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
    bot = BotProcess(proc, asyncio.ensure_future(proc.communicate()))  # pipes never fill

    def started() -> bool:
        return any(c.method == ready for c in api.calls[mark:])

    waited = asyncio.ensure_future(api.wait_until(started, START_TIMEOUT))
    racers: set[asyncio.Future[Any]] = {waited, bot.output}
    await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    if not waited.done():
        waited.cancel()
        await asyncio.gather(waited, return_exceptions=True)
        raise AssertionError(f"the bot exited before it started:\n{await bot.collect()}")
    waited.result()
    return bot


async def prepare_db(db_path: Path, chart: OrgChart | None = None) -> None:
    """A database holding the example org chart (or ``chart``)."""
    db = await Database.open(db_path)
    try:
        await SqliteStore(db).replace_org(chart or load_org_file(EXAMPLE_ORG))
    finally:
        await db.close()


@dataclass
class Stored:
    complaints: dict[str, tuple[str, str, str]]  # code -> (description, owner, reporter's id)
    pending_outbox: list[tuple[int, str, int, int, str]]
    unfinished_updates: int  # claimed, never done: cut off by a kill and not handled again
    inbox: int  # updates stored by a webhook or a Zalo poll and not handled yet


def read_db(db_path: Path, channel: str) -> Stored:
    """What the database holds once the bot has stopped; reporters on ``channel``."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT c.id, c.description, c.owner, p.external_id"
            " FROM complaints c"
            " JOIN complaint_people cp ON cp.complaint_id = c.id AND cp.role = 'reporter'"
            " JOIN accounts p ON p.person_id = cp.person_id AND p.channel = ?",
            (channel,),
        ).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM complaints").fetchone()[0]
        pending = conn.execute(
            "SELECT id, kind, complaint_id, attempts, last_error FROM outbox"
            " WHERE sent_at IS NULL AND given_up_at IS NULL"
        ).fetchall()
        unfinished = conn.execute(
            "SELECT COUNT(*) FROM processed_updates WHERE done_at IS NULL"
        ).fetchone()[0]
        inbox = conn.execute("SELECT COUNT(*) FROM webhook_updates").fetchone()[0]
    assert total == len(rows), "every complaint has exactly one reporter"
    complaints = {format_code(cid): (desc, owner, str(who)) for cid, desc, owner, who in rows}
    return Stored(complaints, pending, int(unfinished), int(inbox))


def on_zalo(chart: OrgChart, zalo_ids: Mapping[str, str]) -> OrgChart:
    """The chart with these staff on Zalo only (their Telegram id dropped)."""
    staff = dict(chart.staff)
    for staff_id, zalo_id in zalo_ids.items():
        staff[staff_id] = replace(staff[staff_id], telegram_id=None, zalo_id=zalo_id)
    return replace(chart, staff=staff)


def bot_env(**settings: str) -> dict[str, str]:
    """The environment without the caller's PHANANH_ settings, with ``settings``, and quiet
    hours far from now: a burst run at night would otherwise hold every task card until
    the morning (a complaint filed in the quiet hours reaches its cadre at their end)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    far = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(hours=12)
    env["PHANANH_QUIET_HOURS"] = f"{far:%H:%M}-{far + timedelta(minutes=1):%H:%M}"
    env.update(settings)
    return env


async def wait_or_fail(
    api: Watched, condition: Callable[[], bool], limit: float, why: Callable[[], str]
) -> None:
    """The fake's bounded wait, failing with `why()` (who is stuck, and how) on a timeout."""
    try:
        await api.wait_until(condition, limit)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{why()}") from None
