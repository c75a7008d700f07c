"""The sweep: what the schedule says is due now becomes outbox rows.

The database is the source of truth: every complaint carries when the sweep
must look at it next (``next_action_at``, indexed), so one periodic job —
not one scheduler job per complaint — finds the few that are due.  Each batch
is decided and written in one transaction: the bookmark (``swept_until``)
moves and the notices are queued together, so a crash can neither lose a
reminder nor send it twice.

Everything due for one person in one sweep goes out as one message: Telegram
allows about one message a second per chat, and a cadre with five overdue
tasks wants one list, not five pings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from bot.app.digests import Digests
from bot.app.owners import Owners
from bot.app.services import TO_OWNER, TO_RESIDENT, Services
from bot.domain.complaints import Action, Event, State, next_state
from bot.domain.orgchart import EscalationTarget, Family, OrgChart, Role
from bot.domain.reminders import ClockState, Due, Reason, ReminderPolicy, handed_over
from bot.domain.routing import Reach, problem
from bot.ports import DueComplaint, Notice, SweepUpdate, SweepWrites

REMINDERS = "reminders"
BRIEFING_WINDOW = timedelta(hours=3)
BRIEFING_KEY = "briefing_day"
UPDATE_MEMORY = timedelta(days=3)
BRIEFING = "briefing"
BATCH = 500
# Which reminder a person sees when several fall due for one complaint at once.
_STRENGTH = {
    Due.ACK_REMINDER: 1,
    Due.RESOLVE_SOON: 2,
    Due.ACK_OVERDUE: 3,
    Due.RESOLVE_DUE: 4,
    Due.ESCALATION: 5,
}
# The columns a sweep may change that the schedule reads.
_CLOCK_FIELDS = frozenset(ClockState._fields)
# What the resident hears when their complaint runs late, weakest first: not
# acknowledged in time, then not resolved in time, then followed up higher.
_NEWS: dict[Due, dict[str, Any]] = {
    Due.ACK_OVERDUE: {"event": "ack_overdue"},
    Due.RESOLVE_DUE: {"event": "overdue"},
    Due.ESCALATION: {"event": "escalated"},
}
_NEWS_ORDER = tuple(_NEWS)
# What a reminder's payload says of its kind (a lookup: an enum's ``.value`` is slow).
_DUE_TEXT = {due: due.value for due in Due}


@dataclass
class SweepReport:
    complaints: int = 0
    notices: int = 0
    briefings: int = 0
    digests: int = 0
    moved: int = 0  # complaints moved to an owner who can act (bot/app/owners.py)


@dataclass
class _Entry:
    """One complaint in one person's reminder message."""

    due: Due
    level: int = 0

    def merge(self, due: Due, level: int) -> None:
        if (_STRENGTH[due], level) > (_STRENGTH[self.due], self.level):
            self.due, self.level = due, level


@dataclass
class _Decision:
    updates: list[SweepUpdate] = field(default_factory=list)
    single: list[Notice] = field(default_factory=list)
    grouped: dict[str, dict[int, _Entry]] = field(default_factory=dict)
    city: list[str] = field(default_factory=list)  # the city leaders, looked up once
    # The end of the quiet hours when the sweep runs in them (see _waits).
    morning: datetime | None = None
    reach: Reach = field(default_factory=Reach.assumed)  # who can be reached, read once
    # Who each escalation reaches, by (ward, target, about the leadership):
    # the same for every complaint of a ward in one sweep (see Sweeper._leaders).
    leaders: dict[tuple[str, EscalationTarget | None, bool], list[str]] = field(
        default_factory=dict
    )

    # Each category's reminder policy, looked up once per batch.
    policies: dict[str, ReminderPolicy] = field(default_factory=dict)

    def remind(self, staff_id: str, complaint_id: int, due: Due, level: int = 0) -> None:
        """``staff_id`` hears of the complaint for ``due``, unless already
        for a stronger reason."""
        self.remind_all((staff_id,), complaint_id, due, level)

    def remind_all(self, staff_ids: Sequence[str], complaint_id: int, due: Due, level: int) -> None:
        """`remind` for several people told alike: those who hear of the
        complaint first share one entry (a stronger reason for one of them
        later strengthens it for all who share it)."""
        shared: _Entry | None = None
        for staff_id in staff_ids:
            mine = self.grouped.get(staff_id)
            if mine is None:
                mine = self.grouped[staff_id] = {}
            held = mine.get(complaint_id)
            if held is None:
                if shared is None:
                    shared = _Entry(due, level)
                mine[complaint_id] = shared
            else:
                held.merge(due, level)

    def policy(self, services: Services, category: str) -> ReminderPolicy:
        found = self.policies.get(category)
        if found is None:
            found = self.policies[category] = services.policy(category)
        return found

    def writes(self) -> SweepWrites:
        notices = list(self.single)
        for staff_id, entries in self.grouped.items():
            items = [
                {"id": cid, "due": _DUE_TEXT[e.due], "level": e.level}
                for cid, e in sorted(entries.items())
            ]
            notices.append(Notice(REMINDERS, staff_id=staff_id, payload={"items": items}))
        return SweepWrites(updates=self.updates, notices=notices)


