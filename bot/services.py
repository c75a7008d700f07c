"""Use cases: everything a resident, cadre or leader can do, channel-neutral.

Each method takes plain values (an `Actor`, an id, an answer) and returns a
`Reply` the channel renders.  Decisions come from the domain (routing,
transitions, authorization); persistence goes through the `Store` port; every
message sent on the bot's own initiative is a `Notice` written in the same
transaction as the change that causes it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.authz import Actor, Refusal, authorize, can_handle, can_lead
from bot.domain.clock import Clock
from bot.domain.complaints import (
    Action,
    Complaint,
    Event,
    Photo,
    RejectReason,
    State,
    next_state,
    parse_code,
)
from bot.domain.conversation import Answer, ConversationEngine, ConversationState, Prompt, Turn
from bot.domain.deadlines import deadlines, policy_for
from bot.domain.flows import ALL_FLOWS, OPTIONAL_LIFETIMES, FlowEnv, ReportFlow
from bot.domain.messages import Text, text
from bot.domain.orgchart import AreaKind, Category, Family, GeoPoint, OrgChart, Role
from bot.domain.owners import about_leadership, audience, candidates, handed_up
from bot.domain.places import upper_tier
from bot.domain.reminders import ClockState, ReminderPolicy, Schedule
from bot.domain.routing import Reach, Route, RoutingError, route
from bot.domain.text import clean_name
from bot.domain.worktime import QuietHours, WorkCalendar
from bot.owner_notices import Moved, leader_notices
from bot.ports import (
    ButtonMessage,
    Change,
    Identity,
    NewComplaint,
    Notice,
    OutboxItem,
    Person,
    Store,
)


def default_schedule(tz_name: str = "Asia/Ho_Chi_Minh") -> Schedule:
    """Weekdays 07:30–17:00 without public holidays, quiet 21:00–07:00: for
    tests and tools (the bot builds its calendar from the settings)."""
    tz = ZoneInfo(tz_name)
    return Schedule(WorkCalendar(tz), QuietHours(tz))


class NoOrgChart(Exception):
    """The database has no org chart yet: run `phananh org import` first."""


@dataclass(frozen=True)
class Reply:
    """What to tell the person who acted: notes first, then a question."""

    notes: tuple[Text, ...] = ()
    prompt: Prompt | None = None
    complaint: Complaint | None = None  # the complaint as it is now, to redraw its buttons
    refused: Refusal | None = None
    # Set by `Services.answer`: the question that was open before the answer
    # and the one open after it, so a channel can tell when the conversation
    # reached or left a place question without reading the draft again.
    before: Prompt | None = None
    after: Prompt | None = None

    @classmethod
    def say(cls, key: str, **params: Any) -> Reply:
        return cls(notes=(text(key, **params),))


# Outbox notice kinds.  The channel's sender renders each one.
TASK_ASSIGNED = "task_assigned"
TASK_REOPENED = "task_reopened"
REFRESH_BUTTONS = "refresh_buttons"
TO_RESIDENT = "resident_update"
TO_OWNER = "owner_update"
STAFF_UNREACHABLE = "staff_unreachable"  # rows written before owners_changed replaced it
# Tells both wards' leaders a complaint moved from one ward to the other.
WARD_TRANSFER = "ward_transfer"


@dataclass(frozen=True)
class _Pending:
    """A change being prepared: fields, event note and notices."""

    fields: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    photos: list[tuple[str, Photo]] = field(default_factory=list)
    note: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    supersede_photos: tuple[str, ...] = ()


class Services:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        locate_max_km: float = 1.0,
        default_language: str = "vi",
        channel: str = "telegram",
        schedule: Schedule | None = None,
        knobs: ReminderPolicy | None = None,
        max_reports_per_hour: int = 10,
        anonymous_by_default: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.schedule = schedule or default_schedule()
        self.knobs = knobs or ReminderPolicy()
        self.max_reports_per_hour = max_reports_per_hour
        self.anonymous_by_default = anonymous_by_default
        self.locate_max_km = locate_max_km
        self.default_language = default_language
        self.channel = channel
        self.engine = ConversationEngine(ALL_FLOWS, OPTIONAL_LIFETIMES)
        self._chart: OrgChart | None = None
        # The chart's version stamp this process last reconciled (bot/owners.py).
        self.roster_seen: int | None = None
        # Called when the channel refuses a person or reaches them again
        # (bot/owners.py moves a staff member's tasks); set by the app.
        self.reach_changed: Callable[[int, bool], Awaitable[None]] | None = None
        self._policies: dict[str, tuple[Category, ReminderPolicy, ReminderPolicy]] = {}

    # ---- org chart --------------------------------------------------------------------------

    @property
    def chart(self) -> OrgChart:
        if self._chart is None:
            raise NoOrgChart
        return self._chart

    @property
    def has_chart(self) -> bool:
        return self._chart is not None

    async def load_org(self) -> None:
        self._chart = await self.store.load_org()

    async def import_org(self, chart: OrgChart) -> None:
        await self.store.replace_org(chart)
        self._chart = chart

    # ---- who is this ------------------------------------------------------------------------

    async def identify(self, channel: str, external_id: str, display_name: str | None) -> Actor:
        identity = await self.store.identify_person(
            channel, external_id, clean_name(display_name) or None, self.default_language
        )
        await self._came_back(identity)
        return self.actor_for(identity.person, identity.staff_id)

    async def _came_back(self, identity: Identity) -> None:
        """Someone the channel had refused wrote again: a staff member's
        tasks come back to them."""
        if identity.returned and identity.staff_id and self.reach_changed is not None:
            await self.reach_changed(identity.person.id, True)

    async def channel_reach(self, channel: str, external_id: str, *, reachable: bool) -> None:
        """The person unblocked the bot (``reachable``) or blocked it:
        Telegram says so with a ``my_chat_member`` update.  Unknown accounts
        change nothing."""
        person = await self.store.find_person(channel, external_id)
        if person is None:
            return
        if reachable:
            changed = await self.store.mark_reachable(person.id)
        else:
            changed = await self.store.mark_unreachable(person.id, self.clock.now())
        if changed and self.reach_changed is not None:
            await self.reach_changed(person.id, reachable)

    async def reach(self) -> Reach:
        """Who the channel can reach now (read each time: another process,
        or a refusal a moment ago, may have changed it)."""
        return await self.store.reach()

    async def identify_sender(
        self, channel: str, external_id: str, display_name: str | None
    ) -> Actor | None:
        """The Actor behind an incoming update, or None for an account on
        the abuse list (its updates are dropped without a word).  The
        display name is stored clean: staff see it on cards."""
        identity = await self.store.identify_person(
            channel, external_id, clean_name(display_name) or None, self.default_language
        )
        if identity.blocked:
            return None
        await self._came_back(identity)
        return self.actor_for(identity.person, identity.staff_id)

    async def my_data(self, actor: Actor) -> bytes:
        """Everything stored about this person, as a JSON file's bytes."""
        data = await self.store.person_data(actor.person_id)
        return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")

    async def forget(self, actor: Actor) -> Reply:
        """Delete a resident's personal data; complaints stay, detached.
        Staff are deactivated by the ward office, not forgotten."""
        if actor.staff is not None:
            return Reply.say("privacy.staff_cannot_forget")
        await self.store.forget_person(actor.person_id, self.clock.now())
        return Reply.say("privacy.forgotten")

    async def claim_update(self, channel: str, update_id: int) -> bool:
        return await self.store.claim_update(channel, update_id, self.clock.now())

    async def finish_update(self, channel: str, update_id: int) -> None:
        await self.store.finish_update(channel, update_id, self.clock.now())

    async def set_language(self, actor: Actor, language: str) -> Actor:
        await self.store.set_language(actor.person_id, language)
        return Actor(person_id=actor.person_id, language=language, staff=actor.staff)

    def _env(self, actor: Actor) -> FlowEnv:
        return FlowEnv(
            self.chart, actor.language, self.locate_max_km, not self.anonymous_by_default
        )

    # ---- conversations ----------------------------------------------------------------------

    async def _start_flow(self, actor: Actor, kind: str, data: Mapping[str, Any]) -> Reply:
        """Start a conversation unless a different one is under way: a draft
        is never thrown away because a button was pressed elsewhere."""
        current = await self.store.load_conversation(actor.person_id)
        same = (
            current is not None
            and current.kind == kind
            and current.data.get("complaint_id") == data.get("complaint_id")
            and kind != "report"
        )
        # An optional conversation (a rating, a short reply) only offers
        # something: starting anything else simply replaces it.
        if current is not None and not same and not self.engine.is_optional(current.kind):
            prompt = self.engine.current_prompt(self._env(actor), current)
            return Reply(
                notes=(text("conv.busy", kind=text(f"conv.kind_{current.kind}")),), prompt=prompt
            )
        turn = self.engine.start(self._env(actor), kind, data)
        assert turn.state is not None
        await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
        return Reply(notes=turn.notes, prompt=turn.prompt)

    async def _over_limit(self, actor: Actor) -> bool:
        """Per-resident limit on new complaints: a flood, or a script, must
        not bury the cadres.  Staff are not limited."""
        if actor.staff is not None:
            return False
        since = self.clock.now() - timedelta(hours=1)
        return await self.store.reports_since(actor.person_id, since) >= self.max_reports_per_hour

    async def start_report(self, actor: Actor, area: str | None = None) -> Reply:
        data: dict[str, Any] = {}
        notes: list[Text] = []
        if area is not None:
            data = self._preselected(area)
            if data:
                chosen = self.chart.areas[data.get("area") or data["ward"]]
                notes.append(text("report.area_preselected", area=chosen.name))
        if await self._over_limit(actor):
            return Reply.say("report.too_many", limit=self.max_reports_per_hour)
        current = await self.store.load_conversation(actor.person_id)
        if current is not None and current.kind == "report":
            # /new while a draft exists: keep the draft, ask its question again.
            prompt = self.engine.current_prompt(self._env(actor), current)
            return Reply(notes=(text("report.draft_resumed"),), prompt=prompt)
        reply = await self._start_flow(actor, "report", data)
        return Reply(notes=(*notes, *reply.notes), prompt=reply.prompt)

    def _preselected(self, code: str) -> dict[str, Any]:
        """What a link naming an area chooses in advance: only what the
        resident could pick by hand.  A residential group is chosen; a ward
        (or a zone: its ward) only narrows the question to that ward's
        groups; anything else chooses nothing.  A complaint is never filed
        on an area that is not a group."""
        chart = self.chart
        found = chart.areas.get(code)
        ward = chart.ward_of(code) if found is not None else None
        if found is None or ward is None:
            return {}
        if found.kind is AreaKind.GROUP:
            return {"area": found.code, "ward": ward}
        return {"ward": ward}

    async def has_conversation(self, actor: Actor) -> bool:
        return await self.store.load_conversation(actor.person_id) is not None

    async def current_prompt(self, actor: Actor) -> Prompt | None:
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            return None
        return self.engine.current_prompt(self._env(actor), state)

    async def leave_optional(self, actor: Actor) -> None:
        """The person turned to something else (a command, a button of
        another message): an optional conversation ends, so it cannot take
        what they type next.  A draft or any other conversation stays."""
        state = await self.store.load_conversation(actor.person_id)
        if state is not None and self.engine.is_optional(state.kind):
            await self.store.delete_conversation(actor.person_id)

    async def _busy(self, actor: Actor) -> bool:
        """Whether a conversation other than an optional one is under way."""
        state = await self.store.load_conversation(actor.person_id)
        return state is not None and not self.engine.is_optional(state.kind)

    async def cancel(self, actor: Actor) -> bool:
        had = await self.store.load_conversation(actor.person_id)
        if had is None:
            return False
        await self.store.delete_conversation(actor.person_id)
        return True

    async def answer(
        self, actor: Actor, answer: Answer, *, update_id: int | None = None
    ) -> Reply | None:
        """Feed one answer to the chat's conversation; None if there is none
        (or an optional one ended rather than take it: see the engine).

        ``update_id`` is the channel's id of the incoming update: handled a
        second time (after a crash), the same update changes nothing and the
        current question is asked again."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            restarted = await self._restart_stale_draft(actor, state)
            return replace(restarted, after=await self.current_prompt(actor))
        env = self._env(actor)
        before = self.engine.current_prompt(env, state)
        turn = self.engine.handle(env, state, answer, now=self.clock.now(), update_id=update_id)
        if turn.replayed:
            return Reply(prompt=turn.prompt, before=before, after=before)
        if turn.released:
            await self.store.delete_conversation(actor.person_id)
            return None
        if turn.result is not None:
            finished = await self._finish(actor, state, turn)
            return replace(finished, before=before, after=await self.current_prompt(actor))
        after: Prompt | None = None
        if turn.state is None:
            await self.store.delete_conversation(actor.person_id)
        else:
            await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
            after = self.engine.current_prompt(env, turn.state)
        return Reply(notes=turn.notes, prompt=turn.prompt, before=before, after=after)

    async def _finish(self, actor: Actor, state: ConversationState, turn: Turn) -> Reply:
        result = dict(turn.result or {})
        finishers = {
            "report": self._file,
            "resolve": self._resolve,
            "transfer": self._transfer,
            "reject": self._reject,
            "dispute": self._dispute,
            "rate": self._rate,
            "ask_info": self._ask_info,
            "ack_reply": self._ack_reply,
            "info_reply": self._info_reply,
            "reassign": self._reassign,
            "extend": self._extend,
        }
        try:
            reply = await finishers[state.kind](actor, result)
        except (RoutingError, KeyError):
            if state.kind != "report":
                raise
            return await self._restart_stale_draft(actor, state)
        if reply.refused is not None or state.kind != "report":
            # The conversation is over either way; the refusal says why.
            await self.store.delete_conversation(actor.person_id)
        return Reply(
            notes=(*turn.notes, *reply.notes),
            prompt=reply.prompt,
            complaint=reply.complaint,
            refused=reply.refused,
        )

    async def _restart_stale_draft(self, actor: Actor, state: ConversationState) -> Reply:
        """The org chart changed under a draft (its category or group is gone):
        ask for them again, keeping what the resident wrote and sent."""
        kept = {k: state.data[k] for k in ("description", "photos", "landmark") if k in state.data}
        turn = self.engine.start(self._env(actor), "report", kept)
        assert turn.state is not None
        await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
        return Reply(notes=(text("report.draft_invalid"),), prompt=turn.prompt)

    # ---- filing -----------------------------------------------------------------------------

    def handler_label(self, complaint: Complaint) -> Text:
        """Who handles it, as the resident may know: a role and an area,
        never a cadre's private contact."""
        chart = self.chart
        owner = chart.staff.get(complaint.owner)
        area = chart.areas.get(complaint.area)
        ward = chart.areas.get(complaint.ward)
        ward_name = ward.name if ward else complaint.ward
        if owner is not None and owner.has_role(Role.CITY_LEADER):
            return text("handler.city_leaders", upper=upper_tier(chart))
        if owner is not None and owner.has_role(Role.WARD_LEADER):
            return text("handler.ward_leaders", ward=ward_name)
        return text("handler.cadre", area=area.name if area else complaint.area, ward=ward_name)

    async def _file(self, actor: Actor, data: dict[str, Any]) -> Reply:
        if await self._over_limit(actor):
            # The draft stays at its review step: nothing is lost, it can be
            # sent later.
            return Reply.say("report.too_many", limit=self.max_reports_per_hour)
        chart = self.chart
        now = self.clock.now()
        category = chart.categories[data["category"]]
        leadership = bool(data.get("leadership"))
        reach = await self.reach()
        routed = route(
            chart, data["area"], category.code, concerns_leadership=leadership, reach=reach
        )
        location = (
            GeoPoint(lon=float(data["lon"]), lat=float(data["lat"]))
            if data.get("lat") is not None
            else None
        )
        ack_due, due = deadlines(self.schedule, now, category, self.knobs)
        first = self.next_action(
            ClockState(State.SUBMITTED, now, ack_due, due), category.code, after=now
        )
        new = NewComplaint(
            category=category.code,
            family=category.family.value,
            area=data["area"],
            ward=routed.ward,
            owner=routed.owner,
            description=data["description"],
            created_at=now,
            due_at=due,
            ack_due_at=ack_due,
            next_action_at=first,
            urgent=category.urgent,
            concerns_leadership=leadership and category.family is Family.OFFICIAL_CONDUCT,
            show_name=bool(data.get("show_name", not self.anonymous_by_default)),
            landmark=data.get("landmark"),
            location=location,
            photos=[Photo(p["channel"], p["file_ref"]) for p in data.get("photos", [])],
            fallback_from=routed.fallback_from,
        )
        morning = self._morning(category.urgent)
        receipt: dict[str, Any] = {"event": "filed"}
        if morning is not None:
            receipt["owner_from"] = morning.isoformat()
        notices = self._held_at_night(
            [
                # The receipt with the tracking code goes through the outbox
                # too, written with the complaint: a crash right after filing
                # cannot leave the resident without their code.  It is never
                # held: the resident is awake and waiting for it.
                Notice(TO_RESIDENT, person_id=actor.person_id, payload=receipt),
                Notice(
                    TASK_ASSIGNED, staff_id=routed.owner, payload={"reason": routed.reason.value}
                ),
                *self._fallback_notices(routed, reach, leadership=new.concerns_leadership),
            ],
            morning,
            actor,
        )
        complaint = await self.store.create_complaint(new, actor.person_id, now, notices)
        return Reply(complaint=complaint)

    def _fallback_notices(self, routed: Route, reach: Reach, *, leadership: bool) -> list[Notice]:
        """Routed past someone who cannot act: their ward's leader is told at
        once, in a notice about the complaint it is written with."""
        if not routed.skipped:
            return []
        skipped, why = routed.skipped[0]
        moved = Moved(routed.ward, leadership, skipped, why.value, routed.owner)
        return leader_notices(self.chart, reach, [moved])

    # ---- looking things up ------------------------------------------------------------------

    async def my_complaints(self, actor: Actor) -> list[Complaint]:
        return await self.store.complaints_of_reporter(actor.person_id)

    async def find_own(self, actor: Actor, code_text: str) -> Complaint | None:
        """A complaint by its typed code, only if this person reported it or
        may handle it; anything else looks exactly like an unknown code."""
        complaint_id = parse_code(code_text)
        if complaint_id is None:
            return None
        complaint = await self.store.get_complaint(complaint_id)
        if complaint is None:
            return None
        if await self.store.reporter_of(complaint_id) == actor.person_id:
            return complaint
        if self._chart is not None and can_handle(actor, complaint):
            return complaint
        return None

    async def tasks(self, actor: Actor) -> list[Complaint]:
        """Open tasks, oldest deadline first: a cadre's own; a ward leader
        also sees their wards'."""
        staff = actor.staff
        if staff is None:
            return []
        wards = list(staff.wards) if staff.has_role(Role.WARD_LEADER) else None
        tasks = await self.store.open_tasks(owner=staff.id, wards=wards)
        return [t for t in tasks if can_handle(actor, t)]

    async def own_tasks(self, actor: Actor) -> list[Complaint]:
        """The open tasks this person holds themselves, nearest deadline first."""
        if actor.staff is None:
            return []
        tasks = await self.store.open_tasks(owner=actor.staff.id)
        return [t for t in tasks if t.owner == actor.staff.id and can_handle(actor, t)]

    async def complaint(self, complaint_id: int) -> Complaint | None:
        return await self.store.get_complaint(complaint_id)

    async def complaints(self, ids: Sequence[int]) -> dict[int, Complaint]:
        return await self.store.get_complaints(ids)

    # ---- acting on a complaint --------------------------------------------------------------

    async def _checked(
        self, actor: Actor, complaint_id: int, action: Action
    ) -> tuple[Complaint | None, Refusal | None]:
        complaint = await self.store.get_complaint(complaint_id)
        if complaint is None:
            return None, Refusal.NOT_FOUND
        reporter = await self.store.reporter_of(complaint_id)
        if self._chart is None:
            return None, Refusal.NOT_FOUND
        return complaint, authorize(actor, action, complaint, reporter)

    async def _apply(
        self,
        actor: Actor,
        complaint: Complaint,
        action: Action,
        pending: _Pending,
        *,
        end_conversation: bool = False,
    ) -> Reply:
        target = next_state(complaint.state, action)
        if target is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        now = self.clock.now()
        fields = {"state": target, **pending.fields}
        after = replace(complaint, **fields)
        fields["next_action_at"] = self.next_action(
            self.clock_state(after), after.category, after=after.swept_until or now
        )
        event = Event(
            complaint_id=complaint.id,
            at=now,
            action=action,
            from_state=complaint.state,
            to_state=target,
            actor_person_id=actor.person_id,
            actor_staff_id=actor.staff.id if actor.staff else None,
            note=pending.note,
            data=pending.data,
        )
        morning = self._morning(self.policy(after.category).urgent)
        notices = self._held_at_night(
            [_with_id(n, complaint.id) for n in pending.notices], morning, actor
        )
        change = Change(
            complaint_id=complaint.id,
            expected_version=complaint.version,
            fields=fields,
            event=event,
            notices=notices,
            photos=pending.photos,
            end_conversation_of=actor.person_id if end_conversation else None,
            supersede_photos=pending.supersede_photos,
        )
        if not await self.store.apply_change(change):
            # Someone else acted first; nothing was changed.
            current = await self.store.get_complaint(complaint.id)
            return Reply(refused=Refusal.WRONG_STATE, complaint=current)
        updated = await self.store.get_complaint(complaint.id)
        return Reply(complaint=updated)

    def _morning(self, urgent: bool) -> datetime | None:
        """The end of the quiet hours if it is night now and the complaint
        is not urgent: then what it brings to staff waits until then."""
        if urgent:
            return None
        now = self.clock.now()
        quiet = self.schedule.quiet
        return quiet.defer(now) if quiet.contains(now) else None

    @staticmethod
    def _held_at_night(
        notices: Sequence[Notice], morning: datetime | None, actor: Actor
    ) -> list[Notice]:
        """At night, what a non-urgent complaint brings staff waits for the
        morning: a new task card, a reopened one, and whatever follows it
        (so nobody hears "withdrawn" before the card it withdraws) are
        written to the outbox not to be sent before ``morning`` — held
        rather than sent silently, which not every channel offers.
        Residents hear at once, and so does the person who acted: both are
        awake."""
        if morning is None:
            return list(notices)
        mine = actor.staff.id if actor.staff else None
        return [
            replace(n, not_before=morning) if n.staff_id not in (None, mine) else n for n in notices
        ]

    async def _reporter_notice(self, complaint: Complaint, event: str, **payload: Any) -> Notice:
        reporter = await self.store.reporter_of(complaint.id)
        assert reporter is not None
        return Notice(TO_RESIDENT, person_id=reporter, payload={"event": event, **payload})

    async def acknowledge(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.ACKNOWLEDGE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        pending = _Pending(
            # Taking it on: a fallback that acknowledges keeps the complaint.
            fields={"acknowledged_at": complaint.acknowledged_at or now, "fallback_from": None},
            notices=[
                await self._reporter_notice(complaint, "acknowledged"),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
        )
        reply = await self._apply(actor, complaint, Action.ACKNOWLEDGE, pending)
        if reply.refused:
            return reply
        offer = Reply()
        if not await self._busy(actor):
            # Offer a short reply to the resident (a template or own words).
            offer = await self._start_flow(
                actor,
                "ack_reply",
                {
                    "complaint_id": complaint.id,
                    "code": complaint.code,
                    "category": complaint.category,
                },
            )
        return Reply(
            notes=(text("task.acknowledged", code=complaint.code), *offer.notes),
            prompt=offer.prompt,
            complaint=reply.complaint,
        )

    async def _ack_reply(self, actor: Actor, data: dict[str, Any]) -> Reply:
        if not data.get("reply"):
            return Reply()
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REPLY)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = _Pending(
            notices=[await self._reporter_notice(complaint, "message", text=data["reply"])],
            note=data["reply"],
        )
        reply = await self._apply(actor, complaint, Action.REPLY, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(
            notes=(text("ack_reply.sent", code=complaint.code),), complaint=reply.complaint
        )

    async def begin(self, actor: Actor, complaint_id: int, action: Action) -> Reply:
        """Start the conversation an action needs (a note, a reason, a choice)."""
        complaint, refusal = await self._checked(actor, complaint_id, action)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        kind = {
            Action.RESOLVE: "resolve",
            Action.TRANSFER: "transfer",
            Action.REJECT: "reject",
            Action.DISPUTE: "dispute",
            Action.ASK_INFO: "ask_info",
            Action.REASSIGN: "reassign",
            Action.EXTEND: "extend",
        }[action]
        data: dict[str, Any] = {
            "complaint_id": complaint.id,
            "code": complaint.code,
            "ward": complaint.ward,
            "category": complaint.category,
            "owner": complaint.owner,
        }
        if action is Action.REASSIGN:
            # Only those who may own it and can act now, not the one asking.
            offered = await self._candidates(actor, complaint)
            if not offered:
                return Reply(notes=(text("reassign.nobody", code=complaint.code),))
            data["candidates"] = offered
        return await self._start_flow(actor, kind, data)

    async def _candidates(self, actor: Actor, complaint: Complaint) -> list[str]:
        excluding = (actor.staff.id,) if actor.staff else ()
        return candidates(self.chart, await self.reach(), complaint, excluding=excluding)

    async def _resolve(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.RESOLVE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        photos = [Photo(p[0], p[1]) for p in data.get("photos", [])]
        fields: dict[str, Any] = {
            "resolved_at": now,
            "resolution_note": data["note"],
            "acknowledged_at": complaint.acknowledged_at or now,
        }
        if complaint.paused_since is not None:
            # Fixed while waiting on the resident: the wait ends here, and the
            # deadline in force moves by it, as if the resident had answered.
            fields.update(
                self.resume_fields(
                    complaint.category, complaint.due_at, complaint.paused_since, now
                )
            )
        pending = _Pending(
            fields=fields,
            notices=[
                await self._reporter_notice(complaint, "resolved"),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
            photos=[("resolution", p) for p in photos],
            note=data["note"],
        )
        reply = await self._apply(actor, complaint, Action.RESOLVE, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("task.resolved", code=complaint.code),), complaint=reply.complaint)

    async def _transfer(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.TRANSFER)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        chart = self.chart
        reach = await self.reach()
        area = data.get("area", complaint.area)
        category = (
            data.get("category", complaint.category)
            if data.get("new_category")
            else (complaint.category)
        )
        if not self._may_transfer_to(complaint, area, category):
            return Reply(notes=(text("transfer.conduct_stays"),), complaint=complaint)
        reason = data.get("reason")
        fields: dict[str, Any] = {}
        notices: list[Notice] = []
        if reason is not None:
            # Only a reason: the next leader up decides where it goes.
            excluding = (actor.staff.id,) if actor.staff else ()
            handed = handed_up(chart, reach, complaint, excluding=excluding)
            if handed is None:
                return Reply(notes=(text("transfer.nobody_above"),), complaint=complaint)
            routed = handed
            fields["fallback_from"] = None
        else:
            routed = route(
                chart,
                area,
                category,
                concerns_leadership=complaint.concerns_leadership,
                reach=reach,
            )
            fields.update(
                area=area,
                ward=routed.ward,
                category=category,
                family=chart.categories[category].family,
                fallback_from=routed.fallback_from,
            )
            notices += self._fallback_notices(routed, reach, leadership=about_leadership(complaint))
            if routed.ward != complaint.ward:
                notices += self._ward_transfer_notices(actor, complaint, routed.ward, reach)
        owner, how = routed.owner, routed.reason
        if owner == complaint.owner and area == complaint.area and category == complaint.category:
            return Reply(notes=(text("transfer.same_owner"),), complaint=complaint)
        fields["owner"] = owner
        pending = _Pending(
            fields=fields,
            notices=[
                await self._reporter_notice(complaint, "transferred"),
                Notice(
                    TASK_ASSIGNED,
                    staff_id=owner,
                    payload={
                        "reason": how.value,
                        "transfer_note": reason or "",
                        "from_staff": actor.staff.id if actor.staff else "",
                    },
                ),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
                *notices,
            ],
            note=reason,
            data={"from_owner": complaint.owner, "to_owner": owner},
        )
        reply = await self._apply(actor, complaint, Action.TRANSFER, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(
                text(
                    "task.transferred",
                    code=complaint.code,
                    handler=self.handler_label(reply.complaint),
                ),
            ),
            complaint=reply.complaint,
        )

    def _may_transfer_to(self, complaint: Complaint, area: str, category: str) -> bool:
        """A complaint about an official stays one, in its own ward, so that
        it only ever moves among the leaders who may see it (typed or forged
        answers included)."""
        chart = self.chart
        if area not in chart.areas or category not in chart.categories:
            return False
        if complaint.family is not Family.OFFICIAL_CONDUCT:
            return True
        conduct = chart.categories[category].family is Family.OFFICIAL_CONDUCT
        return conduct and chart.ward_of(area) == complaint.ward

    def _ward_transfer_notices(
        self, actor: Actor, complaint: Complaint, to_ward: str, reach: Reach
    ) -> list[Notice]:
        """Both wards' leaders hear that a complaint crossed between them."""
        told = {audience(self.chart, reach, w) for w in (complaint.ward, to_ward)}
        payload = {
            "from_ward": complaint.ward,
            "to_ward": to_ward,
            "by": actor.staff.id if actor.staff else "",
        }
        return [
            Notice(WARD_TRANSFER, staff_id=leader, payload=payload)
            for leader in sorted(t for t in told if t is not None)
        ]

    async def _reject(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REJECT)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        kind = RejectReason(data["reason_kind"])
        if kind is RejectReason.NOT_CONDUCT and complaint.family is not Family.OFFICIAL_CONDUCT:
            return Reply(notes=(text("reject.not_conduct_only"),), complaint=complaint)
        pending = _Pending(
            fields={"closed_at": self.clock.now()},
            notices=[
                await self._reporter_notice(
                    complaint, "rejected", reason_kind=kind.value, reason=data["reason"]
                ),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
            note=data["reason"],
            data={"reason_kind": kind.value},
        )
        reply = await self._apply(actor, complaint, Action.REJECT, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("task.rejected", code=complaint.code),), complaint=reply.complaint)

    # ---- asking the resident, and leaders' actions ------------------------------------------

    def resume_fields(
        self, category: str, due_at: datetime, paused: datetime, now: datetime
    ) -> dict[str, Any]:
        """The resolve clock stood still while the resident was asked: move
        the deadline (``due_at``) by the working time it waited — at most
        until the wait timed out (3 working days), even when the bot was
        down then and only notices it now."""
        policy = self.policy(category)
        work = self.schedule.clockwork(policy)
        until = min(now, self.schedule.pause_timeout(paused, policy))
        return {"paused_since": None, "due_at": work.shift(due_at, work.elapsed(paused, until))}

    async def _ask_info(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.ASK_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        fields: dict[str, Any] = {"paused_since": complaint.paused_since or now}
        pending = _Pending(
            fields=fields,
            notices=[
                await self._reporter_notice(complaint, "info_requested", question=data["question"])
            ],
            note=data["question"],
        )
        reply = await self._apply(actor, complaint, Action.ASK_INFO, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("ask_info.sent", code=complaint.code),), complaint=reply.complaint)

    async def _open_question(self, complaint: Complaint) -> str | None:
        """The owner's last question if the resident has not answered it —
        also once its wait timed out: a late answer still reaches the owner."""
        question: str | None = None
        for event in await self.store.events_of(complaint.id):
            if event.action is Action.ASK_INFO:
                question = event.note or ""
            elif event.action is Action.ANSWER_INFO:
                question = None
        return question

    async def begin_info_reply(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        question = await self._open_question(complaint)
        if question is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        data = {"complaint_id": complaint.id, "code": complaint.code, "question": question}
        return await self._start_flow(actor, "info_reply", data)

    async def _info_reply(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        if complaint.paused_since is None and await self._open_question(complaint) is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        photos = [Photo(p[0], p[1]) for p in data.get("photos", [])]
        # Answered in time, the resolve clock runs again from here; answered
        # after the wait timed out, it is running already and only the
        # answer goes to the owner.
        resumed = (
            self.resume_fields(
                complaint.category, complaint.due_at, complaint.paused_since, self.clock.now()
            )
            if complaint.paused_since is not None
            else {}
        )
        pending = _Pending(
            fields=resumed,
            notices=[
                Notice(
                    TO_OWNER,
                    staff_id=complaint.owner,
                    payload={
                        "event": "info_answered",
                        "answer": data["answer"],
                        "photos": [[p.channel, p.file_ref] for p in photos],
                    },
                )
            ],
            photos=[("info", p) for p in photos],
            note=data["answer"],
        )
        reply = await self._apply(
            actor, complaint, Action.ANSWER_INFO, pending, end_conversation=True
        )
        if reply.refused:
            return reply
        return Reply(
            notes=(text("info_reply.sent", code=complaint.code),), complaint=reply.complaint
        )

    async def _reassign(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REASSIGN)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        cadre = self.chart.staff.get(data["cadre"])
        if cadre is None or cadre.id not in await self._candidates(actor, complaint):
            # Not (or no longer) someone who may own it and can act now.
            return Reply(notes=(text("reassign.not_in_ward"),), complaint=complaint)
        pending = _Pending(
            fields={"owner": cadre.id, "fallback_from": None},
            notices=[
                await self._reporter_notice(complaint, "transferred"),
                Notice(
                    TASK_ASSIGNED,
                    staff_id=cadre.id,
                    payload={
                        "reason": "reassigned",
                        "from_staff": actor.staff.id if actor.staff else "",
                    },
                ),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "reassigned_away"}),
            ],
            data={"from_owner": complaint.owner, "to_owner": cadre.id},
        )
        reply = await self._apply(actor, complaint, Action.REASSIGN, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(text("reassign.done", code=complaint.code, cadre=cadre.name),),
            complaint=reply.complaint,
        )

    async def _extend(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.EXTEND)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        work = self.schedule.clockwork(self.policy(complaint.category))
        days = int(data["days"])
        new_due = work.add(complaint.due_at, work.days(days))
        pending = _Pending(
            fields={"due_at": new_due, "escalation_level": 0},
            notices=[
                await self._reporter_notice(complaint, "extended", reason=data["reason"]),
                Notice(
                    TO_OWNER,
                    staff_id=complaint.owner,
                    payload={"event": "deadline_extended", "reason": data["reason"]},
                ),
            ],
            note=data["reason"],
            data={"days": str(days), "from_due": complaint.due_at.isoformat()},
        )
        reply = await self._apply(actor, complaint, Action.EXTEND, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(text("extend.done", code=complaint.code, due=new_due),),
            complaint=reply.complaint,
        )

    async def find_for_leader(self, actor: Actor, code_text: str) -> Complaint | None:
        complaint = await self.find_own(actor, code_text)
        return complaint if complaint is not None and can_lead(actor, complaint) else None

    # ---- the resident's side ----------------------------------------------------------------

    async def confirm_fixed(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.CONFIRM)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = _Pending(
            fields={"closed_at": self.clock.now()},
            notices=[Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "confirmed"})],
        )
        reply = await self._apply(actor, complaint, Action.CONFIRM, pending)
        if reply.refused:
            return reply
        rate = await self._start_flow(
            actor, "rate", {"complaint_id": complaint.id, "code": complaint.code}
        )
        return Reply(
            notes=(text("resident.thanks_confirmed", code=complaint.code), *rate.notes),
            prompt=rate.prompt,
            complaint=reply.complaint,
        )

    async def _dispute(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.DISPUTE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        photos = [Photo(p[0], p[1]) for p in data.get("photos", [])]
        now = self.clock.now()
        category = self.chart.categories.get(complaint.category)
        fields: dict[str, Any] = {
            "resolved_at": None,
            "closed_at": None,
            # The disputed result is no longer the current one (its note stays
            # in the history, its photos are superseded below).
            "resolution_note": None,
            "clock_start": now,
            "paused_since": None,  # a fresh start: no wait carries over
        }
        if category is not None:
            # The clocks restart from the reopen: a fresh acknowledge and resolve window.
            fields["ack_due_at"], fields["due_at"] = deadlines(
                self.schedule, now, category, self.knobs
            )
        fields["swept_until"] = now
        fields["escalation_level"] = 0
        pending = _Pending(
            fields=fields,
            notices=[
                Notice(
                    TASK_REOPENED,
                    staff_id=complaint.owner,
                    payload={
                        "comment": data["comment"],
                        # The resident's photos of what is still wrong go to the cadre.
                        "photos": [[p.channel, p.file_ref] for p in photos],
                    },
                )
            ],
            photos=[("dispute", p) for p in photos],
            note=data["comment"],
            supersede_photos=("resolution",),
        )
        reply = await self._apply(actor, complaint, Action.DISPUTE, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(
            notes=(text("resident.reopened", code=complaint.code),), complaint=reply.complaint
        )

    async def _rate(self, actor: Actor, data: dict[str, Any]) -> Reply:
        stars = data.get("stars")
        if stars is None:
            return Reply.say("rate.skipped")
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.RATE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = _Pending(
            fields={"rating": int(stars)},
            notices=[
                Notice(
                    TO_OWNER,
                    staff_id=complaint.owner,
                    payload={"event": "rated", "stars": int(stars)},
                )
            ],
            data={"stars": str(stars)},
        )
        reply = await self._apply(actor, complaint, Action.RATE, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("rate.thanks", stars=int(stars)),), complaint=reply.complaint)

    async def withdraw(self, actor: Actor, code_text: str) -> Reply:
        complaint_id = parse_code(code_text)
        if complaint_id is None:
            return Reply(refused=Refusal.NOT_FOUND)
        complaint, refusal = await self._checked(actor, complaint_id, Action.WITHDRAW)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = _Pending(
            fields={"closed_at": self.clock.now()},
            notices=[
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "withdrawn"}),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
        )
        reply = await self._apply(actor, complaint, Action.WITHDRAW, pending)
        if reply.refused:
            return reply
        return Reply(
            notes=(text("resident.withdrawn", code=complaint.code),), complaint=reply.complaint
        )

    # ---- clocks -----------------------------------------------------------------------------

    def policy(self, category_code: str) -> ReminderPolicy:
        category = self._chart.categories.get(category_code) if self._chart else None
        if category is None:
            return self.knobs
        # The sweep asks once per complaint due: keep each category's policy
        # (for this very category and knobs; a new chart makes new ones).
        kept = self._policies.get(category_code)
        if kept is None or kept[0] is not category or kept[1] is not self.knobs:
            kept = self._policies[category_code] = (
                category,
                self.knobs,
                policy_for(category, self.knobs),
            )
        return kept[2]

    @staticmethod
    def clock_state(complaint: Complaint) -> ClockState:
        return ClockState(
            state=complaint.state,
            clock_start=complaint.clock_start or complaint.created_at,
            ack_due_at=complaint.ack_due_at or complaint.created_at,
            due_at=complaint.due_at,
            resolved_at=complaint.resolved_at,
            paused_since=complaint.paused_since,
        )

    def next_action(
        self, clock: ClockState, category_code: str, *, after: datetime
    ) -> datetime | None:
        """When the sweep must next look at a complaint with this clock."""
        _, upcoming = self.schedule.window(clock, self.policy(category_code), after, after)
        return upcoming

    # ---- for the channel: buttons and the outbox -------------------------------------------

    def available_actions(
        self, actor: Actor, complaint: Complaint, reporter_id: int | None
    ) -> tuple[Action, ...]:
        """The buttons this person may press on this complaint now, in order."""
        if self._chart is None:
            return ()
        order = (
            Action.ACKNOWLEDGE,
            Action.RESOLVE,
            Action.TRANSFER,
            Action.REJECT,
            Action.ASK_INFO,
            Action.REASSIGN,
            Action.EXTEND,
            Action.CONFIRM,
            Action.DISPUTE,
            Action.ANSWER_INFO,
        )
        allowed = tuple(a for a in order if authorize(actor, a, complaint, reporter_id) is None)
        if complaint.paused_since is None:
            allowed = tuple(a for a in allowed if a is not Action.ANSWER_INFO)
        return allowed

    def may_see(self, actor: Actor, complaint: Complaint) -> bool:
        return self._chart is not None and can_handle(actor, complaint)

    async def reporter_name_for(self, viewer: Actor, complaint: Complaint) -> str | None:
        """The reporter's name on a task card, or None: exactly what the
        review step told the resident.  Shown only if they chose so — to the
        cadre, or for a complaint about an official to the leaders handling
        it (every such disclosure is logged); anonymous, nobody sees it."""
        stored, shown = await self.store.reporter_identity(complaint.id)
        # Names stored before they were cleaned on the way in are cleaned here.
        name = clean_name(stored) or None
        if name is None or viewer.staff is None or not shown:
            return None
        if complaint.family is Family.OFFICIAL_CONDUCT:
            if not viewer.is_leader:
                return None
            await self.store.log_identity_access(complaint.id, viewer.staff.id, self.clock.now())
        return name

    async def reporter_id(self, complaint_id: int) -> int | None:
        return await self.store.reporter_of(complaint_id)

    async def remember_buttons(
        self, complaint_id: int, actor: Actor, chat_id: str, message_id: str
    ) -> None:
        await self.store.remember_buttons(
            complaint_id, actor.person_id, chat_id, message_id, self.clock.now()
        )

    async def open_button_messages(self, complaint_id: int, person_id: int) -> list[ButtonMessage]:
        return await self.store.open_button_messages(complaint_id, person_id)

    async def button_message_cleared(self, button_id: int) -> None:
        await self.store.clear_button_message(button_id, self.clock.now())

    async def due_notices(self, limit: int) -> list[OutboxItem]:
        return await self.store.due_outbox(self.clock.now(), limit, self.channel)

    async def recipient_unreachable(self, item: OutboxItem, error: str) -> None:
        """The recipient blocked the bot or never started it: give the row
        up, and the first time, move a staff member's tasks to someone who
        can act and tell their leader (``reach_changed``)."""
        now = self.clock.now()
        await self.store.give_up(item.id, error, now)
        person = item.recipient
        if person is None or not await self.store.mark_unreachable(person.id, now):
            return
        if self.reach_changed is not None:
            await self.reach_changed(person.id, False)

    def _leaders_over(self, staff_id: str) -> list[str]:
        """Who hears that a staff member cannot be reached: their wards'
        leaders, or the city's when they have none (or are one)."""
        chart = self.chart
        member = chart.staff.get(staff_id)
        wards = member.wards if member else ()
        leaders = [chart.wards[w].leader for w in wards if w in chart.wards]
        leaders = [lid for lid in dict.fromkeys(leaders) if lid != staff_id]
        if not leaders:
            leaders = [s.id for s in chart.city_leaders() if s.id != staff_id]
        return leaders

    async def delivery_abandoned(self, item: OutboxItem, error: str) -> None:
        """A row Telegram refused, or one failing for too long, is given up
        — and someone who can act hears of it: for a staff member, the
        leaders over them; for a resident, the leader of the complaint's
        ward.  (A notice to a leader that fails is given up quietly: no loop.)"""
        now = self.clock.now()
        await self.store.give_up(item.id, error, now)
        if self._chart is None or item.kind == STAFF_UNREACHABLE:
            return
        person = item.recipient
        staff_id = item.staff_id or (
            await self.store.staff_of_person(person.id) if person else None
        )
        complaint = await self.store.get_complaint(item.complaint_id) if item.complaint_id else None
        if staff_id is not None:
            leaders = self._leaders_over(staff_id)
        elif complaint is not None and complaint.ward in self._chart.wards:
            leaders = [self._chart.wards[complaint.ward].leader]
        else:
            return
        payload = {
            "staff": staff_id or "",
            "code": complaint.code if complaint else "",
            "undeliverable": True,
        }
        await self.store.enqueue(
            [Notice(STAFF_UNREACHABLE, staff_id=lid, payload=payload) for lid in leaders], now
        )

    async def notice_parts(
        self, item_id: int, parts_done: Sequence[str], *, finished: bool
    ) -> None:
        """Telegram accepted one more part of a row (with the last, the row is sent)."""
        await self.store.mark_parts(item_id, parts_done, self.clock.now(), finished=finished)

    async def notice_failed(
        self, item_id: int, error: str, retry_in: timedelta, *, counts: bool = True
    ) -> None:
        """Retry in ``retry_in``; a failure that ``counts`` (not a 429's
        wait) starts the time after which the row is given up."""
        now = self.clock.now()
        await self.store.mark_failed(item_id, error, now + retry_in, now if counts else None)

    def actor_for(self, person: Person, staff_id: str | None) -> Actor:
        """A deactivated staff member speaks to the bot as a resident."""
        staff = self._chart.staff.get(staff_id) if (self._chart and staff_id) else None
        if staff is not None and not staff.active:
            staff = None
        return Actor(person.id, person.language, staff)

    async def actor_of_person(self, person: Person) -> Actor:
        staff_id = await self.store.staff_of_person(person.id)
        return self.actor_for(person, staff_id)

    def now(self) -> datetime:
        return self.clock.now()


def _with_id(notice: Notice, complaint_id: int) -> Notice:
    return replace(notice, complaint_id=notice.complaint_id or complaint_id)
