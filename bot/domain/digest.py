"""What the weekly digest counts, defined once, in the seeds' own terms.

Ninh Bình reports its year as "received, resolved on time, in progress,
overdue"; HCMC's 1022 publishes an on-time rate and ranks its units.  This
module says exactly what each of those words means for one complaint and one
period, as plain functions over a complaint's stored timestamps.  The SQL in
``storage/sqlite/digest.py`` implements the same definitions as aggregates, and a test
computes every digest both ways and requires them to agree.

The definitions (a period is ``[start, end)`` in UTC; every instant is as
stored, to the second):

* **received** — ``start <= created_at < end``.
* **standing resolution** — the complaint's state is resolved, confirmed or
  closed unconfirmed and ``resolved_at`` is set.  A fix the resident disputed
  is no fix: the dispute clears ``resolved_at`` and restarts both clocks, so a
  reopened complaint counts only by its final resolution, judged against the
  restarted deadline.  A later dispute can therefore take a resolution out of
  a past week: the digest tells the truth as it is known now.
* **resolved on time / late** — the standing resolution falls in the period;
  on time when it is judged no later than ``due_at``, late otherwise.
* **the deadline** — ``due_at`` is the deadline in force: a leader's extension
  and the time spent waiting on the resident have already moved it, and a
  dispute restarted it.  A transfer (even to another ward) does not reset it:
  the resident has been waiting all along, so the receiving ward inherits the
  clock.
* **judged at** — the clock stands still while the cadre waits on the
  resident: a complaint paused at ``paused_since`` is judged at
  ``min(instant, paused_since)``.  (Resuming moves ``due_at`` by the wait and
  clears ``paused_since``, so only a pause still running counts here.)
* **rejected / withdrawn** — counted apart, by ``closed_at`` in the period;
  never resolved, and no longer open once closed.
* **open at the period's end** — created before the end, with no standing
  resolution before the end, and not rejected or withdrawn before the end.
  It is **in progress** when judged at the end no later than ``due_at``,
  **overdue** otherwise.
* **on-time rate** — on time ÷ (on time + late + overdue): of everything whose
  deadline had to be met, the share met.  Overdue complaints count against
  it, so a ward cannot raise its rate by sitting on late work.  No rate when
  nothing was due.
* **acknowledged** — ``acknowledged_at`` (the first acknowledgement; a
  resolution without one sets it) in the period; time to acknowledge is
  ``acknowledged_at - created_at``.  Time to resolve is ``resolved_at -
  created_at`` for resolutions in the period.  Both are calendar time, what the
  resident lived through (the deadlines already count working hours), in whole
  seconds; the digest shows their medians.
* **satisfaction** — confirmed: closed as confirmed in the period; unconfirmed:
  closed without the resident's answer in the period; the confirmed share is
  confirmed ÷ (confirmed + unconfirmed).  The average rating is over the
  complaints confirmed in the period that carry a rating.  Disputes are the
  resident's "not fixed" events in the period.
* **attribution** — a complaint counts in its *current* ward, residential
  group, category and owner: a transfer moved all of it.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.complaints import Complaint, State
from bot.domain.geo import EARTH_RADIUS_KM
from bot.domain.orgchart import GeoPoint

RESOLVED_STATES = frozenset({State.RESOLVED, State.CONFIRMED, State.CLOSED_UNCONFIRMED})
OPEN_STATE_VALUES = tuple(s.value for s in State if s.is_open)

# ---- periods --------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_WEEK_RE = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, named by its local calendar unit (ISO week
    ``2026-W47``, month ``2026-11``, year ``2026``).  A period "to date" ends
    at the moment it was asked for instead of at its natural end."""

    kind: PeriodKind
    key: str
    start: datetime
    end: datetime
    natural_end: datetime

    @classmethod
    def moment(cls, at: datetime) -> Period:
        """The empty period ``[at, at)``: what it finds open is the stock at ``at``."""
        return cls(PeriodKind.WEEK, "", at, at, at)

    @property
    def complete(self) -> bool:
        return self.end >= self.natural_end

    def to(self, instant: datetime) -> Period:
        """The same period, cut at ``instant`` when that comes before its end."""
        if instant >= self.end:
            return self
        return Period(self.kind, self.key, self.start, max(instant, self.start), self.natural_end)

    def last_day(self, tz: ZoneInfo) -> date:
        """The last local day the period covers (for headers: 16/11–22/11)."""
        return (self.end - timedelta(seconds=1)).astimezone(tz).date()


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def iso_week(year: int, week: int, tz: ZoneInfo) -> Period:
    """Monday 00:00 to the next Monday 00:00, local time."""
    monday = date.fromisocalendar(year, week, 1)  # ValueError for week 53 of a 52-week year
    end = _local_midnight(monday + timedelta(days=7), tz)
    return Period(PeriodKind.WEEK, f"{year}-W{week:02d}", _local_midnight(monday, tz), end, end)


