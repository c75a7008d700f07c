"""Use cases of the weekly digest: assemble a leader's digest, the counts
alone, the rows of an export, and — from the periodic sweep — queue Monday's
digests once per week.

The numbers come from the `DigestStore` (SQL aggregates implementing the
definitions of ``bot/domain/digest.py``); this module only decides which
periods and scopes to ask for and puts the answers together.  Nothing here
formats text: ``bot/report/`` renders a `Digest` for Telegram and the command
line alike.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.services import Services
from bot.domain import digest as d
from bot.domain.authz import Actor, report_scope
from bot.domain.orgchart import OrgChart, Role
from bot.ports import DigestStore, Notice

DIGEST = "digest"  # the outbox notice kind
TREND_WEEKS = 8
# The all-ward tallies (ranking, overdue by ward) are the same for every
# leader's digest of a week: kept this long, so a Monday send of a hundred
# digests asks for them once.
SHARED_TTL = timedelta(minutes=10)


def week_key_payload(week: d.Period, month: d.Period | None, scope: d.Scope) -> dict[str, Any]:
    return {
        "week": week.key,
        "month": month.key if month else None,
        "scope": "all" if scope.whole_city else list(scope.wards),
    }


class WeekNotBegun(Exception):
    """A week asked for that has not begun: nothing to count yet."""

    def __init__(self, week: d.Period) -> None:
        super().__init__(week.key)
        self.week = week


class Digests:
    def __init__(
        self,
        store: DigestStore,
        services: Services,
        *,
        schedule: d.DigestSchedule | None = None,
    ) -> None:
        self.store = store
        self.services = services
        self.schedule = schedule
        self._shared: dict[tuple[str, str, str], tuple[datetime, Any]] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self.services.schedule.calendar.tz

    @property
    def chart(self) -> OrgChart:
        return self.services.chart

    def wards(self) -> tuple[str, ...]:
        return tuple(self.chart.ward_codes())

    # ---- who may see what -------------------------------------------------------------------

    def scope_for(self, actor: Actor, asked: str | None = None) -> d.Scope | None:
        return report_scope(actor, self.wards(), asked)

    def scope_from_payload(self, value: Any) -> d.Scope:
        if value == "all":
            return d.Scope(self.wards(), whole_city=True)
        return d.Scope(tuple(str(w) for w in value))

    # ---- periods ----------------------------------------------------------------------------

    def last_week(self) -> d.Period:
        return d.previous_week(self.services.now(), self.tz)

    def to_date(self, kind: d.PeriodKind) -> d.Period:
        return d.period_to_date(kind, self.services.now(), self.tz)

    def parse_week(self, text: str) -> d.Period:
        return d.parse_week(text, self.tz)

    def asked_week(self, text: str) -> d.Period:
        """The ISO week someone typed, up to now when it is under way (its
        open complaints as they stand, not as a Sunday to come would find
        them); `WeekNotBegun` for one still to come, ValueError for a
        malformed one."""
        week = self.parse_week(text)
        now = self.services.now()
        if week.start > now:
            raise WeekNotBegun(week)
        return week.to(now)

    def parse_month(self, key: str) -> d.Period:
        year_text, month_text = key.split("-")
        return d.month(int(year_text), int(month_text), self.tz)

    # ---- the numbers ------------------------------------------------------------------------

    @staticmethod
    def _ward_key(period: d.Period) -> tuple[str, str, str]:
        return ("wards", period.key, period.end.isoformat())

    async def _ward_tally(self, period: d.Period) -> dict[str, d.Counts]:
        """All wards' counts of a period, shared by every digest of it."""
        key = self._ward_key(period)
        now = self.services.now()
        cached = self._shared.get(key)
        if cached is not None and now - cached[0] < SHARED_TTL:
            found: dict[str, d.Counts] = cached[1]
            return found
        tallied = await self.store.tally(period, self.wards(), [d.Dimension.WARD])
        groups = tallied[d.Dimension.WARD]
        self._remember(key, groups)
        return groups

    async def _hotspots(self, start: datetime, end: datetime, scope: d.Scope) -> list[d.Hotspot]:
        sightings = await self.store.sightings(start, end, scope.wards, leadership=scope.leadership)
        return await asyncio.to_thread(d.hotspots, sightings)

    async def stats(self, scope: d.Scope, period: d.Period) -> tuple[d.Counts, d.Timing]:
        lead = scope.leadership
        tallied = await self.store.tally(period, scope.wards, [d.Dimension.SCOPE], leadership=lead)
        timing = await self.store.timing(period, scope.wards, leadership=lead)
        return tallied[d.Dimension.SCOPE].get("", d.Counts()), timing.get("", d.Timing())

    async def export(self, scope: d.Scope, period: d.Period) -> list[d.Exported]:
        """The rows of ``/export`` and ``phananh digest``: what the period's
        counts count, with the reporter's name where the reporter allowed it."""
        counted = await self.store.counted(period, scope.wards, leadership=scope.leadership)
        names = await self.store.shown_reporters([c.id for c, _ in counted])
        return [d.Exported(c, outcome, names.get(c.id)) for c, outcome in counted]

    @staticmethod
    async def _nothing() -> dict[str, d.Counts]:
        return {}

    def _cadres(self, scope: d.Scope) -> list[str]:
        """The staff a ward leader's cadre ranking lists: everyone serving
        the scope's wards except its leaders."""
        return [
            s.id
            for s in self.chart.staff.values()
            if s.has_role(Role.CADRE) and any(w in scope.wards for w in s.wards)
        ]

    async def build(
        self, scope: d.Scope, week: d.Period, *, month: d.Period | None = None
    ) -> d.Digest:
        """A leader's whole digest for ``week``: counts, year to date,
        breakdowns, rankings, hotspots, the oldest overdue and the chart's
        series.  The same digest asked again within minutes (the city's
        leaders on Monday morning) is computed once."""
        key = (
            "digest",
            f"{scope.key}|{week.key}|{week.end.isoformat()}",
            month.key if month else "",
        )
        now = self.services.now()
        cached = self._shared.get(key)
        if cached is not None and now - cached[0] < SHARED_TTL:
            found: d.Digest = cached[1]
            return found
        digest = await self._build(scope, week, month)
        self._remember(key, digest)
        return digest

    def _remember(self, key: tuple[str, str, str], value: Any) -> None:
        now = self.services.now()
        self._shared = {k: v for k, v in self._shared.items() if now - v[0] < SHARED_TTL}
        self._shared[key] = (now, value)

    async def _build(self, scope: d.Scope, week: d.Period, month: d.Period | None) -> d.Digest:
        wards = scope.wards
        lead = scope.leadership  # a ward's own view: not its leadership's complaints
        year = d.year_to(week.end, self.tz)
        dims = [d.Dimension.SCOPE, d.Dimension.FAMILY, d.Dimension.CATEGORY]
        dims += [d.Dimension.WARD] if len(wards) > 1 else []
        dims += [] if scope.whole_city else [d.Dimension.AREA, d.Dimension.OWNER]
        start, end = d.hotspot_window(week.end)
        weeks = d.weeks_before(week, TREND_WEEKS, self.tz)
        previous = weeks[-2]  # the week before, for the on-time rate to compare with
        # A scope of every ward (the city's digest) already counts the week
        # by ward: that is the ranking's tally, so it is not counted twice.
        # (The ranking of wards is the city's, the same for every leader.)
        own_ranking = d.Dimension.WARD in dims and wards == self.wards() and lead
        # All the reads are independent: asked for at once, the heaviest
        # first, the store runs them two at a time on its own connections
        # (first come, first served) and the hotspot clustering in a thread
        # beside them, so neither connection waits idle at the end.
        # (Two gathers, as typing follows one only up to six reads; their
        # reads start in the order written.)
        (year_tally, hotspots, year_timing, month_tally, week_tally), rest = await asyncio.gather(
            asyncio.gather(
                self.store.tally(year, wards, [d.Dimension.SCOPE], leadership=lead),
                self._hotspots(start, end, scope),
                self.store.timing(year, wards, leadership=lead),
                self._nothing() if month is None else self._ward_tally(month),
                self.store.tally(week, wards, dims, leadership=lead),
            ),
            asyncio.gather(
                self._nothing() if own_ranking else self._ward_tally(week),
                self.store.trend(weeks, wards, leadership=lead),
                self.store.timing(week, wards, leadership=lead),
                self.store.oldest_overdue(week.end, wards, d.OLDEST_OVERDUE, leadership=lead),
                self.store.tally(previous, wards, [d.Dimension.SCOPE], leadership=lead),
            ),
        )
        all_wards, series, week_timing, oldest, previous_tally = rest
        if own_ranking:
            all_wards = week_tally[d.Dimension.WARD]
            self._remember(self._ward_key(week), all_wards)
        trend = [
            d.TrendPoint(w, received, on_time)
            for w, (received, on_time) in zip(weeks, series, strict=True)
        ]
        month_ranking: tuple[d.Ranked, ...] = ()
        if month is not None:
            month_ranking = tuple(d.rank(month_tally, self.wards()))
        cadre_ranking: tuple[d.Ranked, ...] = ()
        if not scope.whole_city:
            cadre_ranking = tuple(d.rank(week_tally[d.Dimension.OWNER], self._cadres(scope)))
        return d.Digest(
            scope=scope,
            week=week,
            year=year,
            week_counts=week_tally[d.Dimension.SCOPE].get("", d.Counts()),
            week_timing=week_timing.get("", d.Timing()),
            year_counts=year_tally[d.Dimension.SCOPE].get("", d.Counts()),
            year_timing=year_timing.get("", d.Timing()),
            breakdowns=tuple(
                d.Breakdown(dim, week_tally[dim]) for dim in dims if dim is not d.Dimension.SCOPE
            ),
            ward_ranking=tuple(d.rank(all_wards, self.wards())),
            cadre_ranking=cadre_ranking,
            hotspots=tuple(hotspots),
            oldest_overdue=tuple(oldest),
            trend=tuple(trend),
            overdue_by_ward=tuple((w, all_wards.get(w, d.Counts()).overdue) for w in self.wards()),
            month=month,
            month_ranking=month_ranking,
            previous_week_counts=previous_tally[d.Dimension.SCOPE].get("", d.Counts()),
        )

    # ---- Monday morning ---------------------------------------------------------------------

    def recipients(self) -> list[tuple[str, d.Scope]]:
        """Every ward leader for their wards, every city leader for all."""
        wards = self.wards()
        out = []
        for staff in self.chart.staff.values():
            if staff.has_role(Role.CITY_LEADER):
                out.append((staff.id, d.Scope(wards, whole_city=True)))
            elif staff.has_role(Role.WARD_LEADER):
                mine = tuple(w for w in staff.wards if w in wards)
                if mine:
                    out.append((staff.id, d.Scope(mine)))
        return out

    async def queue_weekly(self, now: datetime) -> int:
        """Queue the week's digests if they are due and not queued yet (after
        downtime: once, when the bot is back).  Not in the quiet hours, and
        not for the weeks before the bot's first run."""
        if self.schedule is None or self.services.schedule.quiet.contains(now):
            return 0
        week, month = self.schedule.due(now, self.tz)
        if await self.store.has_run(week.key):
            return 0  # the cheap check first: this runs on every sweep
        if not await self.store.has_run():
            # The first run ever: the bot was not "down" for the weeks before
            # it existed.  Mark this week as the start; the next one is sent.
            await self.store.record_run(week.key, [], now)
            return 0
        notices = [
            Notice(DIGEST, staff_id=staff_id, payload=week_key_payload(week, month, scope))
            for staff_id, scope in self.recipients()
        ]
        return len(notices) if await self.store.record_run(week.key, notices, now) else 0
