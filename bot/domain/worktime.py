"""Working time: Monday–Friday 07:30–17:00 in the ward's time zone, minus
public holidays, plus the days worked in exchange for a bridge day off.

The calendar knows only the days it is given: which days are off in Vietnam
(a lunar calendar, and the government's decision each year) is the
business of `bot/daysoff.py` and the config.

Deadlines of normal complaints count working time, like helpdesk SLAs; urgent
complaints count calendar time.  Every day has the same working window, so
"N working days" is exactly N times the length of that window — which keeps
the arithmetic in one unit (hours) everywhere.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# ---- instants as integers ---------------------------------------------------------------------
#
# The reminder sweep places a dozen schedule items for each of a thousand
# complaints every half minute.  Done with aware datetimes, each step is a
# time zone conversion and a few objects; done in microseconds since the
# epoch, it is integer arithmetic.  The integers are exact (as timedelta is),
# so both ways give the very same instants.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
DAY_US = 86_400_000_000


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch (an aware instant)."""
    return (instant - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """The instant, in UTC.  (timedelta's arguments by position: by keyword
    they cost a quarter more, and the sweep converts one per complaint.)"""
    return _EPOCH + timedelta(0, 0, us)


_HOURS_US: dict[float, int] = {}


def hours_us(hours: float) -> int:
    """``timedelta(hours=hours)`` in microseconds, rounded as timedelta rounds.
    (Remembered: a schedule adds the same few durations over and over.)"""
    found = _HOURS_US.get(hours)
    if found is None:
        found = timedelta(hours=hours) // _US
        if len(_HOURS_US) < 4096:
            _HOURS_US[hours] = found
    return found


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    start: time = time(7, 30)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: frozenset[date] = frozenset()  # working weekdays that are off
    # Days worked although their weekday is not (a Saturday worked in
    # exchange for a bridge day off).
    makeup_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the working day must end after it starts")
        if not self.weekdays:
            raise ValueError("at least one working weekday is needed")
        # The sweep asks for the same few days over and over: remember them.
        object.__setattr__(self, "_windows", {})
        line = _Timeline(self)
        object.__setattr__(self, "_line", line)
        # The two below are called a dozen times per complaint in a sweep:
        # straight to the timeline, without the methods' extra call.
        object.__setattr__(self, "position_us", line.position)
        object.__setattr__(self, "instant_us", line.instant)

    @property
    def day_hours(self) -> float:
        """Length of one working day, in hours (9.5 by default)."""
        return (_minutes(self.end) - _minutes(self.start)) / 60

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        cache: dict[date, tuple[datetime, datetime]] = self._windows  # type: ignore[attr-defined]
        window = cache.get(day)
        if window is None:
            opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
            closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
            window = cache[day] = (opens, closes)
        return window

    def is_working_time(self, instant: datetime) -> bool:
        local = instant.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            return False
        opens, closes = self._window(local.date())
        return opens <= instant < closes

    def next_opening(self, instant: datetime) -> datetime:
        """The instant itself if it is working time, else when work resumes."""
        line: _Timeline = self._line  # type: ignore[attr-defined]
        opens = line.next_opening_us(to_us(instant))
        return instant if opens is None else from_us(opens)

    def add(self, instant: datetime, hours: float) -> datetime:
        """``instant`` plus ``hours`` of working time."""
        return from_us(self.add_us(to_us(instant), hours))

    def add_us(self, us: int, hours: float) -> int:
        """`add` in microseconds since the epoch."""
        if hours < 0:
            raise ValueError("use subtract for negative durations")
        line: _Timeline = self._line  # type: ignore[attr-defined]
        remaining = hours_us(hours)
        if remaining == 0:
            opens = line.next_opening_us(us)
            return us if opens is None else opens
        return line.instant(line.position(us) + remaining)

    def position_us(self, us: int) -> int:
        """Working microseconds from a fixed origin to ``us`` (any instant:
        one outside working time sits at the next opening).  Adding ``n``
        working microseconds to a position and going back with
        `instant_us` is `add_us`, for n > 0."""
        line: _Timeline = self._line  # type: ignore[attr-defined]
        return line.position(us)

    def instant_us(self, position: int) -> int:
        """The instant where working time reaches ``position``."""
        line: _Timeline = self._line  # type: ignore[attr-defined]
        return line.instant(position)

    def working_hours_between(self, earlier: datetime, later: datetime) -> float:
        """Working time from ``earlier`` to ``later`` (0 if later is earlier)."""
        if later <= earlier:
            return 0.0
        line: _Timeline = self._line  # type: ignore[attr-defined]
        elapsed = line.position(to_us(later)) - line.position(to_us(earlier))
        return elapsed / 1_000_000 / 3600  # as timedelta.total_seconds() / 3600


class _Timeline:
    """A calendar's working windows as microseconds since the epoch, in
    order, each with its *position*: the working time from a fixed origin to
    its opening.  Adding working hours is then a position plus a number and a
    binary search back to an instant; the working time between two instants
    is the difference of their positions.  An instant outside the windows
    sits at the position of the next opening (the end of the window before).

    The windows come from `WorkCalendar._window`, day by day, covering a
    range of local days that grows as asked (a few months at a time; earlier
    days get negative positions, so a position once given never moves)."""

    CHUNK = 120  # days covered at a time
    LIMIT = 3660  # days without a working one: a calendar with none is refused

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.first: date | None = None  # the local days covered: first ..
        self.last: date | None = None  # .. last
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.starts: list[int] = []  # the position of each opening
        self.ends: list[int] = []  # .. and of each closing
        # The last instant asked for, and its position (none yet: an instant
        # long before year 1, which no datetime can be).
        self._last = (-(2**63), 0)

    def _windows(self, first: date, last: date) -> list[tuple[int, int]]:
        found = []
        day = first
        while day <= last:
            if self.calendar.is_working_day(day):
                opens, closes = self.calendar._window(day)
                found.append((to_us(opens), to_us(closes)))
            day += timedelta(days=1)
        return found

    def _forward(self) -> None:
        assert self.last is not None
        for _ in range(self.LIMIT // self.CHUNK + 1):
            first, self.last = self.last + timedelta(days=1), self.last + timedelta(days=self.CHUNK)
            added = self._windows(first, self.last)
            for opens, closes in added:
                start = self.ends[-1] if self.ends else 0
                self.opens.append(opens)
                self.closes.append(closes)
                self.starts.append(start)
                self.ends.append(start + closes - opens)
            if added:
                return
        raise ValueError("no working day within ten years")

    def _backward(self) -> None:
        assert self.first is not None
        last, self.first = self.first - timedelta(days=1), self.first - timedelta(days=self.CHUNK)
        added = self._windows(self.first, last)
        end = self.starts[0] if self.starts else 0
        starts, ends = [], []
        for opens, closes in reversed(added):
            ends.append(end)
            end -= closes - opens
            starts.append(end)
        self.opens[:0] = [opens for opens, _ in added]
        self.closes[:0] = [closes for _, closes in added]
        self.starts[:0] = starts[::-1]
        self.ends[:0] = ends[::-1]

    def _cover(self, us: int) -> None:
        """Windows from the local day of ``us`` to one that closes after it."""
        if self.first is None or self.last is None:
            day = from_us(us).astimezone(self.calendar.tz).date()
            self.first, self.last = day, day - timedelta(days=1)
        elif not self.opens or us < self.opens[0]:
            day = from_us(us).astimezone(self.calendar.tz).date()
            while day < self.first:
                self._backward()
        while not self.closes or self.closes[-1] <= us:
            self._forward()

    def next_opening_us(self, us: int) -> int | None:
        """When work resumes after ``us``; None when ``us`` is working time."""
        if not self.opens or us < self.opens[0] or us >= self.closes[-1]:
            self._cover(us)
        opens = self.opens[bisect_right(self.closes, us)]
        return opens if us < opens else None

    def position(self, us: int) -> int:
        if us == self._last[0]:
            return self._last[1]  # a sweep asks for its "now" once per complaint
        if not self.opens or us < self.opens[0] or us >= self.closes[-1]:
            self._cover(us)
        i = bisect_right(self.closes, us)  # the first window closing after us
        opens = self.opens[i]
        position = self.starts[i] + (us - opens if us > opens else 0)
        self._last = (us, position)
        return position

    def instant(self, position: int) -> int:
        """Where working time reaches ``position``: in the first window that
        gets there, at its very end if it just does (as a deadline of 17:00
        falls at 17:00, not at tomorrow's opening)."""
        while not self.ends or self.ends[-1] < position:
            self._forward()
        i = bisect_left(self.ends, position)
        return self.opens[i] + position - self.starts[i]


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


@dataclass(frozen=True)
class Clockwork:
    """How a complaint's clock counts: working time for normal complaints,
    calendar time for urgent ones."""

    calendar: WorkCalendar
    urgent: bool = False

    def add(self, instant: datetime, hours: float) -> datetime:
        if self.urgent:
            return instant + timedelta(hours=hours)
        return self.calendar.add(instant, hours)

    def add_us(self, us: int, hours: float) -> int:
        """`add` in microseconds since the epoch."""
        if self.urgent:
            return us + hours_us(hours)
        return self.calendar.add_us(us, hours)

    def days(self, days: float) -> float:
        """Days of this clock, in its hours: a working day is the working
        window (9.5 h by default), an urgent day is 24 h."""
        return days * (24.0 if self.urgent else self.calendar.day_hours)

    def shift(self, deadline: datetime, hours: float) -> datetime:
        """A deadline moved later by ``hours`` of this clock; by none, it
        stays put.  (`add` of nothing gives the next opening, which is right
        for a clock that starts at night, and wrong for a deadline: 17:00
        would become tomorrow's 07:30.)"""
        return deadline if hours <= 0 else self.add(deadline, hours)

    def elapsed(self, earlier: datetime, later: datetime) -> float:
        if self.urgent:
            return max(0.0, (later - earlier).total_seconds() / 3600)
        return self.calendar.working_hours_between(earlier, later)


@dataclass(frozen=True)
class QuietHours:
    """No reminders at night: what falls inside is sent when it ends."""

    tz: ZoneInfo
    start: time = time(21, 0)
    end: time = time(7, 0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_offsets", {})
        object.__setattr__(self, "_bounds", (_time_us(self.start), _time_us(self.end)))

    def contains(self, instant: datetime) -> bool:
        local = instant.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, instant: datetime) -> datetime:
        """The instant, or the end of the quiet hours it falls in."""
        if not self.contains(instant):
            return instant
        local = instant.astimezone(self.tz)
        day = local.date()
        if local.time() >= self.start and self.start > self.end:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)

    def defer_us(self, us: int) -> int:
        """`defer` in microseconds since the epoch: plain arithmetic on the
        time of day wherever the zone's offset holds steady around the
        instant (always, where there is no daylight saving time)."""
        offsets: dict[int, int | None] = self._offsets  # type: ignore[attr-defined]
        offset = offsets.get(us // DAY_US, -1)
        if offset == -1:  # not known yet (-1 µs is no zone's offset)
            offset = self._steady_offset(us)
        if offset is None:
            return to_us(self.defer(from_us(us)))
        bounds: tuple[int, int] = self._bounds  # type: ignore[attr-defined]
        start, end = bounds
        of_day = (us + offset) % DAY_US
        if start < end:
            return us - of_day + end if start <= of_day < end else us
        if start > end:
            if of_day >= start:
                return us - of_day + DAY_US + end
            if of_day < end:
                return us - of_day + end
        return us

    def _steady_offset(self, us: int) -> int | None:
        """The zone's offset if it is the same every hour from a day before
        ``us`` to two days after (the end of the quiet hours it may fall in),
        else None."""
        cache: dict[int, int | None] = self._offsets  # type: ignore[attr-defined]
        day = us // DAY_US
        if day not in cache:
            hour = DAY_US // 24
            seen = {
                from_us((day - 1) * DAY_US + n * hour).astimezone(self.tz).utcoffset()
                for n in range(24 * 4 + 1)
            }
            (offset,) = seen if len(seen) == 1 else (None,)
            cache[day] = None if offset is None else offset // _US
        return cache[day]


def _time_us(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + (
        moment.microsecond
    )
