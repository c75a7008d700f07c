"""The ground floor of the use cases: what every one of them shares — the
store, the clock, the working-time schedule, the org chart this process
holds, the actor behind a person — and the clocks of a complaint (its
reminder policy, when the sweep must next look, the deadline moved by a wait,
the hold of staff messages at night).

`Services` (bot/app/services.py) stacks the use cases on this, one module a
floor: people, queries, changes, conversations, filing, handling, leadership,
residents, delivery.  To change one behaviour, read its floor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.app.media import Media
from bot.domain.authz import Actor, Refusal
from bot.domain.clock import Clock
from bot.domain.complaints import Complaint, Photo
from bot.domain.conversation import ConversationEngine, Prompt
from bot.domain.deadlines import policy_for
from bot.domain.flows import ALL_FLOWS, OPTIONAL_LIFETIMES, FlowEnv
from bot.domain.messages import Text, text
from bot.domain.orgchart import Category, OrgChart, StaffMember
from bot.domain.reminders import ClockState, ReminderPolicy, Schedule
from bot.domain.suggest import Suggester
from bot.domain.worktime import QuietHours, WorkCalendar
from bot.ports import NoObserver, Notice, Observer, Person, Store


@dataclass(frozen=True)
class SignInLink:
    """A one-time link to the leaders' dashboard, and until when it works."""

    url: str
    expires_at: datetime


class DashboardLinks(Protocol):
    """What the chat needs of the dashboard (bot/app/web.py, which the
    runtime sets): whether it has an address, who may use it, a link."""

    @property
    def available(self) -> bool: ...
    def leader(self, staff_id: str) -> StaffMember | None: ...
    async def link_for(self, staff_id: str) -> SignInLink: ...


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
class PendingChange:
    """A change being prepared: fields, event note and notices."""

    fields: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    photos: list[tuple[str, Photo]] = field(default_factory=list)
    note: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    supersede_photos: tuple[str, ...] = ()


class Core:
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
        # The chart's category suggester, built at its first use (see `suggester`).
        self._suggester: Suggester | None = None
        # The chart's version stamp this process last reconciled (bot/app/owners.py).
        self.roster_seen: int | None = None
        # Called when the channel refuses a person or reaches them again
        # (bot/app/owners.py moves a staff member's tasks); set by the app.
        self.reach_changed: Callable[[int, bool], Awaitable[None]] | None = None
        # What the operators' metrics are told (bot/metrics.py; set by the runtime).
        self.observer: Observer = NoObserver()
        # The dashboard's sign-in links, for /web (bot/app/web.py; set by the runtime).
        self.web: DashboardLinks | None = None
        self._policies: dict[str, tuple[Category, ReminderPolicy, ReminderPolicy]] = {}

    @property
    def media(self) -> Media:
        """The project's own photos (bot/app/media.py)."""
        return Media(self.store, self.clock)

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
        self._suggester = None

    async def import_org(self, chart: OrgChart) -> None:
        await self.store.replace_org(chart)
        self._chart = chart
        self._suggester = None

    @property
    def suggester(self) -> Suggester:
        """The suggester of the chart this process holds: built once per
        chart (a few tens of milliseconds; the shipped examples are learned
        once per process), again when the chart changes here or in another
        process (`load_org`, at the sweep that sees a new roster version)."""
        if self._suggester is None:
            self._suggester = Suggester.of_chart(self.chart)
        return self._suggester

    def _env(self, actor: Actor) -> FlowEnv:
        return FlowEnv(
            self.chart,
            actor.language,
            self.locate_max_km,
            not self.anonymous_by_default,
            given_suggester=self.suggester,
        )

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


def with_complaint_id(notice: Notice, complaint_id: int) -> Notice:
    return replace(notice, complaint_id=notice.complaint_id or complaint_id)
