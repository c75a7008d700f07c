"""Every open complaint has an owner who can act, and a complaint about an
official stays with the leaders who may see it — through the real
Application over the fake Bot API, with the example org chart.

Hồng Hải's people: the chairman Nguyễn Văn Hùng (ld-hh-ct, 7001) is the ward
leader, the party secretary Trần Thị Thu Hà (ld-hh-bt, 7002) the conduct
leader; the ward police officer Đỗ Văn Long (cb-hh-ca, 7014) gets urban
order by default; Ngô Thị Lan (tt-hh-12) leads group 12 and has not joined.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import owners as owners_module
from bot.app.admin import Admin
from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.conversation import ChoiceAnswer, TextAnswer
from bot.domain.digest import Dimension, PeriodKind, Scope
from bot.domain.orgchart import Family, OrgChart, Role
from bot.domain.owners import can_act
from bot.i18n import t
from bot.orgio.writer import dump_org
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeUser, SentMessage, UploadedFile
from handlers.telegram.links import TelegramLinks
from tests.catalogue import says
from tests.engines import setting
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    POLICE_OFFICER,
    WARD_CHAIR,
    WARD_SECRETARY,
    button_data,
    choice_key,
    file_sanitation_report,
    joined,
    started_bot,
    to,
)
from tests.spreadsheet import open_like_excel

pytestmark = pytest.mark.both_engines

OTHER_CITY_LEADER = 7092  # ld-tp-ct
BACHDANG_CHAIR = 7051  # ld-bd-ct
NEWCOMER = 8801  # Ngô Thị Lan, once she opens her invite

LINKS = TelegramLinks("phananh_bot")


async def file_conduct(
    bot: BotDriver, who: FakeUser, *, about_leaders: bool, show_name: bool = False
) -> list[SentMessage]:
    """A report about an official, by buttons, in group 5 of Hồng Hải."""
    await bot.send(who.command("new"))
    for key in ("official_conduct", "NNCB", "y" if about_leaders else "n", "HONGHAI", "HH-TDP05"):
        await bot.choose(who, key)
    await bot.send(who.text("Cán bộ đòi tiền mới ký xác nhận"))
    await bot.choose(who, "d")
    if show_name:
        await bot.choose(who, "nm")
    return await bot.choose(who, "ok")


def choices(message: SentMessage) -> list[str]:
    return [choice_key(d) for d in button_data(message) if d.startswith("q:")]


def attempts_to(bot: BotDriver, chat_id: int) -> list[object]:
    """Every message the bot tried to send to this chat, delivered or not."""
    return [c for c in bot.api.calls if str(c.params.get("chat_id")) == str(chat_id)]


async def owner_of(bot: BotDriver, complaint_id: int) -> str:
    complaint = await bot.services.complaint(complaint_id)
    assert complaint is not None
    return complaint.owner


async def assert_every_open_complaint_has_an_owner_who_can_act(bot: BotDriver) -> int:
    services = bot.services
    reach = await services.reach()
    tasks = await services.store.open_tasks()
    stuck = [(t.code, t.owner) for t in tasks if not can_act(services.chart, reach, t)]
    assert stuck == []
    return len(tasks)


# ---- 1. a complaint about an official never reaches the official ---------------------------


async def test_a_complaint_about_the_ward_leadership_never_reaches_the_chairman(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An", last_name="Nguyễn")
    sent = await file_conduct(bot, an, about_leaders=True, show_name=True)
    assert await owner_of(bot, 1) == "ld-tp-bt"
    city = bot.user(CITY_LEADER, "Sơn")
    chair = bot.user(WARD_CHAIR, "Hùng")

    # Transfer: only the other conduct category, only the ward's own groups.
    await bot.press(city, "t:1")
    await bot.choose(city, "c")
    assert choices(bot.api.last_to(CITY_LEADER)) == ["TDCB", "^", "x"]
    await bot.send(city.command("cancel"))
    await bot.press(city, "t:1")
    await bot.choose(city, "g")
    groups = choices(bot.api.last_to(CITY_LEADER))
    assert "w" not in groups, "never to another ward's leaders"
    assert all(g.startswith("HH-") or g in ("<", ">", "^", "x") for g in groups)
    await bot.send(city.command("cancel"))

    # Reassign lists the leaders who may own it: the other city leader only.
    await bot.send(city.command("reassign", "PA-000001"))
    assert choices(bot.api.last_to(CITY_LEADER)) == ["ld-tp-ct", "x"]
    await bot.send(city.command("cancel"))

    # "Other, with a reason" goes up its own chain: the other city leader.
    await bot.press(city, "t:1")
    await bot.choose(city, "r")
    sent += await bot.send(city.text("Đồng chí Hạnh trực tiếp xử lý"))
    assert await owner_of(bot, 1) == "ld-tp-ct"
    assert "PA-000001" in joined(to(sent, bot.user(OTHER_CITY_LEADER, "Hạnh")))
    assert "Người phản ánh: An Nguyễn" in joined(to(sent, bot.user(OTHER_CITY_LEADER, "Hạnh")))

    # The chairman heard nothing of it and cannot look it up.
    assert "PA-000001" not in joined(to(sent, chair))
    assert "Không tìm thấy" in joined(await bot.send(chair.command("status", "PA-000001")))
    assert "PA-000001" not in joined(await bot.send(chair.command("tasks")))


async def test_a_complaint_about_the_police_officer_cannot_be_moved_to_parking_and_so_to_him(
    bot: BotDriver,
) -> None:
    sent = await file_conduct(bot, bot.user(501, "An"), about_leaders=False)
    assert await owner_of(bot, 1) == "ld-hh-bt", "the ward's conduct leader"
    secretary = bot.user(WARD_SECRETARY, "Hà")
    await bot.press(secretary, "t:1")
    await bot.choose(secretary, "c")
    offered = choices(bot.api.last_to(WARD_SECRETARY))
    assert "DXTT" not in offered and offered == ["TDCB", "^", "x"]
    # A press forged for "Dừng, đỗ xe trái phép" changes nothing.
    question = bot.api.last_to(WARD_SECRETARY)
    seq = button_data(question)[0].split(":")[1]
    sent += await bot.send(secretary.press_raw(f"q:{seq}:DXTT", question.message_id))
    assert "không còn dùng được" in joined(to(sent, secretary))
    typed = await bot.send(secretary.text("Dừng, đỗ xe trái phép"))
    assert await owner_of(bot, 1) == "ld-hh-bt", f"typed, it matches nothing: {joined(typed)}"
    await bot.send(secretary.command("cancel"))
    # Even a transfer asked of the services directly is refused.
    actor = await bot.services.identify("telegram", str(WARD_SECRETARY), None)
    reply = await bot.services._transfer(
        actor, {"complaint_id": 1, "category": "DXTT", "new_category": True}
    )
    assert [n.key for n in reply.notes] == ["transfer.conduct_stays"]
    assert await owner_of(bot, 1) == "ld-hh-bt"
    police = bot.user(POLICE_OFFICER, "Long")
    assert "PA-000001" not in joined(to(bot.api.sent, police))
    assert "Không tìm thấy" in joined(await bot.send(police.command("status", "PA-000001")))


async def test_not_about_an_official_a_leader_rejects_it_and_the_resident_may_file_again(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await file_conduct(bot, an, about_leaders=False)
    secretary = bot.user(WARD_SECRETARY, "Hà")
    await bot.press(secretary, "j:1")
    assert "not_conduct" in choices(bot.api.last_to(WARD_SECRETARY))
    await bot.choose(secretary, "not_conduct")
    sent = await bot.send(secretary.text("Việc đỗ xe, không phải thái độ cán bộ"))
    told = joined(to(sent, an))
    assert says(told, "notify.rejected")
    assert says(told, "reason.not_conduct")
    assert "/new" in told, "the resident learns they may file it again"

    # The reason is only for complaints about an official.
    await file_sanitation_report(bot, an)
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.press(cadre, "j:2")
    assert "not_conduct" not in choices(bot.api.last_to(ENVIRONMENT_CADRE))


# ---- 2. an owner who can act, and someone hears at once when not ---------------------------


async def test_a_task_for_a_group_leader_not_joined_goes_to_the_fallback_chairman_told_at_once(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("start", "a-HH-TDP12"))
    await bot.choose(an, "urban_order")
    await bot.choose(an, "BHR")
    await bot.send(an.text("Họp chợ tự phát đầu ngõ"))
    await bot.choose(an, "d")
    sent = await bot.choose(an, "ok")
    assert await owner_of(bot, 1) == "cb-hh-ca"
    police = [m for m in sent if m.chat_id == POLICE_OFFICER]
    assert says(joined(police), "task.card", header=t("vi", "task.new_header"), code="PA-000001")
    chair = joined([m for m in sent if m.chat_id == WARD_CHAIR])
    assert "Ngô Thị Lan chưa tham gia bot:\n   PA-000001 → Đỗ Văn Long" in chair
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)

    # She joins: the task comes back to her, as one list; both are told.
    link = await Admin(bot.services).invite("tt-hh-12", Role.CADRE, LINKS)
    lan = bot.user(NEWCOMER, "Lan")
    sent = await bot.send(lan.command("start", link.url.split("start=")[1]))
    assert await owner_of(bot, 1) == "tt-hh-12"
    mine = to(sent, lan)
    assert sum("PA-000001" in (m.text or "") for m in mine) == 1, "one list, no backlog"
    assert says(joined(mine), "summary.header", count=1)
    assert "đã được trả về người phụ trách" in joined(
        [m for m in sent if m.chat_id == POLICE_OFFICER]
    )
    assert "PA-000001 → Ngô Thị Lan" in joined([m for m in sent if m.chat_id == WARD_CHAIR])
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)


async def test_a_cadre_who_blocks_the_bot_loses_her_tasks_at_once_and_gets_one_list_when_back(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)  # rubbish in group 3: Vũ Đức Thắng's
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    sent = await bot.send(cadre.blocks_bot())
    tried = len(attempts_to(bot, ENVIRONMENT_CADRE))
    assert await owner_of(bot, 1) == "ld-hh-ct"
    chair = joined([m for m in sent if m.chat_id == WARD_CHAIR])
    assert says(chair, "owners.why_blocked", name="Vũ Đức Thắng")
    assert "PA-000001 → Nguyễn Văn Hùng" in chair
    assert says(chair, "task.card", header=t("vi", "task.transferred_header"), code="PA-000001"), (
        "the task itself, with its buttons"
    )
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)

    # While she is away, a new one goes past her, and the reminders go on.
    await file_sanitation_report(bot, an, group="HH-TDP04")
    assert await owner_of(bot, 2) == "ld-hh-ct"
    for _ in range(6):
        clock.advance(timedelta(hours=2))
        await bot.tick()
    assert len(attempts_to(bot, ENVIRONMENT_CADRE)) == tried, "nothing is even tried"

    # She comes back: the two the chairman has not taken on return to her,
    # and she gets one list of them — nothing of what failed meanwhile.
    before = len(bot.api.messages_to(ENVIRONMENT_CADRE))
    sent = await bot.send(cadre.unblocks_bot())
    assert [await owner_of(bot, 1), await owner_of(bot, 2)] == ["cb-hh-mt", "cb-hh-mt"]
    mine = bot.api.messages_to(ENVIRONMENT_CADRE)[before:]
    assert len(mine) == 1, [m.text for m in mine]
    assert "PA-000001" in (mine[0].text or "") and "PA-000002" in (mine[0].text or "")
    assert "a:1" in button_data(mine[0]), "each task with its button"
    assert "Thắng" in joined([m for m in sent if m.chat_id == WARD_CHAIR])
    await bot.tick()
    assert len(bot.api.messages_to(ENVIRONMENT_CADRE)) == before + 1, "no backlog after it"


async def test_a_task_the_fallback_took_on_stays_with_the_fallback(bot: BotDriver) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.send(cadre.blocks_bot())
    chair = bot.user(WARD_CHAIR, "Hùng")
    await bot.press(chair, "a:1")
    await bot.send(cadre.unblocks_bot())
    assert await owner_of(bot, 1) == "ld-hh-ct", "acknowledged: the chairman keeps it"


async def test_when_the_cadre_and_the_ward_leader_cannot_be_reached_the_city_is_told(
    bot: BotDriver,
) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))
    await bot.send(bot.user(WARD_CHAIR, "Hùng").blocks_bot())
    sent = await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").blocks_bot())
    assert await owner_of(bot, 1) == "ld-hh-bt", "the ward's other leader holds it"
    city = joined([m for m in sent if m.chat_id == CITY_LEADER])
    assert says(city, "owners.why_blocked", name="Vũ Đức Thắng")
    assert "PA-000001 → Trần Thị Thu Hà" in city
    assert [m for m in sent if m.chat_id == WARD_CHAIR] == []
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)


async def test_a_cadre_telegram_refuses_is_passed_at_the_first_message(bot: BotDriver) -> None:
    # Her account is in the chart, but she never opened the bot: Telegram
    # refuses the task card (403), and the task moves on at once.
    bot.api.blocked_chats.add(ENVIRONMENT_CADRE)
    sent = await file_sanitation_report(bot, bot.user(501, "An"))
    assert await owner_of(bot, 1) == "ld-hh-ct"
    chair = joined([m for m in sent if m.chat_id == WARD_CHAIR])
    assert says(chair, "task.card", header=t("vi", "task.transferred_header"), code="PA-000001")
    assert says(chair, "owners.why_blocked", name="Vũ Đức Thắng")
    # Until she writes to the bot, routing passes her by, and says so.
    sent = await file_sanitation_report(bot, bot.user(502, "Bình"), group="HH-TDP04")
    assert await owner_of(bot, 2) == "ld-hh-ct"
    assert says(
        joined([m for m in sent if m.chat_id == WARD_CHAIR]),
        "task.card",
        header=t("vi", "task.new_header"),
        code="PA-000002",
    )
    bot.api.blocked_chats.discard(ENVIRONMENT_CADRE)
    sent = await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").command("tasks"))
    assert await owner_of(bot, 2) == "cb-hh-mt", "she wrote: she can be reached again"
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)


async def test_reassign_offers_only_people_who_can_act_and_not_the_leader_reassigning(
    bot: BotDriver,
) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))
    chair = bot.user(WARD_CHAIR, "Hùng")
    await bot.send(bot.user(7011, "Tuấn").blocks_bot())
    await bot.send(chair.command("reassign", "PA-000001"))
    offered = choices(bot.api.last_to(WARD_CHAIR))
    assert "ld-hh-ct" not in offered, "not the leader reassigning"
    assert "cb-hh-mt" not in offered, "not its owner"
    assert "tt-hh-12" not in offered, "not someone who never joined"
    assert "cb-hh-dc1" not in offered, "not someone who blocked the bot"
    assert "ld-hh-bt" in offered and "cb-hh-ca" in offered
    assert not {"ld-bd-ct", "cb-bd-dc", "ld-tp-bt"} & set(offered), "only this ward's"
    # Typed or forged, someone not offered is refused and nothing changes.
    actor = await bot.services.identify("telegram", str(WARD_CHAIR), None)
    reply = await bot.services._reassign(actor, {"complaint_id": 1, "cadre": "tt-hh-12"})
    assert [n.key for n in reply.notes] == ["reassign.not_in_ward"]
    assert await owner_of(bot, 1) == "cb-hh-mt"


async def quick_file(
    bot: BotDriver, n: int, area: str, category: str, *, leadership: bool = False
) -> int:
    """File a complaint through the services (by choices), as resident ``n``."""
    services = bot.services
    bot.user(600 + n, f"Dân {n}")
    actor = await services.identify("telegram", str(600 + n), f"Dân {n}")
    reply = await services.start_report(actor, area)
    family = services.chart.categories[category].family
    keys = [family.value, category]
    if family.value == "official_conduct":
        keys.append("y" if leadership else "n")
    for key in keys:
        assert reply is not None and reply.prompt is not None
        reply = await services.answer(actor, ChoiceAnswer(reply.prompt.seq, key))
    reply = await services.answer(actor, TextAnswer("Mô tả sự việc"))
    for key in ("d", "ok"):
        assert reply is not None and reply.prompt is not None
        reply = await services.answer(actor, ChoiceAnswer(reply.prompt.seq, key))
    assert reply is not None and reply.complaint is not None
    return reply.complaint.id


async def test_every_open_complaint_has_exactly_one_owner_who_can_act(bot: BotDriver) -> None:
    """Every group × category of both wards, both kinds of complaint about
    an official, then people leaving, blocking, coming back and joining: at
    each step every open complaint's one owner can act on it."""
    chart = bot.services.chart
    n = 0
    for group in chart.groups():
        for category in chart.categories.values():
            for leadership in (
                (False, True) if category.family.value == "official_conduct" else (False,)
            ):
                n += 1
                await quick_file(bot, n, group.code, category.code, leadership=leadership)
    await bot.flush()
    assert await assert_every_open_complaint_has_an_owner_who_can_act(bot) == n
    steps = [
        bot.user(ENVIRONMENT_CADRE, "Thắng").blocks_bot(),
        bot.user(WARD_CHAIR, "Hùng").blocks_bot(),
        bot.user(CITY_LEADER, "Sơn").blocks_bot(),
        bot.user(WARD_SECRETARY, "Hà").blocks_bot(),
        bot.user(WARD_CHAIR, "Hùng").unblocks_bot(),
        bot.user(ENVIRONMENT_CADRE, "Thắng").unblocks_bot(),
    ]
    for step in steps:
        await bot.send(step)
        await assert_every_open_complaint_has_an_owner_who_can_act(bot)
    await Admin(bot.services).deactivate("cb-hh-ca")
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)
    link = await Admin(bot.services).invite("tt-hh-12", Role.CADRE, LINKS)
    await bot.send(bot.user(NEWCOMER, "Lan").command("start", link.url.split("start=")[1]))
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)
    await bot.tick()
    assert await assert_every_open_complaint_has_an_owner_who_can_act(bot) == n
    owners = {t.owner for t in await bot.services.store.open_tasks() if t.concerns_leadership}
    assert owners <= {"ld-tp-ct"}, "about a ward's leadership: only the city"