class Sweeper:
    def __init__(
        self,
        services: Services,
        *,
        briefing_at: time = time(7, 30),
        digests: Digests | None = None,
    ) -> None:
        self.services = services
        self.briefing_at = briefing_at
        self.digests = digests
        self.owners = Owners(services)
        self._reach = Reach.assumed()

    async def sweep(self) -> SweepReport:
        """First the org chart as it is now (changed by the command line or
        another process?), then everything due up to now, in batches, then
        the morning briefing and the weekly digest."""
        report = SweepReport()
        report.moved = await self.owners.refresh()
        if not self.services.has_chart:
            return report
        now = self.services.now()
        self._reach = await self.services.reach()
        report.complaints, report.notices = await self._batches(now)
        report.briefings = await self.briefing(now)
        # Telegram redelivers for 24 hours at most: older update ids can go.
        await self.services.store.prune_updates(now - UPDATE_MEMORY)
        if self.digests is not None:
            # Monday's digest to the leaders, once a week (bot/app/digests.py).
            report.digests = await self.digests.queue_weekly(now)
        return report

    async def _batches(self, now: datetime) -> tuple[int, int]:
        """Everything due at ``now``, a batch (one transaction) at a time,
        until one is not full: how many complaints, and notices.

        Where the store can claim a batch while the one before is still
        being decided and written (PostgreSQL: `SweepRepo.sweep` says when
        its rows are held), the next batch starts then, on a connection of
        its own: one batch is decided here while the server writes the
        other, and the two batches' writes run side by side in two server
        processes.  Two batches at most at a time; each still reads,
        decides and writes in its one transaction, and holds the rows the
        one before would (the next claim skips rows that are locked)."""
        store = self.services.store
        loop = asyncio.get_running_loop()

        def decide(rows: Sequence[DueComplaint]) -> SweepWrites:
            return self.decide(rows, now)

        complaints = notices = 0
        flying: list[asyncio.Task[tuple[int, int]]] = []  # in the order they were claimed
        try:
            while True:
                claim: asyncio.Future[int] = loop.create_future()
                batch = asyncio.create_task(store.sweep(now, BATCH, decide, claim.set_result))
                flying.append(batch)
                await asyncio.wait((claim, batch), return_when=asyncio.FIRST_COMPLETED)
                held = claim.result() if claim.done() else batch.result()[0]
                # Done with the batch before this one (and with this one, if
                # it could not be claimed beside it) before the next starts.
                while flying and (len(flying) > 1 or flying[0].done()):
                    done, sent = await flying.pop(0)
                    complaints, notices = complaints + done, notices + sent
                if held < BATCH:
                    break
            while flying:
                done, sent = await flying.pop(0)
                complaints, notices = complaints + done, notices + sent
        finally:
            # A batch failed, or the sweep was cancelled: one still running is
            # cancelled too (it rolls back, and its complaints stay due).
            for running in flying:
                running.cancel()
            await asyncio.gather(*flying, return_exceptions=True)
        return complaints, notices

    # ---- deciding ---------------------------------------------------------------------------

    def decide(self, rows: Sequence[DueComplaint], now: datetime) -> SweepWrites:
        quiet = self.services.schedule.quiet
        decision = _Decision(
            city=[s.id for s in self.services.chart.city_leaders()],
            morning=quiet.defer(now) if quiet.contains(now) else None,
            reach=self._reach,
        )
        chart = self.services.chart
        for complaint in rows:
            self._decide_one(decision, chart, complaint, now)
        return decision.writes()

    def _decide_one(
        self, decision: _Decision, chart: OrgChart, complaint: DueComplaint, now: datetime
    ) -> None:
        services = self.services
        policy = decision.policy(services, complaint.category)
        if decision.morning is not None and _waits(complaint, policy.urgent):
            next_look = {"next_action_at": decision.morning}
            decision.updates.append(SweepUpdate(complaint.id, next_look))
            return
        since = complaint.swept_until or complaint.created_at
        clock = complaint.clock()
        # Each reason once: a person hears of a complaint once per sweep
        # anyway, for its strongest reason (see _Entry.merge).
        reasons, upcoming = services.schedule.reasons(clock, policy, since, now)
        reporter = complaint.reporter
        fields: dict[str, Any] = {"swept_until": now}
        event: Event | None = None
        news: Reason | None = None
        for due, level, target in reasons:
            if due is Due.AUTO_CLOSE:
                event = self._close(decision, complaint, fields, now)
                break
            if due is Due.INFO_TIMEOUT:
                paused = complaint.paused_since or now
                fields.update(
                    services.resume_fields(complaint.category, complaint.due_at, paused, now)
                )
                event = self._event(complaint, Action.RESUME, now)
                decision.single.append(_owner(complaint, "info_timeout"))
                asker = _leader_who_asked(chart, complaint)
                if asker is not None:
                    decision.single.append(_owner(complaint, "info_timeout", to=asker))
                break
            if due is Due.CONFIRM_AGAIN:
                closing = any(due is Due.AUTO_CLOSE for due, _, _ in reasons)
                if reporter is not None and not closing:
                    decision.single.append(_resident(complaint, reporter, "confirm_again"))
                continue
            self._remind(decision, chart, complaint, due, level, target)
            if _is_news(complaint, due, level):
                news = _stronger(news, (due, level, target))
            if due is Due.ESCALATION:
                fields["escalation_level"] = max(
                    level, int(fields.get("escalation_level", complaint.escalation_level))
                )
        if news is not None and reporter is not None and event is None:
            decision.single.append(self._news(decision, chart, complaint, reporter, news))
        if event is not None:
            # The clock itself changed (closed, or running again): look afresh.
            after = clock._replace(**{k: v for k, v in fields.items() if k in _CLOCK_FIELDS})
            upcoming = services.next_action(after, complaint.category, after=now)
        fields["next_action_at"] = upcoming
        decision.updates.append(
            SweepUpdate(complaint.id, fields, event, bump_version=event is not None)
        )

    def _remind(
        self,
        decision: _Decision,
        chart: OrgChart,
        complaint: DueComplaint,
        due: Due,
        level: int,
        target: EscalationTarget | None,
    ) -> None:
        if due is not Due.ESCALATION:
            decision.remind(complaint.owner, complaint.id, due)
        if due is Due.ACK_OVERDUE or due is Due.ESCALATION:
            leaders = self._leaders(chart, complaint, target, decision)
            decision.remind_all(leaders, complaint.id, due, level)

    def _news(
        self,
        decision: _Decision,
        chart: OrgChart,
        complaint: DueComplaint,
        reporter: int,
        news: Reason,
    ) -> Notice:
        """The resident told, once, that their complaint runs late: who
        follows it up now, and when it goes higher if nothing happens — a
        date they can hold the ward to.  Each escalation level is news once
        (a repeated round is not: the level stored says how far it went),
        and the notice is written with the bookmark, so a restart does not
        tell it again.  At night it waits for the morning."""
        due, level, target = news
        payload = dict(_NEWS[due])
        if due is not Due.RESOLVE_DUE:  # the leaders told (an overdue acknowledgement: the ward's)
            payload["leaders"] = self._tier(decision, chart, complaint, target)
        if due is Due.ACK_OVERDUE:
            # The date the resident was given, as it was: the notice may wait
            # for the morning, and a handover meanwhile opens a new window.
            payload["ack_due"] = (complaint.ack_due_at or complaint.created_at).isoformat()
        else:
            reached = level if due is Due.ESCALATION else complaint.escalation_level
            policy = self.services.policy(complaint.category)
            higher = self.services.schedule.next_escalation(complaint.clock(), policy, reached)
            if higher is not None:
                payload["next_at"] = higher.at.isoformat()
                payload["next_leaders"] = self._tier(decision, chart, complaint, higher.target)
        return Notice(
            TO_RESIDENT,
            complaint_id=complaint.id,
            person_id=reporter,
            payload=payload,
            not_before=decision.morning,
            followers=True,
        )

    def _tier(
        self,
        decision: _Decision,
        chart: OrgChart,
        complaint: DueComplaint,
        target: EscalationTarget | None,
    ) -> str:
        """Whether an escalation to ``target`` reaches the leaders above the
        ward or the ward's own (as `_leaders` decides), as the resident is
        told."""
        reached = self._leaders(chart, complaint, target, decision)
        above = bool(reached) and set(reached) <= set(decision.city)
        return EscalationTarget.CITY_LEADERS.value if above else EscalationTarget.WARD_LEADER.value

    @staticmethod
    def _leaders(
        chart: OrgChart,
        complaint: DueComplaint,
        target: EscalationTarget | None,
        decision: _Decision,
    ) -> list[str]:
        """Who an escalation level reaches.  A complaint about the ward's own
        leadership skips the ward leaders; a chart with no city leaders stops
        at the ward leader; a ward leader who cannot be reached is passed for
        the city leaders (the next level up).  Worked out once per ward and
        kind in a sweep (the chart and who can be reached do not change
        during it), not once per complaint."""
        about_leaders = (
            complaint.family is Family.OFFICIAL_CONDUCT and complaint.concerns_leadership
        )
        key = (complaint.ward, target, about_leaders)
        found = decision.leaders.get(key)
        if found is None:
            found = decision.leaders[key] = _reached(chart, decision, complaint.ward, *key[1:])
        return found

    def _close(
        self, decision: _Decision, complaint: DueComplaint, fields: dict[str, Any], now: datetime
    ) -> Event:
        """The reporter never answered: closed unconfirmed, unless a follower
        said "fixed" to this fix meanwhile (bot/app/residents.py), when it
        closes confirmed on their word."""
        reporter = complaint.reporter
        if complaint.follower_confirmed_at is not None:
            fields.update(state=State.CONFIRMED, closed_at=now)
            if reporter is not None:
                decision.single.append(_resident(complaint, reporter, "confirmed_by_follower"))
            decision.single.append(_owner(complaint, "closed_confirmed_by_follower"))
            return self._event(complaint, Action.CONFIRM_BY_FOLLOWER, now)
        fields.update(state=State.CLOSED_UNCONFIRMED, closed_at=now)
        if reporter is not None:
            decision.single.append(_resident(complaint, reporter, "auto_closed"))
        decision.single.append(_owner(complaint, "closed_unconfirmed"))
        return self._event(complaint, Action.AUTO_CLOSE, now)

    @staticmethod
    def _event(complaint: DueComplaint, action: Action, now: datetime) -> Event:
        target = next_state(complaint.state, action)
        assert target is not None
        return Event(complaint.id, now, action, complaint.state, target)

    # ---- the morning briefing ("giao ban") ---------------------------------------------------

    async def briefing(self, now: datetime) -> int:
        """Once each working day, from the briefing time until the quiet
        hours: every person with open tasks gets one list, overdue first."""
        schedule = self.services.schedule
        local = now.astimezone(schedule.calendar.tz)
        if not schedule.calendar.is_working_day(local.date()):
            return 0
        opens = datetime.combine(local.date(), self.briefing_at, tzinfo=local.tzinfo)
        if not opens <= local < opens + BRIEFING_WINDOW or schedule.quiet.contains(now):
            # Outside the morning window a late list would only confuse: the
            # next working morning brings a fresh one.
            return 0
        today = local.date().isoformat()
        if await self.services.store.get_meta(BRIEFING_KEY) == today:
            return 0  # the cheap check first: this runs on every sweep
        by_owner: dict[str, list[tuple[datetime, int]]] = {}
        for owner, complaint_id, due_at in await self.services.store.open_deadlines():
            by_owner.setdefault(owner, []).append((due_at, complaint_id))
        notices = [
            Notice(BRIEFING, staff_id=owner, payload={"ids": _overdue_first(mine, now)})
            for owner, mine in by_owner.items()
        ]
        sent = await self.services.store.record_once(BRIEFING_KEY, today, notices, now)
        return len(notices) if sent else 0


