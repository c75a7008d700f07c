"""Reading an export the way a spreadsheet would, for the tests: what Excel
shows when a ward office opens the CSV by double-click, and which cells a
spreadsheet takes for formulas, in the CSV and in the XLSX.

A model of documented behaviour, not Excel itself: a ``.csv`` opened by
double-click is decoded as UTF-8 when it starts with the UTF-8 byte-order
mark, otherwise in the PC's ANSI code page (1258 for Vietnamese); its lines
are split at the *list separator* of the PC's regional settings (``;`` where
``,`` is the decimal mark, as in Vietnamese), with RFC 4180 quotes; and a
cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return, per OWASP) is taken for a formula.  In an XLSX a cell is a
formula when the sheet's XML gives it an ``<f>`` element (openpyxl reads it
back with ``data_type == "f"``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

import openpyxl

UTF8_BOM = b"\xef\xbb\xbf"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Region:
    """The regional settings Excel takes a CSV's layout from."""

    list_separator: str
    ansi_code_page: str


VIETNAMESE = Region(list_separator=";", ansi_code_page="cp1258")
ENGLISH_US = Region(list_separator=",", ansi_code_page="cp1252")


def open_like_excel(data: bytes, region: Region = VIETNAMESE) -> list[list[str]]:
    """The cells Excel shows for a CSV file's bytes, row by row."""
    if data.startswith(UTF8_BOM):
        text = data[len(UTF8_BOM) :].decode("utf-8")
    else:
        text = data.decode(region.ansi_code_page, errors="replace")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=region.list_separator))


def csv_formulas(table: list[list[str]]) -> list[str]:
    """The cells a spreadsheet would evaluate."""
    return [cell for row in table for cell in row if cell.startswith(FORMULA_STARTS)]


def xlsx_cells(data: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def xlsx_formulas(data: bytes) -> list[str]:
    """The formula cells of every sheet: ``<f>`` elements in the XML, and
    what openpyxl reads back as formulas."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        raw = [
            name for name in sheets if b"<f>" in archive.read(name) or b"<f " in archive.read(name)
        ]
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    read = [
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    return raw + read
