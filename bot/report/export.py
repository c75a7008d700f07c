"""The complaints behind a period's counts as CSV and XLSX, with Vietnamese
headers (English for a leader who chose it): every field a leader filters on.

CSV is UTF-8 with a byte-order mark, so Excel opens Vietnamese text right;
dates are dd/mm/yyyy HH:MM in the ward's time zone.  The XLSX keeps real
dates and numbers, a frozen header row and a filter on every column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.domain import digest as d
from bot.domain.complaints import Complaint
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.report.text import Names

COLUMNS = (
    "code",
    "created",
    "ward",
    "area",
    "family",
    "category",
    "owner",
    "state",
    "due",
    "acknowledged",
    "resolved",
    "closed",
    "outcome",
    "on_time",
    "rating",
)
DATE_COLUMNS = frozenset({"created", "due", "acknowledged", "resolved", "closed"})
Cell = str | int | datetime | None


def headers(language: str) -> list[str]:
    return [t(language, f"export.{c}") for c in COLUMNS]


def _on_time(outcome: d.Outcome, language: str) -> str:
    if outcome in (d.Outcome.ON_TIME, d.Outcome.IN_PROGRESS):
        return t(language, "export.yes") if outcome is d.Outcome.ON_TIME else ""
    if outcome in (d.Outcome.LATE, d.Outcome.OVERDUE):
        return t(language, "export.no")
    return ""


def rows(
    items: Sequence[tuple[Complaint, d.Outcome]], chart: OrgChart, language: str, tz: ZoneInfo
) -> list[list[Cell]]:
    """One row per complaint: dates as local naive datetimes (Excel has no
    time zones), everything else as text or a number."""
    names = Names(chart, language)

    def local(instant: datetime | None) -> datetime | None:
        return instant.astimezone(tz).replace(tzinfo=None) if instant else None

    return [
        [
            c.code,
            local(c.created_at),
            names.area(c.ward),
            names.area(c.area),
            names.family(c.family.value),
            names.category(c.category),
            names.staff(c.owner),
            t(language, f"state.{c.state.value}"),
            local(c.due_at),
            local(c.acknowledged_at),
            local(c.resolved_at),
            local(c.closed_at),
            t(language, f"outcome.{outcome.value}"),
            _on_time(outcome, language),
            c.rating,
        ]
        for c, outcome in items
    ]


def to_csv(table: Sequence[Sequence[Cell]], language: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(language))
    for row in table:
        writer.writerow(
            [
                v.strftime("%d/%m/%Y %H:%M")
                if isinstance(v, datetime)
                else ("" if v is None else v)
                for v in row
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Sequence[Sequence[Cell]], language: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = t(language, "export.sheet")
    sheet.append(headers(language))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append(list(row))
    for index, name in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if name in DATE_COLUMNS:
            for cell in sheet[letter][1:]:
                cell.number_format = "dd/mm/yyyy hh:mm"
            sheet.column_dimensions[letter].width = 17
        else:
            widest = max((len(str(r[index - 1] or "")) for r in table), default=0)
            sheet.column_dimensions[letter].width = min(45, max(12, widest + 2))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
