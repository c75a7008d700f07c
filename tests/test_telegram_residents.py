"""Residents on Telegram, played through the real Application over the fake
Bot API (tests/channels.py): what they read when they stop following a
report they do not follow, when they go back from the place question, and
when they answer "Sự việc đã được khắc phục chưa?" in a sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import TELEGRAM
from bot.domain.clock import ManualClock
from bot.domain.conversation import BACK
from bot.domain.orgchart import OrgChart
from tests.channels import Stage, TelegramChat, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report

CODE = "PA-000001"


@pytest.fixture
async def play(tmp_path: Path, chart: OrgChart, clock: ManualClock) -> AsyncIterator[Stage]:
    path = tmp_path / "telegram.db"
    await load_chart(path, chart)
    async with stage(path, clock, "polling") as started:
        yield started


def resident(play: Stage, name: str) -> TelegramChat:
    chat = play.resident(TELEGRAM, name)
    assert isinstance(chat, TelegramChat)
    return chat


# ---- /unfollow --------------------------------------------------------------------------------


async def test_unfollowing_a_report_one_does_not_follow_says_so_not_that_it_is_unknown(
    play: Stage,
) -> None:
    await file_report(resident(play, "An"))
    binh = resident(play, "Bình")
    said = joined(await binh.command("unfollow", CODE))
    assert binh.says(said, "follow.not_following", code=CODE)
    assert "/mine" in said, "told where to see what they follow"
    assert not binh.says(said, "refusal.not_found")
    unknown = joined(await binh.command("unfollow", "PA-000999"))
    assert binh.says(unknown, "refusal.not_found"), "a code of no report stays unknown"


# ---- back from the place question -------------------------------------------------------------


async def test_back_from_the_place_question_takes_the_location_button_away_in_fitting_words(
    play: Stage,
) -> None:
    an = resident(play, "An")
    await an.command("new")
    await an.choose("sanitation")
    await an.choose("RKTG")  # the place is asked, with the location button
    sent = [m for m in await play.bot.choose(an.user, BACK) if m.chat_id == an.user.user_id]
    assert any(m.reply_markup == {"remove_keyboard": True} for m in sent), "the button goes"
    assert not any(an.says(m.text or "", "report.location_closed") for m in sent)
    assert an.says(joined([m.text or "" for m in sent]), "report.location_back")
