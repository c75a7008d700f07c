"""Working time: Monday–Friday 07:30–17:00 in the ward's time zone, minus
public holidays (configurable).

Deadlines of normal complaints count working time, like helpdesk SLAs; urgent
complaints count calendar time.  Every day has the same working window, so
"N working days" is exactly N times the length of that window — which keeps
the arithmetic in one unit (hours) everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Vietnamese public holidays (Labour Code 2019, art. 112, and the government's
# yearly schedules).  Lunar dates move every year: a ward office should check
# each year's official announcement and set `holidays` in the config.
VIETNAM_HOLIDAYS: tuple[date, ...] = (
    # 2026
    date(2026, 1, 1),
    *(date(2026, 2, 14) + timedelta(days=i) for i in range(9)),  # Tết Bính Ngọ, 14–22/2
    date(2026, 4, 27),  # Giỗ Tổ Hùng Vương (10/3 lunar falls on Sunday 26/4)
    date(2026, 4, 30),
    date(2026, 5, 1),
    date(2026, 9, 1),
    date(2026, 9, 2),
    # 2027
    date(2027, 1, 1),
    *(date(2027, 2, 4) + timedelta(days=i) for i in range(7)),  # Tết Đinh Mùi, 4–10/2
    date(2027, 4, 16),  # Giỗ Tổ Hùng Vương
    date(2027, 4, 30),
    date(2027, 5, 3),  # 1/5 falls on a Saturday
    date(2027, 9, 2),
    date(2027, 9, 3),
)


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    start: time = time(7, 30)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: frozenset[date] = field(default_factory=lambda: frozenset(VIETNAM_HOLIDAYS))

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the working day must end after it starts")
        if not self.weekdays:
            raise ValueError("at least one working weekday is needed")
        # The sweep asks for the same few days over and over: remember them.
        object.__setattr__(self, "_windows", {})
        object.__setattr__(self, "_next_day", {})

    @property
    def day_hours(self) -> float:
        """Length of one working day, in hours (9.5 by default)."""
        return (_minutes(self.end) - _minutes(self.start)) / 60

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        cache: dict[date, tuple[datetime, datetime]] = self._windows  # type: ignore[attr-defined]
        window = cache.get(day)
        if window is None:
            opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
            closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
            window = cache[day] = (opens, closes)
        return window

    def _first_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        cache: dict[date, date] = self._next_day  # type: ignore[attr-defined]
        found = cache.get(day)
        if found is None:
            for offset in range(3660):  # ten years: a calendar with no working days is refused
                candidate = day + timedelta(days=offset)
                if self.is_working_day(candidate):
                    found = cache[day] = candidate
                    break
            else:
                raise ValueError("no working day within ten years")
        return found

    def is_working_time(self, instant: datetime) -> bool:
        local = instant.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            return False
        opens, closes = self._window(local.date())
        return opens <= instant < closes

    def next_opening(self, instant: datetime) -> datetime:
        """The instant itself if it is working time, else when work resumes."""
        day = self._first_working_day(instant.astimezone(self.tz).date())
        opens, closes = self._window(day)
        if instant >= closes:
            day = self._first_working_day(day + timedelta(days=1))
            opens, closes = self._window(day)
        return max(instant, opens)

    def add(self, instant: datetime, hours: float) -> datetime:
        """``instant`` plus ``hours`` of working time."""
        if hours < 0:
            raise ValueError("use subtract for negative durations")
        remaining = timedelta(hours=hours)
        current = self.next_opening(instant)
        while True:
            day = current.astimezone(self.tz).date()
            _, closes = self._window(day)
            available = closes - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_opening(closes)

    def working_hours_between(self, earlier: datetime, later: datetime) -> float:
        """Working time from ``earlier`` to ``later`` (0 if later is earlier)."""
        if later <= earlier:
            return 0.0
        total = timedelta(0)
        current = self.next_opening(earlier)
        while current < later:
            day = current.astimezone(self.tz).date()
            _, closes = self._window(day)
            total += min(closes, later) - current
            current = self.next_opening(closes)
        return total.total_seconds() / 3600


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

    def days(self, days: float) -> float:
        """Days of this clock, in its hours: a working day is the working
        window (9.5 h by default), an urgent day is 24 h."""
        return days * (24.0 if self.urgent else self.calendar.day_hours)

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
