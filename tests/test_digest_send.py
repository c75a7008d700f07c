"""The weekly digest through the real Application over the fake Bot API:
Monday 07:30 once, the catch-up after downtime, the monthly ranking on the
first Monday, and /digest, /stats, /export for leaders only."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, SentMessage, UploadedFile
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    OTHER_WARD_LEADER,
    WARD_CHAIR,
    WARD_SECRETARY,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
    to,
)
from tests.spreadsheet import open_like_excel

pytestmark = pytest.mark.both_engines

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OTHER_CITY_LEADER = 7092
LEADERS = {WARD_CHAIR, WARD_SECRETARY, OTHER_WARD_LEADER, CITY_LEADER, OTHER_CITY_LEADER}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def digests(messages: list[SentMessage]) -> list[SentMessage]:
    """The digest messages among what was sent (leaders also get escalations)."""
    return [
        m
        for m in messages
        if m.chat_id in LEADERS
        and (m.kind == "photo" or "BÁO CÁO TUẦN" in (m.text or "") or "WEEKLY" in (m.text or ""))
    ]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def uploaded(message: SentMessage, field: str) -> bytes:
    upload = message.params[field]
    assert isinstance(upload, UploadedFile)
    return upload.content


async def a_week_of_work(bot: BotDriver, clock: ManualClock) -> None:
    """Tuesday 17/11 (week 47): three reports in Hồng Hải; one resolved on
    time, one rejected, one left to go overdue."""
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    for n in range(3):
        await file_sanitation_report(bot, bot.user(501 + n, f"Dân {n}"))
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(cadre, "j:2")
    await bot.choose(cadre, "duplicate")
    await bot.send(cadre.text("Trùng PA-000001"))


@pytest.fixture
async def db_path(where: Path | PostgresUrl, chart: OrgChart) -> Path | PostgresUrl:
    """The database (either engine's), with the example chart."""
    await load_chart(where, chart)
    return where


async def test_monday_0730_each_leader_gets_the_digest_once(db_path: Path | PostgresUrl) -> None:
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock) as bot:
        assert bot.startup_messages == [], "the first run sends nothing for weeks gone by"
        await a_week_of_work(bot, clock)
        clock.set(at(11, 23, 7, 20))
        assert digests(await bot.tick()) == []
        clock.set(at(11, 23, 7, 30))
        sent = digests(await bot.tick())
        for step in range(12):  # the rest of the morning: nothing more
            clock.set(at(11, 23, 7, 40) + timedelta(minutes=5 * step))
            assert digests(await bot.tick()) == []

    assert {m.chat_id for m in sent} == LEADERS
    chair = to(sent, bot.user(WARD_CHAIR, "Hùng"))
    assert [m.kind for m in chair] == ["text", "photo"]
    text = chair[0].text or ""
    assert "BÁO CÁO TUẦN 47/2026 (16/11/2026 – 22/11/2026)" in text
    assert "Phường Hồng Hải" in text
    assert "• Tiếp nhận: 3" in text
    assert "• Giải quyết đúng hạn: 1" in text
    assert "• Không tiếp nhận: 1" in text
    assert "• Quá hạn: 1" in text
    assert "Tỷ lệ đúng hạn: 50,0 %" in text
    assert "Theo cán bộ phụ trách:" in text
    assert "PA-000003 — Vũ Đức Thắng — quá hạn" in text
    width, height = png_size(uploaded(chair[1], "photo"))
    assert 600 <= width <= 1200 and height > width, "portrait, for a phone"
    city = to(sent, bot.user(CITY_LEADER, "Sơn"))
    assert "Toàn thành phố (2 phường, xã)" in (city[0].text or "")
    assert "🥇 1. Phường Hồng Hải — 50,0 %" in (city[0].text or "")
    other = to(sent, bot.user(OTHER_WARD_LEADER, "Khánh"))
    assert "Phường Bạch Đằng" in (other[0].text or "")
    assert "• Tiếp nhận: 0" in (other[0].text or "")