# ---- 3. the running bot follows the org chart -----------------------------------------------


ROOT = Path(__file__).resolve().parents[1]


async def cli(
    db: Path | PostgresUrl, clock: ManualClock, *args: str
) -> subprocess.CompletedProcess[str]:
    """`phananh …` as an operator runs it, beside the running bot, on its
    database.  It stamps what it writes with the wall clock: the bot's clock
    moves on to then, so it sees that due."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    env.update(PHANANH_DB=setting(db), PYTHONPATH=str(ROOT))
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wall_clock(clock)
    return done


def wall_clock(clock: ManualClock) -> None:
    """The command line stamps what it writes with the wall clock: the bot
    beside it must live at the same time to see it due."""
    clock.set(max(clock.now(), datetime.now(UTC)))


async def test_a_deactivation_on_the_command_line_reaches_the_running_bot_within_one_sweep(
    bot: BotDriver, where: Path | PostgresUrl, clock: ManualClock
) -> None:
    wall_clock(clock)
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    done = await cli(where, clock, "staff", "deactivate", "cb-hh-mt")
    assert "Đã ngừng hoạt động cb-hh-mt; 1 việc" in done.stdout
    assert await owner_of(bot, 1) == "ld-hh-ct", "the command line moved it"
    cadre_tries = len(attempts_to(bot, ENVIRONMENT_CADRE))

    sent = await bot.tick()  # the next sweep: the bot reads the chart again
    chair = joined([m for m in sent if m.chat_id == WARD_CHAIR])
    assert says(chair, "task.card", header=t("vi", "task.transferred_header"), code="PA-000001"), (
        "the new owner is told"
    )
    assert "Vũ Đức Thắng đã ngừng hoạt động:\n   PA-000001 → Nguyễn Văn Hùng" in chair
    await file_sanitation_report(bot, an, group="HH-TDP05")
    assert await owner_of(bot, 2) == "ld-hh-ct", "routing no longer knows him"
    for _ in range(12):  # a working day and more of reminders and escalations
        clock.advance(timedelta(hours=3))
        await bot.tick()
    assert len(attempts_to(bot, ENVIRONMENT_CADRE)) == cadre_tries, "he hears nothing more"
    sent = await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").command("tasks"))
    assert says(joined(sent), "task.not_staff")


async def test_an_org_import_on_the_command_line_reroutes_in_the_running_bot(
    bot: BotDriver, where: Path | PostgresUrl, chart: OrgChart, tmp_path: Path, clock: ManualClock
) -> None:
    wall_clock(clock)
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    # The environment cadre leaves the chart; the police officer takes sanitation.
    changed = dataclasses.replace(
        chart,
        staff={k: v for k, v in chart.staff.items() if k != "cb-hh-mt"},
        assignments={k: v for k, v in chart.assignments.items() if v != "cb-hh-mt"},
        family_defaults={
            **{k: v for k, v in chart.family_defaults.items() if v != "cb-hh-mt"},
            ("HONGHAI", Family.SANITATION): "cb-hh-ca",
        },
    )
    path = tmp_path / "changed.yaml"
    path.write_text(dump_org(changed), encoding="utf-8")
    done = await cli(where, clock, "org", "import", str(path))
    assert says(done.stdout, "cli.org_move", code="PA-000001", old="cb-hh-mt", new="cb-hh-ca")
    sent = await bot.tick()
    assert says(
        joined([m for m in sent if m.chat_id == POLICE_OFFICER]),
        "task.card",
        header=t("vi", "task.transferred_header"),
        code="PA-000001",
    )
    assert says(
        joined([m for m in sent if m.chat_id == WARD_CHAIR]),
        "owners.why_removed",
        name="Vũ Đức Thắng",
    )
    await file_sanitation_report(bot, an, group="HH-TDP05")
    assert await owner_of(bot, 2) == "cb-hh-ca", "the running bot routes by the new chart"
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)


async def test_two_bot_processes_on_one_database_both_follow_the_command_line(
    bot: BotDriver, where: Path | PostgresUrl, clock: ManualClock
) -> None:
    wall_clock(clock)
    # Replicas of one bot: the same Telegram bot, the same database.
    async with started_bot(where, clock, api=bot.api) as other:
        await cli(where, clock, "staff", "deactivate", "cb-hh-mt")
        await bot.tick()
        await other.tick()
        await file_sanitation_report(bot, bot.user(501, "An"))
        await file_sanitation_report(other, other.user(502, "Bình"), group="HH-TDP05")
        assert [await owner_of(bot, 1), await owner_of(bot, 2)] == ["ld-hh-ct", "ld-hh-ct"]


# ---- 7. transfer to a group of another ward --------------------------------------------------


async def test_a_task_moved_to_another_wards_group_keeps_its_deadline_and_both_leaders_hear(
    bot: BotDriver, clock: ManualClock
) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))
    filed = await bot.services.complaint(1)
    assert filed is not None
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.press(cadre, "t:1")
    await bot.choose(cadre, "g")
    await bot.choose(cadre, "w")
    await bot.choose(cadre, "BACHDANG")
    assert "BD-TDP02" in choices(bot.api.last_to(ENVIRONMENT_CADRE))
    sent = await bot.choose(cadre, "BD-TDP02")
    moved = await bot.services.complaint(1)
    assert moved is not None
    assert (moved.ward, moved.area, moved.owner) == ("BACHDANG", "BD-TDP02", "ld-bd-ct")
    assert moved.due_at == filed.due_at, "the deadline stays"
    for leader in (WARD_CHAIR, BACHDANG_CHAIR):
        told = joined([m for m in sent if m.chat_id == leader])
        assert says(
            told,
            "notify.ward_transfer",
            code="PA-000001",
            from_ward="Phường Hồng Hải",
            to_ward="Phường Bạch Đằng",
        )
    clock.advance(timedelta(minutes=1))
    digests = bot.digests
    week = digests.to_date(PeriodKind.WEEK)
    bachdang, _ = await digests.stats(Scope(("BACHDANG",)), week)
    honghai, _ = await digests.stats(Scope(("HONGHAI",)), week)
    assert (bachdang.received, honghai.received) == (1, 0), "counted in its new ward"


# ---- 1. the ward's own digest and exports ------------------------------------------------------


async def test_the_wards_own_export_and_digest_leave_out_a_complaint_about_its_leadership(
    bot: BotDriver, clock: ManualClock
) -> None:
    await file_conduct(bot, bot.user(501, "An"), about_leaders=True)
    await file_sanitation_report(bot, bot.user(502, "Bình"))
    clock.advance(timedelta(minutes=1))

    async def exported(who: int, *args: str) -> list[str]:
        sent = await bot.send(bot.user(who, "Lãnh đạo").command("export", *args))
        upload = sent[0].params["document"]
        assert isinstance(upload, UploadedFile)
        return [row[0] for row in open_like_excel(upload.content)[1:]]

    assert await exported(WARD_CHAIR, "week") == ["PA-000002"]
    assert await exported(WARD_SECRETARY, "week") == ["PA-000002"]
    assert await exported(CITY_LEADER, "week") == ["PA-000001", "PA-000002"]
    assert await exported(CITY_LEADER, "week", "HONGHAI") == ["PA-000001", "PA-000002"]
    digests = bot.digests
    week = digests.to_date(PeriodKind.WEEK)
    ward = await digests.build(Scope(("HONGHAI",)), week)
    city = await digests.build(Scope(("HONGHAI", "BACHDANG"), whole_city=True), week)
    assert (ward.week_counts.received, city.week_counts.received) == (1, 2)
    categories = next(b for b in ward.breakdowns if b.dimension is Dimension.CATEGORY)
    assert "NNCB" not in categories.groups


async def test_when_the_chart_is_fixed_the_fallbacks_task_goes_where_it_says_and_the_chair_hears(
    bot: BotDriver, where: Path | PostgresUrl, chart: OrgChart, tmp_path: Path, clock: ManualClock
) -> None:
    wall_clock(clock)
    an = bot.user(501, "An")
    await bot.send(an.command("start", "a-HH-TDP12"))
    for key in ("urban_order", "BHR"):
        await bot.choose(an, key)
    await bot.send(an.text("Họp chợ tự phát đầu ngõ"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    assert await owner_of(bot, 1) == "cb-hh-ca", "group 12's leader has not joined"
    # The office gives group 12's street vending to group 6's leader, who has.
    fixed = dataclasses.replace(
        chart,
        assignments={
            **chart.assignments,
            ("HH-TDP12", "BHR"): "tt-hh-06",
        },
    )
    path = tmp_path / "fixed.yaml"
    path.write_text(dump_org(fixed), encoding="utf-8")
    done = await cli(where, clock, "org", "import", str(path))
    assert says(done.stdout, "cli.org_move_back", code="PA-000001", new="tt-hh-06")
    sent = await bot.tick()
    assert await owner_of(bot, 1) == "tt-hh-06"
    chair = joined([m for m in sent if m.chat_id == WARD_CHAIR])
    assert (
        "Trả về người phụ trách theo phân công, Bùi Văn Toàn:\n   PA-000001 → Bùi Văn Toàn" in chair
    )
    assert "PA-000001" in joined([m for m in sent if m.chat_id == 7026]), "the new owner is told"
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)


async def test_many_moved_at_once_are_told_in_messages_that_fit(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(owners_module, "BATCH", 60)  # a big move, in several transactions
    for n in range(1, 161):
        await quick_file(bot, n, "HH-TDP03" if n % 2 else "HH-TDP04", "RKTG")
    await bot.flush()
    sent = await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").blocks_bot())
    tasks = await bot.services.store.open_tasks()
    assert {t.owner for t in tasks} == {"ld-hh-ct"} and len(tasks) == 160
    told = [m for m in sent if m.chat_id == WARD_CHAIR and says(m.text, "owners.header")]
    assert len(told) == 3, "one message per batch of 60"
    assert all(len(m.text or "") <= 4096 for m in told)
    await assert_every_open_complaint_has_an_owner_who_can_act(bot)

    await Admin(bot.services).deactivate("ld-hh-ct")  # one transaction: one message
    sent = await bot.flush()
    (told_city,) = [m for m in sent if says(m.text, "owners.header")]
    assert len(told_city.text or "") <= 4096
    assert says(told_city.text, "owners.more"), "what does not fit is counted"


async def test_an_escalation_whose_ward_leader_blocked_the_bot_goes_to_the_city(
    bot: BotDriver, clock: ManualClock
) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))  # Monday 09:00, acknowledge by 17:00
    await bot.send(bot.user(WARD_CHAIR, "Hùng").blocks_bot())
    clock.advance(timedelta(hours=8, minutes=5))
    sent = await bot.tick()
    overdue = [
        m for m in sent if "PA-000001" in (m.text or "") and "quá hạn tiếp nhận" in (m.text or "")
    ]
    assert {m.chat_id for m in overdue} == {ENVIRONMENT_CADRE, CITY_LEADER, OTHER_CITY_LEADER}
    assert attempts_to(bot, WARD_CHAIR) == [], "nothing is even tried"


async def test_the_bot_added_to_or_removed_from_a_group_changes_nothing(
    bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "Tổ dân phố 3"}
    chair = bot.user(WARD_CHAIR, "Hùng")
    for old, new in (("left", "member"), ("member", "kicked")):
        change = chair._bot_status(old, new)
        change["my_chat_member"]["chat"] = group
        await bot.send(change)
    refused = (await bot.services.reach()).refused
    assert "ld-hh-ct" not in refused, "a group's membership is not the chairman's"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
