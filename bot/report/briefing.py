"""``phananh digest``: a week's digest written to files for printing at the
briefing — the same text, chart and export a leader gets in Telegram.

Wires storage, the digest use cases and the renderers, as the app factory
does for the bot; the command line only parses the arguments.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.app.digests import Digests
from bot.app.services import Services
from bot.config import Settings
from bot.domain import digest as d
from bot.domain.clock import SystemClock
from bot.domain.reminders import Schedule
from bot.outfiles import OutputError, output_folder, write_bytes_inside
from storage.engines import opened

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


def write_briefing(
    settings: Settings, ward: str | None, week_text: str | None, out: Path, language: str
) -> Written:
    """Write the four files for one ward (or the whole city when ``ward`` is
    None) and one ISO week (the last complete one when not given)."""
    week, scope, contents = asyncio.run(_build(settings, ward, week_text, language))
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
    settings: Settings, ward: str | None, week_text: str | None, language: str
) -> tuple[d.Period, d.Scope, tuple[bytes, ...]]:
    from bot.report.chart import chart_png
    from bot.report.export import rows, to_csv, to_xlsx
    from bot.report.text import digest_text

    if settings.db_url is None and not settings.db_path.exists():
        raise BriefingError("cli.no_org", 1, db=settings.database)
    async with opened(settings.database) as storage:
        services = Services(
            storage.store,
            SystemClock(),
            schedule=Schedule(settings.calendar(), settings.quiet_hours()),
        )
        await services.load_org()
        if not services.has_chart:
            raise BriefingError("cli.no_org", 1, db=settings.database)
        digests = Digests(storage.digests, services)
        known = digests.wards()
        if ward is not None:
            match = {w.lower(): w for w in known}.get(ward.lower())
            if match is None:
                raise BriefingError("cli.unknown_ward", 2, ward=ward, known=", ".join(known))
            scope = d.Scope((match,))
        else:
            scope = d.Scope(known, whole_city=True)
        try:
            week = digests.parse_week(week_text) if week_text else digests.last_week()
        except ValueError as exc:
            raise BriefingError("cli.bad_week", 2, week=week_text) from exc
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