def _reached(
    chart: OrgChart,
    decision: _Decision,
    ward: str,
    target: EscalationTarget | None,
    about_leaders: bool,
) -> list[str]:
    """`Sweeper._leaders`, worked out."""
    policy = chart.wards.get(ward)
    ward_leader = [policy.leader] if policy else []
    city = decision.city
    able = [s for s in (*ward_leader, *city) if problem(chart, decision.reach, s) is None]
    if ward_leader and ward_leader[0] not in able and any(c in able for c in city):
        ward_leader = []
    if target is EscalationTarget.CITY_LEADERS or about_leaders:
        return city or ward_leader
    return ward_leader or city


def _waits(complaint: DueComplaint, urgent: bool) -> bool:
    """Whether what is due for a complaint, found in the quiet hours, waits
    for their end.

    The schedule never places a non-urgent item in the quiet hours, so one
    found due then fell due before they began and was missed: the bot was
    down.  It goes out when they end, with what comes due until then, not
    at 22:00 (the bookmark stays, so nothing is lost).  Urgent complaints do
    not wait, except on the resident's side, which never speaks at night."""
    return not urgent or complaint.state is State.RESOLVED


def _leader_who_asked(chart: OrgChart, complaint: DueComplaint) -> str | None:
    """The leader who asked the resident about another's task, to hear with
    its owner that the question went unanswered; None when the owner asked,
    or the one who asked no longer has anything to do with it (a cadre whose
    task was handed on meanwhile)."""
    asker = complaint.asked_by
    if asker is None or asker == complaint.owner:
        return None
    staff = chart.staff.get(asker)
    leads = staff is not None and (
        staff.has_role(Role.WARD_LEADER) or staff.has_role(Role.CITY_LEADER)
    )
    return asker if leads else None


