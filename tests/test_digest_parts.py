"""The digest's smaller pieces: ISO weeks in local time, when Monday's
digest is due, ranking with ties, hotspots, numbers the Vietnamese way, and
`phananh digest` on the command line."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.domain import digest as d
from bot.domain.orgchart import GeoPoint, OrgChart
from bot.domain.text import split_text
from bot.i18n import format_decimal, format_number, format_percent, t
from bot.report.present import Presenter
from bot.report.text import duration, overdue_for
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore
from tests.catalogue import digest_part, says
from tests.digest_data import Generator, write
from tests.spreadsheet import open_like_excel

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(y: int, m: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, day, hour, minute, tzinfo=TZ)


# ---- periods ----------------------------------------------------------------------------


def test_an_iso_week_is_monday_to_monday_local_time() -> None:
    week = d.parse_week("2026-W47", TZ)
    assert week.start == local(2026, 11, 16).astimezone(UTC)
    assert week.start == datetime(2026, 11, 15, 17, 0, tzinfo=UTC)
    assert week.end - week.start == timedelta(days=7)
    assert week.last_day(TZ) == date(2026, 11, 22)
    assert d.parse_week("2026w47", TZ) == week
    assert d.week_of(local(2026, 11, 22, 23, 59), TZ) == week
    assert d.previous_week(local(2026, 11, 23, 7, 30), TZ) == week
    assert d.parse_week("2026-W53", TZ).key == "2026-W53", "2026 has 53 ISO weeks"


@pytest.mark.parametrize("text", ["2026-47", "W47", "2025-W53", "2026-W00", "tuần 47", ""])
def test_malformed_weeks_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="week"):
        d.parse_week(text, TZ)


def test_months_years_and_to_date() -> None:
    december = d.month(2026, 12, TZ)
    assert (december.start, december.end) == (
        local(2026, 12, 1).astimezone(UTC),
        local(2027, 1, 1).astimezone(UTC),
    )
    now = local(2026, 11, 24, 10).astimezone(UTC)
    ytd = d.year_to(now, TZ)
    assert ytd.key == "2026" and ytd.end == now and not ytd.complete
    assert d.period_to_date(d.PeriodKind.WEEK, now, TZ).start == local(2026, 11, 23).astimezone(UTC)
    assert d.previous_month(now, TZ).key == "2026-10"
    weeks = d.weeks_before(d.parse_week("2026-W02", TZ), 3, TZ)
    assert [w.key for w in weeks] == ["2025-W52", "2026-W01", "2026-W02"]


@pytest.mark.parametrize(
    ("now", "week", "month"),
    [
        (local(2026, 11, 30, 7, 29), "2026-W47", None),  # before 07:30: last Monday's
        (local(2026, 11, 30, 7, 30), "2026-W48", None),
        (local(2026, 12, 3, 15), "2026-W48", None),
        (local(2026, 12, 7, 7, 30), "2026-W49", "2026-11"),  # the first Monday of December
        (local(2026, 12, 13, 23), "2026-W49", "2026-11"),
        (local(2026, 12, 14, 8), "2026-W50", None),
    ],
)
def test_when_the_digest_is_due(now: datetime, week: str, month: str | None) -> None:
    due_week, due_month = d.DigestSchedule().due(now.astimezone(UTC), TZ)
    assert due_week.key == week
    assert (due_month.key if due_month else None) == month


def test_the_digest_time_is_configurable() -> None:
    assert load_settings({}).digest == d.DigestSchedule(0, time(7, 30))
    friday = load_settings({"PHANANH_DIGEST_TIME": "Friday 16:00"}).digest
    assert friday == d.DigestSchedule(4, time(16, 0))
    assert load_settings({"PHANANH_DIGEST_TIME": "off"}).digest is None
    with pytest.raises(ConfigError):
        load_settings({"PHANANH_DIGEST_TIME": "07:30"})


# ---- ranking and hotspots ---------------------------------------------------------------


def test_ranking_by_rate_then_volume_ties_share_a_rank() -> None:
    groups = {
        "A": d.Counts(received=10, on_time=9, late=1),  # 90 %
        "B": d.Counts(received=20, on_time=9, late=1),  # 90 %, busier
        "C": d.Counts(received=5, on_time=1),  # 100 %
        "D": d.Counts(received=10, on_time=9, overdue=1),  # 90 %, same volume as A
        "E": d.Counts(received=3, in_progress=3),  # nothing due: no rate
    }
    ranked = d.rank(groups, ["F"])
    assert [(r.key, r.rank) for r in ranked] == [
        ("C", 1),
        ("B", 2),
        ("A", 3),
        ("D", 3),
        ("E", None),
        ("F", None),
    ]
    assert [r.key for r in ranked if r.honoured] == ["C", "B", "A", "D"]


def test_nobody_is_honoured_for_nothing_done_on_time() -> None:
    groups = {
        "A": d.Counts(received=4, on_time=1, overdue=3),  # 25 %
        "B": d.Counts(received=2, overdue=2),  # 0 %: second, but no medal
    }
    ranked = d.rank(groups)
    assert [(r.key, r.rank, r.honoured) for r in ranked] == [("A", 1, True), ("B", 2, False)]


def _seen(i: int, area: str, lon: float | None = None, category: str = "RKTG") -> d.Sighting:
    where = GeoPoint(lon=lon, lat=20.95) if lon is not None else None
    return d.Sighting(i, category, area, datetime(2026, 11, i, tzinfo=UTC), i % 2 == 0, where)


def test_hotspots_same_group_or_within_100_m() -> None:
    metre = 1 / 104_000  # of longitude at 21° N, roughly
    found = d.hotspots(
        [
            _seen(1, "G1"),
            _seen(2, "G1"),
            _seen(3, "G1"),  # three in one group
            _seen(4, "G2", 107.0),
            _seen(5, "G3", 107.0 + 60 * metre),
            _seen(6, "G4", 107.0 + 120 * metre),  # a chain: each within 100 m of the next
            _seen(7, "G5", 107.5),
            _seen(8, "G5", 107.6, category="DOTRAC"),  # another category
            _seen(9, "G6", 107.9),
            _seen(10, "G6", 107.9 + 150 * metre),  # too far, and only two
        ]
    )
    assert [(h.category, h.areas, h.ids, h.open_count) for h in found] == [
        ("RKTG", ("G2", "G3", "G4"), (4, 5, 6), 2),  # as many, more still open: first
        ("RKTG", ("G1",), (1, 2, 3), 1),
    ]


# ---- numbers and text -------------------------------------------------------------------


def test_numbers_the_vietnamese_way() -> None:
    assert format_number(17911, "vi") == "17.911"
    assert format_number(17911, "en") == "17,911"
    assert format_percent(0.9738, "vi") == "97,4%"
    assert format_percent(0.9738, "en") == "97.4%"
    assert format_percent(1.0, "vi") == "100%", "a whole number without its decimals"
    assert format_percent(0.5, "en") == "50%"
    assert format_percent(0.635, "vi") == "63,5%"
    assert format_percent(None, "vi") == "—"
    assert format_decimal(1234.56, "vi") == "1.234,6"
    assert format_decimal(4.25, "en", 2) == "4.25"
    assert duration(None, "vi") == "—"
    assert duration(45 * 60, "vi") == "45 phút"
    assert duration(2 * 3600 + 15 * 60, "vi") == "2 giờ 15 phút"
    assert duration(28 * 3600, "en") == "1 d 4 h"


def test_a_time_on_the_hour_or_the_day_says_no_zero() -> None:
    """The digest said "trong vòng 8 giờ 0 phút" for a median of 8 hours."""
    assert duration(8 * 3600, "vi") == "8 giờ"
    assert duration(48 * 3600, "vi") == "2 ngày"
    assert Presenter(TZ).duration("vi", timedelta(days=3)) == "3 ngày"
    assert overdue_for(timedelta(days=1), "en") == "1 d"


def test_long_text_is_split_at_line_ends() -> None:
    text = "\n".join(f"dòng {i} " + "x" * 50 for i in range(200))
    pieces = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text


# ---- the chart ---------------------------------------------------------------------------


def _small_digest(received: list[int], overdue: list[int]) -> d.Digest:
    """A digest with only what the chart draws: eight weeks of counts and
    the overdue of two wards."""
    weeks = d.weeks_before(d.iso_week(2026, 47, TZ), 8, TZ)
    return d.Digest(
        scope=d.Scope(("HONGHAI",)),
        week=weeks[-1],
        year=d.year_to(weeks[-1].end, TZ),
        week_counts=d.Counts(),
        week_timing=d.Timing(),
        year_counts=d.Counts(),
        year_timing=d.Timing(),
        breakdowns=(),
        ward_ranking=(),
        cadre_ranking=(),
        hotspots=(),
        oldest_overdue=(),
        trend=tuple(d.TrendPoint(w, n, n // 2) for w, n in zip(weeks, received, strict=True)),
        overdue_by_ward=tuple(zip(("HONGHAI", "BACHDANG"), overdue, strict=True)),
    )


def _ticks(axis: Any) -> list[tuple[float, str]]:
    """The ticks drawn inside the axis' view, with their labels."""
    low, high = sorted(axis.get_view_interval())
    return [
        (tick.get_loc(), tick.label1.get_text())
        for tick in axis.get_major_ticks()
        if low <= tick.get_loc() <= high
    ]


