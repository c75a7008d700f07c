"""Residents, officers and leaders on Zalo, played through the real
receiving path (webhook, inbox, intake) over the fake Zalo: what each
would find wrong, each a test that failed before its fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart
from tests.channels import Stage, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report


@pytest.fixture
async def hooked(tmp_path: Path, chart: OrgChart, clock: ManualClock) -> AsyncIterator[Stage]:
    path = tmp_path / "zalo.db"
    await load_chart(path, chart)
    async with stage(path, clock, "webhook") as started:
        yield started


@pytest.mark.parametrize("nod", ["ok", "Oke", "ừ", "vâng", "được"])
async def test_an_officer_who_types_ok_at_the_note_offer_sends_the_resident_nothing(
    hooked: Stage, nod: str
) -> None:
    """Asked "Gửi người phản ánh một lời nhắn?" after accepting, an officer on
    Zalo answers "ok" as to anything the bot says: the resident must not get
    "Cán bộ phụ trách nhắn anh/chị: “ok”"."""
    cadre = await hooked.staff(ZALO, "cb-hh-mt", "Thắng")
    an = hooked.resident(ZALO, "An")
    await file_report(an)
    await cadre.act(Action.ACKNOWLEDGE, 1)
    an.news()
    said = joined(await cadre.text(nod))
    assert not cadre.says(said, "ack_reply.sent")
    assert not any(an.says(t, "notify.message") for t in an.news())
    assert await hooked.bot.services.store.load_conversation((await cadre.person()).id) is None
    complaint = await hooked.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.ACKNOWLEDGED


async def test_a_number_past_a_list_of_one_is_told_to_type_1(hooked: Stage) -> None:
    """The help's list has one line ("1. Gửi phản ánh mới"): "7" is answered
    "gõ 1", never "một số từ 1 đến 1"."""
    lan = hooked.resident(ZALO, "Lan")
    await lan.text("alo")
    said = joined(await lan.text("7"))
    assert lan.says(said, "fallback.no_such_number_one_zalo", number=7)
    assert "1 đến 1" not in said
