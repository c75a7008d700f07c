"""What to tell whom: one outbox row, for the person it goes to, as the
channel-neutral messages of bot/app/outgoing.py.

A task card with its photos, place and choices; a resident's news about
their complaint; a reminder or a morning briefing listing tasks; a leader
told that owners changed or someone cannot be reached; the weekly digest.
Every word comes from the catalogue in the reader's language; what each
person may do comes from the permission table (`Services.available_actions`).
Each channel renders the result its own way (handlers/telegram/sender.py).

Lists that name many tasks are cut to what fits in one of the channel's
messages (its `Room`), the rest counted — never cut mid-line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.app.admin import LEADER_NOTE
from bot.app.digests import DIGEST, Digests
from bot.app.outgoing import (
    Choice,
    Choices,
    CommandChoice,
    FileOut,
    LocationOut,
    Outgoing,
    PhotosOut,
    RefreshOut,
    TaskChoice,
    TextOut,
)
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
from bot.domain import digest as d
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint, Photo, State, format_code
from bot.domain.messages import Text, text
from bot.domain.orgchart import EscalationTarget
from bot.domain.places import upper_tier
from bot.domain.reminders import HANDLING, Due
from bot.domain.tasks import Deadline, by_urgency, is_late
from bot.domain.text import inset
from bot.i18n import t
from bot.ports import OutboxItem
from bot.report.present import Presenter
from bot.report.text import digest_details, digest_summary, week_number

log = logging.getLogger(__name__)

# A reminder or briefing lists tasks while they fit in one message; the
# rest are counted ("… and 12 more: see /tasks"), never cut off mid-line.
ROOM_FOR_MORE = 120
MAX_CHOICE_ROWS = 20
# A deadline passed more than this long ago while the bot was away: the
# reminder says "overdue", not "due".
OVERDUE_NOTICE = timedelta(hours=1)
# What a resident hears when their complaint runs late (bot/app/sweep.py).
LATE_NEWS = frozenset({"ack_overdue", "overdue", "escalated"})
# The resident notices worded as the reporter's own ("Phản ánh PA-… của
# anh/chị"): a follower's copy says "the report you follow" instead
# (catalogue section notify_follower).
FOLLOWER_WORDED = frozenset(
    {
        "acknowledged",
        "acknowledged_late",
        "transferred",
        "rejected",
        "rejected_not_remit",
        "resolved",
        "ack_overdue",
        "reack_overdue",
        "overdue",
        "escalated",
        "extended",
        "auto_closed",
        "message",
    }
)


def resident_key(key: str, item: OutboxItem) -> str:
    """The catalogue key of a resident notice ("notify.resolved"): the
    follower's wording for a follower's copy where the reporter's speaks of
    "your report"."""
    name = key.removeprefix("notify.")
    if item.payload.get("follower") and name in FOLLOWER_WORDED:
        return f"notify_follower.{name}"
    return key


ACK_DUES = frozenset({Due.ACK_REMINDER.value, Due.ACK_OVERDUE.value})
# What a reminder to acknowledge says of a reopened task: to take it back.
REACK_WHAT = {
    Due.ACK_REMINDER.value: "reminder.reack_reminder",
    Due.ACK_OVERDUE.value: "reminder.reack_overdue",
}
# A list of tasks gives the most urgent this many their choices (two each).
TASK_CHOICES = 10
# What to do next about a task, the first its holder may take.
NEXT_STEPS = (Action.ACKNOWLEDGE, Action.RESOLVE, Action.REASSIGN)


@dataclass(frozen=True)
class Room:
    """How much one of the channel's messages holds, measured its way
    (Telegram: 4,096 UTF-16 code units)."""

    limit: int
    measure: Callable[[str], int] = len

    def fitting(self, head: str, lines: Sequence[str]) -> int:
        """How many of ``lines`` fit under ``head`` in one message, keeping
        room for the line that counts the rest."""
        used = self.measure(head)
        for n, line in enumerate(lines):
            used += 1 + self.measure(line)
            if used > self.limit - ROOM_FOR_MORE:
                return n
        return len(lines)


def action_choices(
    present: Presenter, language: str, complaint_id: int, actions: Sequence[Action]
) -> Choices:
    """A complaint's actions, two to a row."""
    choices = [TaskChoice(present.action(language, a), a, complaint_id) for a in actions]
    return tuple(tuple(choices[i : i + 2]) for i in range(0, len(choices), 2))


