"""What is due for a complaint, and when: the reminder and escalation schedule.

Two clocks run per complaint, as in PagerDuty and Opsgenie: "if not
acknowledged" and "if not resolved".  The schedule is a pure function of the
complaint's timestamps, so nothing is kept per reminder: the database stores
only how far the schedule has been swept (``swept_until``) and when the next
item falls (``next_action_at``).  A sweep takes every item between the two;
after the bot was down, the missed items come out once, together.

Items are placed at their *effective* time: a non-urgent item that falls in
the quiet hours moves to their end, and several such items collapse into the
one sweep that follows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import count

from bot.domain.complaints import State
from bot.domain.orgchart import DEFAULT_ESCALATION, EscalationLevel, EscalationTarget
from bot.domain.worktime import Clockwork, QuietHours, WorkCalendar

MAX_ITEMS = 5000  # a safety bound; a real window holds a handful


class Due(StrEnum):
    ACK_REMINDER = "ack_reminder"  # to the owner: please acknowledge
    ACK_OVERDUE = "ack_overdue"  # to the owner and the ward leader: not acknowledged in time
    RESOLVE_SOON = "resolve_soon"  # to the owner: one working day left
    RESOLVE_DUE = "resolve_due"  # to the owner: the deadline is now
    ESCALATION = "escalation"  # to a leader level: overdue
    CONFIRM_AGAIN = "confirm_again"  # to the resident: is it fixed?
    AUTO_CLOSE = "auto_close"  # no answer from the resident: close unconfirmed
    INFO_TIMEOUT = "info_timeout"  # the resident did not answer the cadre's question


@dataclass(frozen=True)
class ReminderPolicy:
    """The knobs, per category and per ward office."""

    acknowledge_hours: float = 8.0
    escalation: tuple[EscalationLevel, ...] = DEFAULT_ESCALATION
    repeat: int = 0
    urgent: bool = False
    remind_every_hours: float = 2.0  # working hours between "please acknowledge" reminders
    round_gap_days: float = 2.0  # between rounds of a repeated escalation
    confirm_again_days: float = 3.0  # calendar days before asking the resident again
    auto_close_days: float = 7.0  # calendar days of silence before closing unconfirmed
    pause_max_days: float = 3.0  # working days the clock may wait for the resident


@dataclass(frozen=True)
class ClockState:
    """The timestamps the schedule depends on, read from the complaint."""

    state: State
    clock_start: datetime  # when it was routed, or reopened: the clocks restart from there
    ack_due_at: datetime
    due_at: datetime
    resolved_at: datetime | None = None
    paused_since: datetime | None = None


@dataclass(frozen=True, order=True)
class Item:
    at: datetime
    seq: int
    due: Due
    level: int = 0  # escalation level (1-based) for ESCALATION
    target: EscalationTarget | None = None
    round: int = 0


NEEDS_ACK = frozenset({State.SUBMITTED, State.REOPENED})
HANDLING = frozenset({State.SUBMITTED, State.ACKNOWLEDGED, State.REOPENED})


@dataclass(frozen=True)
class Schedule:
    calendar: WorkCalendar
    quiet: QuietHours

    def clockwork(self, policy: ReminderPolicy) -> Clockwork:
        return Clockwork(self.calendar, urgent=policy.urgent)

    def acknowledge_due(self, start: datetime, policy: ReminderPolicy) -> datetime:
        return self.clockwork(policy).add(start, policy.acknowledge_hours)

    def resolve_due(self, start: datetime, days: float, policy: ReminderPolicy) -> datetime:
        clock = self.clockwork(policy)
        return clock.add(start, clock.days(days))

    def _effective(self, at: datetime, urgent: bool) -> datetime:
        return at if urgent else self.quiet.defer(at)

    def items(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[Item]:
        """Every item of the schedule, in effective-time order (lazily: the
        "please acknowledge" reminders go on until someone acknowledges)."""
        work = self.clockwork(policy)
        seq = count()

        def placed(
            raw: Iterator[tuple[datetime, Due, int, EscalationTarget | None, int]],
        ) -> Iterator[Item]:
            for when, due, level, target, round_no in raw:
                effective = self._effective(when, policy.urgent)
                yield Item(effective, next(seq), due, level, target, round_no)

        streams: list[Iterator[Item]] = []
        if clock.paused_since is not None and clock.state in HANDLING:
            timeout = work.calendar.add(
                clock.paused_since, policy.pause_max_days * work.calendar.day_hours
            )
            streams.append(placed(iter([(timeout, Due.INFO_TIMEOUT, 0, None, 0)])))
        elif clock.state in HANDLING:
            if clock.state in NEEDS_ACK:
                streams.append(placed(self._ack_stream(clock, policy, work)))
            streams.append(placed(self._resolve_stream(clock, policy, work)))
        elif clock.state is State.RESOLVED and clock.resolved_at is not None:
            # The resident's side counts calendar days, and never speaks at night.
            again = clock.resolved_at + timedelta(days=policy.confirm_again_days)
            close = clock.resolved_at + timedelta(days=policy.auto_close_days)
            streams.append(
                iter(
                    [
                        Item(self.quiet.defer(again), next(seq), Due.CONFIRM_AGAIN),
                        Item(self.quiet.defer(close), next(seq), Due.AUTO_CLOSE),
                    ]
                )
            )
        yield from heapq.merge(*streams)

    @staticmethod
    def _ack_stream(
        clock: ClockState, policy: ReminderPolicy, work: Clockwork
    ) -> Iterator[tuple[datetime, Due, int, EscalationTarget | None, int]]:
        """Half-way through the acknowledge time, then every two working
        hours; at the deadline the ward leader is told too."""
        when = work.add(clock.clock_start, policy.acknowledge_hours / 2)
        overdue_told = False
        while True:
            if not overdue_told and when >= clock.ack_due_at:
                yield clock.ack_due_at, Due.ACK_OVERDUE, 0, EscalationTarget.WARD_LEADER, 0
                overdue_told = True
                when = work.add(clock.ack_due_at, policy.remind_every_hours)
                continue
            yield when, Due.ACK_REMINDER, 0, None, 0
            when = work.add(when, policy.remind_every_hours)

    @staticmethod
    def _resolve_stream(
        clock: ClockState, policy: ReminderPolicy, work: Clockwork
    ) -> Iterator[tuple[datetime, Due, int, EscalationTarget | None, int]]:
        """One working day before the deadline, at the deadline, then the
        escalation levels (and their repeated rounds)."""
        total = work.elapsed(clock.clock_start, clock.due_at)
        one_day = work.days(1)
        raw: list[tuple[datetime, Due, int, EscalationTarget | None, int]] = []
        if total > one_day:
            raw.append((work.add(clock.clock_start, total - one_day), Due.RESOLVE_SOON, 0, None, 0))
        raw.append((clock.due_at, Due.RESOLVE_DUE, 0, None, 0))
        levels = policy.escalation
        if levels:
            span = max(level.after_days for level in levels) + policy.round_gap_days
            for round_no in range(policy.repeat + 1):
                for index, level in enumerate(levels, start=1):
                    offset = work.days(round_no * span + level.after_days)
                    when = work.add(clock.due_at, offset)
                    raw.append((when, Due.ESCALATION, index, level.target, round_no))
        raw.sort(key=lambda r: r[0])
        yield from raw

    def window(
        self, clock: ClockState, policy: ReminderPolicy, after: datetime, until: datetime
    ) -> tuple[list[Item], datetime | None]:
        """The items with ``after < at <= until``, and when the next one falls."""
        due: list[Item] = []
        for index, item in enumerate(self.items(clock, policy)):
            if index >= MAX_ITEMS:
                raise RuntimeError("reminder schedule runaway")
            if item.at <= after:
                continue
            if item.at > until:
                return due, item.at
            due.append(item)
        return due, None