def parse_week(text: str, tz: ZoneInfo) -> Period:
    """``2026-W47`` (also ``2026w47``); anything else raises ValueError."""
    match = _WEEK_RE.match(text)
    if not match:
        raise ValueError(f"not an ISO week like 2026-W47: {text!r}")
    try:
        return iso_week(int(match.group(1)), int(match.group(2)), tz)
    except OverflowError:  # 9999-W52 ends past the last date a datetime holds
        raise ValueError(f"no such ISO week: {text!r}") from None


def week_of(instant: datetime, tz: ZoneInfo) -> Period:
    year, week, _ = instant.astimezone(tz).isocalendar()
    return iso_week(year, week, tz)


def previous_week(instant: datetime, tz: ZoneInfo) -> Period:
    """The last complete week before the one ``instant`` falls in."""
    this = week_of(instant, tz)
    return week_of(this.start - timedelta(seconds=1), tz)


def month(year: int, number: int, tz: ZoneInfo) -> Period:
    first = date(year, number, 1)
    after = date(year + (number == 12), number % 12 + 1, 1)
    end = _local_midnight(after, tz)
    return Period(PeriodKind.MONTH, f"{year}-{number:02d}", _local_midnight(first, tz), end, end)


def month_of(instant: datetime, tz: ZoneInfo) -> Period:
    local = instant.astimezone(tz)
    return month(local.year, local.month, tz)


def previous_month(instant: datetime, tz: ZoneInfo) -> Period:
    return month_of(month_of(instant, tz).start - timedelta(seconds=1), tz)


def year(number: int, tz: ZoneInfo) -> Period:
    end = _local_midnight(date(number + 1, 1, 1), tz)
    return Period(PeriodKind.YEAR, str(number), _local_midnight(date(number, 1, 1), tz), end, end)


def year_to(instant: datetime, tz: ZoneInfo) -> Period:
    """From 1 January (local) of the year ``instant`` falls in, to ``instant``."""
    return year(instant.astimezone(tz).year, tz).to(instant)