def task_list(
    present: Presenter,
    services: Services,
    actor: Actor,
    tasks: Sequence[Complaint],
    head: str,
    more: str,
    listed: Sequence[str],
) -> TextOut:
    """A list of tasks, most urgent first (``tasks``, those shown of
    ``listed``, every line), ``more`` counting the rest; the most urgent
    each with two choices — what to do next, and the task in detail with
    all its actions: buttons on Telegram, numbers on Zalo."""
    lang = actor.language
    lines = [head, *listed[: len(tasks)]]
    if len(tasks) < len(listed):
        lines.append(more)
    rows = [_task_row(present, services, actor, task) for task in tasks[:TASK_CHOICES]]
    if len(tasks) > TASK_CHOICES:
        lines.append(present.t(lang, "task.choices_first", count=TASK_CHOICES))
    return TextOut("text", "\n".join(lines), tuple(rows))


def _task_row(
    present: Presenter, services: Services, actor: Actor, task: Complaint
) -> tuple[Choice, ...]:
    """What to do next about a task (acknowledge it, report it resolved, or
    for a leader give it to someone else), and its details; each names the
    task first, so the choices read as a list on a phone."""
    lang = actor.language
    actions = services.available_actions(actor, task, None)
    row: list[Choice] = [
        TaskChoice(
            present.t(lang, "task.choice", code=task.code, action=present.action(lang, action)),
            action,
            task.id,
        )
        for action in [a for a in NEXT_STEPS if a in actions][:1]
    ]
    details = present.t(lang, "task.choice", code=task.code, action=present.t(lang, "task.details"))
    row.append(CommandChoice(details, "status", (task.code,)))
    return tuple(row)


async def task_card(
    services: Services,
    present: Presenter,
    actor: Actor,
    complaint: Complaint,
    header: Text,
    photos: Sequence[Photo],
    caption: str,
    *,
    note: str = "",
) -> list[Outgoing]:
    """What a cadre needs for a task, as one unit on a phone: the photos
    (an album on Telegram), the place the resident shared (a pin; a map
    link inside the card where a channel has no pins), then the card —
    code, problem, place with its landmark, description, how many photos
    came with it, who reported it (if they let staff see their name), who
    holds it (for anyone else), both deadlines, the state — with every
    action this person may take, last, where the thumb is."""
    lang = actor.language
    reporter = await services.reporter_name_for(actor, complaint)
    # Residents who reported the same thing (issue 17): how many, and the
    # names of those who let staff see theirs, by the reporter's rules.
    followers = len(await services.followers(complaint.id))
    named = await services.follower_names_for(actor, complaint)
    holder = None
    if actor.staff is not None and actor.staff.id != complaint.owner:
        # A leader looking at someone else's task: who holds it, by name.
        member = services.chart.staff.get(complaint.owner)
        holder = member.name if member is not None else complaint.owner
    body = present.task_card(
        lang,
        services.chart,
        complaint,
        header,
        photos=len(photos),
        reporter=reporter,
        holder=holder,
        note=note,
        followers=followers,
        follower_names=tuple(named),
    )
    actions = services.available_actions(actor, complaint, await services.reporter_id(complaint.id))
    choices = action_choices(present, lang, complaint.id, actions)
    shown = [PhotosOut("photos", tuple(p.media_id for p in photos), caption)] if photos else []
    return [
        *shown,
        *_place(services, present, lang, complaint),
        TextOut("text", body, choices, about=complaint.id if choices else None),
    ]


