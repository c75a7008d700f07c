"""Delivering the outbox, for any channel.

One row can stand for several messages — the photos, a place, a text in as
many pieces as the channel needs — its *parts*.  Each part the platform
accepts is recorded the moment it accepts it (the row becomes sent with its
last part), so a retry or a restart sends only the parts still missing: a
photo is never sent twice because the text after it met a 429.  A photo or
a place the platform refuses is skipped and the rest still goes; a text it
refuses, or a row that keeps failing for `GIVE_UP_AFTER` while the platform
takes other messages, is given up and the ward leader told, not retried for
days.

At most `PARALLEL_RECIPIENTS` rows are sent at once, each one part at a
time, so a crash (kill -9) between the platform accepting a message and its
mark being written repeats at most that many sends, and never one that was
marked.  Each pass claims its rows (`OutboxRepo.claim_outbox`): with
several bot processes on one PostgreSQL database, no two send to the same
person at once, so no row goes out twice and a dead process's rows are
sent by the others — the same window, per process that dies.  Each
person's rows go in order: a row that must wait (a 429, the network) holds
that person's later rows as long, so nobody reads a reminder before the
task card it is about.

What differs between channels is behind a `Transport`: how a row's messages
become parts (handlers/telegram/sender.py, handlers/zalo/render.py) and what
the platform's errors mean (`Transport.judge`).  `OutboxLoop` is the rest,
the same for every channel; `Senders` lets whatever handled an update flush
every channel's outbox, so a notice for someone on another channel goes at
once too.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.app.digests import Digests
from bot.app.notify import Composer, Room
from bot.app.outgoing import Outgoing
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.ports import Account, OutboxItem
from bot.report.present import Presenter

log = logging.getLogger(__name__)

BATCH = 50
# Retry delays after a failure: network trouble and 5xx back off, up to an
# hour; a row failing for `GIVE_UP_AFTER` is given up and the leader told —
# but only while the platform takes other messages (an outage of the bot's
# own network gives nobody up).  A 429 with a wait is not a failure: it is
# waited out.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=2)
# Deliveries to different people run side by side (each waits for the
# platform's answer); each channel's pacing keeps the whole under its limit.
# It is also the bound on what a crash can send twice (see the docstring).
PARALLEL_RECIPIENTS = 8
# A pass takes at most so many rows of one person (their oldest; the rest go
# in the next pass, in order).  One person's rows go one at a time, so a pass
# that took a long queue (a cadre's task cards after a burst of reports)
# would last as long as that queue, and a resident's receipt queued behind it
# would wait for all of it; capped in the claim itself, a pass holds a few
# rows each of many people.
ROWS_PER_PERSON = 4


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BACKOFF_BASE * (2 ** min(attempts, 10))
    return min(delay, BACKOFF_MAX)


@dataclass(frozen=True)
class Part:
    """One send of a row: a text (or a piece of one), a photo or an album,
    a place, a file.  ``key`` names it within the row, the same on every
    attempt; ``accepted`` is told what the platform answered (Telegram
    remembers where a complaint's buttons are)."""

    key: str
    send: Callable[[], Awaitable[object]]
    optional: bool = False  # a photo or a place: refused, it is skipped
    accepted: Callable[[object], Awaitable[None]] | None = None


class Verdict(enum.Enum):
    """What an error from the platform means for the row."""

    WAIT = "wait"  # asked to slow down for a known time: not a failure
    RETRY = "retry"  # the network, the platform's fault: back off, and give up in the end
    REFUSED = "refused"  # this message will never be taken: give it up, tell a leader
    UNREACHABLE = "unreachable"  # the person cannot be reached on this account


@dataclass(frozen=True)
class Failure:
    verdict: Verdict
    reason: str  # for the log and the row's last error; never a person's words
    # WAIT: how long the person's rows wait (None: the platform did not say;
    # the usual backoff, growing with the row's attempts).
    delay: timedelta | None = None


class Transport(Protocol):
    """One channel's side of delivery."""

    @property
    def channel(self) -> str: ...

    @property
    def room(self) -> Room:
        """How much one of the channel's messages holds (lists are cut to it)."""
        ...

    def parts(self, item: OutboxItem, actor: Actor, messages: Sequence[Outgoing]) -> list[Part]:
        """The row's messages as the channel's sends, in order."""
        ...

    def judge(self, error: Exception) -> Failure | None:
        """What an error raised by a send means; None for one that is not
        the platform's (a bug preparing the row)."""
        ...

    def sending(self) -> AbstractContextManager[None]:
        """Around one row's sends (Telegram: a 429 comes straight back
        rather than being waited out in the rate limiter)."""
        ...


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"  # this row failed; the person's next rows may still go
    HELD = "held"  # a 429 or a network failure: the person's next rows wait too


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    retry_in: timedelta = timedelta(0)  # for HELD: how long the person's rows wait


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background outbox flush failed", exc_info=task.exception())


class OutboxLoop:
    """Sends one channel's outbox rows through its `Transport`.

    ``refusals_before_unreachable``: a channel that cannot tell a blocked
    person from a refused message (Zalo) marks the account unreachable
    after that many refusals in a row to it; None when the channel says so
    itself (Telegram's 403)."""

    def __init__(
        self,
        services: Services,
        present: Presenter,
        transport: Transport,
        digests: Digests | None = None,
        *,
        refusals_before_unreachable: int | None = None,
    ) -> None:
        self.services = services
        self.transport = transport
        self.composer = Composer(services, present, transport.room, digests)
        self.refusals_before_unreachable = refusals_before_unreachable
        self._refusals: dict[Account, int] = {}
        self._running = False
        self._again = False
        self._seen_changes = -1
        self._background: asyncio.Task[int] | None = None
        self._passes_started = 0
        self._passes_done = 0
        self._pass_end = asyncio.Condition()
        self._accepted_at: datetime | None = None  # when the platform last took a message

    @property
    def channel(self) -> str:
        return self.transport.channel

    async def flush(self) -> int:
        """Send everything due; returns how many rows were sent.

        One flush runs at a time, so a row is never sent twice at once.  A
        call made while one runs does not wait for it: it asks the running
        flush to look once more before it stops, and returns 0 at once.
        """
        if self._running:
            self._again = True
            return 0
        self._running = True
        return await self._run()

    async def _run(self) -> int:
        """Passes until one finds nothing new: each pass reads the due rows
        (one batch) and sends them."""
        sent = 0
        try:
            while True:
                self._again = False
                self._seen_changes = self.services.store.outbox_changes
                self._passes_started += 1
                # Claimed for the pass: another process sends none of them meanwhile.
                claim = self.services.claim_notices(BATCH, self.channel, ROWS_PER_PERSON)
                async with claim as items:
                    if items:
                        sent += await self._send_batch(items)
                async with self._pass_end:
                    self._passes_done = self._passes_started
                    self._pass_end.notify_all()
                if not items and not self._again:
                    return sent
        finally:
            self._running = False
            async with self._pass_end:
                self._pass_end.notify_all()

    async def flush_update(self) -> None:
        """The flush after an update: returns once the update's own rows are
        sent — the first pass that starts after them — and leaves whatever
        others queued meanwhile to the flush running in the background, so a
        batch of updates does not wait for everyone's deliveries.  Skipped
        without a query when nothing was queued since the last pass looked
        (retries of earlier failures wait for the periodic sweep)."""
        if self.services.store.outbox_changes == self._seen_changes:
            return
        needed = self._passes_started + 1
        if self._running:
            self._again = True
        else:
            self._running = True
            self._background = asyncio.create_task(self._run())
            self._background.add_done_callback(_log_failure)
        async with self._pass_end:
            await self._pass_end.wait_for(lambda: self._passes_done >= needed or not self._running)

    async def settled(self, grace: float | None = None) -> None:
        """Wait for the background flush, if any (tests, the demo, shutting
        down); after ``grace`` seconds it is cancelled — what it had not
        sent stays in the outbox for the next start."""
        task = self._background
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send_batch(self, items: Sequence[OutboxItem]) -> int:
        """Each person's rows in order, different people side by side."""
        by_person: dict[int, list[OutboxItem]] = {}
        for item in items:
            key = item.recipient.id if item.recipient is not None else -item.id
            by_person.setdefault(key, []).append(item)
        gate = asyncio.Semaphore(PARALLEL_RECIPIENTS)

        async def one_person(queue: list[OutboxItem]) -> int:
            sent = 0
            async with gate:
                for item in queue:
                    attempt = await self._attempt(item)
                    if attempt.outcome is Outcome.HELD:
                        # The person's later rows (in this pass or not) wait as
                        # long, and keep their order.
                        await self.services.hold_later(item, attempt.retry_in)
                        break
                    sent += attempt.outcome is Outcome.SENT
            return sent

        return sum(await asyncio.gather(*(one_person(q) for q in by_person.values())))

    async def _attempt(self, item: OutboxItem) -> Attempt:
        try:
            with self.transport.sending():
                await self._deliver(item)
        except Exception as exc:
            failure = self.transport.judge(exc)
            if failure is None:  # a bug rendering this row must not stop the others
                log.exception("outbox %s (%s) could not be prepared", item.id, item.kind)
                await self._failed(item, type(exc).__name__, backoff(item.attempts), counts=True)
                return Attempt(Outcome.FAILED)
            return await self._judged(item, failure)
        self.services.observer.delivered(self.channel, item.kind)
        return Attempt(Outcome.SENT)

    async def _judged(self, item: OutboxItem, failure: Failure) -> Attempt:
        if failure.verdict is Verdict.WAIT:
            wait = failure.delay if failure.delay is not None else backoff(item.attempts)
            await self._failed(item, failure.reason, wait, counts=False)
            return Attempt(Outcome.HELD, wait)
        if failure.verdict is Verdict.RETRY:
            delay = backoff(item.attempts)
            await self._failed(item, failure.reason, delay, counts=True)
            return Attempt(Outcome.HELD, delay)
        if failure.verdict is Verdict.REFUSED and not self._refused_too_often(item):
            # The platform refused the message itself: the same would be refused again.
            log.warning("outbox %s (%s) refused, given up: %s", item.id, item.kind, failure.reason)
            await self.services.delivery_abandoned(item, failure.reason)
            return Attempt(Outcome.FAILED)
        # Blocked the bot, never started it, or refused every message: retrying cannot help.
        log.warning("outbox %s (%s): recipient unreachable", item.id, item.kind)
        await self.services.recipient_unreachable(item, failure.reason)
        return Attempt(Outcome.FAILED)

    def _refused_too_often(self, item: OutboxItem) -> bool:
        """Whether this refusal makes one too many in a row for the account."""
        limit, account = self.refusals_before_unreachable, item.account
        if limit is None or account is None:
            return False
        self._refusals[account] = self._refusals.get(account, 0) + 1
        return self._refusals[account] >= limit

    async def _failed(
        self, item: OutboxItem, error: str, retry_in: timedelta, *, counts: bool
    ) -> None:
        """Retry later — or, for a row failing since long enough while other
        messages get through, give it up and tell the leaders."""
        now = self.services.now()
        since = item.failing_since
        if (
            counts
            and since is not None
            and now - since >= GIVE_UP_AFTER
            and self._accepted_at is not None
            and self._accepted_at > since
        ):
            log.warning(
                "outbox %s (%s) failing since %s, given up: %s", item.id, item.kind, since, error
            )
            await self.services.delivery_abandoned(item, error)
            return
        log.warning("outbox %s (%s) not sent: %s", item.id, item.kind, error.split(":")[0])
        await self.services.notice_failed(item.id, error, retry_in, counts=counts)

    async def _deliver(self, item: OutboxItem) -> None:
        """Compose the row's messages, render them into parts and send
        those not sent yet."""
        person, account = item.recipient, item.account
        # The store only returns rows with a recipient and an account to send to.
        assert person is not None and account is not None
        actor = await self.services.actor_of_person(person)
        messages = await self.composer.compose(item, actor)
        parts = self.transport.parts(item, actor, messages)
        await self._send_parts(item, parts)

    async def _send_parts(self, item: OutboxItem, parts: Sequence[Part]) -> None:
        """Send the parts still missing, one at a time, recording each the
        moment the platform accepts it; the row is sent with the last."""
        done = list(item.parts_done)
        todo = [part for part in parts if part.key not in done]
        if not todo:  # nothing (left) to say: handled meanwhile, or all sent before a crash
            await self.services.notice_parts(item.id, done, finished=True)
            return
        for n, part in enumerate(todo):
            sent: object = None
            try:
                sent = await part.send()
            except Exception as exc:
                failure = self.transport.judge(exc)
                if not part.optional or failure is None or failure.verdict is not Verdict.REFUSED:
                    raise
                # A photo the platform will not take, a place it will not pin:
                # the rest of the notice matters more than this part of it.
                log.warning(
                    "outbox %s (%s): %s refused, the rest goes on: %s",
                    item.id,
                    item.kind,
                    part.key,
                    failure.reason,
                )
            else:
                self._accepted_at = self.services.now()
                if item.account is not None:
                    self._refusals.pop(item.account, None)
            done.append(part.key)
            await self.services.notice_parts(item.id, done, finished=n == len(todo) - 1)
            if part.accepted is not None and sent is not None:
                await part.accepted(sent)


class Senders:
    """Every channel's outbox loop, so that whatever handled an update
    sends what it queued on every channel at once: a Zalo resident's
    complaint reaches a Telegram cadre without waiting for the sweep."""

    def __init__(self) -> None:
        self.loops: list[OutboxLoop] = []

    def add(self, loop: OutboxLoop) -> None:
        self.loops.append(loop)

    async def after_update(self) -> None:
        """Each channel's flush after an update (see `OutboxLoop.flush_update`)."""
        await asyncio.gather(*(loop.flush_update() for loop in self.loops))

    async def settled(self, grace: float | None = None) -> None:
        for loop in self.loops:
            await loop.settled(grace)
