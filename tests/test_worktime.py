"""Working-time arithmetic: weekends, public holidays, the working window,
and quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.worktime import (
    Clockwork,
    QuietHours,
    WorkCalendar,
    from_us,
    to_us,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A week with a public holiday on Wednesday 25/11/2026.
CAL = WorkCalendar(TZ, holidays=frozenset({date(2026, 11, 25)}))


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def test_a_working_day_is_nine_and_a_half_hours() -> None:
    assert CAL.day_hours == 9.5


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (local(23, 9), 8, local(23, 17)),  # Monday, within the day
        (local(23, 9), 8.5, local(24, 8)),  # spills into Tuesday
        (local(23, 6), 1, local(23, 8, 30)),  # before opening: counts from 07:30
        (local(23, 20), 1, local(24, 8, 30)),  # after closing: counts from tomorrow
        (local(24, 16), 2, local(26, 8, 30)),  # skips the Wednesday holiday
        (local(27, 16), 2, local(30, 8, 30)),  # skips the weekend
        (local(28, 10), 0, local(30, 7, 30)),  # Saturday + 0 h: next opening
        (local(23, 9), 19, local(26, 9)),  # two working days, over the holiday
    ],
)
def test_add_working_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert CAL.add(start, hours) == expected


def test_a_saturday_worked_in_exchange_is_a_working_day() -> None:
    """The government swaps days: Monday 31/8/2026 off, Saturday 22/8 worked."""
    swapped = WorkCalendar(
        TZ, holidays=frozenset({date(2026, 8, 31)}), makeup_days=frozenset({date(2026, 8, 22)})
    )
    assert swapped.is_working_day(date(2026, 8, 22))
    assert not swapped.is_working_day(date(2026, 8, 31))
    # Friday 16:00 + 2 working hours: 1 h on Friday, 1 h on the Saturday worked.
    friday = datetime(2026, 8, 21, 16, 0, tzinfo=TZ)
    assert swapped.add(friday, 2) == datetime(2026, 8, 22, 8, 30, tzinfo=TZ)
    # A week later, one working day from Friday's close skips the Monday off.
    next_friday = datetime(2026, 8, 28, 17, 0, tzinfo=TZ)
    assert swapped.add(next_friday, 9.5) == datetime(2026, 9, 1, 17, 0, tzinfo=TZ)


def test_a_deadline_moved_by_no_time_stays_at_17_00() -> None:
    """`add` of nothing is the next opening (a clock started at night), but
    a deadline that moves by nothing stays where it is."""
    work = Clockwork(CAL)
    assert work.shift(local(23, 17), 0) == local(23, 17)
    assert work.shift(local(23, 17), 1) == local(24, 8, 30)
    assert Clockwork(CAL, urgent=True).shift(local(23, 17), 0) == local(23, 17)


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
    ),
    hours=st.floats(min_value=0, max_value=200, allow_nan=False).map(lambda h: round(h, 3)),
)
def test_add_and_between_agree(start: datetime, hours: float) -> None:
    calendar = WorkCalendar(TZ)
    end = calendar.add(start, hours)
    assert end >= start
    assert calendar.working_hours_between(start, end) == pytest.approx(hours, abs=1e-6)
    if hours > 0:
        # The moment a deadline falls is always inside working time (or its very end).
        assert calendar.is_working_time(end - timedelta(microseconds=1))


def test_working_hours_between_skips_nights_weekends_holidays() -> None:
    assert CAL.working_hours_between(local(23, 9), local(23, 10)) == 1
    assert CAL.working_hours_between(local(23, 16), local(24, 8)) == 1.5
    assert CAL.working_hours_between(local(24, 17), local(26, 7, 30)) == 0, "holiday"
    assert CAL.working_hours_between(local(27, 17), local(30, 7, 30)) == 0, "weekend"
    assert CAL.working_hours_between(local(26, 9), local(23, 9)) == 0


def test_urgent_complaints_count_calendar_time() -> None:
    urgent = Clockwork(CAL, urgent=True)
    assert urgent.add(local(28, 22), 4) == local(29, 2), "Saturday night counts"
    assert urgent.days(1) == 24
    assert Clockwork(CAL).days(1) == 9.5


def test_quiet_hours_defer_to_their_end() -> None:
    quiet = QuietHours(TZ, time(21, 0), time(7, 0))
    assert quiet.defer(local(23, 20, 59)) == local(23, 20, 59)
    assert quiet.defer(local(23, 21)) == local(24, 7)
    assert quiet.defer(local(24, 3)) == local(24, 7)
    assert quiet.defer(local(24, 7)) == local(24, 7)
    daytime = QuietHours(TZ, time(12, 0), time(13, 0))
    assert daytime.defer(local(23, 12, 30)) == local(23, 13)
    assert not QuietHours(TZ, time(0, 0), time(0, 0)).contains(local(23, 3))


def test_a_calendar_without_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="working weekday"):
        WorkCalendar(TZ, weekdays=frozenset())
    with pytest.raises(ValueError, match="end after"):
        WorkCalendar(TZ, start=time(17), end=time(8))


# ---- the integer arithmetic against the plain one ----------------------------------------
#
# WorkCalendar counts in microseconds over a list of working windows (fast
# enough for the sweep); this is the plain day-by-day loop it replaced, kept
# as the reference: both must give the very same instants and hours.


def reference_next_opening(calendar: WorkCalendar, instant: datetime) -> datetime:
    day = instant.astimezone(calendar.tz).date()
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    opens, closes = calendar._window(day)
    if instant >= closes:
        day += timedelta(days=1)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        opens, closes = calendar._window(day)
    return max(instant, opens)


def reference_add(calendar: WorkCalendar, instant: datetime, hours: float) -> datetime:
    remaining = timedelta(hours=hours)
    current = reference_next_opening(calendar, instant)
    while True:
        _, closes = calendar._window(current.astimezone(calendar.tz).date())
        available = closes - current
        if remaining <= available:
            return current + remaining
        remaining -= available
        current = reference_next_opening(calendar, closes)


def reference_between(calendar: WorkCalendar, earlier: datetime, later: datetime) -> float:
    if later <= earlier:
        return 0.0
    total = timedelta(0)
    current = reference_next_opening(calendar, earlier)
    while current < later:
        _, closes = calendar._window(current.astimezone(calendar.tz).date())
        total += min(closes, later) - current
        current = reference_next_opening(calendar, closes)
    return total.total_seconds() / 3600


ZONES = ("Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe")


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    start = draw(st.integers(min_value=0, max_value=22 * 4)) * 15
    length = draw(st.integers(min_value=1, max_value=(24 * 60 - 1 - start) // 15)) * 15
    end = start + length
    return WorkCalendar(
        ZoneInfo(draw(st.sampled_from(ZONES))),
        time(start // 60, start % 60),
        time(end // 60, end % 60) if end < 24 * 60 else time(23, 59),
        frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        frozenset(
            date(2026, 1, 1) + timedelta(days=n)
            for n in draw(st.lists(st.integers(0, 800), max_size=40))
        ),
        frozenset(
            date(2026, 1, 1) + timedelta(days=n)
            for n in draw(st.lists(st.integers(0, 800), max_size=10))
        ),
    )


instants = st.datetimes(
    min_value=datetime(2025, 10, 1), max_value=datetime(2028, 3, 1), timezones=st.just(UTC)
)
hours = st.one_of(
    st.just(0.0),
    st.floats(min_value=0, max_value=400, allow_nan=False),
    st.integers(0, 100).map(lambda n: n * 0.5),
)


@given(calendar=calendars(), instant=instants, hours=hours, other=instants)
def test_the_integer_calendar_agrees_with_the_plain_loop(
    calendar: WorkCalendar, instant: datetime, hours: float, other: datetime
) -> None:
    assert calendar.next_opening(instant) == reference_next_opening(calendar, instant)
    assert calendar.add(instant, hours) == reference_add(calendar, instant, hours)
    later = reference_add(calendar, instant, hours)
    assert calendar.add(later, hours) == reference_add(calendar, later, hours), "chained"
    for a, b in ((instant, other), (other, instant), (instant, later)):
        assert calendar.working_hours_between(a, b) == reference_between(calendar, a, b)


def test_the_integer_calendar_reaches_back_and_far_ahead() -> None:
    calendar = WorkCalendar(TZ)
    far = local(23, 9) + timedelta(days=900)
    assert calendar.add(far, 3) == reference_add(calendar, far, 3)
    early = local(23, 9) - timedelta(days=700)  # before everything covered so far
    assert calendar.add(early, 30) == reference_add(calendar, early, 30)
    assert calendar.working_hours_between(early, far) == reference_between(calendar, early, far)


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    start, end = (draw(st.integers(0, 24 * 4 - 1)) * 15 for _ in range(2))
    return QuietHours(
        ZoneInfo(draw(st.sampled_from(ZONES))),
        time(start // 60, start % 60),
        time(end // 60, end % 60),
    )


@given(quiet=quiet_hours(), instant=instants)
def test_deferring_in_integers_agrees_with_the_wall_clock(
    quiet: QuietHours, instant: datetime
) -> None:
    assert from_us(quiet.defer_us(to_us(instant))) == quiet.defer(instant)
