"""Staff have their own experience (issue 14 §2), on Telegram and on Zalo:
a cadre or a leader is greeted as staff with their tasks and their
commands, never the resident greeting with a "new report" button; a
leader's help lists each command once; /cancel speaks to their role; /tasks
shows each task with its actions, the most urgent first, the overdue
marked; a reminder to acknowledge gives the acknowledge deadline; the task
card carries what a cadre needs in one message.

Each person through their channel's real receiving path (tests/channels.py):
Telegram's Application over the fake Bot API, Zalo's long polling over the
fake Zalo API; what they read is asserted through the catalogue, as their
channel words it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from tests.channels import Chat, Stage, joined, stage
from tests.factories import load_chart
from tests.test_channels_flow import file_report

CHANNELS = [TELEGRAM, ZALO]


@pytest.fixture
async def play(tmp_path: Path, clock: ManualClock, chart: OrgChart) -> AsyncIterator[Stage]:
    db_path = tmp_path / "staff.db"
    await load_chart(db_path, chart)
    async with stage(db_path, clock) as started:
        yield started


def lines_of(said: str, key: str, chat: Chat) -> int:
    """How many lines of ``said`` are the catalogue entry ``key``."""
    return sum(1 for line in said.splitlines() if chat.says(line, key))


# ---- /start and /help by role -----------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_cadre_is_greeted_as_staff_with_her_tasks_not_the_report_button(
    play: Stage, channel: str
) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    await file_report(play.resident(TELEGRAM, "An"))
    cadre.news()
    greeting = joined(await cadre.command("start"))
    assert cadre.says(greeting, "start.staff_greeting", name="Vũ Đức Thắng")
    assert cadre.says(greeting, "start.staff_tasks", count=1)
    assert cadre.says(greeting, "help.tasks"), "what she can type, in her channel's words"
    assert cadre.says(greeting, "help.morning", time="07:30"), "and when the morning list comes"
    assert not cadre.says(greeting, "start.greeting", name="Thắng"), "not the resident greeting"
    assert t("vi", "report.start_button") not in greeting, "no new-report choice"
    listed = joined(await cadre.pick("tasks"))
    assert cadre.says(listed, "task.header", count=1), "her one choice: her tasks"
    assert "PA-000001" in listed


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_leader_is_greeted_with_the_wards_overdue_tasks(
    play: Stage, channel: str, clock: ManualClock
) -> None:
    from datetime import timedelta

    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    await file_report(play.resident(TELEGRAM, "An"))
    clock.advance(timedelta(days=5))
    greeting = joined(await chair.command("start"))
    assert chair.says(greeting, "start.staff_greeting", name="Nguyễn Văn Hùng")
    assert chair.says(greeting, "start.staff_tasks_overdue", count=1, overdue=1)
    assert chair.says(greeting, "help.leader_header")
    assert chair.says(greeting, "help.digest")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_resident_is_still_greeted_with_the_report_choice(
    play: Stage, channel: str
) -> None:
    an = play.resident(channel, "An")
    greeting = joined(await an.command("start"))
    assert an.says(greeting, "start.greeting", name="An")
    assert not an.says(greeting, "start.staff_greeting", name="An")
    assert an.says(joined(await an.pick("new")), "report.ask_family")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_leaders_help_lists_each_command_once(play: Stage, channel: str) -> None:
    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    said = joined(await chair.command("help"))
    assert chair.says(said, "help.leader_header")
    keys = [
        "help.tasks",
        "help.digest",
        "help.stats",
        "help.export",
        "help.reassign",
        "help.extend",
        "help.invite",
        "help.status",
        "help.history",
        "help.cancel",
        "help.as_resident",
        "help.lang",
        "help.whoami",
    ]
    assert {key: lines_of(said, key, chair) for key in keys} == dict.fromkeys(keys, 1)
    listed = [line for line in said.splitlines() if line.startswith("•")]
    assert len(listed) == len(keys), "nothing else listed: no resident list, no staff list"
    assert not chair.says(said, "help.resident")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_cadres_help_has_only_what_she_may_use(play: Stage, channel: str) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    said = joined(await cadre.command("help"))
    assert cadre.says(said, "help.staff_header")
    assert cadre.says(said, "help.tasks") and cadre.says(said, "help.history")
    for leaders_only in ("help.digest", "help.stats", "help.reassign", "help.invite"):
        assert not cadre.says(said, leaders_only), leaders_only
    assert cadre.says(said, "help.staff_actions"), "how to act on a task, in her channel's way"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_resident_gets_the_residents_help(play: Stage, channel: str) -> None:
    an = play.resident(channel, "An")
    said = joined(await an.command("help"))
    assert an.says(said, "help.resident")
    assert not an.says(said, "help.tasks")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_binding_an_account_tells_the_new_staff_member_what_they_can_do(
    play: Stage, channel: str
) -> None:
    from bot.app.admin import Admin
    from bot.domain.orgchart import Role
    from handlers.zalo.links import ZaloLinks

    link = await Admin(play.bot.services).invite("tt-hh-12", Role.CADRE, ZaloLinks())
    lan = play.resident(channel, "Lan")
    said = joined(await lan.text(link.code))
    assert lan.says(said, "invite.welcome", name="Ngô Thị Lan")
    assert lan.says(said, "help.staff_header"), "her commands, at once"
    assert lan.says(said, "help.tasks")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_something_a_cadre_types_out_of_the_blue_offers_her_tasks(
    play: Stage, channel: str
) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    said = joined(await cadre.text("chiều nay họp"))
    assert cadre.says(said, "fallback.staff")
    assert not cadre.says(said, "fallback.help")
    assert cadre.says(joined(await cadre.pick("tasks")), "task.none")


# ---- /cancel by role ------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_cancel_is_worded_for_the_role(play: Stage, channel: str) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(channel, "An")
    await file_report(an)
    await cadre.act(Action.RESOLVE, 1)
    said = joined(await cadre.command("cancel"))
    assert cadre.says(said, "conv.cancelled_task", code="PA-000001"), "the task is as it was"
    assert cadre.says(joined(await cadre.command("cancel")), "cancel.none_staff")
    await an.command("new")
    assert an.says(joined(await an.command("cancel")), "conv.cancelled")
    assert an.says(joined(await an.command("cancel")), "cancel.none")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.resolved_at is None


async def test_the_cancel_button_of_a_task_question_is_worded_for_staff(play: Stage) -> None:
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    await file_report(play.resident(TELEGRAM, "An"))
    await cadre.act(Action.REJECT, 1)
    said = joined(await cadre.choose("x"))
    assert cadre.says(said, "conv.cancelled_task", code="PA-000001")
    assert not cadre.says(said, "conv.cancelled")