def period_to_date(kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Period:
    """This week, month or year, up to ``now`` (for /stats and /export)."""
    if kind is PeriodKind.WEEK:
        return week_of(now, tz).to(now)
    if kind is PeriodKind.MONTH:
        return month_of(now, tz).to(now)
    return year_to(now, tz)


def weeks_before(last: Period, count: int, tz: ZoneInfo) -> list[Period]:
    """``count`` consecutive weeks ending with ``last``, oldest first."""
    weeks = [last]
    while len(weeks) < count:
        weeks.append(week_of(weeks[-1].start - timedelta(seconds=1), tz))
    return weeks[::-1]


@dataclass(frozen=True)
class DigestSchedule:
    """When the weekly digest goes out, in the ward's time zone (Ninh Bình
    honours the best wards at Monday's flag ceremony: Monday 07:30)."""

    weekday: int = 0  # Monday
    at: time = time(7, 30)

    def due(self, now: datetime, tz: ZoneInfo) -> tuple[Period, Period | None]:
        """The week (and, the first such day of a month, the month) whose
        digest is due at ``now``: the last send moment not after ``now``
        reports the complete week before it."""
        local = now.astimezone(tz)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        moment = datetime.combine(day, self.at, tzinfo=tz)
        if moment > local:
            day -= timedelta(days=7)
            moment -= timedelta(days=7)
        week = previous_week(moment, tz)
        first_of_month = day.day <= 7
        return week, previous_month(moment, tz) if first_of_month else None


# ---- one complaint in one period -----------------------------------------------------------


def standing_resolution(c: Complaint) -> datetime | None:
    """When the fix that still stands was reported; None if there is none."""
    return c.resolved_at if c.state in RESOLVED_STATES and c.resolved_at is not None else None


def judged_at(c: Complaint, instant: datetime) -> datetime:
    """The clock stands still while waiting on the resident."""
    return min(instant, c.paused_since) if c.paused_since is not None else instant


def _within(instant: datetime | None, period: Period) -> bool:
    return instant is not None and period.start <= instant < period.end


def open_at(c: Complaint, instant: datetime) -> bool:
    if c.created_at >= instant:
        return False
    resolution = standing_resolution(c)
    if resolution is not None and resolution < instant:
        return False
    closed_apart = c.state in (State.REJECTED, State.WITHDRAWN)
    return not (closed_apart and c.closed_at is not None and c.closed_at < instant)


def _seconds(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds())


@dataclass(frozen=True)
class Classified:
    """How one complaint counts in one period (see the module docstring)."""

    received: bool = False
    on_time: bool = False
    late: bool = False
    in_progress: bool = False
    overdue: bool = False
    rejected: bool = False
    withdrawn: bool = False
    confirmed: bool = False
    unconfirmed: bool = False
    rating: int | None = None
    disputes: int = 0
    ack_seconds: int | None = None
    resolve_seconds: int | None = None

    @property
    def outcome(self) -> Outcome | None:
        """The one line a counted complaint takes in an export."""
        for flag, outcome in _OUTCOME_FLAGS:
            if getattr(self, flag):
                return outcome
        return None

    @property
    def counted(self) -> bool:
        """Whether the complaint appears in the period's counts at all (and
        so in its export)."""
        return (
            self.received
            or self.on_time
            or self.late
            or self.in_progress
            or self.overdue
            or self.rejected
            or self.withdrawn
        )


class Outcome(StrEnum):
    """Where a counted complaint stands at the period's end: exactly one of
    these (a resolution in the period wins over anything else)."""

    ON_TIME = "on_time"
    LATE = "late"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"


_OUTCOME_FLAGS = tuple((o.value, o) for o in Outcome)


@dataclass(frozen=True)
class Exported:
    """One line of an export: a counted complaint, where it stands at the
    period's end, and the resident's name only where the resident let staff
    see it (an export is a file that travels: it never says more than the
    task card did)."""

    complaint: Complaint
    outcome: Outcome
    reporter: str | None = None


def classify(c: Complaint, period: Period, disputes: Iterable[datetime] = ()) -> Classified:
    """The reference definition; ``disputes`` are the times the resident said
    "not fixed"."""
    resolution = standing_resolution(c)
    resolved_in = _within(resolution, period)
    on_time = False
    if resolution is not None and resolved_in:
        on_time = judged_at(c, resolution) <= c.due_at
    in_progress = overdue = False
    if open_at(c, period.end):
        in_progress = judged_at(c, period.end) <= c.due_at
        overdue = not in_progress
    closed_in = _within(c.closed_at, period)
    confirmed = c.state is State.CONFIRMED and closed_in
    return Classified(
        received=_within(c.created_at, period),
        on_time=resolved_in and on_time,
        late=resolved_in and not on_time,
        in_progress=in_progress,
        overdue=overdue,
        rejected=c.state is State.REJECTED and closed_in,
        withdrawn=c.state is State.WITHDRAWN and closed_in,
        confirmed=confirmed,
        unconfirmed=c.state is State.CLOSED_UNCONFIRMED and closed_in,
        rating=c.rating if confirmed else None,
        disputes=sum(1 for at in disputes if _within(at, period)),
        ack_seconds=(
            _seconds(c.acknowledged_at, c.created_at)
            if c.acknowledged_at is not None and _within(c.acknowledged_at, period)
            else None
        ),
        resolve_seconds=(
            _seconds(resolution, c.created_at) if resolution is not None and resolved_in else None
        ),
    )


# ---- adding up ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """The counts of one group (a scope, a ward, a category, a cadre …)."""

    received: int = 0
    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    overdue: int = 0
    rejected: int = 0
    withdrawn: int = 0
    confirmed: int = 0
    unconfirmed: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    disputes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def of(cls, item: Classified) -> Counts:
        return cls(
            received=int(item.received),
            on_time=int(item.on_time),
            late=int(item.late),
            in_progress=int(item.in_progress),
            overdue=int(item.overdue),
            rejected=int(item.rejected),
            withdrawn=int(item.withdrawn),
            confirmed=int(item.confirmed),
            unconfirmed=int(item.unconfirmed),
            rating_sum=item.rating or 0,
            rating_count=int(item.rating is not None),
            disputes=item.disputes,
        )

    @property
    def resolved(self) -> int:
        return self.on_time + self.late

    @property
    def due(self) -> int:
        """Everything whose deadline had to be met: the on-time rate's base."""
        return self.on_time + self.late + self.overdue

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def confirmed_share(self) -> float | None:
        answered = self.confirmed + self.unconfirmed
        return self.confirmed / answered if answered else None

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    @property
    def empty(self) -> bool:
        return self == Counts()


@dataclass(frozen=True)
class Timing:
    """Medians in seconds; None when nothing was acknowledged / resolved."""

    acknowledge: float | None = None
    resolve: float | None = None


class Dimension(StrEnum):
    """How a digest breaks its counts down.  The key of each group is a code
    as stored (ward, area, category, family, staff id); ``scope`` has one
    group, keyed ``""``."""

    SCOPE = "scope"
    WARD = "ward"
    FAMILY = "family"
    CATEGORY = "category"
    AREA = "area"
    OWNER = "owner"


def key_of(c: Complaint, dimension: Dimension) -> str:
    if dimension is Dimension.SCOPE:
        return ""
    if dimension is Dimension.FAMILY:
        return c.family.value
    return str(getattr(c, dimension.value))


def tally(
    complaints: Iterable[Complaint],
    period: Period,
    dimension: Dimension = Dimension.SCOPE,
    disputes: Mapping[int, Sequence[datetime]] | None = None,
) -> dict[str, Counts]:
    """The reference implementation of the counts: every complaint
    classified one by one.  Groups with nothing to count are left out."""
    out: dict[str, Counts] = {}
    for c in complaints:
        counts = Counts.of(classify(c, period, (disputes or {}).get(c.id, ())))
        if counts.empty:
            continue
        key = key_of(c, dimension)
        out[key] = out.get(key, Counts()) + counts
    return out


def median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def timing(
    complaints: Iterable[Complaint], period: Period, dimension: Dimension = Dimension.SCOPE
) -> dict[str, Timing]:
    """The reference medians, per group."""
    acks: dict[str, list[int]] = {}
    fixes: dict[str, list[int]] = {}
    for c in complaints:
        item = classify(c, period)
        key = key_of(c, dimension)
        if item.ack_seconds is not None:
            acks.setdefault(key, []).append(item.ack_seconds)
        if item.resolve_seconds is not None:
            fixes.setdefault(key, []).append(item.resolve_seconds)
    return {
        key: Timing(median(acks.get(key, [])), median(fixes.get(key, [])))
        for key in sorted(set(acks) | set(fixes))
    }


# ---- ranking --------------------------------------------------------------------------------

HONOURED = 3  # Ninh Bình honours the first three at the Monday flag ceremony


@dataclass(frozen=True)
class Ranked:
    key: str
    counts: Counts
    rank: int | None  # None: nothing was due, so there is no rate to rank by

    @property
    def honoured(self) -> bool:
        """Among the first three, and with something done on time: a medal
        for 0% would honour, in the same summary, who it urges."""
        return self.rank is not None and self.rank <= HONOURED and self.counts.on_time > 0


def rank(groups: Mapping[str, Counts], keys: Iterable[str] = ()) -> list[Ranked]:
    """By on-time rate, ties by volume (received); equal on both share a
    rank (1, 2, 2, 4).  ``keys`` adds groups with no counts at all (a ward
    with nothing this week still appears, unranked)."""
    everything = {k: groups.get(k, Counts()) for k in (*groups, *keys)}
    rated = [(k, c) for k, c in everything.items() if c.on_time_rate is not None]
    rated.sort(key=lambda kc: (-(kc[1].on_time_rate or 0.0), -kc[1].received, kc[0]))
    out: list[Ranked] = []
    previous: tuple[float | None, int] | None = None
    for position, (key, counts) in enumerate(rated, start=1):
        standing = (counts.on_time_rate, counts.received)
        shared = out[-1].rank if previous == standing and out else position
        out.append(Ranked(key, counts, shared))
        previous = standing
    unrated = sorted(k for k, c in everything.items() if c.on_time_rate is None)
    out.extend(Ranked(k, everything[k], None) for k in unrated)
    return out


# ---- hotspots (điểm nóng) -------------------------------------------------------------------

HOTSPOT_DAYS = 30
HOTSPOT_MIN = 3
HOTSPOT_RADIUS_M = 100.0


@dataclass(frozen=True)
class Sighting:
    """One complaint as hotspot detection sees it.  ``is_open``: still open
    at the end of the window (the digest's period), by `open_at` — not now:
    a digest of a past week says what was still open then."""

    id: int
    category: str
    area: str
    created_at: datetime
    is_open: bool
    location: GeoPoint | None = None
    # Residents who follow it rather than report it again (issue 17): the
    # same problem reported by that many more people.
    followers: int = 0

    @property
    def residents(self) -> int:
        """How many residents reported it: its reporter and its followers."""
        return 1 + self.followers


def sightings(
    complaints: Iterable[Complaint],
    start: datetime,
    end: datetime,
    followers: Mapping[int, int] | None = None,
) -> list[Sighting]:
    """The reference for the store's sightings: the complaints received in
    ``[start, end)`` but the rejected and withdrawn, in filing order, each
    open or not at ``end``, with how many follow it now (``followers``: by
    complaint id)."""
    following = followers or {}
    return [
        Sighting(
            c.id,
            c.category,
            c.area,
            c.created_at,
            open_at(c, end),
            c.location,
            following.get(c.id, 0),
        )
        for c in sorted(complaints, key=operator.attrgetter("id"))
        if start <= c.created_at < end and c.state not in (State.REJECTED, State.WITHDRAWN)
    ]


@dataclass(frozen=True)
class Hotspot:
    category: str
    areas: tuple[str, ...]
    ids: tuple[int, ...]  # oldest first
    open_count: int
    # "Số người cùng phản ánh": its reports' reporters and followers (issue 17).
    residents: int = 0

    @property
    def count(self) -> int:
        return len(self.ids)


def hotspot_window(end: datetime) -> tuple[datetime, datetime]:
    """The 30 days that end with the period."""
    return end - timedelta(days=HOTSPOT_DAYS), end


_filing_order = operator.attrgetter("created_at", "id")


def hotspots(
    sightings: Sequence[Sighting],
    *,
    min_count: int = HOTSPOT_MIN,
    radius_m: float = HOTSPOT_RADIUS_M,
) -> list[Hotspot]:
    """Places where the same category came back: complaints of one category
    are linked when they share a residential group or lie within
    ``radius_m`` of each other; a linked cluster that at least
    ``min_count`` residents reported — each complaint's reporter and its
    followers, who reported the same thing once more (issue 17) — is a
    hotspot.  The caller passes one window's complaints (30 days, rejected
    and withdrawn left out: a rejection says it was not a real problem of
    the ward's; a duplicate's reporter follows the original).  Most
    residents first."""
    parent = list(range(len(sightings)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_in_group: dict[tuple[str, str], int] = {}
    cell_deg = radius_m / 111_000.0  # a cell at least as wide as the radius, in degrees
    # A cell (column x, row y) is the one number x * row + y, and its eight
    # neighbours are that number plus fixed offsets: a month of the whole city
    # looks up hundreds of thousands of cells.  ``row`` exceeds the number of
    # rows between the poles, so no two cells share a number.
    row = 2 * (math.ceil(90 / cell_deg) + 2) + 1
    around = tuple(dx * row + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    cells: dict[str, dict[int, list[int]]] = {}  # category -> cell -> sightings
    # Each located complaint's latitude in radians and its cosine, once: the
    # distance below is geo.distance_km, written out with them.
    geo: dict[int, tuple[float, float, float]] = {}
    radians, cos, sin, asin, sqrt = math.radians, math.cos, math.sin, math.asin, math.sqrt
    for i, s in enumerate(sightings):
        first = first_in_group.setdefault((s.category, s.area), i)
        if first != i:
            parent[i] = first  # the same group: linked (i is new, so a root)
        point = s.location
        if point is None:
            continue
        lat = radians(point.lat)
        cos_lat = cos(lat)
        geo[i] = (lat, cos_lat, point.lon)
        lon_deg = cell_deg / max(0.01, cos_lat)
        cell = math.floor(point.lon / lon_deg) * row + math.floor(point.lat / cell_deg)
        grid = cells.setdefault(s.category, {})
        root = find(i)
        for offset in around:
            for j in grid.get(cell + offset, ()):
                other_root = find(j)
                if other_root == root:
                    # Linked already (by their group, or through a third
                    # complaint): measuring would change nothing.  In a busy
                    # month this skips most of the distances.
                    continue
                other_lat, other_cos, other_lon = geo[j]
                # geo.distance_km(point, other), the same operations in order
                h = (
                    sin((other_lat - lat) / 2) ** 2
                    + cos_lat * other_cos * sin(radians(other_lon - point.lon) / 2) ** 2
                )
                if 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h))) * 1000 <= radius_m:
                    # union(i, j), with both roots at hand
                    low, high = min(root, other_root), max(root, other_root)
                    parent[high] = low
                    root = low
        grid.setdefault(cell, []).append(i)
    clusters: dict[int, list[Sighting]] = {}
    for i, s in enumerate(sightings):
        clusters.setdefault(find(i), []).append(s)
    found = []
    for members in clusters.values():
        residents = sum(m.residents for m in members)
        if residents < min_count:
            continue
        members.sort(key=_filing_order)
        found.append(
            Hotspot(
                category=members[0].category,
                areas=tuple(dict.fromkeys(m.area for m in members)),
                ids=tuple(m.id for m in members),
                open_count=sum(1 for m in members if m.is_open),
                residents=residents,
            )
        )
    found.sort(key=lambda h: (-h.residents, -h.count, -h.open_count, h.ids[0]))
    return found


# ---- the oldest overdue ---------------------------------------------------------------------

OLDEST_OVERDUE = 5


@dataclass(frozen=True)
class Overdue:
    id: int
    owner: str
    ward: str
    due_at: datetime
    judged_at: datetime

    @property
    def late(self) -> timedelta:
        """How long past the deadline it was judged."""
        return max(timedelta(0), self.judged_at - self.due_at)


def oldest_overdue(
    complaints: Iterable[Complaint], at: datetime, limit: int = OLDEST_OVERDUE
) -> list[Overdue]:
    """The reference: open and overdue at ``at``, oldest deadline first."""
    late = [
        Overdue(c.id, c.owner, c.ward, c.due_at, judged_at(c, at))
        for c in complaints
        if open_at(c, at) and judged_at(c, at) > c.due_at
    ]
    late.sort(key=lambda o: (o.due_at, o.id))
    return late[:limit]


# ---- the whole digest -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose complaints a report covers: some wards, or the whole city.

    A ward's own view leaves out the complaints about that ward's own
    leadership, so the leaders they concern never see them counted or
    listed; the city's view (the whole city, or one ward as a city leader
    sees it, ``by_city``) counts them."""

    wards: tuple[str, ...]
    whole_city: bool = False
    by_city: bool = False

    @property
    def leadership(self) -> bool:
        """Whether complaints about a ward's own leadership count here."""
        return self.whole_city or self.by_city

    def covers(self, c: Complaint) -> bool:
        """The reference of the scope test every digest query makes."""
        return c.ward in self.wards and (self.leadership or not c.concerns_leadership)

    @property
    def key(self) -> str:
        if self.whole_city:
            return "all"
        return ",".join(self.wards) + ("+city" if self.by_city else "")


