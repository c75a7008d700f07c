"""Each staff member's Telegram chat has the command menu of their role,
their work first and nothing they may not use; residents keep the default
menu.  Menus follow a binding, a role changed by an org import (from another
process, as `phananh org import` does), a deactivation and a language
switched, and nothing waits for them: not the start, not the sweep.

Read back as Telegram would show them: the fake Bot API keeps a menu per
scope and language and finds a chat's the way Telegram does
(`FakeBotApi.menu`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.admin import Admin
from bot.domain.clock import ManualClock
from bot.domain.commands import RESIDENT_ORDER
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import t
from bot.runtime import opened
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi
from handlers.telegram.links import TelegramLinks
from tests.catalogue import says
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    POLICE_OFFICER,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
)

RESIDENT = 501
NEWCOMER = 8801  # Ngô Thị Lan (tt-hh-12): no Telegram id in the chart


async def test_a_cadres_menu_starts_with_her_tasks_and_has_no_forget(bot: BotDriver) -> None:
    menu = bot.api.menu(ENVIRONMENT_CADRE)
    assert menu[:3] == ["tasks", "status", "history"], "the work first"
    assert "forget" not in menu, "staff are deactivated by the office, never erased"
    assert not {"digest", "stats", "export", "web", "reassign", "extend", "invite"} & set(menu)
    assert {"new", "mine", "lang", "help"} <= set(menu), "she may still report, as anyone"


async def test_a_ward_leaders_menu_starts_with_the_tasks_and_the_wards_figures(
    bot: BotDriver,
) -> None:
    menu = bot.api.menu(WARD_CHAIR)
    figures = ["tasks", "digest", "stats", "export", "web"]
    assert menu[:8] == [*figures, "reassign", "extend", "invite"]
    assert "forget" not in menu
    assert len(menu) == len(set(menu)), "each command once"
    city = bot.api.menu(CITY_LEADER)
    assert city[:7] == [*figures, "reassign", "extend"]
    assert "invite" not in city, "only a ward leader invites"


async def test_residents_keep_the_default_menu_in_their_apps_language(bot: BotDriver) -> None:
    assert bot.api.menu(RESIDENT) == list(RESIDENT_ORDER)
    assert bot.api.menu(RESIDENT)[:2] == ["start", "new"], "reporting first"
    english = {c["command"]: c["description"] for c in bot.api.menu_entries(RESIDENT, "en")}
    assert english["new"] == t("en", "commands.new")
    vietnamese = {c["command"]: c["description"] for c in bot.api.menu_entries(RESIDENT, "vi")}
    assert vietnamese["new"] == t("vi", "commands.new"), "no Vietnamese list: the default one"


async def test_staff_menus_speak_the_staff_members_language(bot: BotDriver) -> None:
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    before = {c["command"]: c["description"] for c in bot.api.menu_entries(ENVIRONMENT_CADRE)}
    assert before["tasks"] == t("vi", "commands.tasks")
    await bot.send(cadre.command("lang", "en"))
    after = {c["command"]: c["description"] for c in bot.api.menu_entries(ENVIRONMENT_CADRE)}
    assert after["tasks"] == t("en", "commands.tasks"), "at once, not at the next start"
    assert list(after) == list(before), "the same commands, in the same order"


async def test_binding_an_account_gives_its_chat_the_roles_menu(bot: BotDriver) -> None:
    assert bot.api.menu(NEWCOMER) == list(RESIDENT_ORDER)
    link = await Admin(bot.services).invite("tt-hh-12", Role.CADRE, TelegramLinks("phananh_bot"))
    lan = bot.user(NEWCOMER, "Lan")
    sent = await bot.send(lan.command("start", link.url.split("start=")[1]))
    assert says(joined(sent), "invite.welcome", name="Ngô Thị Lan")
    assert bot.api.menu(NEWCOMER)[0] == "tasks"
    assert "forget" not in bot.api.menu(NEWCOMER)


async def test_a_role_given_by_an_org_import_changes_the_menu_at_the_next_sweep(
    bot: BotDriver, chart: OrgChart
) -> None:
    """The ward police officer becomes a deputy chairman too: the chart is
    imported from the command line (another process); the running bot reads
    it at its next sweep and his menu follows."""
    assert "digest" not in bot.api.menu(POLICE_OFFICER)
    officer = chart.staff["cb-hh-ca"]
    promoted = dataclasses.replace(officer, roles=frozenset({Role.CADRE, Role.WARD_LEADER}))
    new_chart = dataclasses.replace(chart, staff={**chart.staff, officer.id: promoted})
    async with opened(bot.runtime.settings, bot.runtime.core.clock) as other_process:
        admin = Admin(other_process.services)
        assert await admin.apply_import(await admin.plan_import(new_chart))
    assert "digest" not in bot.api.menu(POLICE_OFFICER), "not before the bot reads the chart"
    await bot.tick()
    assert bot.api.menu(POLICE_OFFICER)[:4] == ["tasks", "digest", "stats", "export"]


async def test_a_deactivated_cadre_gets_the_residents_menu_back(bot: BotDriver) -> None:
    async with opened(bot.runtime.settings, bot.runtime.core.clock) as other_process:
        assert await Admin(other_process.services).deactivate("cb-hh-ca") >= 0
    await bot.tick()
    assert bot.api.menu(POLICE_OFFICER) == list(RESIDENT_ORDER), "his own menu is deleted"
    calls = len(bot.api.calls_to("setMyCommands")) + len(bot.api.calls_to("deleteMyCommands"))
    await bot.tick()
    again = len(bot.api.calls_to("setMyCommands")) + len(bot.api.calls_to("deleteMyCommands"))
    assert again == calls, "a sweep with nothing changed sets no menu"


async def test_a_restart_sets_only_the_menus_that_changed(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "menus.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    async with started_bot(db_path, clock, api):
        first = [c for c in api.calls_to("setMyCommands") if c.params["scope"]["type"] == "chat"]
        assert len(first) == len([s for s in chart.staff.values() if s.telegram_id])
    api.calls.clear()
    async with started_bot(db_path, clock, api) as bot:
        scoped = [c for c in api.calls_to("setMyCommands") if c.params["scope"]["type"] == "chat"]
        assert scoped == [], "every staff chat already has its menu"
        assert len(api.calls_to("setMyCommands")) == 2, "the residents' menus, at every start"
        assert bot.api.menu(ENVIRONMENT_CADRE)[0] == "tasks"


async def test_the_start_and_the_sweep_do_not_wait_for_staff_menus(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """Telegram slow to answer every staff chat's setMyCommands: the bot
    starts, takes a report and sends the task card, sweeps; the menus arrive
    when Telegram answers."""
    db_path = tmp_path / "slow.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    released = api.hold("setMyCommands", scope="chat")
    async with started_bot(db_path, clock, api) as bot:
        assert bot.api.menu(ENVIRONMENT_CADRE) == list(RESIDENT_ORDER), "not set yet"
        sent = await file_sanitation_report(bot, bot.user(RESIDENT, "An"))
        assert [m for m in sent if m.chat_id == ENVIRONMENT_CADRE], "the task card went"
        clock.advance(timedelta(hours=5))
        await bot.runtime.tick()
        assert bot.api.menu(ENVIRONMENT_CADRE) == list(RESIDENT_ORDER), "still held"
        released.set()
        await bot.settled()
        assert bot.api.menu(ENVIRONMENT_CADRE)[0] == "tasks"


async def test_a_menu_telegram_refuses_is_tried_again_an_hour_later(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db_path = tmp_path / "refused.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    staff_chats = len([s for s in chart.staff.values() if s.telegram_id])
    # The two residents' menus, then every staff chat: all refused once.
    api.fail_next("setMyCommands", error_code=400, times=2 + staff_chats)
    async with started_bot(db_path, clock, api) as bot:
        assert bot.api.menu(RESIDENT) == [], "refused, logged, and the bot started anyway"
        assert bot.api.menu(ENVIRONMENT_CADRE) == []
        await bot.tick()
        assert bot.api.menu(ENVIRONMENT_CADRE) == [], "not retried at every sweep"
        clock.advance(timedelta(hours=1, minutes=1))
        await bot.tick()
        assert bot.api.menu(ENVIRONMENT_CADRE)[0] == "tasks"


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        ({"type": "private"}, "wrong scope type"),
        ({"type": "chat"}, "chat not found"),
        ({"type": "chat_member", "chat_id": 5}, "chat not found"),
    ],
)
async def test_the_fake_checks_a_menus_scope_as_telegram_does(
    scope: dict[str, object], error: str
) -> None:
    api = FakeBotApi()
    commands = [{"command": "new", "description": "x"}]
    status, body = await api.call("setMyCommands", {"commands": commands, "scope": scope})
    assert status == 400 and error in body["description"]
    status, body = await api.call("setMyCommands", {"commands": commands, "language_code": "vie"})
    assert status == 400 and "language code" in body["description"]


async def test_the_fake_shows_the_narrowest_menu_set_in_the_users_language() -> None:
    api = FakeBotApi()

    async def set_menu(name: str, **params: object) -> None:
        commands = [{"command": name, "description": name}]
        status, _ = await api.call("setMyCommands", {"commands": commands, **params})
        assert status == 200

    await set_menu("default")
    await set_menu("default_en", language_code="en")
    assert (api.menu(1), api.menu(1, "en"), api.menu(1, "vi")) == (
        ["default"],
        ["default_en"],
        ["default"],
    )
    await set_menu("private", scope={"type": "all_private_chats"})
    assert api.menu(1, "en") == ["private"], "a narrower scope wins over a language"
    await set_menu("mine", scope={"type": "chat", "chat_id": 1})
    assert (api.menu(1), api.menu(2)) == (["mine"], ["private"])
    status, _ = await api.call("deleteMyCommands", {"scope": {"type": "chat", "chat_id": 1}})
    assert status == 200 and api.menu(1) == ["private"]
    await set_menu("x", scope={"type": "chat", "chat_id": 2})
    status, _ = await api.call(
        "setMyCommands", {"commands": [], "scope": {"type": "chat", "chat_id": 2}}
    )
    assert status == 200 and api.menu(2) == ["private"], "an empty list is no list"
