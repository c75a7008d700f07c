"""``phananh digest``: a week's digest written to files for printing at the
briefing — the same text, chart and export a leader gets in Telegram.

The digest use cases are the bot's own, built by the composition root
(bot/runtime.py) and handed in by the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bot.app.digests import Digests, WeekNotBegun
from bot.config import Settings
from bot.domain import digest as d
from bot.outfiles import OutputError, output_folder, write_bytes_inside

FILES = ("digest.txt", "chart.png", "complaints.csv", "complaints.xlsx")


class BriefingError(Exception):
    """A problem the operator can fix; ``key`` and ``params`` say which."""

    def __init__(self, key: str, exit_code: int, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.exit_code = exit_code
        self.params = params


@dataclass(frozen=True)
class Written:
    week: d.Period
    scope: d.Scope
    files: tuple[Path, ...]


# The digest use cases over the configured database, for the time of a block
# (the command line gives bot/runtime.py's).
DigestsOpener = Callable[[Settings], AbstractAsyncContextManager[Digests]]


def write_briefing(
    settings: Settings,
    ward: str | None,
    week_text: str | None,
    out: Path,
    language: str,
    opener: DigestsOpener,
) -> Written:
    """Write the four files for one ward (or the whole city when ``ward`` is
    None) and one ISO week (the last complete one when not given)."""
    week, scope, contents = asyncio.run(_build(settings, ward, week_text, language, opener))
    try:
        folder = output_folder(out)
        paths = tuple(
            write_bytes_inside(folder, name, content)
            for name, content in zip(FILES, contents, strict=True)
        )
    except OutputError as exc:
        raise BriefingError(exc.key, 1, **exc.params) from exc
    return Written(week, scope, paths)


async def _build(
    settings: Settings,
    ward: str | None,
    week_text: str | None,
    language: str,
    opener: DigestsOpener,
) -> tuple[d.Period, d.Scope, tuple[bytes, ...]]:
    from bot.report.chart import chart_png
    from bot.report.export import rows, to_csv, to_xlsx
    from bot.report.text import digest_text

    if settings.db_url is None and not settings.db_path.exists():
        raise BriefingError("cli.no_org", 1, db=settings.database)
    async with opener(settings) as digests:
        if not digests.services.has_chart:
            raise BriefingError("cli.no_org", 1, db=settings.database)
        known = digests.wards()
        if ward is not None:
            match = {w.lower(): w for w in known}.get(ward.lower())
            if match is None:
                raise BriefingError("cli.unknown_ward", 2, ward=ward, known=", ".join(known))
            scope = d.Scope((match,))
        else:
            scope = d.Scope(known, whole_city=True)
        try:
            week = digests.asked_week(week_text) if week_text else digests.last_week()
        except ValueError as exc:
            raise BriefingError("cli.bad_week", 2, week=week_text) from exc
        except WeekNotBegun as exc:
            raise BriefingError("cli.future_week", 2, week=week_text) from exc
        # As on the Monday after the week: the first Monday of a month also
        # ranks the month before.
        first_monday = week.end.astimezone(digests.tz).day <= 7
        month = d.previous_month(week.end, digests.tz) if first_monday else None
        digest = await digests.build(scope, week, month=month)
        chart = digests.chart
        table = rows(await digests.export(scope, week), chart, language, digests.tz)
        contents = (
            digest_text(digest, chart, language, digests.tz, limit=None).encode("utf-8"),
            chart_png(digest, chart, language, digests.tz),
            to_csv(table, language),
            to_xlsx(table, language),
        )
    return week, scope, contents
