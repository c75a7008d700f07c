"""Delivering the outbox over Telegram.

A row is marked sent only after Telegram accepted every message it stands
for; a failure leaves it pending with a later retry time.  A crash between
the send and the mark sends it at most once more, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.admin import LEADER_NOTE
from bot.digests import DIGEST, Digests
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint, Photo, State, format_code
from bot.domain.messages import Text, text
from bot.domain.text import inset
from bot.owner_notices import OPEN_SUMMARY, OWNERS_CHANGED
from bot.ports import OutboxItem
from bot.services import (
    REFRESH_BUTTONS,
    STAFF_UNREACHABLE,
    TASK_ASSIGNED,
    TASK_REOPENED,
    TO_OWNER,
    TO_RESIDENT,
    WARD_TRANSFER,
    Services,
)
from bot.sweep import BRIEFING, REMINDERS
from handlers import digest
from handlers.render import CAPTION_LIMIT, Renderer, clip

log = logging.getLogger(__name__)

BATCH = 50
# Retry delays after a failure: network trouble and 5xx back off quickly; a
# refusal (blocked bot, bad request) waits long, so it does not loop.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
REFUSED_RETRY = timedelta(hours=6)
MAX_BUTTON_ROWS = 20
# A reminder or briefing lists tasks while they fit in one message; the
# rest are counted ("… and 12 more: see /tasks"), never cut off mid-line.
MESSAGE_LIMIT = 4096
ROOM_FOR_MORE = 120


def fitting(head: str, lines: Sequence[str]) -> int:
    """How many of ``lines`` fit under ``head`` in one message, keeping
    room for the line that counts the rest."""
    used = len(head)
    for n, line in enumerate(lines):
        used += 1 + len(line)
        if used > MESSAGE_LIMIT - ROOM_FOR_MORE:
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
PARALLEL_RECIPIENTS = 16


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
            async with gate:
                return sum([await self._attempt(item) for item in queue])

        return sum(await asyncio.gather(*(one_person(q) for q in by_person.values())))

    async def _attempt(self, item: OutboxItem) -> bool:
        try:
            await self._deliver(item)
        except RetryAfter as exc:
            wait: timedelta | int = exc.retry_after
            delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
            await self._failed(item, "retry_after", delay)
            return False
        except Forbidden:
            # Blocked the bot, or never started it: retrying cannot help.
            log.warning("outbox %s (%s): recipient unreachable", item.id, item.kind)
            await self.services.recipient_unreachable(item, "forbidden")
            return False
        except BadRequest as exc:
            await self._failed(item, f"bad_request: {exc.message}", REFUSED_RETRY)
            return False
        except (NetworkError, TelegramError) as exc:
            await self._failed(item, type(exc).__name__, backoff(item.attempts))
            return False
        await self.services.notice_sent(item.id)
        return True

    async def _failed(self, item: OutboxItem, error: str, retry_in: timedelta) -> None:
        log.warning("outbox %s (%s) not sent: %s", item.id, item.kind, error.split(":")[0])
        await self.services.notice_failed(item.id, error, retry_in)

    async def _deliver(self, item: OutboxItem) -> None:
        person = item.recipient
        assert person is not None  # the store only returns rows with a recipient
        actor = await self.services.actor_of_person(person)
        chat_id = int(person.external_id)
        if item.kind == REMINDERS:
            await self._send_reminders(item, actor, chat_id)
            return
        if item.kind == BRIEFING:
            await self._send_briefing(item, actor, chat_id)
            return
        if item.kind == STAFF_UNREACHABLE:
            await self._send_unreachable(item, actor, chat_id)
            return
        if item.kind == OWNERS_CHANGED:
            await self._send_owners_changed(item, actor, chat_id)
            return
        if item.kind == OPEN_SUMMARY:
            await self._send_open_summary(actor, chat_id)
            return
        if item.kind == LEADER_NOTE:
            params = {k: v for k, v in item.payload.items() if k != "event"}
            key = f"notify.{item.payload.get('event')}"
            await self.bot.send_message(chat_id, self.render.t(actor.language, key, **params))
            return
        if item.kind == DIGEST and self.digests is not None:
            await digest.deliver(self.bot, self.digests, actor, chat_id, item.payload)
            return
        complaint = await self.services.complaint(item.complaint_id) if item.complaint_id else None
        if complaint is None:
            log.error("outbox %s (%s) names no complaint", item.id, item.kind)
            return
        if item.kind in (TASK_ASSIGNED, TASK_REOPENED):
            await self._send_task(item, actor, chat_id, complaint)
        elif item.kind == REFRESH_BUTTONS:
            await self._refresh(actor, complaint)
        elif item.kind == TO_RESIDENT:
            await self._to_resident(item, actor, chat_id, complaint)
        elif item.kind == TO_OWNER:
            await self._to_owner(item, actor, chat_id, complaint)
        elif item.kind == WARD_TRANSFER:
            await self._send_ward_transfer(item, actor, chat_id, complaint)
        else:
            log.error("outbox %s has an unknown kind %s", item.id, item.kind)

    async def _to_owner(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> None:
        event = str(item.payload.get("event"))
        lang = actor.language
        if event == "info_answered":
            photos = [Photo(str(p[0]), str(p[1])) for p in item.payload.get("photos", [])]
            await self._send_photos(chat_id, photos)
        body = self.render.t(
            lang,
            f"notify.{event}",
            code=complaint.code,
            stars=int(item.payload.get("stars", 0)),
            answer=clip(inset(str(item.payload.get("answer", ""))), 3000),
            reason=clip(inset(str(item.payload.get("reason", ""))), 1000),
            due=complaint.due_at,
        )
        actions = self.services.available_actions(actor, complaint, None)
        keyboard = self.render.action_keyboard(lang, complaint.id, actions) if actions else None
        sent = await self.bot.send_message(chat_id, body, reply_markup=keyboard)
        await self._remember(keyboard is not None, complaint, actor, sent)

    async def _send_reminders(self, item: OutboxItem, actor: Actor, chat_id: int) -> None:
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
            return  # everything was handled in the meantime
        shown = fitting(lines[0], lines[1:])
        body = lines[: 1 + shown]
        if shown < len(lines) - 1:
            body.append(self.render.t(lang, "reminder.more", count=len(lines) - 1 - shown))
        kept = [buttons for line, buttons in rows if line <= shown][:MAX_BUTTON_ROWS]
        markup = InlineKeyboardMarkup(kept) if kept else None
        await self.bot.send_message(chat_id, "\n".join(body), reply_markup=markup)

    async def _send_briefing(self, item: OutboxItem, actor: Actor, chat_id: int) -> None:
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        ids = [int(i) for i in item.payload.get("ids", [])]
        found = await self.services.complaints(ids)
        tasks = [found[i] for i in ids if i in found and found[i].state.is_open]
        if not tasks:
            return
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
        await self.bot.send_message(chat_id, "\n".join(lines))

    async def _send_unreachable(self, item: OutboxItem, actor: Actor, chat_id: int) -> None:
        staff = self.services.chart.staff.get(str(item.payload.get("staff")))
        name = staff.name if staff else str(item.payload.get("staff"))
        await self.bot.send_message(
            chat_id, self.render.t(actor.language, "notify.staff_unreachable", name=name)
        )

    def _name(self, staff_id: object, written: object = None) -> str:
        """A staff member's name: as the notice wrote it down, else the chart's."""
        if written:
            return str(written)
        member = self.services.chart.staff.get(str(staff_id))
        return member.name if member is not None else str(staff_id)

    async def _send_owners_changed(self, item: OutboxItem, actor: Actor, chat_id: int) -> None:
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
        await self.bot.send_message(chat_id, "\n".join(body), reply_markup=markup)

    async def _send_open_summary(self, actor: Actor, chat_id: int) -> None:
        """Someone the bot can reach again (or who just joined): one list of
        what they hold now, with a button for each task, instead of the
        backlog that waited or failed meanwhile."""
        tasks = await self.services.own_tasks(actor)
        if not tasks:
            return
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
        await self.bot.send_message(chat_id, "\n".join(lines), reply_markup=markup)

    async def _send_ward_transfer(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> None:
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
        await self.bot.send_message(chat_id, body)

    async def _send_photos(self, chat_id: int, photos: Sequence[Photo]) -> None:
        refs = [p.file_ref for p in photos if p.channel == self.services.channel]
        if len(refs) > 1:
            await self.bot.send_media_group(chat_id, [InputMediaPhoto(r) for r in refs[:10]])
        elif refs:
            await self.bot.send_photo(chat_id, refs[0])

    async def _send_task(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> None:
        """The photos (an album when several), the location pin, then one
        text with the details and the buttons."""
        lang = actor.language
        await self._send_photos(chat_id, complaint.photos)
        if complaint.location is not None:
            await self.bot.send_location(
                chat_id, latitude=complaint.location.lat, longitude=complaint.location.lon
            )
        header: Text
        if item.kind == TASK_REOPENED:
            comment = inset(str(item.payload.get("comment", "")))
            header = text("task.reopened_header", comment=comment)
        elif item.payload.get("from_staff"):
            header = text("task.transferred_header")
        else:
            header = text("task.new_header")
        body = self.render.task_card(lang, self.services.chart, complaint, header)
        reporter = await self.services.reporter_name_for(actor, complaint)
        if reporter is not None:
            body = clip(body + "\n" + self.render.t(lang, "task.reporter", name=reporter), 4096)
        note = inset(str(item.payload.get("transfer_note") or ""))
        if note:
            body = clip(body + "\n" + self.render.t(lang, "task.transfer_note", note=note), 4096)
        actions = self.services.available_actions(actor, complaint, None)
        keyboard = self.render.action_keyboard(lang, complaint.id, actions)
        sent = await self.bot.send_message(chat_id, body, reply_markup=keyboard)
        await self._remember(keyboard is not None, complaint, actor, sent)

    async def _remember(
        self, has_buttons: bool, complaint: Complaint, actor: Actor, sent: Message
    ) -> None:
        if has_buttons:
            await self.services.remember_buttons(
                complaint.id, actor, str(sent.chat_id), str(sent.message_id)
            )

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

    async def _to_resident(
        self, item: OutboxItem, actor: Actor, chat_id: int, complaint: Complaint
    ) -> None:
        lang = actor.language
        event = str(item.payload.get("event"))
        params: dict[str, object] = {"code": complaint.code, "due": complaint.due_at}
        keyboard: InlineKeyboardMarkup | None = None
        if event == "resolved":
            await self._send_photos(chat_id, complaint.resolution_photos)
            params["note"] = clip(complaint.resolution_note or "", 3000)
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
            await self.bot.send_message(chat_id, body, reply_markup=ReplyKeyboardRemove())
            return
        if event == "rejected":
            params["reason_kind"] = text(f"reason.{item.payload.get('reason_kind')}")
            params["reason"] = clip(str(item.payload.get("reason", "")), CAPTION_LIMIT)
        if event == "extended":
            params["reason"] = clip(str(item.payload.get("reason", "")), CAPTION_LIMIT)
        if event == "message":
            params["text"] = clip(str(item.payload.get("text", "")), 3000)
        if event == "info_requested":
            params["question"] = clip(str(item.payload.get("question", "")), 3000)
            keyboard = self.render.action_keyboard(lang, complaint.id, (Action.ANSWER_INFO,))
        if event == "confirm_again":
            if complaint.state is not State.RESOLVED:
                return  # answered in the meantime
            keyboard = self.render.verdict_keyboard(lang, complaint.id)
        sent = await self.bot.send_message(
            chat_id, self.render.t(lang, f"notify.{event}", **params), reply_markup=keyboard
        )
        await self._remember(keyboard is not None, complaint, actor, sent)
