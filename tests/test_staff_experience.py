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

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import i18n
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action
from bot.domain.geo import centroid
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from handlers.zalo.render import typed_commands
from tests.channels import (
    TELEGRAM_IDS,
    Chat,
    Stage,
    TelegramChat,
    ZaloChat,
    joined,
    stage,
)
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
        "help.web",
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


# ---- /tasks: each task with its actions, the most urgent first, the late marked -----------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_tasks_come_most_urgent_first_each_with_its_actions(
    play: Stage, channel: str, clock: ManualClock
) -> None:
    """PA-000001 is acknowledged and due Wednesday 09:00; PA-000002, filed
    a day later, must be acknowledged by Tuesday 17:00: it comes first,
    though its resolve deadline is later (a list by resolve deadline would
    put it second)."""
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    await cadre.act(Action.ACKNOWLEDGE, 1)
    await cadre.choose("s")  # no note for the resident
    clock.advance(timedelta(days=1))  # Tuesday 09:00
    await file_report(an, "Rác ở đầu ngõ 7")
    listed = joined(await cadre.command("tasks"))
    assert cadre.says(listed, "task.header", count=2, overdue=0)
    lines = [line for line in listed.splitlines() if line.startswith("•")]
    assert cadre.says(lines[0], "task.item", mark="", code="PA-000002")
    assert cadre.says(lines[0], "task.ack_by", due="24/11/2026 17:00"), "its next deadline"
    assert cadre.says(lines[1], "task.item", mark="", code="PA-000001")
    assert cadre.says(lines[1], "task.resolve_by", due="25/11/2026 09:00")

    # The first task's next step, straight from the list: acknowledging it.
    said = joined(await cadre.act(Action.ACKNOWLEDGE, 2))
    assert cadre.says(said, "task.acknowledged", code="PA-000002")
    await cadre.choose("s")  # no note for the resident
    # The other's details, from the same list, with all its actions.
    details = joined(await cadre.pick("status", "PA-000001"))
    header = t("vi", "task.details_header")
    assert cadre.says(details, "task.card", header=header, code="PA-000001"), "the task's card"
    offered = cadre.choices()
    assert t("vi", "button.resolve") in offered and t("vi", "button.transfer") in offered


@pytest.mark.parametrize("channel", CHANNELS)
async def test_late_tasks_are_marked_with_the_deadline_they_missed(
    play: Stage, channel: str, clock: ManualClock
) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    await cadre.act(Action.ACKNOWLEDGE, 1)
    await cadre.choose("s")
    clock.advance(timedelta(days=1))
    await file_report(an, "Rác ở đầu ngõ 7")
    clock.advance(timedelta(days=1, hours=1))  # Wednesday 10:00
    listed = joined(await cadre.command("tasks"))
    assert cadre.says(listed, "task.header", count=2, overdue=2)
    late = t("vi", "task.late_mark")
    lines = [line for line in listed.splitlines() if line.startswith("•")]
    assert cadre.says(lines[0], "task.item", mark=late, code="PA-000002")
    assert cadre.says(lines[0], "task.ack_late", due="24/11/2026 17:00")
    assert cadre.says(lines[1], "task.item", mark=late, code="PA-000001")
    assert cadre.says(lines[1], "task.resolve_late", late="1 giờ", due="25/11/2026 09:00")


