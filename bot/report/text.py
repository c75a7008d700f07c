"""The digest as text, in the leader's language, from the catalogue.

Two messages: the summary a chairman reads at the Monday meeting, on one
phone screen (`digest_summary`: the five counts, the on-time rate against
last week, the first three, who needs following up, the oldest overdue), and
the details after it (`digest_details`), where a section with nothing to say
is left out.  Numbers the Vietnamese way (17.911; 97,4%), dates dd/mm/yyyy.
Lists are cut at ``limit`` lines for a chat message; the command line prints
them whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import digest as d
from bot.domain.complaints import format_code
from bot.domain.orgchart import OrgChart
from bot.domain.places import upper_tier
from bot.i18n import format_decimal, format_number, format_percent, t

MEDALS = ("🥇 ", "🥈 ", "🥉 ")
RANKING_SHOWN = 3
LOWEST_SHOWN = 3
# The summary names at most this many to follow up (the details list them all).
FOLLOW_UP_SHOWN = 3
# One phone screen: what the summary must fit in, counted as Telegram counts.
SUMMARY_LIMIT = 1000


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
        """The wards a report covers: their names, or all of them under the
        name of the tier above (from the org chart, never a fixed "city")."""
        if not scope.whole_city:
            return ", ".join(self.area(w) for w in scope.wards)
        tier = upper_tier(self.chart)
        if tier.key == "tier.unnamed":
            return t(self.language, "digest.scope_all", count=len(scope.wards))
        upper = t(self.language, tier.key, **tier.params)
        return t(self.language, "digest.scope_city", upper=upper, count=len(scope.wards))


def duration(seconds: float | None, language: str) -> str:
    """A median time: minutes, hours and minutes, or days and hours."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return t(language, "time.minutes", minutes=format_number(minutes, language))
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if not minutes:  # "8 giờ", not "8 giờ 0 phút"
            return t(language, "time.hours", hours=hours)
        return t(language, "time.hours_minutes", hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return days_hours(days, hours, language)


def days_hours(days: int, hours: int, language: str) -> str:
    """ "2 ngày 3 giờ", or "2 ngày" on the hour — never "0 giờ"."""
    if not hours:
        return t(language, "time.days", days=format_number(days, language))
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
    return days_hours(days, hours, language)


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


def rate_line(
    counts: d.Counts, previous: d.Counts | None, language: str, period: str | None = None
) -> str:
    """The on-time rate, against last week's when there was one.  With
    nothing due, the digest says "this week"; /stats names its ``period``
    (a month or a year is not "this week")."""
    if counts.on_time_rate is None:
        if period is not None:
            return t(language, "digest.no_rate_period", period=period)
        return t(language, "digest.no_rate")
    rate = format_percent(counts.on_time_rate, language)
    if previous is None or previous.on_time_rate is None:
        return t(language, "digest.rate", rate=rate)
    return t(
        language,
        "digest.rate_vs",
        rate=rate,
        previous=format_percent(previous.on_time_rate, language),
    )


def counts_block(
    counts: d.Counts,
    language: str,
    previous: d.Counts | None = None,
    period: str | None = None,
) -> list[str]:
    """The seeds' own counting: received, on time, late, in progress,
    overdue; then the rate."""
    return [
        t(language, "digest.counts", **_counts_params(counts, language)),
        rate_line(counts, previous, language, period),
    ]


def more_block(counts: d.Counts, timing: d.Timing, language: str) -> list[str]:
    """What the details add to the counts, each line only when it has
    something to say: the rejected and withdrawn, how fast half of the
    reports were acknowledged and resolved (the medians, in plain words),
    and the residents' verdict."""
    lines = []
    if counts.rejected or counts.withdrawn:
        lines.append(t(language, "digest.other_outcomes", **_counts_params(counts, language)))
    for key, seconds in (
        ("digest.timing_ack", timing.acknowledge),
        ("digest.timing_fix", timing.resolve),
    ):
        if seconds is not None:
            lines.append(t(language, key, time=duration(seconds, language)))
    rating = counts.average_rating
    if counts.confirmed_share is not None or rating is not None or counts.disputes:
        lines.append(
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
            )
        )
    return lines


def _cut(lines: list[str], limit: int | None, language: str) -> list[str]:
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], t(language, "digest.more", count=len(lines) - limit)]


