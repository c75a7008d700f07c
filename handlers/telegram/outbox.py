"""Delivering the outbox over Telegram.

One row can stand for several messages — the photos (an album), the
location pin, a text in as many pieces as Telegram needs — its *parts*.
Each part Telegram accepts is recorded the moment it accepts it (the row
becomes sent with its last part), so a retry or a restart sends only the
parts still missing: a photo is never sent twice because the text after it
met a 429.  A photo or a pin Telegram refuses (400: a file id it does not
know) is skipped and the rest still goes; a text it refuses, or a row that
keeps failing for `GIVE_UP_AFTER` while Telegram takes other messages, is
given up and the ward leader told, not retried for days.

At most `PARALLEL_RECIPIENTS` rows are sent at once, each one part at a
time, so a crash (kill -9) between Telegram accepting a message and its
mark being written repeats at most that many sends — a text, a photo, an
album or a pin each — and never one that was marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.app.digests import Digests
from bot.app.notify import Composer, Room
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.ports import OutboxItem
from handlers.telegram.ratelimit import no_waiting
from handlers.telegram.render import TEXT_LIMIT, Renderer, utf16_len
from handlers.telegram.sender import Part, TelegramSender, chat_of

log = logging.getLogger(__name__)

BATCH = 50
# Retry delays after a failure: network trouble and 5xx back off, up to an
# hour; a row failing for `GIVE_UP_AFTER` is given up and the leader told —
# but only while Telegram takes other messages (an outage of the bot's own
# network gives nobody up).  A 429 is not a failure: it is waited out.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=2)
# What one Telegram message holds, measured as Telegram measures it: a
# list of tasks is cut to this (bot/app/notify.py).
TELEGRAM_ROOM = Room(TEXT_LIMIT, utf16_len)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background outbox flush failed", exc_info=task.exception())


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BACKOFF_BASE * (2 ** min(attempts, 10))
    return min(delay, BACKOFF_MAX)


# Deliveries to different people run side by side (each waits ~50 ms for
# Telegram's answer); the rate limiter keeps the whole under 30 a second.
# It is also the bound on what a crash can send twice (see the docstring).
PARALLEL_RECIPIENTS = 8


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"  # this row failed; the person's next rows may still go
    HELD = "held"  # a 429 or a network failure: the person's next rows wait too


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    retry_in: timedelta = timedelta(0)  # for HELD: how long the person's rows wait


class OutboxSender:
    def __init__(
        self, services: Services, renderer: Renderer, bot: Bot, digests: Digests | None = None
    ) -> None:
        self.services = services
        self.composer = Composer(services, renderer, TELEGRAM_ROOM, digests)
        self.telegram = TelegramSender(bot, services)
        self._running = False
        self._again = False
        self._seen_changes = -1
        self._background: asyncio.Task[int] | None = None
        self._passes_started = 0
        self._passes_done = 0
        self._pass_end = asyncio.Condition()
        self._accepted_at: datetime | None = None  # when Telegram last took a message

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
                items = await self.services.due_notices(BATCH)
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
                for n, item in enumerate(queue):
                    attempt = await self._attempt(item)
                    if attempt.outcome is Outcome.HELD:
                        # The person's later rows wait as long, and keep their order.
                        for later in queue[n + 1 :]:
                            await self.services.notice_failed(
                                later.id, "held", attempt.retry_in, counts=False
                            )
                        break
                    sent += attempt.outcome is Outcome.SENT
            return sent

        return sum(await asyncio.gather(*(one_person(q) for q in by_person.values())))

    async def _attempt(self, item: OutboxItem) -> Attempt:
        try:
            with no_waiting():  # a 429 reschedules the row; it never holds up the pass
                await self._deliver(item)
        except RetryAfter as exc:
            wait: timedelta | int = exc.retry_after
            delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
            await self._failed(item, "retry_after", delay, counts=False)
            return Attempt(Outcome.HELD, delay)
        except Forbidden:
            # Blocked the bot, or never started it: retrying cannot help.
            log.warning("outbox %s (%s): recipient unreachable", item.id, item.kind)
            await self.services.recipient_unreachable(item, "forbidden")
            return Attempt(Outcome.FAILED)
        except BadRequest as exc:
            # Telegram refused the text itself: the same text would be refused again.
            log.warning("outbox %s (%s) refused, given up: %s", item.id, item.kind, exc.message)
            await self.services.delivery_abandoned(item, f"bad_request: {exc.message}")
            return Attempt(Outcome.FAILED)
        except (NetworkError, TelegramError) as exc:
            delay = backoff(item.attempts)
            await self._failed(item, type(exc).__name__, delay, counts=True)
            return Attempt(Outcome.HELD, delay)
        except Exception as exc:  # a bug rendering this row must not stop the others
            log.exception("outbox %s (%s) could not be prepared", item.id, item.kind)
            await self._failed(item, type(exc).__name__, backoff(item.attempts), counts=True)
            return Attempt(Outcome.FAILED)
        return Attempt(Outcome.SENT)

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
        parts = self.telegram.parts(chat_of(item), actor, messages)
        await self._send_parts(item, actor, parts)

    async def _send_parts(self, item: OutboxItem, actor: Actor, parts: Sequence[Part]) -> None:
        """Send the parts still missing, one at a time, recording each the
        moment Telegram accepts it; the row is sent with the last."""
        done = list(item.parts_done)
        todo = [part for part in parts if part.key not in done]
        if not todo:  # nothing (left) to say: handled meanwhile, or all sent before a crash
            await self.services.notice_parts(item.id, done, finished=True)
            return
        for n, part in enumerate(todo):
            sent: object = None
            try:
                sent = await part.send()
            except BadRequest as exc:
                if not part.optional:
                    raise
                # A file id Telegram does not know, a point it will not pin: the
                # rest of the notice matters more than this part of it.
                log.warning(
                    "outbox %s (%s): %s refused, the rest goes on: %s",
                    item.id,
                    item.kind,
                    part.key,
                    exc.message,
                )
            else:
                self._accepted_at = self.services.now()
            done.append(part.key)
            await self.services.notice_parts(item.id, done, finished=n == len(todo) - 1)
            if part.buttons_of is not None and isinstance(sent, Message):
                await self.services.remember_buttons(
                    part.buttons_of, actor, str(sent.chat_id), str(sent.message_id)
                )
