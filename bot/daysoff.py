"""Which days a Vietnamese ward office is closed, for the working calendar.

Two sources, because the days off come from two kinds of decision:

- The fixed base — the public holidays of the Labour Code (2019, art. 112):
  New Year's Day, Tết by the lunar calendar, the Hùng Kings' day (10/3
  lunar), 30/4, 1/5, 2/9 with the day next to it, and Ngày Văn hóa Việt Nam
  (24/11) from 2026; a holiday that falls on a weekend is taken on the next
  working day.  The `holidays` package computes these for any year, lunar
  dates included, with the swaps the government had decided before the
  package's release (pinned in pyproject.toml).
- The government's yearly decision on swapped days: a *bridge day* off
  between a holiday and the weekend, paid back by working a Saturday (a
  *make-up day*).  Decided a few months ahead each year, so they are
  configuration (`bridge_days`, `makeup_days`), added to the base.

A ward office may also replace the base with its own list (`holidays`);
then only the years that list covers have holidays, and the bot warns when
the current or the next year has none (`missing_years`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

import holidays as holiday_tables

from bot.i18n import t

# The years the built-in base covers: more than the bot will run on one
# release, few enough to compute at start (about a tenth of a second).
BUILT_IN_YEARS = range(2020, 2061)


@dataclass(frozen=True)
class DaysOff:
    """The days off and make-up days of the working calendar, and which
    years its list of public holidays covers."""

    holidays: frozenset[date]  # days off (public holidays and bridge days)
    makeup_days: frozenset[date]  # days worked although their weekday is off
    years: frozenset[int]  # the years the public holidays are known for

    def missing_years(self, today: date) -> tuple[int, ...]:
        """This year and the next, if the holiday list does not cover them:
        their holidays would count as working days."""
        return tuple(year for year in (today.year, today.year + 1) if year not in self.years)


@cache
def built_in() -> DaysOff:
    """Vietnam's public holidays and the swaps the `holidays` package knows."""
    table = holiday_tables.country_holidays("VN", years=BUILT_IN_YEARS)
    return DaysOff(
        holidays=frozenset(table),
        makeup_days=frozenset(table.weekend_workdays),
        years=frozenset(BUILT_IN_YEARS),
    )


def days_off(
    listed: Iterable[date] | None,
    bridge_days: Iterable[date] = (),
    makeup_days: Iterable[date] = (),
) -> DaysOff:
    """The built-in base (or ``listed`` instead of it), with the decreed
    bridge days off and make-up days worked added on top."""
    base = built_in() if listed is None else _listed(listed)
    return DaysOff(
        holidays=base.holidays | frozenset(bridge_days),
        makeup_days=base.makeup_days | frozenset(makeup_days),
        years=base.years,
    )


def _listed(days: Iterable[date]) -> DaysOff:
    """A ward office's own list: it covers the years it names."""
    listed = frozenset(days)
    return DaysOff(listed, frozenset(), frozenset(day.year for day in listed))


def missing_list_warning(off: DaysOff, own_list: bool, today: date, language: str) -> str | None:
    """In plain words, for the start-up log and `phananh org check`: the
    years without holidays, and what to do about it (``own_list``: the
    config replaced the built-in list)."""
    missing = off.missing_years(today)
    if not missing:
        return None
    hint = "cli.holidays_own_list" if own_list else "cli.holidays_built_in"
    problem = t(language, "cli.holidays_missing", years=", ".join(str(y) for y in missing))
    return f"{problem} {t(language, hint)}"
