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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import count
from typing import Any, NamedTuple

from bot.domain.complaints import State
from bot.domain.orgchart import DEFAULT_ESCALATION, EscalationLevel, EscalationTarget
from bot.domain.worktime import Clockwork, QuietHours, WorkCalendar, from_us, hours_us, to_us

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


class ClockState(NamedTuple):
    """The timestamps the schedule depends on, read from the complaint.
    (A named tuple: the sweep makes one per complaint due.)"""

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


# What an item says: its kind, its escalation level and whom it reaches.
Reason = tuple[Due, int, EscalationTarget | None]


class _Plan(NamedTuple):
    """One policy as the sweep's hot loop counts with it (`Schedule._plan`):
    the same for every complaint of its category, so worked out once."""

    policy: ReminderPolicy  # whose plan this is
    work: Clockwork
    to_pos: Callable[[int], int]  # an instant to its position on the clock
    to_instant: Callable[[int], int]  # .. and back
    place: Callable[[int], int]  # where an item at an instant is placed (out of the quiet hours)
    until_pos: Callable[[int], int]  # `to_pos`, for the end of the sweep's window
    one_day: float  # a day of this clock, in hours
    every: int  # between two "please acknowledge" reminders, in µs of the clock
    half: int  # to the first one: half the acknowledge time, in µs of the clock


NEEDS_ACK = frozenset({State.SUBMITTED, State.REOPENED})
HANDLING = frozenset({State.SUBMITTED, State.ACKNOWLEDGED, State.REOPENED})


def handed_over(state: State, clock_start: datetime | None, created_at: datetime) -> bool:
    """Whether the acknowledge window running is one a handover opened for
    the new holder (`Schedule.handover`), not the one the resident was told
    of: the resident's windows start when the report was filed, or when
    they reopened it (then it is reopened until someone takes it back; a
    handover makes it submitted again).  The resident hears "not
    acknowledged in time" for their own window only, never with a date
    they were not given."""
    moved = clock_start is not None and clock_start != created_at
    return moved and state is not State.REOPENED


