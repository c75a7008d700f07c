"""The resident's, the cadre's and the leader's stories, played on Telegram
and on Zalo alike — and across them (a resident on one, the cadre on the
other) — each person through their channel's real receiving path:
Telegram's Application over the fake Bot API; Zalo's long polling or
webhook over the fake Zalo API.  What each person does is what the channel
offers: buttons and /commands on Telegram, numbers and words on Zalo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import PostgresUrl
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from tests.catalogue import digest_part
from tests.channels import Chat, Stage, joined, stage
from tests.factories import load_chart

# Every story runs on both engines, SQLite and PostgreSQL (tests/engines.py).
pytestmark = pytest.mark.both_engines

# (how Zalo receives): every story runs with both.
MODES = ["polling", "webhook"]


@pytest.fixture(params=MODES)
async def play(
    request: pytest.FixtureRequest, where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[Stage]:
    await load_chart(where, chart)
    async with stage(where, clock, request.param) as started:
        yield started


async def file_report(resident: Chat, description: str = "Rác tràn ra ngõ 12") -> list[str]:
    """Sanitation / rubbish not collected in group 3, with a photo."""
    await resident.command("new")
    await resident.choose("sanitation")
    await resident.choose("RKTG")
    await resident.choose("HONGHAI")
    await resident.choose("HH-TDP03")
    await resident.text(description)
    await resident.photo()  # one photo goes on to the review
    return await resident.choose("ok")


# ---- the resident ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [TELEGRAM, ZALO])
async def test_a_resident_reports_follows_and_withdraws(play: Stage, channel: str) -> None:
    an = play.resident(channel, "An")
    greeting = joined(await an.command("start"))
    assert "An" in greeting
    receipt = joined(await file_report(an))
    assert "PA-000001" in receipt
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.state, complaint.area, complaint.category) == (
        State.SUBMITTED,
        "HH-TDP03",
        "RKTG",
    )
    assert complaint.description == "Rác tràn ra ngõ 12"
    assert len(complaint.photos) == 1
    reporter = await play.bot.services.store.get_person(await play.bot.services.reporter_id(1) or 0)
    assert reporter is not None and reporter.account is not None
    assert reporter.account.channel == channel

    assert "PA-000001" in joined(await an.command("mine"))
    status = joined(await an.command("status", "PA-000001"))
    assert "Rác tràn ra ngõ 12" in status
    await an.command("withdraw", "PA-000001")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.SUBMITTED, "it asks first"
    await an.choose("w1")  # "Rút lại phản ánh"
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.WITHDRAWN


@pytest.mark.parametrize("channel", [TELEGRAM, ZALO])
async def test_a_resident_types_every_answer(play: Stage, channel: str) -> None:
    """Words with or without diacritics at every step, the place as a
    typed group name, "xong" for the photos and "gửi" to send."""
    binh = play.resident(channel, "Bình")
    await binh.command("new")
    await binh.text("ve sinh moi truong")
    await binh.text("rác không được thu gom")
    await binh.text("Phường Hồng Hải")
    await binh.text("to dan pho 7")
    await binh.text("Rác để cả tuần chưa ai thu gom")
    await binh.text("xong")
    assert "PA-000001" in joined(await binh.text("gửi"))
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.area, complaint.category) == ("HH-TDP07", "RKTG")


# ---- the cadre's loop, on either channel, across channels ----------------------------------

PAIRS = [(TELEGRAM, TELEGRAM), (ZALO, ZALO), (ZALO, TELEGRAM), (TELEGRAM, ZALO)]


@pytest.mark.parametrize(("resident_on", "cadre_on"), PAIRS)
async def test_acknowledge_resolve_with_a_photo_confirm_and_rate(
    play: Stage, resident_on: str, cadre_on: str
) -> None:
    cadre = await play.staff(cadre_on, "cb-hh-mt", "Thắng")
    an = play.resident(resident_on, "An")
    await file_report(an)
    card = joined(cadre.news())
    assert "PA-000001" in card and "Rác tràn ra ngõ 12" in card
    assert cadre.photos() == 1, "the resident's photo reaches the cadre, whatever the channels"

    await cadre.act(Action.ACKNOWLEDGE, 1)
    assert "PA-000001" in joined(an.news())
    await cadre.choose("s")  # no note for the resident
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom xong")
    await cadre.photo()
    told = joined(an.news())
    assert "Đã thu gom xong" in told
    assert an.photos() == 1, "the cadre's photo reaches the resident, whatever the channels"

    await an.act(Action.CONFIRM, 1)
    await an.choose("4")
    assert "4/5" in joined(cadre.news())
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.state, complaint.rating) == (State.CONFIRMED, 4)


@pytest.mark.parametrize(("resident_on", "cadre_on"), PAIRS)
async def test_not_fixed_reopens_to_the_same_owner(
    play: Stage, resident_on: str, cadre_on: str
) -> None:
    cadre = await play.staff(cadre_on, "cb-hh-mt", "Thắng")
    an = play.resident(resident_on, "An")
    await file_report(an)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")  # no photo
    await an.act(Action.DISPUTE, 1)
    await an.text("Vẫn còn rác")
    reopened = joined(cadre.news())
    assert "Vẫn còn rác" in reopened
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.REOPENED


@pytest.mark.parametrize(("resident_on", "cadre_on"), PAIRS)
async def test_ask_the_resident_transfer_and_reject(
    play: Stage, resident_on: str, cadre_on: str
) -> None:
    """A cadre asks the resident, who answers; then transfers the task to
    another group, whose cadre rejects it — every step told to the resident."""
    tuan = await play.staff(cadre_on, "cb-hh-dc1", "Tuấn")
    nhung = await play.staff(cadre_on, "cb-hh-dc2", "Nhung")
    cuong = play.resident(resident_on, "Cường")
    await cuong.command("new")
    await cuong.choose("urban_order")
    await cuong.choose("XDKP")
    await cuong.choose("HONGHAI")
    await cuong.choose("HH-TDP02")
    await cuong.text("Nhà xây thêm tầng")
    await cuong.choose("d")
    await cuong.choose("ok")
    assert "PA-000001" in joined(tuan.news())

    await tuan.act(Action.ASK_INFO, 1)
    await tuan.text("Nhà số mấy?")
    assert "Nhà số mấy?" in joined(cuong.news())
    await cuong.act(Action.ANSWER_INFO, 1)
    await cuong.text("Số 8")
    assert "Số 8" in joined(tuan.news())

    await tuan.act(Action.TRANSFER, 1)
    await tuan.choose("g")
    await tuan.choose("HH-TDP07")
    assert "PA-000001" in joined(nhung.news()), "the new owner gets the task"
    await nhung.act(Action.REJECT, 1)
    await nhung.choose("not_remit")
    await nhung.text("Công trình do thành phố cấp phép")
    assert "Công trình do thành phố cấp phép" in joined(cuong.news())
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.state, complaint.owner) == (State.REJECTED, "cb-hh-dc2")


@pytest.mark.parametrize("channel", [TELEGRAM, ZALO])
async def test_tasks_history_and_language(play: Stage, channel: str) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    assert "PA-000001" in joined(await cadre.command("tasks"))
    history = joined(await cadre.command("history", "PA-000001"))
    assert "PA-000001" in history
    switched = joined(await cadre.command("lang", "en"))
    assert t("en", "lang.set") in switched
    assert "Rác tràn ra ngõ 12" in joined(await cadre.command("status", "PA-000001"))


# ---- the leader -----------------------------------------------------------------------------


@pytest.mark.parametrize(("resident_on", "channel"), PAIRS)
async def test_a_leader_extends_and_reassigns_an_overdue_task(
    play: Stage, resident_on: str, channel: str, clock: ManualClock
) -> None:
    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    an = play.resident(resident_on, "An")
    await file_report(an)
    clock.advance(timedelta(days=5))
    await play.tick()
    escalation = joined(chair.news())
    assert "PA-000001" in escalation

    await chair.act(Action.EXTEND, 1)
    await chair.choose("2")
    await chair.text("Chờ xe chuyên dụng")
    told = joined(an.news())
    assert an.says(told, "notify.extended", code="PA-000001", reason="Chờ xe chuyên dụng")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None
    events = [e.action for e in await play.bot.services.store.events_of(1)]
    assert Action.EXTEND in events

    await chair.command("reassign", "PA-000001")
    await chair.choose("cb-hh-ca")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.owner == "cb-hh-ca"


@pytest.mark.parametrize("channel", [TELEGRAM, ZALO])
async def test_a_leader_reads_the_digest_the_counts_and_the_export(
    play: Stage, channel: str, clock: ManualClock
) -> None:
    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    clock.advance(timedelta(days=7))
    parts = [digest_part(text) for text in await chair.command("digest")]
    assert "summary" in parts and "details" in parts, "the summary, then its details"
    assert chair.photos() >= 1, "and its chart"
    stats = joined(await chair.command("stats", "year"))
    assert stats
    export = joined(await chair.command("export", "year"))
    if channel == ZALO:
        assert "/files/" in export, "the files come as links that expire"
    else:
        documents = [m for m in play.bot.api.messages_to(7001) if m.kind == "document"]
        assert len(documents) == 2