@pytest.mark.parametrize(
    ("received", "overdue"),
    [
        ([3, 12, 7, 0, 9, 11, 4, 6], [2, 1]),  # ticks read "0 2 5 7 10 12" before
        ([0, 1, 0, 2, 1, 0, 0, 1], [1, 0]),  # and "0 0 1 1 2"
        ([1200, 3400, 2100, 900, 4000, 3900, 2500, 3100], [17, 5]),
    ],
)
def test_the_chart_counts_in_whole_numbers_and_names_weeks_by_their_monday(
    chart: OrgChart, received: list[int], overdue: list[int]
) -> None:
    from bot.report.chart import chart_figure

    figure = chart_figure(_small_digest(received, overdue), chart, "vi", TZ)
    trend, by_ward = figure.axes
    for axis in (trend.yaxis, by_ward.xaxis):
        ticks = _ticks(axis)
        assert len(ticks) >= 2
        assert all(loc == round(loc) for loc, _ in ticks), ticks
        assert [label for _, label in ticks] == [
            format_number(round(loc), "vi") for loc, _ in ticks
        ]
        assert len({label for _, label in ticks}) == len(ticks), "no label twice"
    weeks = [label.get_text() for label in trend.get_xticklabels()]
    assert weeks == ["28/09", "05/10", "12/10", "19/10", "26/10", "02/11", "09/11", "16/11"]
    assert trend.get_xlabel() == t("vi", "digest.chart_weeks_axis")


