"""Use cases: everything a resident, cadre or leader can do, channel-neutral.

Each method takes plain values (an `Actor`, an id, an answer) and returns a
`Reply` the channel renders.  Decisions come from the domain (routing,
transitions, authorization); persistence goes through the `Store` port; every
message sent on the bot's own initiative is a `Notice` written in the same
transaction as the change that causes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
from bot.domain.flows import ALL_FLOWS, FlowEnv, ReportFlow
from bot.domain.messages import Text, text
from bot.domain.orgchart import Category, Family, GeoPoint, OrgChart, Role
from bot.domain.reminders import ClockState, ReminderPolicy, Schedule
from bot.domain.routing import RouteReason, RoutingError, route
from bot.domain.worktime import QuietHours, WorkCalendar
from bot.ports import ButtonMessage, Change, NewComplaint, Notice, OutboxItem, Person, Store


def default_schedule(tz_name: str = "Asia/Ho_Chi_Minh") -> Schedule:
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


# Conversations that only offer something optional (a rating, a short reply):
# starting anything else simply replaces them.
OPTIONAL_FLOWS = frozenset({"ack_reply", "rate"})

# Outbox notice kinds.  The channel's sender renders each one.
TASK_ASSIGNED = "task_assigned"
TASK_REOPENED = "task_reopened"
REFRESH_BUTTONS = "refresh_buttons"
TO_RESIDENT = "resident_update"
TO_OWNER = "owner_update"
STAFF_UNREACHABLE = "staff_unreachable"


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
        self.engine = ConversationEngine(ALL_FLOWS)
        self._chart: OrgChart | None = None
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
            channel, external_id, display_name, self.default_language
        )
        return self.actor_for(identity.person, identity.staff_id)

    async def identify_sender(
        self, channel: str, external_id: str, display_name: str | None
    ) -> Actor | None:
        """The Actor behind an incoming update, or None for an account on
        the abuse list (its updates are dropped without a word)."""
        identity = await self.store.identify_person(
            channel, external_id, display_name, self.default_language
        )
        if identity.blocked:
            return None
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
        if current is not None and not same and current.kind not in OPTIONAL_FLOWS:
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
            chart = self.chart
            found = chart.areas.get(area)
            if found is not None and chart.ward_of(found.code) is not None:
                data = {"area": found.code, "ward": chart.ward_of(found.code)}
                notes.append(text("report.area_preselected", area=found.name))
        if await self._over_limit(actor):
            return Reply.say("report.too_many", limit=self.max_reports_per_hour)
        current = await self.store.load_conversation(actor.person_id)
        if current is not None and current.kind == "report":
            # /new while a draft exists: keep the draft, ask its question again.
            prompt = self.engine.current_prompt(self._env(actor), current)
            return Reply(notes=(text("report.draft_resumed"),), prompt=prompt)
        reply = await self._start_flow(actor, "report", data)
        return Reply(notes=(*notes, *reply.notes), prompt=reply.prompt)

    async def has_conversation(self, actor: Actor) -> bool:
        return await self.store.load_conversation(actor.person_id) is not None

    async def current_prompt(self, actor: Actor) -> Prompt | None:
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            return None
        return self.engine.current_prompt(self._env(actor), state)

    async def cancel(self, actor: Actor) -> bool:
        had = await self.store.load_conversation(actor.person_id)
        if had is None:
            return False
        await self.store.delete_conversation(actor.person_id)
        return True

    async def answer(self, actor: Actor, answer: Answer) -> Reply | None:
        """Feed one answer to the chat's conversation; None if there is none."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            restarted = await self._restart_stale_draft(actor, state)
            return replace(restarted, after=await self.current_prompt(actor))
        env = self._env(actor)
        before = self.engine.current_prompt(env, state)
        turn = self.engine.handle(env, state, answer)
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
            return text("handler.city_leaders")
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
        routed = route(chart, data["area"], category.code, concerns_leadership=leadership)
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
        )
        notices = [
            # The receipt with the tracking code goes through the outbox too,
            # written with the complaint: a crash right after filing cannot
            # leave the resident without their code.
            Notice(TO_RESIDENT, person_id=actor.person_id, payload={"event": "filed"}),
            Notice(TASK_ASSIGNED, staff_id=routed.owner, payload={"reason": routed.reason.value}),
        ]
        complaint = await self.store.create_complaint(new, actor.person_id, now, notices)
        return Reply(complaint=complaint)

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
        change = Change(
            complaint_id=complaint.id,
            expected_version=complaint.version,
            fields=fields,
            event=event,
            notices=[_with_id(n, complaint.id) for n in pending.notices],
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
            fields={"acknowledged_at": complaint.acknowledged_at or now},
            notices=[
                await self._reporter_notice(complaint, "acknowledged"),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
        )
        reply = await self._apply(actor, complaint, Action.ACKNOWLEDGE, pending)
        if reply.refused:
            return reply
        offer = Reply()
        if not await self.has_conversation(actor):
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
        data = {
            "complaint_id": complaint.id,
            "code": complaint.code,
            "ward": complaint.ward,
            "category": complaint.category,
            "owner": complaint.owner,
        }
        return await self._start_flow(actor, kind, data)

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
        area = data.get("area", complaint.area)
        category = (
            data.get("category", complaint.category)
            if data.get("new_category")
            else (complaint.category)
        )
        reason = data.get("reason")
        fields: dict[str, Any] = {}
        if reason is not None:
            # Only a reason: the ward leader decides where it goes.
            owner = chart.wards[complaint.ward].leader
            how = RouteReason.WARD_LEADER
        else:
            routed = route(chart, area, category, concerns_leadership=complaint.concerns_leadership)
            owner, how = routed.owner, routed.reason
            fields.update(
                area=area,
                ward=routed.ward,
                category=category,
                family=chart.categories[category].family,
            )
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

    async def _reject(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REJECT)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        kind = RejectReason(data["reason_kind"])
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
        the deadline (``due_at``) by the working time it waited."""
        work = self.schedule.clockwork(self.policy(category))
        return {"paused_since": None, "due_at": work.add(due_at, work.elapsed(paused, now))}

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

    async def begin_info_reply(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        if complaint.paused_since is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        question = await self.store.last_note(complaint.id, Action.ASK_INFO)
        data = {"complaint_id": complaint.id, "code": complaint.code, "question": question or ""}
        return await self._start_flow(actor, "info_reply", data)

    async def _info_reply(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        if complaint.paused_since is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        photos = [Photo(p[0], p[1]) for p in data.get("photos", [])]
        pending = _Pending(
            fields=self.resume_fields(
                complaint.category, complaint.due_at, complaint.paused_since, self.clock.now()
            ),
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
        if cadre is None or complaint.ward not in cadre.wards or cadre.id == complaint.owner:
            return Reply(notes=(text("reassign.not_in_ward"),), complaint=complaint)
        pending = _Pending(
            fields={"owner": cadre.id},
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
        """The reporter's name on a task card, or None.  A cadre sees it only
        if the resident chose so; leaders also see it for official-conduct
        complaints (the inspection needs to contact the person), and every
        such disclosure is logged."""
        name, shown = await self.store.reporter_identity(complaint.id)
        if name is None or viewer.staff is None:
            return None
        if shown:
            return name
        if complaint.family is Family.OFFICIAL_CONDUCT and viewer.is_leader:
            await self.store.log_identity_access(complaint.id, viewer.staff.id, self.clock.now())
            return name
        return None

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
        up, and the first time, tell the leaders above a staff member so a
        task does not sit with someone who cannot be reached."""
        now = self.clock.now()
        await self.store.give_up(item.id, error, now)
        person = item.recipient
        if person is None or not await self.store.mark_unreachable(person.id, now):
            return
        staff_id = item.staff_id or await self.store.staff_of_person(person.id)
        if staff_id is None or self._chart is None or item.kind == STAFF_UNREACHABLE:
            return
        leaders = self._leaders_over(staff_id)
        await self.store.enqueue(
            [
                Notice(STAFF_UNREACHABLE, staff_id=lid, payload={"staff": staff_id})
                for lid in leaders
            ],
            now,
        )

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
    return Notice(
        kind=notice.kind,
        complaint_id=notice.complaint_id or complaint_id,
        person_id=notice.person_id,
        staff_id=notice.staff_id,
        payload=notice.payload,
    )
