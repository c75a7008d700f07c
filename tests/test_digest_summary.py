"""The digest fits a phone: the first message is what a chairman reads out at
the Monday meeting, one screen (at most `SUMMARY_LIMIT` characters as
Telegram counts them), and the details follow in a second message where an
empty section prints nothing, not even its heading.

The length is measured on a realistic week: a few hundred generated
histories over a month in the example chart's two wards (every kind of
outcome, disputes, pauses, transfers), so that every line the summary can
have is there.  The measurement is printed, for the README."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.digests import Digests
from bot.app.services import Services
from bot.domain import digest as d
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.orgio.reader import load_org_file
from bot.report.text import MEDALS, SUMMARY_LIMIT, digest_details, digest_summary, digest_text
from handlers.telegram.render import utf16_len
from storage.sqlite.db import Database
from storage.sqlite.digest import SqliteDigestStore
from storage.sqlite.store import SqliteStore
from tests.catalogue import digest_part, says
from tests.conftest import EXAMPLE_ORG
from tests.digest_data import Generator, write
from tests.factories import (
    CITY_LEADER,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK = "2026-W47"
# About 60 reports a week over the two wards: a busy ward office's month.
REPORTS, DAYS = 400, 37


@dataclass
class Built:
    chart: OrgChart
    ward: d.Digest
    city: d.Digest


async def _digests(db: Database, chart: OrgChart, week: d.Period) -> Digests:
    services = Services(SqliteStore(db), ManualClock(week.end + timedelta(days=1)))
    await services.load_org()
    return Digests(SqliteDigestStore(db), services)


async def _realistic(path: Path, chart: OrgChart) -> Built:
    week = d.parse_week(WEEK, TZ)
    db = await Database.open(path)
    try:
        await SqliteStore(db).replace_org(chart)
        generator = Generator(chart, week.start - timedelta(days=30), DAYS, [week.end], 9)
        await write(db, generator.many(REPORTS))
        digests = await _digests(db, chart, week)
        ward = await digests.build(d.Scope(("HONGHAI",)), week)
        city = await digests.build(d.Scope(digests.wards(), whole_city=True), week)
    finally:
        await db.close()
    return Built(chart, ward, city)


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Week 47 of a month of generated histories in Hồng Hải and Bạch Đằng
    (built once for the module: the digests are plain values)."""
    chart = load_org_file(EXAMPLE_ORG)
    return asyncio.run(_realistic(tmp_path_factory.mktemp("summary") / "busy.db", chart))


@pytest.fixture
async def quiet_week(tmp_path: Path, chart: OrgChart) -> AsyncIterator[d.Digest]:
    """Week 47 in a ward where nothing at all happened."""
    week = d.parse_week(WEEK, TZ)
    db = await Database.open(tmp_path / "quiet.db")
    await SqliteStore(db).replace_org(chart)
    digests = await _digests(db, chart, week)
    yield await digests.build(d.Scope(("BACHDANG",)), week)
    await db.close()


