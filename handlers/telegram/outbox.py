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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.app.admin import LEADER_NOTE
from bot.app.digests import DIGEST, Digests
from bot.app.owner_notices import OPEN_SUMMARY, OWNERS_CHANGED
from bot.app.services import (
    REFRESH_BUTTONS,
    STAFF_UNREACHABLE,
    TASK_ASSIGNED,
    TASK_REOPENED,
    TO_OWNER,
    TO_RESIDENT,
    WARD_TRANSFER,
    Services,
)
from bot.app.sweep import BRIEFING, REMINDERS
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint, Photo, State, format_code
from bot.domain.messages import Text, text
from bot.domain.text import inset
from bot.ports import OutboxItem
from handlers.telegram import digest
from handlers.telegram.ratelimit import no_waiting
from handlers.telegram.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    Renderer,
    clip,
    split_message,
    utf16_len,
)

log = logging.getLogger(__name__)

BATCH = 50
# Retry delays after a failure: network trouble and 5xx back off, up to an
# hour; a row failing for `GIVE_UP_AFTER` is given up and the leader told —
# but only while Telegram takes other messages (an outage of the bot's own
# network gives nobody up).  A 429 is not a failure: it is waited out.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=2)
ALBUM_MAX = 10  # photos in one sendMediaGroup
MAX_BUTTON_ROWS = 20
# A reminder or briefing lists tasks while they fit in one message; the
# rest are counted ("… and 12 more: see /tasks"), never cut off mid-line.
ROOM_FOR_MORE = 120


def fitting(head: str, lines: Sequence[str]) -> int:
    """How many of ``lines`` fit under ``head`` in one message, keeping
    room for the line that counts the rest."""
    used = utf16_len(head)
    for n, line in enumerate(lines):
        used += 1 + utf16_len(line)
        if used > TEXT_LIMIT - ROOM_FOR_MORE:
            return n
    return len(lines)


OVERDUE_NOTICE = timedelta(hours=1)


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