@dataclass(frozen=True)
class Breakdown:
    dimension: Dimension
    groups: Mapping[str, Counts]

    def ordered(self, label: Callable[[str], str] | None = None) -> list[tuple[str, Counts]]:
        """Busiest first (received, then what is overdue)."""
        return sorted(
            self.groups.items(),
            key=lambda kc: (-kc[1].received, -kc[1].overdue, label(kc[0]) if label else kc[0]),
        )


@dataclass(frozen=True)
class TrendPoint:
    week: Period
    received: int
    on_time: int


@dataclass(frozen=True)
class Digest:
    """Everything one leader's digest says, as values: the text, the chart
    and the files are rendered from this."""

    scope: Scope
    week: Period
    year: Period
    week_counts: Counts
    week_timing: Timing
    year_counts: Counts
    year_timing: Timing
    breakdowns: tuple[Breakdown, ...]
    ward_ranking: tuple[Ranked, ...]
    cadre_ranking: tuple[Ranked, ...]
    hotspots: tuple[Hotspot, ...]
    oldest_overdue: tuple[Overdue, ...]
    trend: tuple[TrendPoint, ...]
    overdue_by_ward: tuple[tuple[str, int], ...]
    month: Period | None = None
    month_ranking: tuple[Ranked, ...] = ()
    # The week before, counted the same way: the summary sets this week's
    # on-time rate against it.
    previous_week_counts: Counts | None = None
