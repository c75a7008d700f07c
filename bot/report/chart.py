"""The digest's chart as a PNG: received vs resolved on time for the last
eight weeks, and overdue by ward — portrait and large-type, for a phone.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display,
no global state), so it is safe to run in a worker thread while the bot
serves others.  DejaVu Sans, bundled with matplotlib, covers Vietnamese.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain import digest as d
from bot.domain.orgchart import OrgChart
from bot.i18n import format_number, t
from bot.report.text import Names, week_number

WARDS_SHOWN = 12  # the wards with most overdue; the leader's own are always added
RECEIVED = "#4C78A8"
ON_TIME = "#54A24B"
OVERDUE = "#E45756"
MINE = "#B279A2"


def chart_png(digest: d.Digest, chart: OrgChart, language: str, tz: ZoneInfo) -> bytes:
    figure = chart_figure(digest, chart, language, tz)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _whole_numbers(axis: Axis, language: str) -> None:
    """Ticks only at whole numbers (counts of complaints), written the
    language's way: never "2,5" shown as "2"."""
    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_major_formatter(lambda value, _: format_number(round(value), language))


def week_label(week: d.Period, tz: ZoneInfo) -> str:
    """A week by its Monday's date ("23/11"): "T48" would read as a weekday."""
    return week.start.astimezone(tz).strftime("%d/%m")


def chart_figure(digest: d.Digest, chart: OrgChart, language: str, tz: ZoneInfo) -> Figure:
    """The chart as a matplotlib figure (drawn: its ticks are final)."""
    names = Names(chart, language)
    figure = Figure(figsize=(7.2, 9.6), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    trend_axes, overdue_axes = figure.subplots(2, 1, height_ratios=(1, 1.1))

    labels = [week_label(p.week, tz) for p in digest.trend]
    positions = list(range(len(digest.trend)))
    received = [p.received for p in digest.trend]
    on_time = [p.on_time for p in digest.trend]
    trend_axes.bar(positions, received, color=RECEIVED, label=t(language, "digest.chart_received"))
    trend_axes.plot(
        positions,
        on_time,
        color=ON_TIME,
        marker="o",
        linewidth=3,
        markersize=8,
        label=t(language, "digest.chart_on_time"),
    )
    trend_axes.set_xticks(positions, labels, fontsize=12)
    trend_axes.set_xlabel(t(language, "digest.chart_weeks_axis"), fontsize=12)
    trend_axes.tick_params(axis="y", labelsize=12)
    trend_axes.set_title(t(language, "digest.chart_trend"), fontsize=15, loc="left")
    trend_axes.legend(fontsize=12, loc="upper left")
    _whole_numbers(trend_axes.yaxis, language)
    trend_axes.spines[["top", "right"]].set_visible(False)
    top = max([*received, *on_time, 1])
    trend_axes.set_ylim(0, top * 1.25)
    for x, value in zip(positions, received, strict=True):
        trend_axes.annotate(
            format_number(value, language),
            (x, value),
            ha="center",
            va="bottom",
            fontsize=11,
            xytext=(0, 2),
            textcoords="offset points",
        )

    mine = set() if digest.scope.whole_city else set(digest.scope.wards)
    rows = sorted(digest.overdue_by_ward, key=lambda wc: (-wc[1], names.area(wc[0])))
    shown = rows[:WARDS_SHOWN] + [r for r in rows[WARDS_SHOWN:] if r[0] in mine]
    shown = shown[::-1]  # the most overdue on top
    number = week_number(digest.week)[0]
    overdue_axes.set_title(
        t(language, "digest.chart_overdue", number=number), fontsize=15, loc="left"
    )
    if not any(count for _, count in shown):
        overdue_axes.text(
            0.5,
            0.5,
            t(language, "digest.chart_none"),
            ha="center",
            va="center",
            fontsize=16,
            transform=overdue_axes.transAxes,
        )
        overdue_axes.set_axis_off()
    else:
        ys = list(range(len(shown)))
        colours = [MINE if w in mine else OVERDUE for w, _ in shown]
        overdue_axes.barh(ys, [c for _, c in shown], color=colours)
        overdue_axes.set_yticks(ys, [names.area(w) for w, _ in shown], fontsize=12)
        overdue_axes.tick_params(axis="x", labelsize=12)
        _whole_numbers(overdue_axes.xaxis, language)
        overdue_axes.spines[["top", "right"]].set_visible(False)
        for y, (_, count) in zip(ys, shown, strict=True):
            overdue_axes.annotate(
                format_number(count, language),
                (count, y),
                va="center",
                fontsize=11,
                xytext=(3, 0),
                textcoords="offset points",
            )
    figure.canvas.draw()
    return figure
