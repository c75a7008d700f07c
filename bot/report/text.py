"""The digest as text, in the leader's language, from the catalogue.

Numbers the Vietnamese way (17.911; 97,4 %), dates dd/mm/yyyy.  Lists are
cut at ``limit`` lines for a chat message; the command line prints them whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import digest as d
from bot.domain.complaints import format_code
from bot.domain.orgchart import OrgChart
from bot.i18n import format_decimal, format_number, format_percent, t

MEDALS = ("🥇 ", "🥈 ", "🥉 ")
RANKING_SHOWN = 3
LOWEST_SHOWN = 3


class Names:
    """Codes as people know them, from the org chart (a code no longer in
    the chart is shown as it is)."""

    def __init__(self, chart: OrgChart, language: str) -> None:
        self.chart = chart
        self.language = language

    def area(self, code: str) -> str:
        area = self.chart.areas.get(code)
        return area.name if area else code

    def group(self, code: str) -> str:
        """A residential group with its ward: "Tổ dân phố 3 (Phường Hồng Hải)"."""
        ward = self.chart.ward_of(code)
        name = self.area(code)
        return f"{name} ({self.area(ward)})" if ward and ward != code else name

    def category(self, code: str) -> str:
        category = self.chart.categories.get(code)
        return category.display_name(self.language) if category else code

    def family(self, code: str) -> str:
        return t(self.language, f"family.{code}")

    def staff(self, staff_id: str) -> str:
        member = self.chart.staff.get(staff_id)
        return member.name if member else staff_id

    def of(self, dimension: d.Dimension) -> Callable[[str], str]:
        return {
            d.Dimension.WARD: self.area,
            d.Dimension.AREA: self.area,
            d.Dimension.CATEGORY: self.category,
            d.Dimension.FAMILY: self.family,
            d.Dimension.OWNER: self.staff,
        }.get(dimension, str)

    def scope(self, scope: d.Scope) -> str:
        if scope.whole_city:
            return t(self.language, "digest.scope_city", count=len(scope.wards))
        return ", ".join(self.area(w) for w in scope.wards)


def duration(seconds: float | None, language: str) -> str:
    """A median time: minutes, hours and minutes, or days and hours."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return t(language, "time.minutes", minutes=format_number(minutes, language))
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return t(language, "time.hours_minutes", hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return t(language, "time.days_hours", days=format_number(days, language), hours=hours)


def overdue_for(span: timedelta, language: str) -> str:
    """How long past its deadline: days and hours, or hours alone within
    the first day (never "0 days" for 14 hours), or minutes within the
    first hour."""
    hours, seconds = divmod(int(span.total_seconds()), 3600)
    if hours == 0:
        return t(language, "time.minutes", minutes=seconds // 60)
    if hours < 24:
        return t(language, "time.hours", hours=hours)
    days, hours = divmod(hours, 24)
    return t(language, "time.days_hours", days=format_number(days, language), hours=hours)


def _day(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%d/%m/%Y")


def week_number(period: d.Period) -> tuple[int, int]:
    year_text, week_text = period.key.split("-W")
    return int(week_text), int(year_text)


def _counts_params(counts: d.Counts, language: str) -> dict[str, str]:
    def n(value: int) -> str:
        return format_number(value, language)

    return {
        "received": n(counts.received),
        "on_time": n(counts.on_time),
        "late": n(counts.late),
        "in_progress": n(counts.in_progress),
        "overdue": n(counts.overdue),
        "rejected": n(counts.rejected),
        "withdrawn": n(counts.withdrawn),
        "rate": format_percent(counts.on_time_rate, language),
    }


def counts_block(counts: d.Counts, timing: d.Timing, language: str) -> list[str]:
    """The seeds' own counting: received, on time, late, in progress,
    overdue, the rate; then the medians and the residents' verdict."""
    rating = counts.average_rating
    return [
        t(language, "digest.counts", **_counts_params(counts, language)),
        t(
            language,
            "digest.timing",
            ack=duration(timing.acknowledge, language),
            fix=duration(timing.resolve, language),
        ),
        t(
            language,
            "digest.satisfaction",
            share=format_percent(counts.confirmed_share, language),
            rating=(
                t(language, "digest.rating", value=format_decimal(rating, language))
                if rating is not None
                else "—"
            ),
            disputes=format_number(counts.disputes, language),
        ),
    ]


def _cut(lines: list[str], limit: int | None, language: str) -> list[str]:
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], t(language, "digest.more", count=len(lines) - limit)]


def breakdown_block(
    breakdown: d.Breakdown, names: Names, language: str, limit: int | None
) -> list[str]:
    label = names.of(breakdown.dimension)
    # Categories are indented under their family; keys written out, so a search finds them.
    by_category = breakdown.dimension is d.Dimension.CATEGORY
    line = "digest.category_line" if by_category else "digest.group_line"
    title = {
        d.Dimension.FAMILY: "digest.by_family",
        d.Dimension.CATEGORY: "digest.by_family",
        d.Dimension.WARD: "digest.by_ward",
        d.Dimension.AREA: "digest.by_area",
        d.Dimension.OWNER: "digest.by_owner",
    }[breakdown.dimension]
    lines = [
        t(language, line, name=label(code), **_counts_params(counts, language))
        for code, counts in breakdown.ordered(label)
    ]
    return [t(language, title), *_cut(lines, limit, language)]


def _families_with_categories(digest: d.Digest, names: Names, limit: int | None) -> list[str]:
    """Families, each followed by its categories."""
    found = {b.dimension: b for b in digest.breakdowns}
    families = found.get(d.Dimension.FAMILY)
    categories = found.get(d.Dimension.CATEGORY)
    if families is None:
        return []
    language = names.language
    lines = [t(language, "digest.by_family")]
    for family, counts in families.ordered(names.family):
        lines.append(
            t(
                language,
                "digest.group_line",
                name=names.family(family),
                **_counts_params(counts, language),
            )
        )
        if categories is None:
            continue
        mine = [
            (code, c)
            for code, c in categories.ordered(names.category)
            if (cat := names.chart.categories.get(code)) is not None and cat.family.value == family
        ]
        lines += _cut(
            [
                t(
                    language,
                    "digest.category_line",
                    name=names.category(code),
                    **_counts_params(c, language),
                )
                for code, c in mine
            ],
            limit,
            language,
        )
    return lines


def ranking_block(
    title: str,
    ranking: Sequence[d.Ranked],
    label: Callable[[str], str],
    language: str,
    *,
    yours: Sequence[str] = (),
    lowest: bool = False,
    limit: int | None = RANKING_SHOWN,
) -> list[str]:
    """The first three named and honoured; then, for a ward leader, where
    their ward stands, and for the city, the last ones to urge."""
    rated = [r for r in ranking if r.rank is not None]
    lines = [title]
    if not rated:
        return [*lines, t(language, "digest.no_ranking")]

    def line(r: d.Ranked) -> str:
        medal = MEDALS[r.rank - 1] if r.rank is not None and r.honoured else ""
        return t(
            language,
            "digest.rank_line",
            medal=medal,
            rank=r.rank,
            name=label(r.key),
            rate=format_percent(r.counts.on_time_rate, language),
            received=format_number(r.counts.received, language),
        )

    shown = rated if limit is None else rated[:limit]
    lines += [line(r) for r in shown]
    for r in rated:
        if r.key in yours and r not in shown:
            lines.append(
                t(language, "digest.rank_yours", name=label(r.key), rank=r.rank, total=len(rated))
            )
    if lowest and limit is not None and len(rated) > limit + LOWEST_SHOWN:
        lines.append(t(language, "digest.rank_lowest"))
        lines += [line(r) for r in rated[-LOWEST_SHOWN:]]
    unrated = [label(r.key) for r in ranking if r.rank is None]
    if unrated and limit is None:
        lines.append(t(language, "digest.unranked", names=", ".join(unrated)))
    return lines


def hotspot_block(hotspots: Sequence[d.Hotspot], names: Names, limit: int | None) -> list[str]:
    language = names.language
    if not hotspots:
        return [t(language, "digest.no_hotspots")]
    lines = [
        t(
            language,
            "digest.hotspot_line",
            category=names.category(h.category),
            place=", ".join(names.group(a) for a in h.areas),
            count=h.count,
            open=h.open_count,
            codes=", ".join(format_code(i) for i in h.ids),
        )
        for h in hotspots
    ]
    return [t(language, "digest.hotspots"), *_cut(lines, limit, language)]


def overdue_block(items: Sequence[d.Overdue], names: Names) -> list[str]:
    language = names.language
    if not items:
        return [t(language, "digest.no_overdue")]
    return [
        t(language, "digest.oldest"),
        *(
            t(
                language,
                "digest.oldest_line",
                code=format_code(o.id),
                owner=names.staff(o.owner),
                late=overdue_for(o.late, language),
            )
            for o in items
        ),
    ]


def digest_text(
    digest: d.Digest,
    chart: OrgChart,
    language: str,
    tz: ZoneInfo,
    *,
    limit: int | None = 8,
) -> str:
    """The whole digest.  ``limit`` cuts each list for a chat message; None
    prints everything (for the briefing printout)."""
    names = Names(chart, language)
    number, year = week_number(digest.week)
    lines = [
        t(
            language,
            "digest.title",
            number=number,
            year=year,
            start=_day(digest.week.start, tz),
            end=digest.week.last_day(tz).strftime("%d/%m/%Y"),
            scope=names.scope(digest.scope),
        ),
        "",
        t(language, "digest.section_week"),
        *counts_block(digest.week_counts, digest.week_timing, language),
        "",
        t(language, "digest.section_year", year=digest.year.key),
        t(language, "digest.year_line", **_counts_params(digest.year_counts, language)),
    ]
    sections: list[list[str]] = [_families_with_categories(digest, names, limit)]
    for breakdown in digest.breakdowns:
        if breakdown.dimension in (d.Dimension.WARD, d.Dimension.AREA, d.Dimension.OWNER):
            sections.append(breakdown_block(breakdown, names, language, limit))
    yours = () if digest.scope.whole_city else digest.scope.wards
    ranking_limit = None if limit is None else RANKING_SHOWN
    if digest.month is not None:
        month_number = int(digest.month.key.split("-")[1])
        sections.append(
            ranking_block(
                t(language, "digest.ranking_month", month=month_number, year=digest.month.key[:4]),
                digest.month_ranking,
                names.area,
                language,
                yours=yours,
                lowest=digest.scope.whole_city,
                limit=ranking_limit,
            )
        )
    sections.append(
        ranking_block(
            t(language, "digest.ranking_wards", number=number),
            digest.ward_ranking,
            names.area,
            language,
            yours=yours,
            lowest=digest.scope.whole_city,
            limit=ranking_limit,
        )
    )
    if digest.cadre_ranking:
        sections.append(
            ranking_block(
                t(language, "digest.ranking_cadres", number=number),
                digest.cadre_ranking,
                names.staff,
                language,
                limit=ranking_limit,
            )
        )
    sections.append(hotspot_block(digest.hotspots, names, limit))
    sections.append(overdue_block(digest.oldest_overdue, names))
    for section in sections:
        if section:
            lines += ["", *section]
    return "\n".join(lines)


def period_label(period: d.Period, language: str) -> str:
    if period.kind is d.PeriodKind.WEEK:
        number, year = week_number(period)
        return t(language, "digest.period_week", number=number, year=year)
    if period.kind is d.PeriodKind.MONTH:
        year_text, month_text = period.key.split("-")
        return t(language, "digest.period_month", month=int(month_text), year=year_text)
    return t(language, "digest.period_year", year=period.key)


def stats_text(
    scope: d.Scope,
    period: d.Period,
    counts: d.Counts,
    timing: d.Timing,
    chart: OrgChart,
    language: str,
    tz: ZoneInfo,
) -> str:
    """The counts alone, for /stats."""
    names = Names(chart, language)
    title = t(
        language,
        "digest.stats_title",
        period=period_label(period, language),
        start=_day(period.start, tz),
        end=period.last_day(tz).strftime("%d/%m/%Y"),
        scope=names.scope(scope),
    )
    return "\n".join([title, "", *counts_block(counts, timing, language)])