def breakdown_block(
    breakdown: d.Breakdown, names: Names, language: str, limit: int | None
) -> list[str]:
    """One breakdown with its title; nothing when it has no groups."""
    if not breakdown.groups:
        return []
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
    """Families, each followed by its categories; nothing in a week
    without complaints."""
    found = {b.dimension: b for b in digest.breakdowns}
    families = found.get(d.Dimension.FAMILY)
    categories = found.get(d.Dimension.CATEGORY)
    if families is None or not families.groups:
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
    their ward stands, and for the city, the last ones to follow up.
    Nothing when nobody had anything due."""
    rated = [r for r in ranking if r.rank is not None]
    if not rated:
        return []
    lines = [title]
    shown = rated if limit is None else rated[:limit]
    lines += [_rank_line(r, label, language) for r in shown]
    for r in rated:
        if r.key in yours and r not in shown:
            lines.append(
                t(language, "digest.rank_yours", name=label(r.key), rank=r.rank, total=len(rated))
            )
    if lowest and limit is not None and len(rated) > limit + LOWEST_SHOWN:
        lines.append(t(language, "digest.rank_lowest"))
        lines += [_rank_line(r, label, language) for r in rated[-LOWEST_SHOWN:]]
    unrated = [label(r.key) for r in ranking if r.rank is None]
    if unrated and limit is None:
        lines.append(t(language, "digest.unranked", names=", ".join(unrated)))
    return lines


def _medal(r: d.Ranked) -> str:
    return MEDALS[r.rank - 1] if r.rank is not None and r.honoured else ""


def _rank_line(r: d.Ranked, label: Callable[[str], str], language: str) -> str:
    return t(
        language,
        "digest.rank_line",
        medal=_medal(r),
        rank=r.rank,
        name=label(r.key),
        rate=format_percent(r.counts.on_time_rate, language),
        received=format_number(r.counts.received, language),
    )


def hotspot_block(hotspots: Sequence[d.Hotspot], names: Names, limit: int | None) -> list[str]:
    language = names.language
    if not hotspots:
        return []
    lines = [
        t(
            language,
            "digest.hotspot_line",
            category=names.category(h.category),
            place=", ".join(names.group(a) for a in h.areas),
            count=h.count,
            residents=max(h.residents, h.count),
            open=h.open_count,
            codes=", ".join(format_code(i) for i in h.ids),
        )
        for h in hotspots
    ]
    return [t(language, "digest.hotspots"), *_cut(lines, limit, language)]


def overdue_block(items: Sequence[d.Overdue], names: Names) -> list[str]:
    language = names.language
    if not items:
        return []
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


# ---- the summary: one phone screen for the Monday meeting -----------------------------------


def _title(digest: d.Digest, names: Names, tz: ZoneInfo) -> str:
    number, year = week_number(digest.week)
    return t(
        names.language,
        "digest.title",
        number=number,
        year=year,
        start=_day(digest.week.start, tz),
        end=digest.week.last_day(tz).strftime("%d/%m/%Y"),
        scope=names.scope(digest.scope),
    )


def _ranked_here(digest: d.Digest, names: Names) -> tuple[Sequence[d.Ranked], Callable[[str], str]]:
    """Whom the summary ranks: the wards for the whole city, the people
    handling the complaints for a ward."""
    if digest.scope.whole_city:
        return digest.ward_ranking, names.area
    return digest.cadre_ranking, names.staff


def _top_line(digest: d.Digest, names: Names) -> list[str]:
    """The first three by on-time rate, with their medals: only those
    honoured, so a week with nothing done on time names nobody."""
    ranking, label = _ranked_here(digest, names)
    first = [r for r in ranking if r.honoured][:RANKING_SHOWN]
    if not first:
        return []
    language = names.language
    items = ", ".join(
        t(
            language,
            "digest.top_item",
            medal=_medal(r),
            name=label(r.key),
            rate=format_percent(r.counts.on_time_rate, language),
        )
        for r in first
    )
    key = "digest.top_wards" if digest.scope.whole_city else "digest.top_cadres"
    return [t(language, key, names=items)]


def _your_rank(digest: d.Digest, names: Names) -> list[str]:
    """For a ward's own digest: where the ward stands among all wards."""
    rated = [r for r in digest.ward_ranking if r.rank is not None]
    if digest.scope.whole_city or len(rated) < 2:
        return []
    return [
        t(names.language, "digest.your_rank", name=names.area(r.key), rank=r.rank, total=len(rated))
        for r in rated
        if r.key in digest.scope.wards
    ]