async def test_after_downtime_the_digest_goes_out_once_when_back(
    db_path: Path | PostgresUrl,
) -> None:
    api = FakeBotApi()
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock, api) as bot:
        await a_week_of_work(bot, clock)
    clock.set(at(11, 24, 10))  # down from Tuesday to Tuesday: Monday 07:30 was missed
    async with started_bot(db_path, clock, api) as again:
        caught_up = digests(again.startup_messages)
        clock.set(at(11, 24, 10, 30))
        assert digests(await again.tick()) == []
    async with started_bot(db_path, clock, api) as third:
        assert digests(third.startup_messages) == []
    assert {m.chat_id for m in caught_up} == LEADERS
    assert all("TUẦN 47/2026" in (m.text or "") for m in caught_up if m.kind == "text"), (
        "the week that was missed"
    )


async def test_not_in_the_quiet_hours(db_path: Path | PostgresUrl) -> None:
    api = FakeBotApi()
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock, api):
        pass
    clock.set(at(11, 23, 22))  # back on Monday night
    async with started_bot(db_path, clock, api) as bot:
        assert digests(bot.startup_messages) == []
        clock.set(at(11, 24, 7, 0))
        assert {m.chat_id for m in digests(await bot.tick())} == LEADERS


async def test_the_first_monday_of_a_month_ranks_the_month(db_path: Path | PostgresUrl) -> None:
    clock = ManualClock(at(11, 26, 9))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"))
        clock.set(at(11, 30, 7, 30))
        last_of_november = joined(to(digests(await bot.tick()), bot.user(CITY_LEADER, "Sơn")))
        clock.set(at(12, 7, 7, 30))
        first_of_december = joined(to(digests(await bot.tick()), bot.user(CITY_LEADER, "Sơn")))
    assert "TUẦN 48/2026" in last_of_november
    assert "Xếp hạng tháng" not in last_of_november
    assert "TUẦN 49/2026" in first_of_december
    assert "🏆 Xếp hạng tháng 11/2026" in first_of_december


async def test_switched_off_nothing_is_sent(db_path: Path | PostgresUrl) -> None:
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock, digest=None) as bot:
        clock.set(at(11, 23, 7, 30))
        assert digests(await bot.tick()) == []
        sent = await bot.send(bot.user(WARD_CHAIR, "Hùng").command("digest"))
        assert "BÁO CÁO TUẦN 47/2026" in joined(sent), "on demand it still works"


# ---- on demand ------------------------------------------------------------------------------


@pytest.fixture
async def worked(db_path: Path | PostgresUrl) -> tuple[Path | PostgresUrl, ManualClock]:
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock) as bot:
        await a_week_of_work(bot, clock)
    clock.set(at(11, 24, 10))
    return db_path, clock