@dataclass(frozen=True)
class Part:
    """One send of a row: a text (or a piece of one), a photo or an album,
    a pin.  ``key`` names it within the row, the same on every attempt."""

    key: str
    send: Callable[[], Awaitable[object]]
    optional: bool = False  # a photo or a pin: refused, it is skipped
    buttons_of: Complaint | None = None  # it carries this complaint's buttons


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
        self.render = renderer
        self.bot = bot
        self.digests = digests
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
        """Render the row into its parts and send those not sent yet."""
        person, account = item.recipient, item.account
        # The store only returns rows with a recipient and an account to send to.
        assert person is not None and account is not None
        actor = await self.services.actor_of_person(person)
        parts = await self._parts(item, actor, int(account.external_id))
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
                    part.buttons_of.id, actor, str(sent.chat_id), str(sent.message_id)
                )

    async def _parts(self, item: OutboxItem, actor: Actor, chat_id: int) -> list[Part]:
        if item.kind == REMINDERS:
            return await self._reminders(item, actor, chat_id)
        if item.kind == BRIEFING:
            return await self._briefing(item, actor, chat_id)
        if item.kind == STAFF_UNREACHABLE:
            return self._unreachable(item, actor, chat_id)
        if item.kind == OWNERS_CHANGED:
            return await self._owners_changed(item, actor, chat_id)
        if item.kind == OPEN_SUMMARY:
            return await self._open_summary(actor, chat_id)
        if item.kind == LEADER_NOTE:
            params = {k: v for k, v in item.payload.items() if k != "event"}
            key = f"notify.{item.payload.get('event')}"
            return self._texts(chat_id, self.render.t(actor.language, key, **params))
        if item.kind == DIGEST and self.digests is not None:
            sends = await digest.delivery(self.bot, self.digests, actor, chat_id, item.payload)
            return [Part(f"digest:{n}", send) for n, send in enumerate(sends)]
        complaint = await self.services.complaint(item.complaint_id) if item.complaint_id else None
        if complaint is None:
            log.error("outbox %s (%s) names no complaint", item.id, item.kind)
            return []
        if item.kind in (TASK_ASSIGNED, TASK_REOPENED):
            return await self._task(item, actor, chat_id, complaint)
        if item.kind == REFRESH_BUTTONS:
            return [Part("refresh", partial(self._refresh, actor, complaint))]
        if item.kind == TO_RESIDENT:
            return self._to_resident(item, actor, chat_id, complaint)
        if item.kind == TO_OWNER:
            return self._to_owner(item, actor, chat_id, complaint)
        if item.kind == WARD_TRANSFER:
            return self._ward_transfer(item, actor, chat_id, complaint)
        log.error("outbox %s has an unknown kind %s", item.id, item.kind)
        return []

    # ---- the parts ------------------------------------------------------------------------

    def _texts(
        self,
        chat_id: int,
        body: str,
        markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None = None,
        buttons_of: Complaint | None = None,
    ) -> list[Part]:
        """A text in as many messages as Telegram needs (measured as it
        measures), the keyboard on the last."""
        pieces = split_message(body)
        last = len(pieces) - 1
        return [
            Part(
                f"text:{n}",
                partial(
                    self.bot.send_message,
                    chat_id,
                    piece,
                    reply_markup=markup if n == last else None,
                ),
                buttons_of=buttons_of
                if n == last and isinstance(markup, InlineKeyboardMarkup)
                else None,
            )
            for n, piece in enumerate(pieces)
        ]

    def _photos(self, chat_id: int, photos: Sequence[Photo], caption: str) -> list[Part]:
        """Photos forwarded with the complaint's code in their caption (an
        album with none cannot be matched to its task on a phone); albums of
        at most ten."""
        refs = [p.file_ref for p in photos if p.channel == self.services.channel]
        caption = clip(caption, CAPTION_LIMIT)
        parts = []
        for n, start in enumerate(range(0, len(refs), ALBUM_MAX)):
            group = refs[start : start + ALBUM_MAX]
            send: Callable[[], Awaitable[object]]
            if len(group) == 1:
                send = partial(self.bot.send_photo, chat_id, group[0], caption=caption)
            else:
                album = [
                    InputMediaPhoto(ref, caption=caption if i == 0 else None)
                    for i, ref in enumerate(group)
                ]
                send = partial(self.bot.send_media_group, chat_id, album)
            parts.append(Part(f"photos:{n}", send, optional=True))
        return parts

    def _pin(self, chat_id: int, lang: str, complaint: Complaint) -> list[Part]:
        """The place as a pin titled with the complaint's code."""
        if complaint.location is None:
            return []
        area = self.services.chart.areas.get(complaint.area)
        send = partial(
            self.bot.send_venue,
            chat_id,
            latitude=complaint.location.lat,
            longitude=complaint.location.lon,
            title=self.render.t(lang, "task.pin_title", code=complaint.code),
            address=clip(area.name if area else complaint.area, 200),
        )
        return [Part("pin", send, optional=True)]

    async def _task(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> list[Part]:
        """The photos (an album when several), the location pin, then the
        card with its buttons.  A reopened task brings the photos the
        resident sent with "not fixed", not the first ones again."""
        lang = actor.language
        header: Text
        if item.kind == TASK_REOPENED:
            header = text(
                "task.reopened_header", comment=inset(str(item.payload.get("comment", "")))
            )
            photos = _payload_photos(item)
            caption = self.render.t(lang, "task.dispute_photos_caption", code=complaint.code)
        else:
            header = text(
                "task.transferred_header" if item.payload.get("from_staff") else "task.new_header"
            )
            photos = list(complaint.photos)
            caption = self.render.t(lang, "task.photos_caption", code=complaint.code)
        body = self.render.task_card(lang, self.services.chart, complaint, header)
        reporter = await self.services.reporter_name_for(actor, complaint)
        if reporter is not None:
            body += "\n" + self.render.t(lang, "task.reporter", name=reporter)
        note = inset(str(item.payload.get("transfer_note") or ""))
        if note:
            body += "\n" + self.render.t(lang, "task.transfer_note", note=note)
        actions = self.services.available_actions(actor, complaint, None)
        keyboard = self.render.action_keyboard(lang, complaint.id, actions)
        return [
            *self._photos(chat_id, photos, caption),
            *self._pin(chat_id, lang, complaint),
            *self._texts(chat_id, body, keyboard, buttons_of=complaint),
        ]

    def _to_owner(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> list[Part]:
        event = str(item.payload.get("event"))
        lang = actor.language
        parts: list[Part] = []
        if event == "info_answered":
            caption = self.render.t(lang, "task.info_photos_caption", code=complaint.code)
            parts += self._photos(chat_id, _payload_photos(item), caption)
        body = self.render.t(
            lang,
            f"notify.{event}",
            code=complaint.code,
            stars=int(item.payload.get("stars", 0)),
            answer=inset(str(item.payload.get("answer", ""))),
            reason=inset(str(item.payload.get("reason", ""))),
            due=complaint.due_at,
        )
        actions = self.services.available_actions(actor, complaint, None)
        keyboard = self.render.action_keyboard(lang, complaint.id, actions) if actions else None
        return parts + self._texts(chat_id, body, keyboard, buttons_of=complaint)

    async def _reminders(self, item: OutboxItem, actor: Actor, chat_id: int) -> list[Part]:
        """Everything due for one person in one sweep, as one message; a
        leader's escalation carries Reassign / Extend buttons per task."""
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        lines = [self.render.t(lang, "reminder.header")]
        rows: list[tuple[int, list[InlineKeyboardButton]]] = []  # (line, its buttons)
        entries = list(item.payload.get("items", []))
        found = await self.services.complaints([int(e["id"]) for e in entries])
        still_open = [
            (e, found[int(e["id"])])
            for e in entries
            if int(e["id"]) in found and found[int(e["id"])].state.is_open
        ]
        for entry, complaint in still_open:
            due = str(entry["due"])
            if due == "resolve_due" and now - complaint.due_at > OVERDUE_NOTICE:
                due = "overdue"  # the deadline passed while the bot was away
            what = self.render.t(
                lang,
                f"reminder.{due}",
                level=int(entry.get("level", 0)),
                late=self.render.duration(lang, now - complaint.due_at),
            )
            lines.append(self.render.reminder_line(lang, chart, complaint, what))
            actions = self.services.available_actions(actor, complaint, None)
            wanted = [
                a for a in (Action.ACKNOWLEDGE, Action.REASSIGN, Action.EXTEND) if a in actions
            ]
            if wanted:
                rows.append((len(lines) - 1, self.render.coded_buttons(lang, complaint, wanted)))
        if len(lines) == 1:
            return []  # everything was handled in the meantime
        shown = fitting(lines[0], lines[1:])
        body = lines[: 1 + shown]
        if shown < len(lines) - 1:
            body.append(self.render.t(lang, "reminder.more", count=len(lines) - 1 - shown))
        kept = [buttons for line, buttons in rows if line <= shown][:MAX_BUTTON_ROWS]
        markup = InlineKeyboardMarkup(kept) if kept else None
        return self._texts(chat_id, "\n".join(body), markup)

    async def _briefing(self, item: OutboxItem, actor: Actor, chat_id: int) -> list[Part]:
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        ids = [int(i) for i in item.payload.get("ids", [])]
        found = await self.services.complaints(ids)
        tasks = [found[i] for i in ids if i in found and found[i].state.is_open]
        if not tasks:
            return []
        overdue = sum(1 for t in tasks if t.due_at < now)
        lines = [
            self.render.t(
                lang, "briefing.header", day=self.render.day(now), count=len(tasks), overdue=overdue
            )
        ]
        listed = [self.render.task_line(lang, chart, t, now) for t in tasks]
        shown = fitting(lines[0], listed)
        lines += listed[:shown]
        if shown < len(listed):
            lines.append(self.render.t(lang, "briefing.more", count=len(listed) - shown))
        return self._texts(chat_id, "\n".join(lines))

    def _name(self, staff_id: object, written: object = None) -> str:
        """A staff member's name: as the notice wrote it down, else the chart's."""
        if written:
            return str(written)
        member = self.services.chart.staff.get(str(staff_id))
        return member.name if member is not None else str(staff_id)

    async def _owners_changed(self, item: OutboxItem, actor: Actor, chat_id: int) -> list[Part]:
        """One message to a leader: for each person concerned, why, and
        which complaints went where (a Reassign button for each that moved
        to a fallback, when this leader may use it); what does not fit in one
        message is counted, never cut mid-line."""
        lang = actor.language
        entries = list(item.payload.get("items", []))
        ids = [int(e.get("id") or item.complaint_id or 0) for e in entries]
        found = await self.services.complaints(ids)
        by_person: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for entry, complaint_id in zip(entries, ids, strict=True):
            key = (self._name(entry["staff"], entry.get("name")), str(entry["why"]))
            to = self._name(entry["to"], entry.get("to_name"))
            by_person.setdefault(key, []).append((complaint_id, to))
        head = self.render.t(lang, "owners.header")
        lines: list[tuple[str, int | None]] = []  # (line, the complaint it names)
        for (name, why), moved in by_person.items():
            lines.append((self.render.t(lang, f"owners.why_{why}", name=name), None))
            lines += [
                (self.render.t(lang, "owners.moved", code=format_code(cid), owner=to), cid)
                for cid, to in moved
            ]
        for event in item.payload.get("events", []):
            name = self._name(event["staff"], event.get("name"))
            said = self.render.t(lang, f"owners.why_{event['why']}", name=name)
            lines.append((f"{said} {self.render.t(lang, 'owners.nothing_moved')}", None))
        shown = fitting(head, [line for line, _ in lines])
        body = [head, *(line for line, _ in lines[:shown])]
        hidden = sum(1 for _, cid in lines[shown:] if cid is not None)
        if hidden:
            body.append(self.render.t(lang, "owners.more", count=hidden))
        rows: list[list[InlineKeyboardButton]] = []
        for _, cid in lines[:shown]:
            complaint = found.get(cid) if cid is not None else None
            if complaint is None or not complaint.state.is_open:
                continue
            if Action.REASSIGN in self.services.available_actions(actor, complaint, None):
                rows.append(self.render.coded_buttons(lang, complaint, [Action.REASSIGN]))
        markup = InlineKeyboardMarkup(rows[:MAX_BUTTON_ROWS]) if rows else None
        return self._texts(chat_id, "\n".join(body), markup)

    async def _open_summary(self, actor: Actor, chat_id: int) -> list[Part]:
        """Someone the bot can reach again (or who just joined): one list of
        what they hold now, with a button for each task, instead of the
        backlog that waited or failed meanwhile."""
        tasks = await self.services.own_tasks(actor)
        if not tasks:
            return []
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        overdue = sum(1 for t in tasks if t.due_at < now)
        head = self.render.t(lang, "summary.header", count=len(tasks), overdue=overdue)
        listed = [self.render.task_line(lang, chart, t, now) for t in tasks]
        shown = fitting(head, listed)
        lines = [head, *listed[:shown]]
        if shown < len(listed):
            lines.append(self.render.t(lang, "briefing.more", count=len(listed) - shown))
        rows = []
        for task in tasks[:shown]:
            actions = self.services.available_actions(actor, task, None)
            wanted = [a for a in (Action.ACKNOWLEDGE, Action.RESOLVE) if a in actions][:1]
            if wanted:
                rows.append(self.render.coded_buttons(lang, task, wanted))
        markup = InlineKeyboardMarkup(rows[:MAX_BUTTON_ROWS]) if rows else None
        return self._texts(chat_id, "\n".join(lines), markup)

    def _ward_transfer(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> list[Part]:
        chart = self.services.chart
        wards = {w: chart.areas[w].name if w in chart.areas else w for w in chart.ward_codes()}
        body = self.render.t(
            actor.language,
            "notify.ward_transfer",
            code=complaint.code,
            from_ward=wards.get(str(item.payload.get("from_ward")), item.payload.get("from_ward")),
            to_ward=wards.get(str(item.payload.get("to_ward")), item.payload.get("to_ward")),
            by=self._name(item.payload.get("by")),
            due=complaint.due_at,
        )
        return self._texts(chat_id, body)

    def _unreachable(self, item: OutboxItem, actor: Actor, chat_id: int) -> list[Part]:
        """A leader told that someone could not be reached: a staff member
        who blocked the bot, or a message that could not be delivered."""
        lang = actor.language
        staff_id = str(item.payload.get("staff") or "")
        staff = self.services.chart.staff.get(staff_id)
        name = staff.name if staff else staff_id or self.render.t(lang, "notify.the_reporter")
        if not item.payload.get("undeliverable"):
            body = self.render.t(lang, "notify.staff_unreachable", name=name)
        elif item.payload.get("code"):
            body = self.render.t(
                lang, "notify.undeliverable", name=name, code=str(item.payload["code"])
            )
        else:
            body = self.render.t(lang, "notify.undeliverable_other", name=name)
        return self._texts(chat_id, body)

    async def _refresh(self, actor: Actor, complaint: Complaint) -> None:
        """Redraw (or remove) the buttons this person still has on the
        complaint's earlier messages, so a stale keyboard cannot mislead."""
        reporter = await self.services.reporter_id(complaint.id)
        actions = self.services.available_actions(actor, complaint, reporter)
        keyboard = self.render.action_keyboard(actor.language, complaint.id, actions)
        for message in await self.services.open_button_messages(complaint.id, actor.person_id):
            try:
                await self.bot.edit_message_reply_markup(
                    chat_id=int(message.chat_id),
                    message_id=int(message.message_id),
                    reply_markup=keyboard,
                )
            except BadRequest as exc:
                # "message is not modified" / "message to edit not found":
                # either way there is nothing stale left to fix.
                log.debug("keyboard refresh skipped: %s", exc.message)
            if keyboard is None:
                await self.services.button_message_cleared(message.id)

    def _to_resident(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> list[Part]:
        lang = actor.language
        event = str(item.payload.get("event"))
        params: dict[str, object] = {"code": complaint.code, "due": complaint.due_at}
        keyboard: InlineKeyboardMarkup | None = None
        parts: list[Part] = []
        if event == "resolved":
            caption = self.render.t(lang, "resident.resolution_photos_caption", code=complaint.code)
            parts += self._photos(chat_id, complaint.resolution_photos, caption)
            params["note"] = complaint.resolution_note or ""
            keyboard = self.render.verdict_keyboard(lang, complaint.id)
        if event in ("acknowledged", "transferred", "filed"):
            params["handler"] = self.services.handler_label(complaint)
        if event == "filed":
            params["ack_due"] = complaint.ack_due_at or complaint.created_at
            body = self.render.t(lang, "report.filed", **params)
            if item.payload.get("owner_from"):
                # Filed at night: the owner's card waits for the morning.
                when = datetime.fromisoformat(str(item.payload["owner_from"]))
                body += "\n" + self.render.t(lang, "report.filed_at_night", when=when)
            return self._texts(chat_id, body, ReplyKeyboardRemove())
        if event == "rejected":
            params["reason_kind"] = text(f"reason.{item.payload.get('reason_kind')}")
            params["reason"] = str(item.payload.get("reason", ""))
        if event == "extended":
            params["reason"] = str(item.payload.get("reason", ""))
        if event == "message":
            params["text"] = str(item.payload.get("text", ""))
        if event == "info_requested":
            params["question"] = str(item.payload.get("question", ""))
            keyboard = self.render.action_keyboard(lang, complaint.id, (Action.ANSWER_INFO,))
        if event == "confirm_again":
            if complaint.state is not State.RESOLVED:
                return []  # answered in the meantime
            keyboard = self.render.verdict_keyboard(lang, complaint.id)
        body = self.render.t(lang, f"notify.{event}", **params)
        return parts + self._texts(chat_id, body, keyboard, buttons_of=complaint)


def _payload_photos(item: OutboxItem) -> list[Photo]:
    """Photos a row carries itself (what a resident sent with an answer or
    with "not fixed"), as [channel, file id] pairs."""
    return [Photo(str(p[0]), str(p[1])) for p in item.payload.get("photos", [])]