def _measured(capsys: pytest.CaptureFixture[str], label: str, summary: str, details: str) -> int:
    """The summary's length as Telegram counts it, printed for the README
    next to what the old single message ran to (the summary and details)."""
    length = utf16_len(summary)
    with capsys.disabled():
        print(
            f"\n[digest summary] {label}: {length} characters "
            f"(limit {SUMMARY_LIMIT}); details {utf16_len(details)} characters",
        )
    return length


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("whose", ["ward", "city"])
def test_a_busy_weeks_summary_fits_one_phone_screen(
    realistic: Built, whose: str, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = realistic.ward if whose == "ward" else realistic.city
    summary = digest_summary(digest, realistic.chart, lang, TZ)
    details = digest_details(digest, realistic.chart, lang, TZ)
    length = _measured(capsys, f"{whose}, {lang}, {REPORTS} reports", summary, details)
    assert length <= SUMMARY_LIMIT
    # Every line a summary can have is there, so this is the long case.
    counts = digest.week_counts
    assert counts.received and counts.on_time and counts.overdue, "a week with everything"
    shown = {"received": counts.received, "on_time": counts.on_time, "overdue": counts.overdue}
    assert says(summary, "digest.counts", lang, **shown)
    assert says(summary, "digest.counting", lang), "what is counted, in plain words"
    assert says(summary, "digest.rate_vs", lang), "this week's rate against last week's"
    top, follow_up = (
        ("digest.top_wards", "digest.follow_up_wards")
        if whose == "city"
        else ("digest.top_cadres", "digest.follow_up_cadres")
    )
    assert says(summary, top, lang), "the first three"
    assert says(summary, follow_up, lang), "who needs following up"
    assert says(summary, "digest.overdue_oldest", lang), "how many are overdue, the oldest"
    assert says(summary, "digest.details_follow", lang)
    assert utf16_len(details) > 2 * SUMMARY_LIMIT, "the rest waits in the second message"
    assert digest_part(summary) == "summary" and digest_part(details) == "details"


def test_the_ward_summary_names_the_first_three_and_who_is_behind(realistic: Built) -> None:
    digest = realistic.ward
    summary = digest_summary(digest, realistic.chart, "vi", TZ)
    first = [r for r in digest.cadre_ranking if r.rank is not None][:3]
    assert len(first) == 3
    top = next(line for line in summary.splitlines() if says(line, "digest.top_cadres"))
    for ranked in first:
        assert realistic.chart.staff[ranked.key].name in top
    behind = max(digest.cadre_ranking, key=lambda r: r.counts.overdue)
    assert says(summary, "digest.follow_item", name=realistic.chart.staff[behind.key].name)
    oldest = digest.oldest_overdue[0]
    assert says(summary, "digest.overdue_oldest", code=f"PA-{oldest.id:06d}")
    assert says(summary, "digest.your_rank", name="Phường Hồng Hải", total=2)


def test_the_counting_is_explained_once(realistic: Built) -> None:
    text = digest_text(realistic.ward, realistic.chart, "vi", TZ, limit=None)
    assert text.count(t("vi", "digest.counting")) == 1


async def test_a_quiet_week_prints_no_empty_section(quiet_week: d.Digest, chart: OrgChart) -> None:
    summary = digest_summary(quiet_week, chart, "vi", TZ)
    assert says(summary, "digest.counts", received="0", on_time="0", late="0", overdue="0")
    assert says(summary, "digest.no_rate")
    for key in ("digest.top_cadres", "digest.follow_up_cadres", "digest.overdue_oldest"):
        assert not says(summary, key), key
    assert digest_details(quiet_week, chart, "vi", TZ) == "", "no heading without a line under it"
    assert not says(digest_text(quiet_week, chart, "vi", TZ), "digest.details_follow")


async def test_a_quiet_week_is_one_message_and_the_chart(tmp_path: Path, chart: OrgChart) -> None:
    """Through the real Application: nothing happened, so no details message."""
    db_path = tmp_path / "quiet.db"
    await load_chart(db_path, chart)
    monday = datetime(2026, 11, 24, 10, tzinfo=TZ).astimezone(UTC)
    async with started_bot(db_path, ManualClock(monday)) as bot:
        sent = await bot.send(bot.user(WARD_CHAIR, "Hùng").command("digest"))
    assert [m.kind for m in sent] == ["text", "photo"]
    assert digest_part(sent[0].text) == "summary"
    assert not says(joined(sent), "digest.details_follow")


async def test_a_week_with_nothing_on_time_honours_nobody_it_urges(
    tmp_path: Path, chart: OrgChart
) -> None:
    """The one officer let the one report go overdue: the summary urges
    them and must not also give them the gold medal (nor their ward, in the
    city's), and the rankings in the details carry no medal either."""
    db_path = tmp_path / "late.db"
    await load_chart(db_path, chart)
    clock = ManualClock(datetime(2026, 11, 16, 9, tzinfo=TZ).astimezone(UTC))
    async with started_bot(db_path, clock) as bot:
        await file_sanitation_report(bot, bot.user(501, "An"))
        clock.set(datetime(2026, 11, 24, 10, tzinfo=TZ).astimezone(UTC))
        ward = await bot.send(bot.user(WARD_CHAIR, "Hùng").command("digest"))
        city = await bot.send(bot.user(CITY_LEADER, "Tâm").command("digest"))
    for sent, top, follow_up in (
        (ward, "digest.top_cadres", "digest.follow_up_cadres"),
        (city, "digest.top_wards", "digest.follow_up_wards"),
    ):
        summary, details = sent[0].text, sent[1].text
        assert digest_part(summary) == "summary" and digest_part(details) == "details"
        assert says(summary, follow_up), "the one with the overdue report is urged"
        assert not says(summary, top), "and not honoured in the same breath"
        assert says(details, "digest.rank_line", medal="", rank="1")
        assert not any(medal in joined(sent) for medal in MEDALS)
