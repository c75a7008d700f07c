"""The reminder schedule computed in integers (bot/domain/reminders.py)
against the plain datetime version it replaced, kept here as the reference:
every item, its order and the next instant must be the same, for any clock,
policy, calendar and quiet hours."""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import count, islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.complaints import State
from bot.domain.orgchart import EscalationLevel, EscalationTarget
from bot.domain.reminders import (
    HANDLING,
    MAX_ITEMS,
    NEEDS_ACK,
    ClockState,
    Due,
    Item,
    ReminderPolicy,
    Schedule,
)
from bot.domain.worktime import QuietHours, WorkCalendar
from tests.test_worktime import ZONES, reference_add, reference_between

Raw = tuple[datetime, Due, int, EscalationTarget | None, int]


class Reference:
    """The schedule as it was: aware datetimes, the calendar's day-by-day loop."""

    def __init__(self, schedule: Schedule) -> None:
        self.calendar = schedule.calendar
        self.quiet = schedule.quiet

    def add(self, policy: ReminderPolicy, instant: datetime, hours: float) -> datetime:
        if policy.urgent:
            return instant + timedelta(hours=hours)
        return reference_add(self.calendar, instant, hours)

    def elapsed(self, policy: ReminderPolicy, earlier: datetime, later: datetime) -> float:
        if policy.urgent:
            return max(0.0, (later - earlier).total_seconds() / 3600)
        return reference_between(self.calendar, earlier, later)

    def days(self, policy: ReminderPolicy, days: float) -> float:
        return days * (24.0 if policy.urgent else self.calendar.day_hours)

    def items(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[Item]:
        seq = count()

        def placed(raw: Iterator[Raw]) -> Iterator[Item]:
            for when, due, level, target, round_no in raw:
                effective = when if policy.urgent else self.quiet.defer(when)
                yield Item(effective, next(seq), due, level, target, round_no)

        streams: list[Iterator[Item]] = []
        if clock.paused_since is not None and clock.state in HANDLING:
            timeout = reference_add(
                self.calendar,
                clock.paused_since,
                policy.pause_max_days * self.calendar.day_hours,
            )
            streams.append(placed(iter([(timeout, Due.INFO_TIMEOUT, 0, None, 0)])))
        elif clock.state in HANDLING:
            if clock.state in NEEDS_ACK:
                streams.append(placed(self.ack_stream(clock, policy)))
            streams.append(placed(self.resolve_stream(clock, policy)))
        elif clock.state is State.RESOLVED and clock.resolved_at is not None:
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

    def ack_stream(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[Raw]:
        when = self.add(policy, clock.clock_start, policy.acknowledge_hours / 2)
        overdue_told = False
        while True:
            if not overdue_told and when >= clock.ack_due_at:
                yield clock.ack_due_at, Due.ACK_OVERDUE, 0, EscalationTarget.WARD_LEADER, 0
                overdue_told = True
                when = self.add(policy, clock.ack_due_at, policy.remind_every_hours)
                continue
            yield when, Due.ACK_REMINDER, 0, None, 0
            when = self.add(policy, when, policy.remind_every_hours)

    def resolve_stream(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[Raw]:
        total = self.elapsed(policy, clock.clock_start, clock.due_at)
        one_day = self.days(policy, 1)
        raw: list[Raw] = []
        if total > one_day:
            soon = self.add(policy, clock.clock_start, total - one_day)
            raw.append((soon, Due.RESOLVE_SOON, 0, None, 0))
        raw.append((clock.due_at, Due.RESOLVE_DUE, 0, None, 0))
        levels = policy.escalation
        if levels:
            span = max(level.after_days for level in levels) + policy.round_gap_days
            for round_no in range(policy.repeat + 1):
                for index, level in enumerate(levels, start=1):
                    offset = self.days(policy, round_no * span + level.after_days)
                    when = self.add(policy, clock.due_at, offset)
                    raw.append((when, Due.ESCALATION, index, level.target, round_no))
        raw.sort(key=lambda r: r[0])
        yield from raw

    def window(
        self, clock: ClockState, policy: ReminderPolicy, after: datetime, until: datetime
    ) -> tuple[list[Item], datetime | None]:
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


def _local(zone: ZoneInfo) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 10, 1), timezones=st.just(zone)
    ).map(lambda d: d.astimezone(UTC))


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[Schedule, ClockState, ReminderPolicy, datetime, datetime]:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    start = draw(st.integers(5 * 4, 10 * 4)) * 15
    end = start + draw(st.integers(4, 12 * 4)) * 15
    calendar = WorkCalendar(
        zone,
        time(start // 60, start % 60),
        time(min(end, 23 * 60) // 60, min(end, 23 * 60) % 60),
        frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        frozenset(
            date(2026, 1, 1) + timedelta(days=n)
            for n in draw(st.lists(st.integers(0, 640), max_size=30))
        ),
    )
    quiet_start, quiet_end = (draw(st.integers(0, 24 * 4 - 1)) * 15 for _ in range(2))
    quiet = QuietHours(
        zone,
        time(quiet_start // 60, quiet_start % 60),
        time(quiet_end // 60, quiet_end % 60),
    )
    levels = draw(
        st.lists(
            st.builds(
                EscalationLevel,
                st.integers(0, 8).map(lambda n: n / 2),
                st.sampled_from(list(EscalationTarget)),
            ),
            max_size=3,
        )
    )
    policy = ReminderPolicy(
        acknowledge_hours=draw(st.integers(1, 48)) / 2,
        escalation=tuple(levels),
        repeat=draw(st.integers(0, 2)) if levels else 0,
        urgent=draw(st.booleans()),
        remind_every_hours=draw(st.integers(2, 12)) / 4,
        round_gap_days=draw(st.integers(0, 6)) / 2,
        confirm_again_days=draw(st.integers(1, 10)) / 2,
        auto_close_days=draw(st.integers(1, 20)) / 2,
        pause_max_days=draw(st.integers(1, 8)) / 2,
    )
    started = draw(_local(zone))
    schedule = Schedule(calendar, quiet)
    ack_due = draw(
        st.one_of(
            st.just(schedule.acknowledge_due(started, policy)),
            st.integers(0, 72 * 60).map(lambda m: started + timedelta(minutes=m)),
        )
    )
    due = started + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
    state = draw(st.sampled_from(list(State)))
    resolved = draw(st.none() | st.integers(0, 10 * 24 * 60))
    paused = draw(st.one_of(st.none(), st.none(), st.none(), st.integers(0, 10 * 24 * 60)))
    clock = ClockState(
        state=state,
        clock_start=started,
        ack_due_at=ack_due,
        due_at=due,
        resolved_at=None if resolved is None else started + timedelta(minutes=resolved),
        paused_since=None if paused is None else started + timedelta(minutes=paused),
    )
    after = started + timedelta(
        minutes=draw(st.integers(-600, 3 * 24 * 60) | st.integers(-600, 20 * 24 * 60))
    )
    until = after + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
    return schedule, clock, policy, after, until


def _in_order(items: list[Item]) -> list[tuple[datetime, list[str]]]:
    """The items by instant; at one instant, in any order (the sweep reads
    no order there, and the integer schedule does not keep the old one)."""
    out: list[tuple[datetime, list[str]]] = []
    for item in items:
        what = f"{item.due.value} {item.level} {item.target} {item.round}"
        if out and out[-1][0] == item.at:
            out[-1][1].append(what)
        else:
            out.append((item.at, [what]))
    return [(at, sorted(whats)) for at, whats in out]


@given(case=cases())
def test_the_integer_schedule_agrees_with_the_datetime_one(
    case: tuple[Schedule, ClockState, ReminderPolicy, datetime, datetime],
) -> None:
    schedule, clock, policy, after, until = case
    try:
        expected, expected_next = Reference(schedule).window(clock, policy, after, until)
    except RuntimeError:  # the runaway guard: more than MAX_ITEMS up to ``until``
        with pytest.raises(RuntimeError, match="runaway"):
            schedule.reasons(clock, policy, after, until)
        return
    items, upcoming = schedule.window(clock, policy, after, until)
    assert _in_order(items) == _in_order(expected)
    assert upcoming == expected_next
    # The sweep's view: what the items say, each once (in time order; at one
    # instant, in any order).
    reasons, reasons_next = schedule.reasons(clock, policy, after, until)
    firsts: dict[tuple[object, ...], Item] = {}
    for item in expected:
        firsts.setdefault((item.due, item.level, item.target), item)
    assert len(reasons) == len(set(reasons)) == len(firsts)
    assert set(reasons) == set(firsts)
    assert reasons_next == expected_next
    # The walk from the start, item by item, seq and all.
    walked = islice(schedule.items(clock, policy), 60)
    assert [_key(i) for i in walked] == [
        _key(i) for i in islice(Reference(schedule).items(clock, policy), 60)
    ]


def _key(item: Item) -> tuple[object, ...]:
    return (item.at, item.seq, item.due, item.level, item.target, item.round)


@given(
    case=cases(),
    others=st.lists(
        st.tuples(st.integers(-3 * 24 * 60, 3 * 24 * 60), st.booleans(), st.integers(1, 12)),
        min_size=1,
        max_size=4,
    ),
    sweep_before=st.integers(1, 3 * 24 * 60),
)
def test_asking_about_many_complaints_at_one_instant_changes_no_answer(
    case: tuple[Schedule, ClockState, ReminderPolicy, datetime, datetime],
    others: list[tuple[int, bool, int]],
    sweep_before: int,
) -> None:
    """The sweep asks one schedule about a thousand complaints with the same
    "now", and again at the next sweep: what the schedule keeps between
    them (each policy's plan, that "now" in microseconds and as a
    working-time position) must not change what it says of any of them —
    the same as a fresh schedule says."""
    schedule, clock, policy, after, until = case

    def ask(asked: Schedule) -> object:
        try:
            return asked.reasons(clock, policy, after, until), asked.window(
                clock, policy, after, until
            )
        except RuntimeError as exc:  # the runaway guard, for both alike
            return str(exc)

    for now in (until - timedelta(minutes=sweep_before), until):  # two sweeps
        for minutes, urgent, every in others:
            shift = timedelta(minutes=minutes)
            other = clock._replace(
                clock_start=clock.clock_start + shift,
                ack_due_at=clock.ack_due_at + shift,
                due_at=clock.due_at + shift,
            )
            knobs = replace(policy, urgent=urgent, remind_every_hours=every / 4)
            with contextlib.suppress(RuntimeError):
                schedule.reasons(other, knobs, after + shift, now)
    assert ask(schedule) == ask(Schedule(schedule.calendar, schedule.quiet))
