"""The complaints behind a period's counts as CSV and XLSX, with Vietnamese
headers (English for a leader who chose it): every field a leader filters
on, and what the complaint says (description, landmark, resolution note; the
resident's name only where the resident let staff see it).

The CSV is made for Excel on a PC set to Vietnamese regional settings, the
way a ward office's PCs are: there the decimal mark is ``,`` and so the list
separator, which Excel uses to split a ``.csv`` opened by double-click, is
``;``.  So the CSV is separated by ``;`` and starts with a UTF-8 byte-order
mark (without it Excel reads the bytes in the ANSI code page and mangles
every Vietnamese letter).  No ``sep=`` line: it is not CSV (LibreOffice,
Google Sheets and scripts show it as a first row), and Excel is widely
reported to ignore it after a byte-order mark.  An Excel set to a region
whose list separator is ``,`` shows one column: that is what the XLSX,
always sent with it, is for.  Dates are dd/mm/yyyy HH:MM in the ward's time
zone.  The XLSX keeps real dates and numbers, a frozen header row and a
filter on every column.

Free text and staff names come from outside.  A cell starting with ``=``,
``+``, ``-`` or ``@`` (or a tab or a carriage return) is a formula to Excel
and LibreOffice — ``=HYPERLINK("http://…"&A1, …)`` sends a neighbouring cell
away when clicked, ``+cmd|' /C calc'!A0`` runs a program through DDE.  As
OWASP's CSV-injection guidance says, such a CSV cell gets a leading ``'``
(shown, and read as text) and every cell is quoted; in the XLSX every text
cell is stored as a string, never a formula, and one that would look like a
formula also carries Excel's "quote prefix", so editing it keeps it text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.domain import digest as d
from bot.domain.orgchart import OrgChart
from bot.domain.xmltext import xml_safe
from bot.i18n import t
from bot.report.text import Names

COLUMNS = (
    "code",
    "created",
    "ward",
    "area",
    "landmark",
    "family",
    "category",
    "description",
    "reporter",
    "owner",
    "state",
    "due",
    "acknowledged",
    "resolved",
    "resolution_note",
    "closed",
    "outcome",
    "on_time",
    "rating",
)
DATE_COLUMNS = frozenset({"created", "due", "acknowledged", "resolved", "closed"})
LONG_COLUMNS = frozenset({"description", "resolution_note"})
Cell = str | int | datetime | None

CSV_SEPARATOR = ";"
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def headers(language: str) -> list[str]:
    return [t(language, f"export.{c}") for c in COLUMNS]


def looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet could take this text for a formula: it starts
    with one of OWASP's characters, also after leading spaces (which some
    programs strip before they look)."""
    return value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS)


def as_text(value: str) -> str:
    """A CSV cell that Excel and LibreOffice show as the text it is."""
    return f"'{value}" if looks_like_formula(value) else value


def _on_time(outcome: d.Outcome, language: str) -> str:
    if outcome in (d.Outcome.ON_TIME, d.Outcome.IN_PROGRESS):
        return t(language, "export.yes") if outcome is d.Outcome.ON_TIME else ""
    if outcome in (d.Outcome.LATE, d.Outcome.OVERDUE):
        return t(language, "export.no")
    return ""


def export_name(scope: d.Scope, period: d.Period) -> str:
    """The files' name, without the extension: whose and which period
    ("phan-anh-honghai-2026-w47"), the same in chat and on the dashboard."""
    whose = "tat-ca-phuong-xa" if scope.whole_city else "-".join(scope.wards)
    return f"phan-anh-{whose}-{period.key}".lower()


def rows(
    items: Sequence[d.Exported], chart: OrgChart, language: str, tz: ZoneInfo
) -> list[list[Cell]]:
    """One row per complaint: dates as local naive datetimes (Excel has no
    time zones), everything else as text or a number."""
    names = Names(chart, language)

    def local(instant: datetime | None) -> datetime | None:
        return instant.astimezone(tz).replace(tzinfo=None) if instant else None

    def row(item: d.Exported) -> list[Cell]:
        c = item.complaint
        return [
            c.code,
            local(c.created_at),
            names.area(c.ward),
            names.area(c.area),
            c.landmark,
            names.family(c.family.value),
            names.category(c.category),
            c.description,
            item.reporter,
            names.staff(c.owner),
            t(language, f"state.{c.state.value}"),
            local(c.due_at),
            local(c.acknowledged_at),
            local(c.resolved_at),
            c.resolution_note,
            local(c.closed_at),
            t(language, f"outcome.{item.outcome.value}"),
            _on_time(item.outcome, language),
            c.rating,
        ]

    return [row(item) for item in items]


def _csv_cell(value: Cell) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, str):
        return as_text(value)
    return value


def to_csv(table: Sequence[Sequence[Cell]], language: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([as_text(h) for h in headers(language)])
    for row in table:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _width(name: str, values: Sequence[Cell]) -> float:
    if name in DATE_COLUMNS:
        return 17
    widest = max((len(str(v or "")) for v in values), default=0)
    return min(60 if name in LONG_COLUMNS else 45, max(12, widest + 2))


def _xlsx_text(value: str) -> str:
    """XML 1.0 cannot hold most control characters (a pasted escape code, a
    bell) nor the noncharacters U+FFFE and U+FFFF: each is shown as
    "\ufffd" instead of making the whole workbook one Excel calls corrupt."""
    return xml_safe(value)


def to_xlsx(table: Sequence[Sequence[Cell]], language: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = t(language, "export.sheet")
    sheet.append(headers(language))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append([_xlsx_text(v) if isinstance(v, str) else v for v in row])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                # openpyxl makes a formula of any text starting with "=".
                cell.data_type = TYPE_STRING
                cell.quotePrefix = looks_like_formula(cell.value)
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, name in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if name in DATE_COLUMNS:
            for cell in sheet[letter][1:]:
                cell.number_format = "dd/mm/yyyy hh:mm"
        if name in LONG_COLUMNS:
            for cell in sheet[letter][1:]:
                cell.alignment = wrap
        sheet.column_dimensions[letter].width = _width(name, [r[index - 1] for r in table])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