# ---- the command line -------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    return db


async def _seeded(db_path: Path, chart: OrgChart) -> None:
    db = await Database.open(db_path)
    await SqliteStore(db).replace_org(chart)
    week = d.parse_week("2026-W47", TZ)
    await write(db, Generator(chart, week.start - timedelta(days=30), 37, [week.end], 9).many(400))
    await db.close()


def test_the_cli_writes_text_chart_and_exports(
    cli_env: Path, chart: OrgChart, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(cli_env, chart))
    out = tmp_path / "giao-ban"
    code = main(["digest", "--ward", "honghai", "--week", "2026-W47", "--out", str(out)])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert said.out.strip() == t(
        "vi",
        "cli.digest_written",
        week="2026-W47",
        scope="HONGHAI",
        out=out,
    )
    text = (out / "digest.txt").read_text("utf-8")
    assert text.startswith(
        t(
            "vi",
            "digest.title",
            number=47,
            year=2026,
            start="16/11/2026",
            end="22/11/2026",
            scope="Phường Hồng Hải",
        )
    )
    assert t("vi", "digest.by_area") in text, "the summary, then the details"
    assert not says(text, "digest.more"), "the printout lists everything"
    png = (out / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (792, 1056)
    assert 20_000 < len(png) < 400_000
    rows = open_like_excel((out / "complaints.csv").read_bytes())
    assert rows[0][0] == t("vi", "export.code") and len(rows) > 10
    sheet = openpyxl.load_workbook(out / "complaints.xlsx").active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:2] == [t("vi", "export.code"), t("vi", "export.created")]
    assert sheet.max_row == len(rows)

    code = main(["digest", "--all", "--week", "2026-W47", "--out", str(out), "--lang", "en"])
    assert code == 0
    english = (out / "digest.txt").read_text("utf-8")
    assert digest_part(english) == "summary"
    assert says(english, "digest.title", "en", number=47, year=2026)
    assert says(english, "digest.scope_city", "en", upper="Hạ Long City", count=2)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--ward", "NOWHERE", "--week", "2026-W47"], 2, "Không có phường, xã mã NOWHERE"),
        (["--ward", "HONGHAI", "--week", "47"], 2, "Tuần 47 không hợp lệ"),
        (["--all", "--week", "2026-W54"], 2, "Tuần 2026-W54 không hợp lệ"),
        # A week to come (a year mistyped) has no figures: none are made up.
        (["--all", "--week", "2999-W05"], 2, "Tuần 2999-W05 chưa bắt đầu"),
    ],
)
def test_cli_mistakes_are_one_line_and_an_exit_code(
    cli_env: Path,
    chart: OrgChart,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    asyncio.run(_seeded(cli_env, chart))
    assert main(["digest", *args, "--out", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_briefing_never_writes_through_a_link_planted_in_its_folder(
    cli_env: Path, chart: OrgChart, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(cli_env, chart))
    out = tmp_path / "giao-ban"
    out.mkdir()
    victim = tmp_path / "bao-cao-that.xlsx"
    victim.write_bytes(b"do not touch")
    (out / "complaints.xlsx").symlink_to(victim)
    assert main(["digest", "--ward", "HONGHAI", "--week", "2026-W47", "--out", str(out)]) == 0
    assert victim.read_bytes() == b"do not touch"
    assert not (out / "complaints.xlsx").is_symlink()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["digest.txt", "chart.png", "complaints.csv", "complaints.xlsx"]
    )


def test_a_briefing_folder_that_is_a_file_is_one_line(
    cli_env: Path, chart: OrgChart, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(cli_env, chart))
    taken = tmp_path / "giao-ban.txt"
    taken.write_text("ghi chú", encoding="utf-8")
    assert main(["digest", "--all", "--week", "2026-W47", "--out", str(taken)]) == 1
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.out_is_file", out=taken)]
    assert taken.read_text(encoding="utf-8") == "ghi chú"


def test_cli_without_an_org_chart(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--all", "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        t("vi", "cli.no_database", db=cli_env, full=cli_env.absolute())
    ], "no database at all: said so, with the path looked at"
    assert not cli_env.exists(), "a read-only command creates no database"


def test_cli_needs_a_ward_or_all(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["digest", "--out", "x"])
    assert exit_info.value.code == 2
    assert "--ward" in capsys.readouterr().err


# ---- the reports' own read connections ---------------------------------------------------


async def test_reports_read_on_their_own_read_only_connections(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "read.db")
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
    async with db.reading() as first, db.reading() as second:
        assert first is not second and first is not db.conn, "two reports side by side"
        async with first.execute("SELECT value FROM meta WHERE key = 'a'") as cur:
            assert tuple(await cur.fetchone() or ()) == ("1",), "sees what was committed"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await second.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
    async with db.reading() as again:
        assert again in (first, second), "reused, not reopened"
    await db.close()