def _place(
    services: Services, present: Presenter, language: str, complaint: Complaint
) -> list[Outgoing]:
    """The place the resident shared, as a pin titled with the complaint's code."""
    if complaint.location is None:
        return []
    area = services.chart.areas.get(complaint.area)
    return [
        LocationOut(
            "pin",
            lat=complaint.location.lat,
            lon=complaint.location.lon,
            title=present.t(language, "task.pin_title", code=complaint.code),
            address=area.name if area else complaint.area,
        )
    ]


class Composer:
    """Turns outbox rows into messages, for one channel's `Room`."""

    def __init__(
        self,
        services: Services,
        present: Presenter,
        room: Room,
        digests: Digests | None = None,
    ) -> None:
        self.services = services
        self.present = present
        self.room = room
        self.digests = digests

    async def compose(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        """The row's messages for ``actor``, in the order they are sent; none
        when there is nothing (left) to say — handled in the meantime."""
        if item.kind == REMINDERS:
            return await self._reminders(item, actor)
        if item.kind == BRIEFING:
            return await self._briefing(item, actor)
        if item.kind == STAFF_UNREACHABLE:
            return self._unreachable(item, actor)
        if item.kind == OWNERS_CHANGED:
            return await self._owners_changed(item, actor)
        if item.kind == OPEN_SUMMARY:
            return await self._open_summary(actor)
        if item.kind == LEADER_NOTE:
            params = {k: v for k, v in item.payload.items() if k != "event"}
            key = f"notify.{item.payload.get('event')}"
            return [TextOut("text", self.present.t(actor.language, key, **params))]
        if item.kind == DIGEST and self.digests is not None:
            return await self._digest(item, actor)
        complaint = await self.services.complaint(item.complaint_id) if item.complaint_id else None
        if complaint is None:
            log.error("outbox %s (%s) names no complaint", item.id, item.kind)
            return []
        if item.kind in (TASK_ASSIGNED, TASK_REOPENED):
            return await self._task(item, actor, complaint)
        if item.kind == REFRESH_BUTTONS:
            return [await self._refresh(actor, complaint)]
        if item.kind == TO_RESIDENT:
            parts = await self._to_resident(item, actor, complaint)
            return (
                self._as_follower(actor, complaint, parts)
                if item.payload.get("follower")
                else parts
            )
        if item.kind == TO_OWNER:
            return await self._to_owner(item, actor, complaint)
        if item.kind == WARD_TRANSFER:
            return self._ward_transfer(item, actor, complaint)
        log.error("outbox %s has an unknown kind %s", item.id, item.kind)
        return []

    # ---- choices ----------------------------------------------------------------------------

    def actions(self, language: str, complaint_id: int, actions: Sequence[Action]) -> Choices:
        return action_choices(self.present, language, complaint_id, actions)

    def coded(
        self, language: str, complaint: Complaint, actions: Sequence[Action]
    ) -> tuple[TaskChoice, ...]:
        """One row of choices that name their complaint, for a message about several."""
        return tuple(
            TaskChoice(f"{self.present.action(language, a)} {complaint.code}", a, complaint.id)
            for a in actions
        )

    def _about(self, complaint: Complaint, body: str, choices: Choices) -> TextOut:
        """A text about one complaint, with its choices (remembered, so a
        channel that can edit them redraws them later)."""
        return TextOut("text", body, choices, about=complaint.id if choices else None)

    # ---- the messages -----------------------------------------------------------------------

    def _photos(self, photos: Sequence[Photo], caption: str) -> list[Outgoing]:
        return [PhotosOut("photos", tuple(p.media_id for p in photos), caption)] if photos else []

    async def _task(self, item: OutboxItem, actor: Actor, complaint: Complaint) -> list[Outgoing]:
        """A new, transferred or reopened task's card with its photos and
        place (`task_card`).  A reopened task brings the photos the resident
        sent with "not fixed", not the first ones again."""
        lang = actor.language
        header: Text
        if item.kind == TASK_REOPENED:
            header = text(
                "task.reopened_header", comment=inset(str(item.payload.get("comment", "")))
            )
            photos = await self._payload_photos(item)
            caption = self.present.t(lang, "task.dispute_photos_caption", code=complaint.code)
        else:
            header = text(
                "task.transferred_header" if item.payload.get("from_staff") else "task.new_header"
            )
            photos = list(complaint.photos)
            caption = self.present.t(lang, "task.photos_caption", code=complaint.code)
        note = inset(str(item.payload.get("transfer_note") or ""))
        return await task_card(
            self.services, self.present, actor, complaint, header, photos, caption, note=note
        )

    async def _payload_photos(self, item: OutboxItem) -> list[Photo]:
        """Photos a row carries itself (what a resident sent with an answer
        or with "not fixed")."""
        return await self.services.media.photos(item.payload.get("photos", []))

    async def _to_owner(
        self, item: OutboxItem, actor: Actor, complaint: Complaint
    ) -> list[Outgoing]:
        event = str(item.payload.get("event"))
        lang = actor.language
        parts: list[Outgoing] = []
        if event == "info_answered":
            caption = self.present.t(lang, "task.info_photos_caption", code=complaint.code)
            parts += self._photos(await self._payload_photos(item), caption)
        body = self.present.t(
            lang,
            f"notify.{event}",
            question=inset(str(item.payload.get("question", ""))),
            code=complaint.code,
            stars=int(item.payload.get("stars", 0)),
            answer=inset(str(item.payload.get("answer", ""))),
            reason=inset(str(item.payload.get("reason", ""))),
            due=complaint.due_at,
        )
        actions = self.services.available_actions(actor, complaint, None)
        return [*parts, self._about(complaint, body, self.actions(lang, complaint.id, actions))]

    async def _reminders(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        """Everything due for one person in one sweep, as one message; a
        leader's escalation carries Reassign / Extend choices per task."""
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        lines = [self.present.t(lang, "reminder.header")]
        rows: list[tuple[int, tuple[TaskChoice, ...]]] = []  # (line, its choices)
        entries = list(item.payload.get("items", []))
        found = await self.services.complaints([int(e["id"]) for e in entries])
        still_open = [
            (e, found[int(e["id"])])
            for e in entries
            if int(e["id"]) in found and found[int(e["id"])].state.is_open
        ]
        for entry, complaint in still_open:
            due = str(entry["due"])
            # A reminder to acknowledge gives the acknowledge deadline, not the resolve one.
            which = Deadline.ACKNOWLEDGE if due in ACK_DUES else Deadline.RESOLVE
            if due == "resolve_due" and now - complaint.due_at > OVERDUE_NOTICE:
                due = "overdue"  # the deadline passed while the bot was away
            if due == Due.ACK_REMINDER and complaint.ack_due_at and now >= complaint.ack_due_at:
                due = Due.ACK_OVERDUE  # the later "please acknowledge" rounds say it is late
            if due == Due.ESCALATION and now - complaint.due_at < OVERDUE_NOTICE:
                due = (
                    "escalation_now"  # the first level comes at the deadline: not "late by 0 hours"
                )
            key = f"reminder.{due}"
            if which is Deadline.ACKNOWLEDGE and complaint.state is State.REOPENED:
                key = REACK_WHAT.get(due, key)  # to take back what the resident says is not fixed
            what = self.present.t(
                lang,
                key,
                level=int(entry.get("level", 0)),
                late=self.present.duration(lang, now - complaint.due_at),
            )
            lines.append(self.present.reminder_line(lang, chart, complaint, what, which))
            actions = self.services.available_actions(actor, complaint, None)
            wanted = [
                a for a in (Action.ACKNOWLEDGE, Action.REASSIGN, Action.EXTEND) if a in actions
            ]
            if wanted:
                rows.append((len(lines) - 1, self.coded(lang, complaint, wanted)))
        if len(lines) == 1:
            return []  # everything was handled in the meantime
        shown = self.room.fitting(lines[0], lines[1:])
        body = lines[: 1 + shown]
        if shown < len(lines) - 1:
            body.append(self.present.t(lang, "reminder.more", count=len(lines) - 1 - shown))
        kept = tuple(choices for line, choices in rows if line <= shown)[:MAX_CHOICE_ROWS]
        return [TextOut("text", "\n".join(body), kept)]

    async def _briefing(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        lang = actor.language
        chart = self.services.chart
        now = self.services.now()
        ids = [int(i) for i in item.payload.get("ids", [])]
        found = await self.services.complaints(ids)
        tasks = by_urgency(found[i] for i in ids if i in found and found[i].state.is_open)
        if not tasks:
            return []
        overdue = sum(1 for task in tasks if is_late(task, now))  # as marked, as /tasks counts
        lines = [
            self.present.t(
                lang,
                "briefing.header" if overdue else "briefing.header_none_overdue",
                day=self.present.day(now),
                count=len(tasks),
                overdue=overdue,
            )
        ]
        listed = [self.present.task_line(lang, chart, task, now) for task in tasks]
        shown = self.room.fitting(lines[0], listed)
        lines += listed[:shown]
        if shown < len(listed):
            lines.append(self.present.t(lang, "briefing.more", count=len(listed) - shown))
        return [TextOut("text", "\n".join(lines))]

    def _name(self, staff_id: object, written: object = None) -> str:
        """A staff member's name: as the notice wrote it down, else the chart's."""
        if written:
            return str(written)
        member = self.services.chart.staff.get(str(staff_id))
        return member.name if member is not None else str(staff_id)

    async def _owners_changed(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        """One message to a leader: for each person concerned, why, and
        which complaints went where (a Reassign choice for each that moved
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
        head = self.present.t(lang, "owners.header")
        lines: list[tuple[str, int | None]] = []  # (line, the complaint it names)
        for (name, why), moved in by_person.items():
            lines.append((self.present.t(lang, f"owners.why_{why}", name=name), None))
            lines += [
                (self.present.t(lang, "owners.moved", code=format_code(cid), owner=to), cid)
                for cid, to in moved
            ]
        for event in item.payload.get("events", []):
            name = self._name(event["staff"], event.get("name"))
            said = self.present.t(lang, f"owners.why_{event['why']}", name=name)
            lines.append((f"{said} {self.present.t(lang, 'owners.nothing_moved')}", None))
        shown = self.room.fitting(head, [line for line, _ in lines])
        body = [head, *(line for line, _ in lines[:shown])]
        hidden = sum(1 for _, cid in lines[shown:] if cid is not None)
        if hidden:
            body.append(self.present.t(lang, "owners.more", count=hidden))
        rows: list[tuple[TaskChoice, ...]] = []
        for _, cid in lines[:shown]:
            complaint = found.get(cid) if cid is not None else None
            if complaint is None or not complaint.state.is_open:
                continue
            if Action.REASSIGN in self.services.available_actions(actor, complaint, None):
                rows.append(self.coded(lang, complaint, [Action.REASSIGN]))
        return [TextOut("text", "\n".join(body), tuple(rows[:MAX_CHOICE_ROWS]))]

    async def _open_summary(self, actor: Actor) -> list[Outgoing]:
        """Someone the bot can reach again (or who just joined): one list of
        what they hold now, with their choices, instead of the backlog that
        waited or failed meanwhile."""
        tasks = by_urgency(await self.services.own_tasks(actor))
        if not tasks:
            return []
        lang = actor.language
        now = self.services.now()
        late = sum(1 for task in tasks if is_late(task, now))
        head = self.present.t(lang, "summary.header", count=len(tasks), overdue=late)
        listed = [self.present.task_line(lang, self.services.chart, task, now) for task in tasks]
        shown = self.room.fitting(head, listed)
        more = self.present.t(lang, "briefing.more", count=len(tasks) - shown)
        return [task_list(self.present, self.services, actor, tasks[:shown], head, more, listed)]

    def _ward_transfer(
        self, item: OutboxItem, actor: Actor, complaint: Complaint
    ) -> list[Outgoing]:
        chart = self.services.chart
        wards = {w: chart.areas[w].name if w in chart.areas else w for w in chart.ward_codes()}
        body = self.present.t(
            actor.language,
            "notify.ward_transfer",
            code=complaint.code,
            from_ward=wards.get(str(item.payload.get("from_ward")), item.payload.get("from_ward")),
            to_ward=wards.get(str(item.payload.get("to_ward")), item.payload.get("to_ward")),
            by=self._name(item.payload.get("by")),
            due=complaint.due_at,
        )
        return [TextOut("text", body)]

    def _unreachable(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        """A leader told that someone could not be reached: a staff member
        who blocked the bot, or a message that could not be delivered."""
        lang = actor.language
        staff_id = str(item.payload.get("staff") or "")
        staff = self.services.chart.staff.get(staff_id)
        name = staff.name if staff else staff_id or self.present.t(lang, "notify.the_reporter")
        if not item.payload.get("undeliverable"):
            body = self.present.t(lang, "notify.staff_unreachable", name=name)
        elif item.payload.get("code"):
            body = self.present.t(
                lang, "notify.undeliverable", name=name, code=str(item.payload["code"])
            )
        else:
            body = self.present.t(lang, "notify.undeliverable_other", name=name)
        return [TextOut("text", body)]

    async def _refresh(self, actor: Actor, complaint: Complaint) -> Outgoing:
        """The choices this person has on the complaint now, for the
        channel to redraw (or remove) on its earlier messages, so a stale
        keyboard cannot mislead."""
        reporter = await self.services.reporter_id(complaint.id)
        actions = self.services.available_actions(actor, complaint, reporter)
        return RefreshOut(
            "refresh", complaint.id, self.actions(actor.language, complaint.id, actions)
        )

    def _leaders(self, language: str, complaint: Complaint, tier: object) -> str:
        """ "lãnh đạo UBND phường Hồng Hải", or the leaders of the tier above."""
        chart = self.services.chart
        if tier == EscalationTarget.CITY_LEADERS.value:
            return self.present.t(language, "notify.leaders_city", upper=upper_tier(chart))
        ward = chart.areas.get(complaint.ward)
        name = ward.name if ward is not None else complaint.ward
        return self.present.t(language, "notify.leaders_ward", ward=name)

    def _late(
        self, item: OutboxItem, actor: Actor, complaint: Complaint, params: dict[str, Any]
    ) -> list[Outgoing]:
        """The resident told that their complaint runs late (bot/app/sweep.py,
        `_news`): who follows it up, and the date it goes higher if nothing
        happens.  Nothing when it was handled, or given a new deadline, in
        the meantime."""
        event = str(item.payload.get("event"))
        lang = actor.language
        payload = item.payload
        if event == "ack_overdue":
            late = complaint.state in (State.SUBMITTED, State.REOPENED)
        else:
            late = complaint.state in HANDLING and complaint.due_at <= self.services.now()
        if not late:
            return []
        told = payload.get("ack_due")  # the date the resident was given (bot/app/sweep.py)
        ack_due = complaint.ack_due_at or complaint.created_at
        params["ack_due"] = datetime.fromisoformat(str(told)) if told else ack_due
        params["leaders"] = self._leaders(lang, complaint, payload.get("leaders"))
        key = f"notify.{event}"
        if event == "ack_overdue" and complaint.state is State.REOPENED:
            key = "notify.reack_overdue"  # reopened, and not taken back in time
        lines = [self.present.t(lang, resident_key(key, item), **params)]
        higher = self._leaders(lang, complaint, payload.get("next_leaders"))
        # The next level going to the leaders who follow it up already (the
        # ward leader could not be reached: the city's have it) is no news.
        if payload.get("next_at") and higher != params["leaders"]:
            when = datetime.fromisoformat(str(payload["next_at"]))
            lines.append(
                self.present.t(
                    lang, "notify.next_step", when=when, leaders=higher, code=complaint.code
                )
            )
        elif event != "ack_overdue":
            lines.append(self.present.t(lang, "notify.no_next_step", code=complaint.code))
        return [self._about(complaint, "\n".join(lines), ())]

    def _acknowledged_late(
        self, item: OutboxItem, actor: Actor, complaint: Complaint, params: dict[str, Any]
    ) -> list[Outgoing]:
        """Taken up after its resolve deadline passed (most often by a leader
        from the escalation): the resident hears that it is late and what
        happens now — when it goes higher if still not fixed, or that the
        ward tells them the result — never the past date as a promise."""
        lang = actor.language
        lines = [self.present.t(lang, resident_key("notify.acknowledged_late", item), **params)]
        services = self.services
        higher = services.schedule.next_escalation(
            services.clock_state(complaint),
            services.policy(complaint.category),
            complaint.escalation_level,
        )
        if higher is not None and higher.at > services.now():
            leaders = self._leaders(lang, complaint, higher.target)
            lines.append(
                self.present.t(
                    lang, "notify.next_step", when=higher.at, leaders=leaders, code=complaint.code
                )
            )
        else:
            lines.append(self.present.t(lang, "notify.no_next_step", code=complaint.code))
        return [self._about(complaint, "\n".join(lines), ())]

    async def _rejected(
        self, item: OutboxItem, actor: Actor, complaint: Complaint, params: dict[str, Any]
    ) -> list[Outgoing]:
        """A rejection, with what the resident can do next: a duplicate names
        the report to follow (and where it stands), "not the ward's remit"
        says where to turn (the ward's own words from the org chart, else
        general advice); the others, that a new report is welcome."""
        lang = actor.language
        kind = str(item.payload.get("reason_kind"))
        params["reason_kind"] = text(f"reason.{kind}")
        params["reason"] = str(item.payload.get("reason", ""))
        key = resident_key("notify.rejected", item)
        original_id = item.payload.get("original")
        original = await self.services.complaint(int(original_id)) if original_id else None
        if kind == "duplicate" and original is not None:
            # Now following the original (issue 17), or only sent to it.
            following = item.payload.get("following")
            key = "notify.rejected_following" if following else "notify.rejected_duplicate"
            params.update(
                original=original.code,
                original_state=self.present.state(lang, original.state),
                original_due=original.due_at,
            )
        elif kind == "not_remit":
            key = resident_key("notify.rejected_not_remit", item)
            written = str(item.payload.get("refer_to") or "")
            params["refer_to"] = written or self.present.t(lang, "notify.refer_default")
        return [self._about(complaint, self.present.t(lang, key, **params), ())]

    async def _to_resident(
        self, item: OutboxItem, actor: Actor, complaint: Complaint
    ) -> list[Outgoing]:
        lang = actor.language
        event = str(item.payload.get("event"))
        params: dict[str, Any] = {"code": complaint.code, "due": complaint.due_at}
        choices: Choices = ()
        parts: list[Outgoing] = []
        if event == "resolved":
            caption = self.present.t(
                lang, "resident.resolution_photos_caption", code=complaint.code
            )
            parts += self._photos(complaint.resolution_photos, caption)
            params["note"] = complaint.resolution_note or ""
            choices = self.actions(lang, complaint.id, (Action.CONFIRM, Action.DISPUTE))
        if event in ("acknowledged", "transferred", "filed", "resolved", "info_requested"):
            # Who acted: the owner, or a leader acting on the owner's task.
            by = item.payload.get("by")
            params["handler"] = self.services.handler_label(complaint, str(by) if by else None)
        # Past its resolve deadline as its clock counts (it stands still while
        # the resident is asked): told as late, never as a past promise.
        late = complaint.due_at <= d.judged_at(complaint, self.services.now())
        if event == "acknowledged" and late:
            return self._acknowledged_late(item, actor, complaint, params)
        if event == "filed":
            params["ack_due"] = complaint.ack_due_at or complaint.created_at
            body = self.present.t(lang, "report.filed", **params)
            if item.payload.get("owner_from"):
                # Filed at night: the owner's card waits for the morning.
                when = datetime.fromisoformat(str(item.payload["owner_from"]))
                body += "\n" + self.present.t(lang, "report.filed_at_night", when=when)
            return [TextOut("text", body, closes_prompt=True)]
        if event == "rejected":
            return await self._rejected(item, actor, complaint, params)
        if event in LATE_NEWS:
            return self._late(item, actor, complaint, params)
        if event == "extended":
            params["reason"] = str(item.payload.get("reason", ""))
        if event == "message":
            # Who wrote (a leader who took it up, or the officer in charge),
            # and the deadline as it stands: a past one is told as late.
            by = item.payload.get("by")
            params["text"] = str(item.payload.get("text", ""))
            params["handler"] = self.services.handler_label(complaint, str(by) if by else None)
            params["deadline"] = self.present.t(
                lang, "notify.message_late" if late else "notify.message_due", **params
            )
        if event == "info_requested":
            params["question"] = str(item.payload.get("question", ""))
            choices = self.actions(lang, complaint.id, (Action.ANSWER_INFO,))
        if event == "confirm_again":
            if complaint.state is not State.RESOLVED:
                return []  # answered in the meantime
            choices = self.actions(lang, complaint.id, (Action.CONFIRM, Action.DISPUTE))
        body = self.present.t(lang, resident_key(f"notify.{event}", item), **params)
        return [*parts, self._about(complaint, body, choices)]

    def _as_follower(
        self, actor: Actor, complaint: Complaint, parts: list[Outgoing]
    ) -> list[Outgoing]:
        """A follower's copy of the reporter's notice (issue 17) says whose
        report it is about: the last text ends with a line saying they
        follow it, and how to stop."""
        mark = self.present.t(actor.language, "follow.notice_mark", code=complaint.code)
        for index in range(len(parts) - 1, -1, -1):
            part = parts[index]
            if isinstance(part, TextOut):
                parts[index] = replace(part, body=f"{part.body}\n{mark}")
                break
        return parts

    # ---- the digest -------------------------------------------------------------------------

    async def _digest(self, item: OutboxItem, actor: Actor) -> list[Outgoing]:
        """An outbox "digest" row: the scope and the week were fixed when it
        was queued; the numbers are computed now."""
        digests = self.digests
        assert digests is not None
        payload = item.payload
        week = digests.parse_week(str(payload["week"]))
        month = digests.parse_month(str(payload["month"])) if payload.get("month") else None
        scope = digests.scope_from_payload(payload["scope"])
        digest = await digests.build(scope, week, month=month)
        return digest_messages(digests, actor.language, digest)


def digest_messages(digests: Digests, language: str, digest: d.Digest) -> list[Outgoing]:
    """The summary a chairman reads at the Monday meeting (one phone
    screen), the details when there are any, then the chart (drawn only when
    it is sent)."""
    details = digest_details(digest, digests.chart, language, digests.tz)
    summary = digest_summary(digest, digests.chart, language, digests.tz, more=bool(details))
    number, year = week_number(digest.week)
    # The week and the year as written, not as amounts ("2026", not "2.026").
    caption = t(language, "digest.chart_caption", number=number, year=year)

    async def chart() -> bytes:
        from bot.report.chart import chart_png  # matplotlib loads only when a chart is drawn

        return await asyncio.to_thread(chart_png, digest, digests.chart, language, digests.tz)

    texts = [TextOut("digest", summary)]
    if details:
        texts.append(TextOut("details", details))
    return [
        *texts,
        FileOut("chart", f"digest-{digest.week.key}.png", "image/png", caption, chart),
    ]