def _follow_up(digest: d.Digest, names: Names) -> list[str]:
    """Who needs following up: the wards (or the people) that still held
    overdue complaints at the end of the week, the most first."""
    ranking, label = _ranked_here(digest, names)
    late = sorted(
        (r for r in ranking if r.counts.overdue),
        key=lambda r: (-r.counts.overdue, label(r.key)),
    )
    if not late:
        return []
    language = names.language
    shown = ", ".join(
        t(
            language,
            "digest.follow_item",
            name=label(r.key),
            overdue=format_number(r.counts.overdue, language),
        )
        for r in late[:FOLLOW_UP_SHOWN]
    )
    if len(late) > FOLLOW_UP_SHOWN:
        shown += ", …"
    key = "digest.follow_up_wards" if digest.scope.whole_city else "digest.follow_up_cadres"
    return [t(language, key, count=len(late), names=shown)]


def _oldest_line(digest: d.Digest, names: Names) -> list[str]:
    """How many are overdue, and the oldest of them."""
    if not digest.week_counts.overdue or not digest.oldest_overdue:
        return []
    oldest = digest.oldest_overdue[0]
    language = names.language
    return [
        t(
            language,
            "digest.overdue_oldest",
            count=format_number(digest.week_counts.overdue, language),
            code=format_code(oldest.id),
            owner=names.staff(oldest.owner),
            late=overdue_for(oldest.late, language),
        )
    ]


def digest_summary(
    digest: d.Digest, chart: OrgChart, language: str, tz: ZoneInfo, *, more: bool = True
) -> str:
    """The first message: what a chairman reads out at the Monday meeting,
    one phone screen (`SUMMARY_LIMIT`).  ``more`` says the details follow."""
    names = Names(chart, language)
    lines = [
        _title(digest, names, tz),
        "",
        *counts_block(digest.week_counts, language, digest.previous_week_counts),
        t(language, "digest.counting"),
    ]
    ranked = [*_top_line(digest, names), *_your_rank(digest, names)]
    urgent = [*_follow_up(digest, names), *_oldest_line(digest, names)]
    for block in (ranked, urgent):
        if block:
            lines += ["", *block]
    if more:
        lines += ["", t(language, "digest.details_follow")]
    return "\n".join(lines)


# ---- the details ----------------------------------------------------------------------------


def _details_sections(digest: d.Digest, names: Names, limit: int | None) -> list[list[str]]:
    """The details, section by section; an empty section is left out."""
    language = names.language
    sections = [
        more_block(digest.week_counts, digest.week_timing, language),
        []
        if digest.year_counts.empty
        else [
            t(
                language,
                "digest.year_line",
                year=digest.year.key,
                **_counts_params(digest.year_counts, language),
            )
        ],
        _families_with_categories(digest, names, limit),
    ]
    for breakdown in digest.breakdowns:
        if breakdown.dimension in (d.Dimension.WARD, d.Dimension.AREA, d.Dimension.OWNER):
            sections.append(breakdown_block(breakdown, names, language, limit))
    number, _ = week_number(digest.week)
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
    return [section for section in sections if section]


def digest_details(
    digest: d.Digest,
    chart: OrgChart,
    language: str,
    tz: ZoneInfo,
    *,
    limit: int | None = 8,
) -> str:
    """The second message: the breakdowns, rankings, hotspots and the
    overdue list; "" when the week has none of them.  ``limit`` cuts each
    list for a chat message; None prints everything."""
    names = Names(chart, language)
    sections = _details_sections(digest, names, limit)
    if not sections:
        return ""
    number, year = week_number(digest.week)
    lines = [t(language, "digest.details_title", number=number, year=year)]
    for section in sections:
        lines += ["", *section]
    return "\n".join(lines)


def digest_text(
    digest: d.Digest,
    chart: OrgChart,
    language: str,
    tz: ZoneInfo,
    *,
    limit: int | None = 8,
) -> str:
    """The whole digest in one text (the briefing printout): the summary,
    then the details."""
    details = digest_details(digest, chart, language, tz, limit=limit)
    summary = digest_summary(digest, chart, language, tz, more=bool(details))
    return f"{summary}\n\n{details}" if details else summary


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
    label = period_label(period, language)
    title = t(
        language,
        "digest.stats_title",
        period=label,
        start=_day(period.start, tz),
        end=period.last_day(tz).strftime("%d/%m/%Y"),
        scope=names.scope(scope),
    )
    return "\n".join(
        [
            title,
            "",
            *counts_block(counts, language, period=label),
            *more_block(counts, timing, language),
        ]
    )
