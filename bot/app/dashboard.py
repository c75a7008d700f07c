"""What the leaders' dashboard shows (bot/web/ draws it): the week, the
open tasks, one complaint, the ranking, the map's counts, the downloads —
for one signed-in leader, exactly as the chat would show them.

Nothing here is counted anew: the week, the ranking and the hotspots are
the digest (`Digests.build`, as ``/digest`` and Monday's digest); the
downloads are ``/export``'s rows; the map's counts are the digest store's
tally by residential group, with the same scope and the same rule about a
ward's own leadership (`Scope.leadership`).  Who may see what is the
permission table's (`report_scope`, `can_handle`, `may_read`), and a
resident's name shows only where the task card would show it.

A parameter the leader could not have chosen — a ward not theirs, a week
that does not exist, a filter value the page never offered, a complaint
of another ward — is a `PageError` with the status and the catalogue key
to answer it with; it says nothing about what exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.app.audit import trail_for
from bot.app.digests import Digests
from bot.app.services import Services
from bot.domain import digest as d
from bot.domain.authz import Actor, Refusal, can_handle
from bot.domain.complaints import OPEN_STATES, Complaint, State, Trail, parse_code
from bot.domain.orgchart import Area
from bot.ports import StoredMedia

if TYPE_CHECKING:
    from bot.report.export import Cell

# The most tasks one page lists (the filters narrow it down).
TASKS_SHOWN = 500
PHOTO_KINDS = ("report", "resolution")


class PageError(Exception):
    """A request the dashboard refuses: the HTTP status and what to say."""

    def __init__(self, status: int, key: str, **params: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params


@dataclass(frozen=True)
class TaskFilter:
    """The tasks page's filters, each checked against what may be offered."""

    group: str | None = None
    category: str | None = None
    cadre: str | None = None
    state: State | None = None
    overdue: bool = False

    def keeps(self, task: Complaint, now: datetime) -> bool:
        return (
            (self.group is None or task.area == self.group)
            and (self.category is None or task.category == self.category)
            and (self.cadre is None or task.owner == self.cadre)
            and (self.state is None or task.state is self.state)
            and (not self.overdue or overdue_now(task, now))
        )


def overdue_now(task: Complaint, now: datetime) -> bool:
    """Overdue as the digest counts it: judged now (the clock stands still
    while the cadre waits on the resident), past the resolve deadline."""
    return d.judged_at(task, now) > task.due_at


@dataclass(frozen=True)
class Photo:
    kind: str  # "report" or "resolution"
    number: int  # its place among that kind's photos, from 0


@dataclass(frozen=True)
class ComplaintPage:
    trail: Trail
    reporter: str | None  # only where the task card would show it
    photos: tuple[Photo, ...]