@dataclass(frozen=True)
class Schedule:
    calendar: WorkCalendar
    quiet: QuietHours

    def clockwork(self, policy: ReminderPolicy) -> Clockwork:
        return self._clockworks[policy.urgent]  # type: ignore[attr-defined,no-any-return]

    def __post_init__(self) -> None:
        # Two ways to count, made once (the sweep asks per complaint).
        clockworks = {urgent: Clockwork(self.calendar, urgent=urgent) for urgent in (False, True)}
        object.__setattr__(self, "_clockworks", clockworks)
        # Each policy's `_Plan`, by the policy's id (the policy kept in it).
        object.__setattr__(self, "_plans", {})
        # The end of the window the sweep asks about a thousand times in a row
        # (its "now"), in µs, and as a working-time position.
        object.__setattr__(self, "_until_us", _LastOne(to_us))
        object.__setattr__(self, "_until_pos", _LastOne(self.calendar.position_us))

    def _plan(self, policy: ReminderPolicy) -> _Plan:
        """What `_handling_window` needs of ``policy`` that is the same for
        every complaint under it, worked out once."""
        plans: dict[int, _Plan] = self._plans  # type: ignore[attr-defined]
        plan = plans.get(id(policy))
        if plan is None or plan.policy is not policy:
            if len(plans) >= 256:  # policies come and go with the org chart
                plans.clear()
            plan = plans[id(policy)] = self._make_plan(policy)
        return plan

    def _make_plan(self, policy: ReminderPolicy) -> _Plan:
        work = self.clockwork(policy)
        to_pos: Callable[[int], int]
        to_instant: Callable[[int], int]
        place: Callable[[int], int]
        until_pos: Callable[[int], int]
        if policy.urgent:  # calendar time: positions are instants, nothing waits for the morning
            to_pos = to_instant = place = until_pos = _same
        else:
            to_pos, to_instant = self.calendar.position_us, self.calendar.instant_us
            place = self.quiet.defer_us
            until_pos = self._until_pos  # type: ignore[attr-defined]
        return _Plan(
            policy,
            work,
            to_pos,
            to_instant,
            place,
            until_pos,
            work.days(1),
            hours_us(policy.remind_every_hours),
            hours_us(policy.acknowledge_hours / 2),
        )

    def acknowledge_due(self, start: datetime, policy: ReminderPolicy) -> datetime:
        return self.clockwork(policy).add(start, policy.acknowledge_hours)

    def handover(
        self, clock: ClockState, policy: ReminderPolicy, now: datetime
    ) -> dict[str, datetime]:
        """The clock fields of a task handed to a new holder at ``now`` (a
        leader's reassign, a transfer, the move off a deactivated cadre): as
        PagerDuty gives a reassigned incident a fresh acknowledgement
        timeout, the new holder gets a full acknowledge window from now —
        not a deadline that passed before the task reached them ("rõ người,
        rõ việc": the person named must be able to take it up in time).
        Nothing changes when the window running gives more time.  The
        resolve deadline stays as promised to the resident (only a leader's
        extension moves it); ``clock_start`` moving to the handover marks
        the window as the holder's, not the resident's (`handed_over`).

        The window never ends after the resolve deadline: "acknowledge by"
        a date later than "resolve by" would contradict itself.  Past the
        resolve deadline no window opens: the task is overdue, and that is
        what the new holder, the leaders and the resident are told."""
        if clock.due_at <= now:
            return {}
        fresh = min(self.acknowledge_due(now, policy), clock.due_at)
        if fresh <= clock.ack_due_at:
            return {}
        return {"clock_start": now, "ack_due_at": fresh}

    def resolve_due(self, start: datetime, days: float, policy: ReminderPolicy) -> datetime:
        clock = self.clockwork(policy)
        return clock.add(start, clock.days(days))

    def pause_timeout(self, paused_since: datetime, policy: ReminderPolicy) -> datetime:
        """When waiting on the resident's answer ends unanswered: after
        ``pause_max_days`` working days, urgent or not."""
        return from_us(self._pause_timeout_us(to_us(paused_since), policy))

    def _pause_timeout_us(self, paused_since: int, policy: ReminderPolicy) -> int:
        return self.calendar.add_us(paused_since, policy.pause_max_days * self.calendar.day_hours)

    def items(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[Item]:
        """Every item of the schedule, in effective-time order (lazily: the
        "please acknowledge" reminders go on until someone acknowledges)."""
        for at, seq, due, level, target, round_no in self._placed(clock, policy):
            yield Item(from_us(at), seq, due, level, target, round_no)

    # The items are computed as tuples of integers (instants in microseconds
    # since the epoch, bot/domain/worktime.py): the sweep places a dozen for
    # each of a thousand complaints every half minute.  A raw item is
    # (instant, due, level, target, round); a placed one has its effective
    # instant (out of the quiet hours) and, after it, its seq: the order in
    # which the streams were drawn from, which breaks ties of time.

    def _place(self, raw: _Raw, urgent: bool) -> _Raw:
        return raw if urgent else (self.quiet.defer_us(raw[0]), *raw[1:])

    def _placed(self, clock: ClockState, policy: ReminderPolicy) -> Iterator[_Placed]:
        work = self.clockwork(policy)
        seq = count()

        def placed(raw: Iterable[_Raw]) -> Iterator[_Placed]:
            for item in raw:
                at, due, level, target, round_no = self._place(item, policy.urgent)
                yield at, next(seq), due, level, target, round_no

        streams: list[Iterator[_Placed]] = []
        if clock.paused_since is not None and clock.state in HANDLING:
            timeout = self._pause_timeout_us(to_us(clock.paused_since), policy)
            streams.append(placed([(timeout, Due.INFO_TIMEOUT, 0, None, 0)]))
        elif clock.state in HANDLING:
            if clock.state in NEEDS_ACK:
                streams.append(placed(iter(_AckReminders(clock, policy, work).pull, None)))
            streams.append(placed(self._resolve_items(clock, policy, work)))
        elif clock.state is State.RESOLVED and clock.resolved_at is not None:
            # The resident's side counts calendar days, and never speaks at night.
            defer = self.quiet.defer_us
            again = to_us(clock.resolved_at + timedelta(days=policy.confirm_again_days))
            close = to_us(clock.resolved_at + timedelta(days=policy.auto_close_days))
            streams.append(
                iter(
                    [
                        (defer(again), next(seq), Due.CONFIRM_AGAIN, 0, None, 0),
                        (defer(close), next(seq), Due.AUTO_CLOSE, 0, None, 0),
                    ]
                )
            )
        yield from heapq.merge(*streams)

    @staticmethod
    def _resolve_items(clock: ClockState, policy: ReminderPolicy, work: Clockwork) -> list[_Raw]:
        """One working day before the deadline, at the deadline, then the
        escalation levels (and their repeated rounds)."""
        add = work.add_us
        due_at = to_us(clock.due_at)
        total = work.elapsed(clock.clock_start, clock.due_at)
        one_day = work.days(1)
        raw: list[_Raw] = []
        if total > one_day:
            soon = add(to_us(clock.clock_start), total - one_day)
            raw.append((soon, Due.RESOLVE_SOON, 0, None, 0))
        raw.append((due_at, Due.RESOLVE_DUE, 0, None, 0))
        levels = policy.escalation
        if levels:
            span = max(level.after_days for level in levels) + policy.round_gap_days
            for round_no in range(policy.repeat + 1):
                for index, level in enumerate(levels, start=1):
                    offset = work.days(round_no * span + level.after_days)
                    when = add(due_at, offset)
                    raw.append((when, Due.ESCALATION, index, level.target, round_no))
        raw.sort(key=lambda r: r[0])
        return raw

    def window(
        self, clock: ClockState, policy: ReminderPolicy, after: datetime, until: datetime
    ) -> tuple[list[Item], datetime | None]:
        """The items with ``after < at <= until``, and when the next one falls."""
        items, upcoming = self._window(clock, policy, to_us(after), to_us(until), False)
        return (
            [
                Item(from_us(at), seq, due, level, target, round_no)
                for at, seq, due, level, target, round_no in items
            ],
            None if upcoming is None else from_us(upcoming),
        )

    def next_escalation(
        self, clock: ClockState, policy: ReminderPolicy, reached: int
    ) -> Item | None:
        """The first escalation level above ``reached`` (of the first round:
        a repeat tells no one new), placed as the sweep will find it; None
        after the last.  A resident told their complaint is overdue learns
        the date they can hold the ward to."""
        work = self.clockwork(policy)
        for raw in self._resolve_items(clock, policy, work):
            at, due, level, target, round_no = self._place(raw, policy.urgent)
            if due is Due.ESCALATION and round_no == 0 and level > reached:
                return Item(from_us(at), 0, due, level, target, round_no)
        return None

    def reasons(
        self, clock: ClockState, policy: ReminderPolicy, after: datetime, until: datetime
    ) -> tuple[list[Reason], datetime | None]:
        """What the items with ``after < at <= until`` say, each once, in
        time order, and when the next item falls: the sweep's view.  A person
        hears of a complaint once per sweep, for its strongest reason, so a
        repeat (the "please acknowledge" reminders of a long catch-up) says
        nothing new; and the sweep needs no item's own time."""
        until_us: int = self._until_us(until)  # type: ignore[attr-defined]
        items, upcoming = self._window(clock, policy, to_us(after), until_us, True)
        return (
            [(due, level, target) for _, _, due, level, target, _ in items],
            None if upcoming is None else from_us(upcoming),
        )

    def _window(
        self, clock: ClockState, policy: ReminderPolicy, after: int, until: int, distinct: bool
    ) -> tuple[list[_Placed], int | None]:
        if clock.state in HANDLING and clock.paused_since is None:
            return self._handling_window(clock, policy, after, until, distinct)
        # Paused, or resolved: one or two items, walked from the start.
        return self._walked(clock, policy, after, until, distinct)

    def _handling_window(
        self, clock: ClockState, policy: ReminderPolicy, after: int, until: int, distinct: bool
    ) -> tuple[list[_Placed], int | None]:
        """`_window` while the clocks run, without walking the schedule from
        its start: the sweep's hot loop, a thousand complaints at a time,
        some of them weeks old.  The same items as `_placed` gives, in time
        order (items at the same instant may come in another order, and the
        seq is their order here: nothing reads either).

        The "please acknowledge" reminders step by a fixed working time from
        half the acknowledge time, and that step is a fixed number of working
        microseconds (bot/domain/worktime.py: a position plus n, back to an
        instant); so reminder ``k`` is the first one's position plus ``k``
        steps, and the reminders of a window are found by their number, not
        by a walk.  At the first reminder at or past the deadline comes the
        overdue notice instead, at the deadline, and the steps start again
        from there.  The resolve stream's escalations are only placed when
        its deadline is in the window.

        Written flat, with what is the same for every complaint of a policy
        worked out once (`_Plan`) and the window's end converted once per
        sweep (`_until_us`, `_until_pos`): this runs for every complaint
        due, and each method call, attribute lookup or conversion shows."""
        plan = self._plan(policy)
        work, to_pos, to_instant, place = plan.work, plan.to_pos, plan.to_instant, plan.place
        start = to_us(clock.clock_start)
        start_at = to_pos(start)
        # Due items as (instant, stream, n, kind, level, target, round): sorted, in time order.
        found: list[tuple[int, int, int, Due, int, EscalationTarget | None, int]] = []
        upcoming: int | None = None
        counted = 0  # items up to ``until``, for the runaway guard

        # -- the resolve stream: [one day before,] the deadline, the escalations
        due_at = to_us(clock.due_at)
        deadline = place(due_at)
        if deadline <= until:
            for raw in self._resolve_items(clock, policy, work):
                when, kind, level, target, round_no = self._place(raw, policy.urgent)
                if when > until:
                    upcoming = when
                    break
                counted += 1
                if when > after:
                    found.append((when, 1, counted, kind, level, target, round_no))
        else:
            # The escalations come after the deadline: none is due, nor next;
            # the deadline is next unless the day before it is still to come.
            if due_at > start:  # else no time at all: elapsed is 0
                total = (to_pos(due_at) - start_at) / 1_000_000 / 3600  # as elapsed()
                if total > plan.one_day:
                    step = hours_us(total - plan.one_day)
                    soon = place(to_instant(start_at + step) if step else work.add_us(start, 0))
                    if soon > until:
                        upcoming = soon
                    else:
                        counted = 1
                        if soon > after:
                            found.append((soon, 1, 1, Due.RESOLVE_SOON, 0, None, 0))
            if upcoming is None:
                upcoming = deadline

        # -- the acknowledge stream
        if clock.state in NEEDS_ACK:
            every = plan.every
            if every <= 0:  # a schedule that never moves on: the plain walk refuses it
                return self._walked(clock, policy, after, until, distinct)
            ack_due = to_us(clock.ack_due_at)
            due_pos = to_pos(ack_due)
            if plan.half > 0:
                first_at = start_at + plan.half
                first = to_instant(first_at)
            else:  # no time: the next opening (add's rule for zero), or add's refusal
                first = work.add_us(start, policy.acknowledge_hours / 2)
                first_at = to_pos(first)

            def reminder(k: int) -> int:
                """The raw instant of the k-th reminder before the deadline."""
                return first if k == 0 else to_instant(first_at + k * every)

            # How many reminders come before the overdue notice: a guess from
            # the positions (right unless the deadline is outside working
            # time), checked, else searched for.
            overdue = max(0, -(-(due_pos - first_at) // every))
            if reminder(overdue) < ack_due or (overdue and reminder(overdue - 1) >= ack_due):
                overdue = _first(lambda k: reminder(k) >= ack_due, overdue)

            def at(i: int) -> int:
                """Where item ``i`` of the stream is placed."""
                if i < overdue:
                    return place(reminder(i))
                if i == overdue:
                    return place(ack_due)
                return place(to_instant(due_pos + (i - overdue) * every))

            def first_above(t: int, t_pos: int) -> tuple[int, int | None]:
                """The first item placed after ``t`` (at position ``t_pos``),
                and where (None: not placed yet): the items never go back in
                time (each step moves on, and deferring keeps the order)."""
                if t < (first if overdue else ack_due):
                    return 0, None
                if t_pos < due_pos:
                    guess = min((t_pos - first_at) // every + 1, overdue)
                else:
                    guess = overdue + (t_pos - due_pos) // every + 1
                placed = at(guess)
                if placed > t:
                    if guess == 0 or at(guess - 1) <= t:
                        return guess, placed
                else:
                    placed = at(guess + 1)
                    if placed > t:
                        return guess + 1, placed
                guess = _first(lambda i: at(i) > t, guess)
                return guess, at(guess)

            index, index_at = first_above(after, to_pos(after))
            beyond, placed = first_above(until, plan.until_pos(until))
            next_ack = at(beyond) if placed is None else placed
            counted += beyond
            while index < beyond:
                when = at(index) if index_at is None else index_at
                index_at = None  # known for the first one only
                if index == overdue:
                    found.append(
                        (when, 0, index, Due.ACK_OVERDUE, 0, EscalationTarget.WARD_LEADER, 0)
                    )
                else:
                    found.append((when, 0, index, Due.ACK_REMINDER, 0, None, 0))
                    if distinct:
                        # The reminders after this one up to ``until`` say the
                        # same; only the overdue notice may still be new.
                        if index < overdue < beyond:
                            index = overdue
                            continue
                        break
                index += 1
            if upcoming is None or next_ack < upcoming:
                upcoming = next_ack

        if counted >= MAX_ITEMS:
            raise RuntimeError("reminder schedule runaway")
        if len(found) > 1:
            found.sort()
        due: list[_Placed] = []
        seen: set[Reason] = set()
        for seq, (when, _, _, kind, level, target, round_no) in enumerate(found):
            if distinct:
                if (kind, level, target) in seen:
                    continue
                seen.add((kind, level, target))
            due.append((when, seq, kind, level, target, round_no))
        return due, upcoming

    def _walked(
        self, clock: ClockState, policy: ReminderPolicy, after: int, until: int, distinct: bool
    ) -> tuple[list[_Placed], int | None]:
        """`_window` the plain way: every item from the start, in order."""
        due: list[_Placed] = []
        seen: set[Reason] = set()
        for index, item in enumerate(self._placed(clock, policy)):
            if index >= MAX_ITEMS:
                raise RuntimeError("reminder schedule runaway")
            at, _, kind, level, target, _ = item
            if at <= after:
                continue
            if at > until:
                return due, at
            if distinct:
                if (kind, level, target) in seen:
                    continue
                seen.add((kind, level, target))
            due.append(item)
        return due, None


def _same(x: int) -> int:
    return x


class _LastOne:
    """A function of one argument, its result remembered for the last
    argument: a sweep asks about a thousand complaints with the same "now"."""

    __slots__ = ("argument", "function", "result")

    def __init__(self, function: Callable[[Any], int]) -> None:
        self.function = function
        self.argument: object = _NOTHING
        self.result = 0

    def __call__(self, argument: Any) -> int:
        if argument != self.argument:
            self.result = self.function(argument)
            self.argument = argument
        return self.result


_NOTHING = object()


def _first(above: Callable[[int], bool], guess: int) -> int:
    """The least n >= 0 with ``above(n)``, for ``above`` false then true for
    good: galloping from ``guess``, then halving."""
    if above(guess):
        high, step = guess, 1
        while True:
            low = high - step
            if low < 0:
                low = -1
                break
            if not above(low):
                break
            high, step = low, step * 2
    else:
        low, step = guess, 1
        while True:
            high = low + step
            if above(high):
                break
            low, step = high, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if above(middle):
            high = middle
        else:
            low = middle
    return high


class _AckReminders:
    """Half-way through the acknowledge time, then every two working hours;
    at the deadline the ward leader is told too.  Endless: `pull` gives the
    next raw item each time."""

    def __init__(self, clock: ClockState, policy: ReminderPolicy, work: Clockwork) -> None:
        self.add = work.add_us
        self.every = policy.remind_every_hours
        self.ack_due = to_us(clock.ack_due_at)
        self.when = self.add(to_us(clock.clock_start), policy.acknowledge_hours / 2)
        self.overdue_told = False

    def pull(self) -> _Raw:
        if not self.overdue_told and self.when >= self.ack_due:
            self.overdue_told = True
            self.when = self.add(self.ack_due, self.every)
            return self.ack_due, Due.ACK_OVERDUE, 0, EscalationTarget.WARD_LEADER, 0
        when = self.when
        self.when = self.add(when, self.every)
        return when, Due.ACK_REMINDER, 0, None, 0


_Raw = tuple[int, Due, int, EscalationTarget | None, int]
_Placed = tuple[int, int, Due, int, EscalationTarget | None, int]