async def test_digest_on_demand_for_each_leader_in_their_scope(
    worked: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        sent = await bot.send(chair.command("digest"))
        assert [m.kind for m in sent] == ["text", "photo"]
        assert "BÁO CÁO TUẦN 47/2026" in joined(sent)
        assert "Phường Hồng Hải" in joined(sent)
        sent = await bot.send(chair.command("digest", "2026-W48"))
        assert "BÁO CÁO TUẦN 48/2026" in joined(sent)
        sent = await bot.send(chair.command("digest", "BACHDANG"))
        assert joined(sent) == "Bạn chỉ xem được số liệu của phường, xã mình phụ trách."
        sent = await bot.send(chair.command("digest", "2026-W60"))
        assert joined(sent) == "Tuần viết theo dạng 2026-W47."

        city = bot.user(CITY_LEADER, "Sơn")
        assert "Toàn thành phố" in joined(await bot.send(city.command("digest")))
        one = joined(await bot.send(city.command("digest", "bachdang")))
        assert "Phường Bạch Đằng" in one and "Toàn thành phố" not in one

        await bot.send(city.command("lang", "en"))
        english = joined(await bot.send(city.command("digest")))
        assert "WEEKLY DIGEST, WEEK 47/2026" in english
        assert "On-time rate: 50.0%" in english


@pytest.mark.parametrize("command", ["digest", "stats", "export"])
@pytest.mark.parametrize("who", [501, ENVIRONMENT_CADRE])
async def test_residents_and_cadres_are_refused_politely(
    worked: tuple[Path | PostgresUrl, ManualClock], command: str, who: int
) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        person = bot.user(who, "Ai đó")
        sent = await bot.send(person.command(command, "week"))
        assert [m.chat_id for m in sent] == [who]
        assert sent[0].text == (
            "Báo cáo, số liệu và danh sách chỉ dành cho lãnh đạo phường, xã và thành phố."
        )
        await bot.send(person.command("lang", "en"))
        sent = await bot.send(person.command(command))
        assert sent[0].text == "Digests, figures and lists are for ward and city leaders only."


async def test_stats_week_month_year(worked: tuple[Path | PostgresUrl, ManualClock]) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        usage = joined(await bot.send(chair.command("stats")))
        assert usage.startswith("Gõ /stats week")
        week = joined(await bot.send(chair.command("stats", "week")))
        assert week.startswith("📈 Số liệu tuần 48/2026 (23/11/2026 – 24/11/2026)")
        assert "• Tiếp nhận: 0" in week
        assert "• Quá hạn: 1" in week, "the one left open is overdue now"
        month = joined(await bot.send(chair.command("stats", "tháng")))
        assert month.startswith("📈 Số liệu tháng 11/2026")
        assert "• Tiếp nhận: 3" in month
        year = joined(await bot.send(chair.command("stats", "year")))
        assert "năm 2026" in year and "• Giải quyết đúng hạn: 1" in year
        other = bot.user(OTHER_WARD_LEADER, "Khánh")
        assert "• Tiếp nhận: 0" in joined(await bot.send(other.command("stats", "month")))


async def test_export_as_csv_and_xlsx_with_vietnamese_headers(
    worked: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        sent = await bot.send(chair.command("export", "month"))
        assert [m.kind for m in sent] == ["document", "document"]
        assert sent[0].text == "Danh sách phản ánh tháng 11/2026: 3 dòng."
        csv_bytes = uploaded(sent[0], "document")
        assert csv_bytes.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
        table = open_like_excel(csv_bytes)
        assert table[0][:4] == ["Mã phản ánh", "Ngày gửi", "Phường, xã", "Tổ dân phố"]
        assert "Hạn giải quyết" in table[0] and "Kết quả" in table[0]
        by_code = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
        assert sorted(by_code) == ["PA-000001", "PA-000002", "PA-000003"]
        assert by_code["PA-000001"]["Kết quả"] == "Đúng hạn"
        assert by_code["PA-000001"]["Đúng hạn"] == "Có"
        assert by_code["PA-000002"]["Kết quả"] == "Không tiếp nhận"
        assert by_code["PA-000003"]["Kết quả"] == "Quá hạn"
        assert by_code["PA-000003"]["Cán bộ phụ trách"] == "Vũ Đức Thắng"
        assert by_code["PA-000003"]["Ngày gửi"] == "17/11/2026 09:00"

        workbook = openpyxl.load_workbook(io.BytesIO(uploaded(sent[1], "document")))
        sheet = workbook["Phản ánh"]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == table[0]
        assert len(rows) == 4
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first["Mã phản ánh"] == "PA-000001"
        assert first["Ngày gửi"] == datetime(2026, 11, 17, 9, 0)
        assert first["Tổ dân phố"] == "Tổ dân phố 3"
        assert sheet.freeze_panes == "A2"

        await bot.send(chair.command("lang", "en"))
        sent = await bot.send(chair.command("export", "week"))
        english = open_like_excel(uploaded(sent[0], "document"))
        assert english[0][:3] == ["Code", "Received", "Ward"]
        assert [row[0] for row in english[1:]] == ["PA-000003"], "open at the week's end"


async def test_a_past_weeks_hotspot_counts_what_was_still_open_at_that_weeks_end(
    db_path: Path,
) -> None:
    """Three reports of rubbish in one group in week 47, none fixed by its
    end; two fixed in week 48.  Week 47's digest, asked in week 48, still
    says all three were open at the end of week 47."""
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock) as bot:
        for n in range(3):
            await file_sanitation_report(bot, bot.user(501 + n, f"Dân {n}"))
        clock.set(at(11, 24, 9))
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        for code in (1, 2):
            await bot.press(cadre, f"r:{code}")
            await bot.send(cadre.text("Đã thu gom"))
            await bot.choose(cadre, "s")
        clock.set(at(11, 24, 10))
        chair = bot.user(WARD_CHAIR, "Hùng")
        week_47 = joined(await bot.send(chair.command("digest", "2026-W47")))
        week_48 = joined(await bot.send(chair.command("digest", "2026-W48")))
    place = "Tổ dân phố 3 (Phường Hồng Hải)"
    assert f"Rác không được thu gom — {place}: 3 lần, 3 chưa xong" in week_47
    assert f"Rác không được thu gom — {place}: 3 lần, 1 chưa xong" in week_48