def _is_news(complaint: DueComplaint, due: Due, level: int) -> bool:
    """Whether ``due`` is news for the resident: each escalation level once,
    and an acknowledgement overdue only in the window they were told of (a
    task handed to someone new gets a fresh one: `handed_over`)."""
    if due not in _NEWS:
        return False
    if due is Due.ESCALATION:
        return level > complaint.escalation_level
    if due is Due.ACK_OVERDUE:
        return not handed_over(complaint.state, complaint.clock_start, complaint.created_at)
    return True


def _stronger(held: Reason | None, found: Reason) -> Reason:
    """The bigger news of two: the later kind (`_NEWS`), the higher level."""
    if held is None:
        return found
    rank = (_NEWS_ORDER.index(found[0]), found[1])
    return found if rank > (_NEWS_ORDER.index(held[0]), held[1]) else held


def _overdue_first(tasks: Sequence[tuple[datetime, int]], now: datetime) -> list[int]:
    """Ids of (deadline, id) pairs: the overdue first, then by deadline."""
    ordered = sorted(tasks, key=lambda t: (t[0] >= now, t[0], t[1]))
    return [complaint_id for _, complaint_id in ordered]


def _resident(complaint: DueComplaint, reporter: int, event: str) -> Notice:
    return Notice(
        TO_RESIDENT,
        complaint_id=complaint.id,
        person_id=reporter,
        payload={"event": event},
        followers=True,
    )


def _owner(complaint: DueComplaint, event: str, to: str | None = None) -> Notice:
    """A notice about the task to its owner (or to ``to``, one who acts on it)."""
    return Notice(
        TO_OWNER,
        complaint_id=complaint.id,
        staff_id=to or complaint.owner,
        payload={"event": event},
    )
