"""Read the staff list and the assignments of an org chart from CSV files.

A ward office keeps its staff and who answers for what in a spreadsheet, and
saves it as CSV.  This module reads such a file into records that
:func:`bot.orgfile.load_org_file` checks against the rest of the chart, so a
row from a CSV file gets every check a YAML entry gets, pinned to its line.

What a clerk's spreadsheet may look like (``docs/org-csv.md``):

- UTF-8, with or without a BOM (Excel's "CSV UTF-8" writes one);
- comma, semicolon or tab separated, told apart by the header row (Excel
  with Vietnamese regional settings writes semicolons);
- the first row names the columns, in Vietnamese or English, in any case
  and with or without diacritics ("Mã cán bộ", "MA CAN BO", "id");
  columns may come in any order; "STT" and "Ghi chú" columns are allowed
  and ignored;
- a cell with several values (roles, wards, categories) separates them
  with ``,`` ``;`` or ``|``.

Every mistake is an :class:`~bot.orgfile.OrgIssue` with the file's path as
its ``source``; :func:`describe_issue` renders it as "staff.csv, dòng 3: …".
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from bot.domain.channels import ZALO, valid_account_id
from bot.domain.orgchart import CODE_RE, Role
from bot.domain.text import clean_name, fold
from bot.i18n import t
from bot.orgio.issues import (
    AssignmentRecord,
    OrgChartInvalid,
    OrgIssue,
    StaffRecord,
    bare_code,
    read_text_file,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "IGNORED_COLUMNS",
    "STAFF_COLUMNS",
    "Column",
    "CsvRead",
    "describe_issue",
    "parse_assignments_csv",
    "parse_staff_csv",
    "read_assignments_csv",
    "read_staff_csv",
]

_R = TypeVar("_R", StaffRecord, AssignmentRecord)

# Several values in one cell: "cán bộ, lãnh đạo phường", "HONGHAI; BACHDANG".
_LIST_SEPARATORS = re.compile(r"[,;|]")
_DELIMITERS = (",", ";", "\t")
_DIGITS = re.compile(r"^[0-9]+$")
# A long number as Excel shows it, in either decimal mark: "8,42435E+18".
_EXCEL_NUMBER = re.compile(r"^[0-9]+([.,][0-9]+)?E\+[0-9]+$", re.IGNORECASE)

# Roles need a ward to serve (as in the YAML).
_WARD_BOUND_ROLES = frozenset({Role.CADRE, Role.WARD_LEADER})


def _fold(text: str) -> str:
    """Case-, diacritic- and punctuation-blind form of a header or a role."""
    return " ".join(fold(text).replace("_", " ").split())


@dataclass(frozen=True)
class Column:
    """One column a file may have: its Vietnamese name (as shown to clerks),
    its English name, and the other names it is known by."""

    key: str
    name: str
    name_en: str
    aliases: tuple[str, ...] = ()
    required: bool = True  # the column must be in the header
    cell_required: bool = True  # every row must fill it in

    def names(self) -> set[str]:
        return {_fold(n) for n in (self.name, self.name_en, self.key, *self.aliases)}

    def label(self) -> str:
        return f"{self.name} ({self.name_en})"


STAFF_COLUMNS = (
    Column("id", "Mã cán bộ", "id", ("Mã CB", "Mã", "staff id", "code")),
    Column("name", "Họ và tên", "name", ("Họ tên", "Tên", "full name", "Tên cán bộ")),
    Column("roles", "Vai trò", "roles", ("role",)),
    # Required as a column; empty for a city leader who serves no one ward.
    Column("wards", "Phường", "wards", ("Phường/xã", "Xã", "ward"), cell_required=False),
    Column(
        "telegram_id",
        "Telegram ID",
        "telegram_id",
        ("Telegram", "Mã Telegram", "ID Telegram", "telegram user id"),
        required=False,
        cell_required=False,
    ),
    Column(
        "zalo_id",
        "Zalo ID",
        "zalo_id",
        ("Zalo", "Mã Zalo", "ID Zalo", "zalo user id"),
        required=False,
        cell_required=False,
    ),
)

ASSIGNMENT_COLUMNS = (
    Column("area", "Địa bàn", "area", ("Mã địa bàn", "Khu vực", "Mã khu vực")),
    Column("categories", "Lĩnh vực", "categories", ("Mã lĩnh vực", "category")),
    Column("cadre", "Cán bộ", "cadre", ("Mã cán bộ", "Cán bộ phụ trách", "staff", "staff id")),
)

# Columns a spreadsheet often has for people, not for the bot.
IGNORED_COLUMNS = ("STT", "Ghi chú", "note", "notes")

# How a role may be written in a cell.
_ROLE_NAMES: dict[str, Role] = {
    _fold(name): role
    for role, names in (
        (Role.CADRE, ("cán bộ", "cán bộ phụ trách", "cán bộ phụ trách địa bàn", "cadre")),
        (
            Role.WARD_LEADER,
            ("lãnh đạo phường", "lãnh đạo xã", "lãnh đạo phường/xã", "ward leader"),
        ),
        (
            Role.CITY_LEADER,
            (
                "lãnh đạo thành phố",
                "lãnh đạo TP",
                "lãnh đạo tỉnh",
                "lãnh đạo cấp trên",
                "city leader",
            ),
        ),
    )
    for name in names
}


@dataclass(frozen=True)
class CsvRead(Generic[_R]):
    """What one CSV file gave: its records, its mistakes, and whether its rows
    could be read at all (``usable`` is False when the header is missing or
    lacks a required column, or the quotes are broken: checking the chart
    against such a file would bury the mistake under its consequences)."""

    records: list[_R] = field(default_factory=list)
    issues: list[OrgIssue] = field(default_factory=list)
    usable: bool = True


# ------------------------------------------------------------------- public


def read_staff_csv(path: Path) -> CsvRead[StaffRecord]:
    """The staff rows of the CSV file at ``path``; issues name it as given."""
    return _read(path, parse_staff_csv)


def read_assignments_csv(path: Path) -> CsvRead[AssignmentRecord]:
    """The assignment rows of the CSV file at ``path``; issues name it as given."""
    return _read(path, parse_assignments_csv)


def parse_staff_csv(text: str, *, source: str = "staff.csv") -> CsvRead[StaffRecord]:
    """The staff rows in ``text`` (columns: :data:`STAFF_COLUMNS`)."""
    table = _Table(text, source, STAFF_COLUMNS)
    records: list[StaffRecord] = []
    for row in table.rows:
        record = _staff_record(table, row)
        if record is not None:
            records.append(record)
    return CsvRead(records, table.issues, table.usable)


def parse_assignments_csv(
    text: str, *, source: str = "assignments.csv"
) -> CsvRead[AssignmentRecord]:
    """The assignment rows in ``text`` (columns: :data:`ASSIGNMENT_COLUMNS`)."""
    table = _Table(text, source, ASSIGNMENT_COLUMNS)
    records = [
        AssignmentRecord(
            source=source,
            line=row.line,
            area=table.required(row, "area"),
            categories=table.items(row, "categories", required=True),
            cadre=table.required(row, "cadre"),
        )
        for row in table.rows
    ]
    return CsvRead(records, table.issues, table.usable)


def describe_issue(issue: OrgIssue, lang: str, *, org_file: str | None = None) -> str:
    """One issue as a line for the operator: "staff.csv, dòng 3: …".

    An issue in the org-chart YAML reads "Dòng 12: …", or "org.yaml, dòng 12:
    …" when ``org_file`` names it (worth doing when CSV files were read too).
    An issue with no line (an unreadable file) is its message alone.
    """
    message = t(lang, issue.key, **issue.params)
    if not issue.line:
        return message
    file = issue.source or org_file
    if file:
        return t(lang, "orgcsv.file_line", file=file, line=issue.line, message=message)
    return t(lang, "cli.org_line", line=issue.line, message=message)


# -------------------------------------------------------------------- table


# How a file saved as an Excel workbook (.xlsx, a zip) begins.
_WORKBOOK_MAGIC = b"PK\x03\x04"


def _is_workbook(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == _WORKBOOK_MAGIC
    except OSError:
        return False  # read_text_file says why


def _read(path: Path, parse: Callable[..., CsvRead[_R]]) -> CsvRead[_R]:
    source = str(path)
    if _is_workbook(path):
        # The workbook itself, not its CSV: "not UTF-8" would send the clerk
        # looking for an encoding setting.
        return CsvRead(
            issues=[OrgIssue(0, "orgcsv.workbook", {"path": source}, source)], usable=False
        )
    try:
        text = read_text_file(path, source=source)
    except OrgChartInvalid as invalid:
        # A CSV file comes from a spreadsheet: say how Excel saves it right.
        issues = [
            dataclasses.replace(i, key="orgcsv.wrong_encoding")
            if i.key == "org.file_not_utf8"
            else i
            for i in invalid.issues
        ]
        return CsvRead(issues=issues, usable=False)
    result: CsvRead[_R] = parse(text, source=source)
    return result


@dataclass(frozen=True)
class _Row:
    line: int
    cells: dict[str, str]  # column key -> the cell, stripped


_SEP_LINE = re.compile(r"sep=(.)", re.IGNORECASE)


def _sniff_delimiter(text: str) -> str:
    """The separator the header row uses most (a header is made of names, which
    hold no commas or semicolons); a comma when it has none.  A first line
    ``sep=;`` (written for Excel by many programs) names it outright."""
    header = next((line for line in text.removeprefix("\ufeff").splitlines() if line.strip()), "")
    named = _SEP_LINE.fullmatch(header.strip())
    if named is not None:
        return named.group(1)
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _is_sep_line(cells: list[str]) -> bool:
    """``sep=;`` as the reader splits it on the separator it names: ``["sep=", ""]``."""
    return cells[0].lower() == "sep=" and not any(cells[1:])


# Columns of free text, cleaned as names are (`clean_name`); every other
# column holds codes, ids and keywords (`bare_code`).
_TEXT_COLUMNS = frozenset({"name"})


def _cell(key: str, written: str) -> str:
    return written if key in _TEXT_COLUMNS else bare_code(written)


class _Table:
    """One CSV file: its header matched against ``columns``, then its rows."""

    def __init__(self, text: str, source: str, columns: tuple[Column, ...]) -> None:
        self.source = source
        self.issues: list[OrgIssue] = []
        self.usable = True
        self.delimiter = _sniff_delimiter(text)
        # Where each column is (index), and how the header wrote it.
        self._index: dict[str, int] = {}
        self.header_names: dict[str, str] = {}
        self._unnamed: list[int] = []
        self._unnamed_reported: set[int] = set()
        # Composed letters, whatever program wrote the file, so that names
        # compare equal to the same names typed elsewhere.
        self._records = self._split(unicodedata.normalize("NFC", text.removeprefix("\ufeff")))
        self._width = 0
        if self._records and _is_sep_line(self._records[0][1]):
            self._records.pop(0)  # `sep=;`: Excel's hint, not the header
        if self._records:
            header_line, header = self._records.pop(0)
            self._width = len(header)
            self._read_header(header_line, header, columns)
        elif self.usable:
            self._issue(1, "orgcsv.empty_file")
            self.usable = False
        self.rows = self._data_rows() if self.usable else []

    def _issue(self, line: int, key: str, /, **params: str) -> None:
        self.issues.append(OrgIssue(line, key, dict(params), self.source))

    def _split(self, text: str) -> list[tuple[int, list[str]]]:
        """Non-blank records with the line each starts on; a quoted cell may
        span lines, so lines are counted by the reader, not by splitting."""
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True)
        out: list[tuple[int, list[str]]] = []
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error:
                self._issue(start, "orgcsv.bad_quotes")
                self.usable = False
                break
            cells = [cell.strip() for cell in record]
            if any(cells):
                out.append((start, cells))
        return out

    def _read_header(self, line: int, header: list[str], columns: tuple[Column, ...]) -> None:
        by_name = {name: column for column in columns for name in column.names()}
        ignored = {_fold(name) for name in IGNORED_COLUMNS}
        for index, written in enumerate(header):
            folded = _fold(written)
            if not folded:
                self._unnamed.append(index)
                continue
            column = by_name.get(folded)
            if column is None:
                if folded not in ignored:
                    allowed = ", ".join(c.label() for c in columns)
                    self._issue(line, "orgcsv.unknown_column", column=written, allowed=allowed)
                continue
            if column.key in self._index:
                self._issue(line, "orgcsv.duplicate_column", column=written)
                continue
            self._index[column.key] = index
            self.header_names[column.key] = written
        for column in columns:
            if column.required and column.key not in self._index:
                self._issue(line, "orgcsv.missing_column", column=column.name)
                self.usable = False

    def _data_rows(self) -> list[_Row]:
        """The data rows whose cells line up with the header; the others are
        issues (an unquoted separator inside a cell shifts every cell after it,
        so nothing in such a row can be trusted)."""
        out: list[_Row] = []
        for line, cells in self._records:
            # Spreadsheets write every row as wide as the header; even a blank
            # extra cell more likely comes from a separator typed into a cell.
            if len(cells) != self._width:
                self._issue(
                    line,
                    "orgcsv.wrong_cell_count",
                    found=str(len(cells)),
                    expected=str(self._width),
                    separator=self.delimiter.replace("\t", "Tab"),
                )
                continue
            for index in self._unnamed:
                if cells[index] and index not in self._unnamed_reported:
                    self._unnamed_reported.add(index)
                    self._issue(line, "orgcsv.unnamed_column", number=str(index + 1))
            out.append(
                _Row(line, {key: _cell(key, cells[index]) for key, index in self._index.items()})
            )
        return out

    def cell(self, row: _Row, key: str) -> str:
        return row.cells.get(key, "")

    def required(self, row: _Row, key: str) -> str | None:
        """The cell, or None and an issue when it is empty."""
        value = self.cell(row, key)
        if not value:
            self._issue(row.line, "orgcsv.empty_cell", column=self.header_names[key])
            return None
        return value

    def items(self, row: _Row, key: str, *, required: bool) -> tuple[str, ...]:
        """The values of a several-values cell, in order, without repeats."""
        values = (v.strip() for v in _LIST_SEPARATORS.split(self.cell(row, key)))
        out = tuple(dict.fromkeys(v for v in values if v))
        if required and not out:
            self._issue(row.line, "orgcsv.empty_cell", column=self.header_names[key])
        return out

    def issue(self, row: _Row, key: str, /, **params: str) -> None:
        self._issue(row.line, key, **params)


# -------------------------------------------------------------------- staff


def _staff_record(table: _Table, row: _Row) -> StaffRecord | None:
    staff_id = table.required(row, "id")
    if staff_id is not None and not CODE_RE.match(staff_id):
        # Kept, so that references to it do not pile up "unknown" issues too.
        table.issue(row, "org.bad_code", field=table.header_names["id"], code=staff_id)
    name = table.required(row, "name")
    if name is not None:
        # Shown on cards, the dashboard and digests: no character that could
        # reorder or forge their lines, and never a name nobody can see.
        name = clean_name(name) or None
        if name is None:
            table.issue(row, "orgcsv.invisible_name", column=table.header_names["name"])

    roles: set[Role] = set()
    role_names = table.items(row, "roles", required=True)
    for written in role_names:
        role = _ROLE_NAMES.get(_fold(written))
        if role is None:
            table.issue(row, "orgcsv.unknown_role", role=written)
        else:
            roles.add(role)

    wards = table.items(row, "wards", required=False)
    if roles & _WARD_BOUND_ROLES and not wards:
        table.issue(
            row,
            "orgcsv.staff_without_wards",
            staff=staff_id or "?",
            column=table.header_names["wards"],
        )

    telegram_id: int | None = None
    written_id = table.cell(row, "telegram_id")
    if written_id:
        if _DIGITS.match(written_id) and int(written_id) > 0:
            telegram_id = int(written_id)
        else:
            table.issue(row, "orgcsv.bad_telegram_id", value=written_id)

    zalo_id = table.cell(row, "zalo_id") or None
    if zalo_id is not None and _EXCEL_NUMBER.match(zalo_id):
        # Excel took the id for a number and kept only its first digits.
        table.issue(row, "orgcsv.zalo_id_as_number", value=zalo_id)
        zalo_id = None
    elif zalo_id is not None and not valid_account_id(ZALO, zalo_id):
        table.issue(row, "org.bad_zalo_id", value=zalo_id)
        zalo_id = None

    if staff_id is None:
        return None
    return StaffRecord(
        source=table.source,
        line=row.line,
        id=staff_id,
        name=name,
        roles=frozenset(roles),
        wards=wards,
        telegram_id=telegram_id,
        zalo_id=zalo_id,
    )
