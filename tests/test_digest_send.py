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
from bot.i18n import t
from bot.report.export import COLUMNS
from bot.report.text import SUMMARY_LIMIT
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, SentMessage, UploadedFile
from handlers.telegram.render import utf16_len
from tests.catalogue import digest_part, opens_with, says
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
        if m.chat_id in LEADERS and (m.kind == "photo" or digest_part(m.text) is not None)
    ]


def counts(**values: int) -> dict[str, str]:
    """The five counts as the digest writes them."""
    return {k: str(v) for k, v in values.items()}


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
    assert [m.kind for m in chair] == ["text", "text", "photo"], "the summary, the details, chart"
    summary, details = chair[0].text or "", chair[1].text or ""
    assert [digest_part(summary), digest_part(details)] == ["summary", "details"]
    assert utf16_len(summary) <= SUMMARY_LIMIT, "the summary fits one phone screen"
    assert summary.startswith(
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
    week = counts(received=3, on_time=1, late=0, in_progress=0, overdue=1)
    assert says(summary, "digest.counts", **week)
    assert says(summary, "digest.counting"), "what the counts count, said once"
    assert says(summary, "digest.rate", rate="50%"), "week 46 had nothing due to compare with"
    assert says(summary, "digest.follow_up_cadres", count=1, names="Vũ Đức Thắng (1 việc)")
    assert says(summary, "digest.overdue_oldest", count=1, code="PA-000003", owner="Vũ Đức Thắng")
    assert says(details, "digest.other_outcomes", rejected="1", withdrawn="0")
    assert t("vi", "digest.by_owner") in details
    assert says(details, "digest.oldest_line", code="PA-000003", owner="Vũ Đức Thắng")
    # Two reports left in group 3, and the duplicate's reporter now follows
    # the first (issue 17): three residents reported it, a hotspot.
    assert says(details, "digest.hotspot_line", count="2", residents="3", open="1")
    width, height = png_size(uploaded(chair[2], "photo"))
    assert 600 <= width <= 1200 and height > width, "portrait, for a phone"
    city = to(sent, bot.user(CITY_LEADER, "Sơn"))
    assert says(city[0].text, "digest.scope_city", upper="thành phố Hạ Long", count=2)
    assert says(city[0].text, "digest.top_item", medal="🥇 ", name="Phường Hồng Hải", rate="50%"), (
        "the first three in the summary"
    )
    assert says(city[1].text, "digest.rank_line", medal="🥇 ", rank=1, name="Phường Hồng Hải")
    other = to(sent, bot.user(OTHER_WARD_LEADER, "Khánh"))
    assert "Phường Bạch Đằng" in (other[0].text or "")
    assert says(other[0].text, "digest.counts", **counts(received=0))
    assert says(other[0].text, "digest.no_rate"), "nothing fell due in Bạch Đằng"


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
    summaries = [m.text for m in caught_up if digest_part(m.text) == "summary"]
    assert len(summaries) == len(LEADERS)
    assert all(says(text, "digest.title", number=47, year=2026) for text in summaries), (
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
    assert says(last_of_november, "digest.title", number=48, year=2026)
    assert not says(last_of_november, "digest.ranking_month")
    assert says(first_of_december, "digest.title", number=49, year=2026)
    assert says(first_of_december, "digest.ranking_month", month=11, year=2026)


async def test_switched_off_nothing_is_sent(db_path: Path | PostgresUrl) -> None:
    clock = ManualClock(at(11, 17, 9))
    async with started_bot(db_path, clock, digest=None) as bot:
        clock.set(at(11, 23, 7, 30))
        assert digests(await bot.tick()) == []
        sent = await bot.send(bot.user(WARD_CHAIR, "Hùng").command("digest"))
        assert says(joined(sent), "digest.title", number=47, year=2026), "on demand it still works"


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
        assert [m.kind for m in sent] == ["text", "text", "photo"]
        assert says(joined(sent), "digest.title", number=47, year=2026, scope="Phường Hồng Hải")
        sent = await bot.send(chair.command("digest", "2026-W48"))
        assert says(joined(sent), "digest.title", number=48, year=2026)
        sent = await bot.send(chair.command("digest", "BACHDANG"))
        assert joined(sent) == t("vi", "digest.not_your_ward")
        sent = await bot.send(chair.command("digest", "2026-W60"))
        assert joined(sent) == t("vi", "digest.bad_week")

        city = bot.user(CITY_LEADER, "Sơn")
        assert says(joined(await bot.send(city.command("digest"))), "digest.scope_city")
        one = joined(await bot.send(city.command("digest", "bachdang")))
        assert says(one, "digest.title", scope="Phường Bạch Đằng")
        assert not says(one, "digest.scope_city")

        await bot.send(city.command("lang", "en"))
        english = joined(await bot.send(city.command("digest")))
        assert says(english, "digest.title", "en", number=47, year=2026)
        assert says(english, "digest.rate", "en", rate="50%")


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
        assert sent[0].text == t("vi", "digest.only_leaders")
        await bot.send(person.command("lang", "en"))
        sent = await bot.send(person.command(command))
        assert sent[0].text == t("en", "digest.only_leaders")


async def test_stats_week_month_year(worked: tuple[Path | PostgresUrl, ManualClock]) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        usage = joined(await bot.send(chair.command("stats")))
        assert usage == t("vi", "digest.stats_usage")
        week = joined(await bot.send(chair.command("stats", "week")))
        assert opens_with(
            week, "digest.stats_title", period="tuần 48/2026", start="23/11/2026", end="24/11/2026"
        )
        assert says(week, "digest.counts", **counts(received=0))
        assert says(week, "digest.counts", **counts(overdue=1)), "the one left open is overdue now"
        month = joined(await bot.send(chair.command("stats", "tháng")))
        assert opens_with(month, "digest.stats_title", period="tháng 11/2026")
        assert says(month, "digest.counts", **counts(received=3))
        year = joined(await bot.send(chair.command("stats", "year")))
        assert opens_with(year, "digest.stats_title", period="năm 2026")
        assert says(year, "digest.counts", **counts(on_time=1))
        other = bot.user(OTHER_WARD_LEADER, "Khánh")
        stats = joined(await bot.send(other.command("stats", "month")))
        assert says(stats, "digest.counts", **counts(received=0))


async def test_a_digest_of_this_week_counts_to_now_and_a_week_to_come_is_refused(
    db_path: Path | PostgresUrl,
) -> None:
    """A leader who asks on Monday for the week under way sees it as it is
    now, not a complaint filed that morning "overdue 4 days" at a Sunday
    still to come; a week that has not begun (2027 typed for 2026) has no
    figures to show."""
    clock = ManualClock(at(11, 23, 9))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"))
        clock.advance(timedelta(hours=1))
        chair = bot.user(WARD_CHAIR, "Hùng")
        now = joined(await bot.send(chair.command("digest", "2026-W48")))
        assert says(now, "digest.title", number=48, year=2026, end="23/11/2026")
        assert says(now, "digest.counts", **counts(received=1, in_progress=1, overdue=0))
        assert not says(now, "digest.overdue_oldest")
        for command in ("digest", "stats", "export"):
            sent = await bot.send(chair.command(command, "2027-W05"))
            assert joined(sent) == t("vi", "digest.future_week", number=5, year=2027), command


async def test_stats_with_nothing_due_names_the_period_asked_not_this_week(
    worked: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    """A leader who asks for the month (or the year) where nothing fell due
    is told so of that month, not of "this week"."""
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        other = bot.user(OTHER_WARD_LEADER, "Khánh")
        for words, period in ((["month"], "tháng 11/2026"), (["year"], "năm 2026")):
            stats = joined(await bot.send(other.command("stats", *words)))
            assert says(stats, "digest.no_rate_period", period=period), words
            assert not says(stats, "digest.no_rate"), words
        await bot.send(other.command("lang", "en"))
        stats = joined(await bot.send(other.command("stats", "month")))
        assert says(stats, "digest.no_rate_period", "en", period="11/2026")


async def test_export_as_csv_and_xlsx_with_vietnamese_headers(
    worked: tuple[Path | PostgresUrl, ManualClock],
) -> None:
    db_path, clock = worked
    async with started_bot(db_path, clock) as bot:
        chair = bot.user(WARD_CHAIR, "Hùng")
        sent = await bot.send(chair.command("export", "month"))
        assert [m.kind for m in sent] == ["document", "document"]
        assert sent[0].text == t("vi", "digest.export_caption", period="tháng 11/2026", count=3)
        csv_bytes = uploaded(sent[0], "document")
        assert csv_bytes.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
        table = open_like_excel(csv_bytes)
        assert table[0][:4] == [
            t("vi", f"export.{column}") for column in ("code", "created", "ward", "area")
        ]
        assert t("vi", "export.due") in table[0] and t("vi", "export.outcome") in table[0]
        by_code = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
        assert sorted(by_code) == ["PA-000001", "PA-000002", "PA-000003"]
        column = {key: t("vi", f"export.{key}") for key in COLUMNS}
        outcome, owner, created = column["outcome"], column["owner"], column["created"]
        assert by_code["PA-000001"][outcome] == t("vi", "outcome.on_time")
        assert by_code["PA-000001"][column["on_time"]] == t("vi", "export.yes")
        assert by_code["PA-000002"][outcome] == t("vi", "outcome.rejected")
        assert by_code["PA-000003"][outcome] == t("vi", "outcome.overdue")
        assert by_code["PA-000003"][owner] == "Vũ Đức Thắng"
        assert by_code["PA-000003"][created] == "17/11/2026 09:00"

        workbook = openpyxl.load_workbook(io.BytesIO(uploaded(sent[1], "document")))
        sheet = workbook[t("vi", "export.sheet")]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == table[0]
        assert len(rows) == 4
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first[column["code"]] == "PA-000001"
        assert first[created] == datetime(2026, 11, 17, 9, 0)
        assert first[column["area"]] == "Tổ dân phố 3"
        assert sheet.freeze_panes == "A2"

        await bot.send(chair.command("lang", "en"))
        sent = await bot.send(chair.command("export", "week"))
        english = open_like_excel(uploaded(sent[0], "document"))
        assert english[0][:3] == [t("en", f"export.{key}") for key in ("code", "created", "ward")]
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
    rubbish = "Rác không được thu gom"
    assert says(week_47, "digest.hotspot_line", category=rubbish, place=place, count=3, open=3)
    assert says(week_48, "digest.hotspot_line", category=rubbish, place=place, count=3, open=1)
    assert "— tổ dân phố 3 (phường Hồng Hải):" in week_48, "a place inside a line is lower case"