class Dashboard:
    def __init__(self, services: Services, digests: Digests) -> None:
        self.services = services
        self.digests = digests

    @property
    def now(self) -> datetime:
        return self.services.now()

    # ---- what was asked -------------------------------------------------------------------------

    def scope(self, actor: Actor, ward: str | None) -> d.Scope:
        """The leader's scope, as the chat's reports see it: a ward leader
        their wards, a city leader the city or one ward."""
        if ward is not None and ward not in self.digests.wards():
            raise PageError(400, "web.bad_param", name="ward")
        scope = self.digests.scope_for(actor, ward)
        if scope is None:
            raise PageError(403, "web.not_your_ward")
        return scope

    def week(self, text: str | None) -> d.Period:
        """The ISO week asked for (last complete week when none), never one
        still to come."""
        if text is None:
            return self.digests.last_week()
        try:
            week = self.digests.parse_week(text)
        except ValueError:
            raise PageError(400, "web.bad_week") from None
        if week.start > self.now:
            raise PageError(400, "web.bad_week")
        return week.to(self.now)

    def neighbours(self, week: d.Period) -> tuple[d.Period, d.Period | None]:
        """The week before, and the week after (None when it is still to come)."""
        tz = self.digests.tz
        after = d.week_of(week.natural_end, tz)
        return d.week_of(week.start - _SECOND, tz), after if after.start <= self.now else None

    # ---- the week, the ranking, the map ---------------------------------------------------------

    async def digest(self, scope: d.Scope, week: d.Period) -> d.Digest:
        """The leader's digest of that week: the very numbers of /digest."""
        return await self.digests.build(scope, week)

    async def chart(self, digest: d.Digest, language: str) -> bytes:
        from bot.report.chart import chart_png  # matplotlib loads only when drawn

        return await asyncio.to_thread(
            chart_png, digest, self.services.chart, language, self.digests.tz
        )

    async def by_group(self, scope: d.Scope, week: d.Period) -> Mapping[str, d.Counts]:
        """The week's counts by residential group, the digest's way."""
        tallied = await self.digests.store.tally(
            week, scope.wards, [d.Dimension.AREA], leadership=scope.leadership
        )
        return tallied[d.Dimension.AREA]

    def groups(self, scope: d.Scope) -> list[Area]:
        chart = self.services.chart
        return [g for ward in scope.wards for g in chart.groups(ward)]

    # ---- the open tasks -------------------------------------------------------------------------

    def task_filter(self, scope: d.Scope, asked: Mapping[str, str]) -> TaskFilter:
        """The filters from the query, each a value the page offers (a group
        of the scope, a category, a cadre of the chart, an open state)."""
        chart = self.services.chart

        def pick(name: str, allowed: set[str]) -> str | None:
            value = asked.get(name, "")
            if value == "":
                return None
            if value not in allowed:
                raise PageError(400, "web.bad_param", name=name)
            return value

        overdue = asked.get("overdue", "")
        if overdue not in ("", "1"):
            raise PageError(400, "web.bad_param", name="overdue")
        state = pick("state", {s.value for s in OPEN_STATES})
        return TaskFilter(
            group=pick("group", {g.code for g in self.groups(scope)}),
            category=pick("category", set(chart.categories)),
            cadre=pick("cadre", set(chart.staff)),
            state=State(state) if state else None,
            overdue=overdue == "1",
        )

    async def tasks(self, actor: Actor, scope: d.Scope, wanted: TaskFilter) -> list[Complaint]:
        """The scope's open complaints this leader may handle, the filter's,
        oldest deadline first."""
        now = self.now
        found = await self.services.store.open_tasks(wards=list(scope.wards))
        return [
            t for t in found if scope.covers(t) and can_handle(actor, t) and wanted.keeps(t, now)
        ]

    # ---- one complaint --------------------------------------------------------------------------

    async def complaint(self, actor: Actor, code: str) -> ComplaintPage:
        """A complaint with its history, for a leader who may read it (as
        ``/history``); any other is "not found", whether or not it exists."""
        if parse_code(code) is None:
            raise PageError(404, "web.not_found")
        found = await trail_for(self.services, actor, code)
        if isinstance(found, Refusal):
            raise PageError(404, "web.not_found")
        complaint = found.complaint
        reporter = await self.services.reporter_name_for(actor, complaint)
        photos = tuple(Photo("report", i) for i in range(len(complaint.photos)))
        photos += tuple(Photo("resolution", i) for i in range(len(complaint.resolution_photos)))
        return ComplaintPage(found, reporter, photos)

    async def photo(self, actor: Actor, code: str, kind: str, number: int) -> StoredMedia:
        """A photo of a complaint the leader may read, by its place."""
        page = await self.complaint(actor, code)
        complaint = page.trail.complaint
        photos = complaint.photos if kind == "report" else complaint.resolution_photos
        if kind not in PHOTO_KINDS or not 0 <= number < len(photos):
            raise PageError(404, "web.not_found")
        stored = await self.services.media.content(photos[number].media_id)
        if stored is None:  # known by a channel's handle only: no bytes to show
            raise PageError(404, "web.not_found")
        return stored

    # ---- the downloads --------------------------------------------------------------------------

    async def export(self, scope: d.Scope, week: d.Period, language: str) -> list[list[Cell]]:
        """``/export``'s rows for the week."""
        from bot.report.export import rows  # openpyxl loads only when used

        items = await self.digests.export(scope, week)
        return rows(items, self.services.chart, language, self.digests.tz)


_SECOND = timedelta(seconds=1)