async def test_acting_from_the_list_takes_away_that_button_only(play: Stage) -> None:
    """On Telegram the list is one message: acknowledging one task from it
    leaves the other tasks' buttons (a task card would be redrawn whole)."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    await file_report(an, "Rác ở đầu ngõ 7")
    await cadre.command("tasks")
    api = play.bot.api
    listing = api.last_to(TELEGRAM_IDS["cb-hh-mt"])
    assert [data for _, data in api.buttons(listing)] == ["a:1", "v:1", "a:2", "v:2"]
    await cadre.act(Action.ACKNOWLEDGE, 1)
    now = api.message(listing.chat_id, listing.message_id)
    assert now is not None
    assert [data for _, data in api.buttons(now)] == ["v:1", "a:2", "v:2"]
    labels = [label for label, _ in api.buttons(now)]
    assert labels[0] == t("vi", "task.choice", code="PA-000001", action=t("vi", "task.details"))


async def test_a_long_list_gives_the_most_urgent_their_actions(
    play: Stage, clock: ManualClock
) -> None:
    cadre = await play.staff(ZALO, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    for n in range(12):
        await file_report(an, f"Rác ở ngõ {n + 1}")
        clock.advance(timedelta(minutes=10))
    listed = joined(await cadre.command("tasks"))
    assert cadre.says(listed, "task.header", count=12, overdue=0)
    assert cadre.says(listed, "task.choices_first", count=10)
    assert len([line for line in listed.splitlines() if line.startswith("•")]) == 12
    assert "20. " in listed and "21. " not in listed, "two choices each for the first ten"


# ---- reminders and the task card ---------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_reminder_to_acknowledge_gives_the_acknowledge_deadline(
    play: Stage, channel: str, clock: ManualClock
) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    await file_report(play.resident(TELEGRAM, "An"))
    cadre.news()
    clock.advance(timedelta(hours=4, minutes=1))  # half of the 8 working hours to acknowledge
    await play.tick()
    reminder = joined(cadre.news())
    ack_by = t("vi", "task.ack_by", due="23/11/2026 17:00")
    assert cadre.says(reminder, "reminder.item", code="PA-000001", deadline=ack_by)
    assert cadre.says(reminder, "reminder.ack_reminder")
    assert "25/11/2026 09:00" not in reminder, "not the resolve deadline"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_task_card_carries_what_a_cadre_needs_in_one_message(
    play: Stage, channel: str, chart: OrgChart
) -> None:
    """A Telegram resident shares the place (a venue: the landmark), sends
    two photos and lets the cadre see her name.  The cadre's card — one
    message, the last, with the actions — has the code, the problem, the
    place with its landmark, the description, how many photos came, the
    reporter, both deadlines; on Zalo the map link is inside it."""
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    assert isinstance(an, TelegramChat)
    group = chart.areas["HH-TDP03"]
    assert group.polygon is not None
    spot = centroid(group.polygon)
    await an.command("new")
    await an.choose("sanitation")
    await an.choose("RKTG")
    await an.bot.send(an.user.venue(spot.lat, spot.lon, "Ngõ 12", "Lê Thánh Tông"))
    await an.text("Rác tràn ra ngõ 12")
    await an.photo()
    await an.photo()
    await an.choose("d")
    await an.choose("nm")  # the cadre may see her name
    cadre.news()
    await an.choose("ok")
    received = cadre.news()
    card = received[-1]
    assert cadre.says(card, "task.card", code="PA-000001", ack_due="23/11/2026 17:00")
    assert cadre.says(card, "task.card", due="25/11/2026 09:00")
    assert cadre.says(card, "task.place_landmark", landmark="Ngõ 12, Lê Thánh Tông")
    assert "Rác tràn ra ngõ 12" in card
    assert cadre.says(card, "task.card_photos", count=2)
    assert cadre.says(card, "task.reporter", name="An")
    assert t("vi", "button.acknowledge") in cadre.choices(), "the actions under it"
    assert cadre.photos() == 2, "the photos above it"
    if channel == ZALO:
        assert cadre.says(card, "task.map_zalo"), "the place as a link inside the card"
        assert isinstance(cadre, ZaloChat)
        kinds = [m.kind for m in play.zalo.api.messages_to(cadre.user.user_id)]
        assert kinds[-3:] == ["photo", "photo", "text"], "two photos and the card, nothing apart"
        assert len(received) == 2, "the first photo's caption names the task, then the card"
    else:
        pins = [m for m in play.bot.api.messages_to(TELEGRAM_IDS["cb-hh-mt"]) if m.kind == "venue"]
        assert len(pins) == 1, "a pin to tap, just above the card"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_leader_reads_a_cadres_task_as_its_card_with_who_holds_it(
    play: Stage, channel: str
) -> None:
    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    await file_report(play.resident(TELEGRAM, "An"))
    said = joined(await chair.command("status", "PA-000001"))
    header = t("vi", "task.details_header")
    assert chair.says(said, "task.card", header=header, code="PA-000001")
    assert chair.says(said, "task.card_holder", name="Vũ Đức Thắng"), (
        "who holds it: the leader is not the owner"
    )
    assert chair.says(said, "task.card_photos", count=1)
    offered = chair.choices()
    assert t("vi", "button.reassign") in offered and t("vi", "button.extend") in offered


# ---- usage texts in one language ----------------------------------------------------------------

ENGLISH_PERIOD = re.compile(r"/(?:stats|export|digest)(?: \S+)* (?:last week|week|month|year)\b")
# A phrase Zalo shows to type, quoted, with an English word in it ("“thống kê week”").
QUOTED_ENGLISH = re.compile(
    r"“[^”]*\b(?:week|month|year|stats|export|digest|status|tasks|new|mine|help|lang|cancel"
    r"|withdraw|history|reassign|extend|invite|whoami|mydata|forget)\b[^”]*”"
)


def test_the_checks_find_english_inside_vietnamese_usage() -> None:
    assert ENGLISH_PERIOD.search("Gõ /stats week (tuần này)")
    assert ENGLISH_PERIOD.search("ví dụ /export 2026-W47 month")
    assert not ENGLISH_PERIOD.search("Gõ /stats tuần (tuần này)")
    assert QUOTED_ENGLISH.search("Gõ “thống kê week” (tuần này)")
    assert not QUOTED_ENGLISH.search("Gõ “thống kê tuần” (tuần này), “Xong”")


@pytest.mark.parametrize("key", sorted(i18n.catalogue("vi")))
def test_no_vietnamese_text_tells_to_type_english_words(key: str) -> None:
    """On Telegram ("/stats tuần") and as Zalo shows what to type
    ("“thống kê tuần”"): a period or a command in Vietnamese words."""
    text = i18n.catalogue("vi")[key]
    assert not ENGLISH_PERIOD.search(text), text
    assert not QUOTED_ENGLISH.search(typed_commands(text, "vi")), typed_commands(text, "vi")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_what_a_usage_text_tells_a_leader_to_type_works(play: Stage, channel: str) -> None:
    """Each example the usage of /stats gives, typed as it is shown (on
    Zalo, the quoted words), brings the figures, not the usage again."""
    chair = await play.staff(channel, "ld-hh-ct", "Hùng")
    usage = joined(await chair.command("stats", "sao"))
    assert chair.says(usage, "digest.stats_usage")
    if channel == ZALO:
        examples = re.findall(r"“([^”]+)”", usage)
    else:
        word = r"(?: (?:tuần trước|tuần|tháng|năm|\d{4}-W\d+|[A-Z]{4,}))"
        examples = re.findall(rf"/stats{word}*", usage)
    assert len(examples) == 6, examples
    for example in examples:
        name, *args = example.lstrip("/").split()
        said = joined(
            await chair.text(example) if channel == ZALO else await chair.command(name, *args)
        )
        assert chair.says(said, "digest.stats_title"), example
