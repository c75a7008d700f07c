"""Staff onboarding and administration: invite links, /whoami, /invite,
deactivating staff, importing a changed chart as a diff, checking gaps."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.admin import Admin, AdminError
from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from handlers.telegram.links import TelegramLinks
from tests.catalogue import says
from tests.factories import (
    ENVIRONMENT_CADRE,
    POLICE_OFFICER,
    WARD_CHAIR,
    WARD_SECRETARY,
    file_sanitation_report,
    joined,
    to,
)

pytestmark = pytest.mark.both_engines

NEWCOMER = 8801  # Ngô Thị Lan, tổ trưởng of group 12, has no Telegram id in the chart

LINKS = TelegramLinks("phananh_bot")


async def _invite(
    bot: BotDriver, staff_id: str = "tt-hh-12", role: Role = Role.CADRE, *, rebind: bool = False
) -> str:
    link = await Admin(bot.services).invite(staff_id, role, LINKS, rebind=rebind)
    assert link.url.startswith("https://t.me/phananh_bot?start=i-")
    return link.url.split("start=")[1]


async def test_an_invite_binds_the_account_and_brings_her_tasks_as_one_list(
    bot: BotDriver,
) -> None:
    # A complaint in group 12 about street vending belongs to its tổ trưởng,
    # who has not joined yet: it goes to the ward's urban-order cadre meanwhile.
    an = bot.user(501, "An")
    await bot.send(an.command("start", "a-HH-TDP12"))
    await bot.choose(an, "urban_order")
    await bot.choose(an, "BHR")
    await bot.send(an.text("Họp chợ tự phát đầu ngõ"))
    await bot.choose(an, "d")
    sent = await bot.choose(an, "ok")
    assert says(
        joined([m for m in sent if m.chat_id == POLICE_OFFICER]),
        "task.card",
        header=t("vi", "task.new_header"),
        code="PA-000001",
    )
    pending, _ = await bot.services.store.outbox_counts()
    assert pending == 0, "nothing waits for someone who cannot read it"

    payload = await _invite(bot)
    lan = bot.user(NEWCOMER, "Lan")
    sent = await bot.send(lan.command("start", payload))
    mine = to(sent, lan)
    assert says(joined(mine), "invite.welcome", name="Ngô Thị Lan")
    assert says(joined(mine), "whoami.cadre", wards="Phường Hồng Hải")
    assert "PA-000001" in joined(mine), "the task the chart gives her comes to her"
    assert "Việc mới" not in joined(mine), "as one list, not the backlog"
    menus = bot.api.calls_to("setMyCommands")
    scoped = [c for c in menus if "chat_id" in str(c.params.get("scope", ""))]
    assert scoped, "the staff chat gets its own command menu"
    sent = await bot.send(lan.command("whoami"))
    assert says(joined(sent), "whoami.staff", name="Ngô Thị Lan")
    sent = await bot.send(lan.command("tasks"))
    assert "PA-000001" in joined(sent)


async def test_an_invite_works_once_and_expires(bot: BotDriver, clock: ManualClock) -> None:
    payload = await _invite(bot)
    lan = bot.user(NEWCOMER, "Lan")
    await bot.send(lan.command("start", payload))
    other = bot.user(8802, "Someone")
    sent = await bot.send(other.command("start", payload))
    assert says(joined(sent), "invite.used")

    late = await _invite(bot, "cb-hh-dc2", rebind=True)  # a record someone holds
    clock.advance(timedelta(days=7, minutes=1))
    sent = await bot.send(bot.user(8803, "Late").command("start", late))
    assert says(joined(sent), "invite.expired")
    sent = await bot.send(bot.user(8804, "Guess").command("start", "i-" + "x" * 24))
    assert "không hợp lệ" in joined(sent)
    sent = await bot.send(bot.user(8805, "Short").command("start", "i-abc"))
    assert "không hợp lệ" in joined(sent)


async def test_an_invite_opened_by_someone_bound_elsewhere_is_refused(bot: BotDriver) -> None:
    payload = await _invite(bot)
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")  # already Vũ Đức Thắng
    sent = await bot.send(cadre.command("start", payload))
    assert says(joined(sent), "invite.bound_elsewhere", staff="Vũ Đức Thắng")
    sent = await bot.send(cadre.command("whoami"))
    assert "Vũ Đức Thắng" in joined(sent)


async def test_invites_check_the_staff_and_role(bot: BotDriver) -> None:
    admin = Admin(bot.services)
    with pytest.raises(AdminError) as unknown:
        await admin.invite("nobody", Role.CADRE, LINKS)
    assert unknown.value.key == "admin.unknown_staff"
    with pytest.raises(AdminError) as wrong:
        await admin.invite("tt-hh-12", Role.WARD_LEADER, LINKS)
    assert wrong.value.key == "admin.role_mismatch"


async def test_a_ward_leader_invites_in_chat_for_their_own_ward_only(bot: BotDriver) -> None:
    chair = bot.user(WARD_CHAIR, "Hùng")
    sent = await bot.send(chair.command("invite"))
    assert "tt-hh-12 (Ngô Thị Lan)" in joined(sent)
    sent = await bot.send(chair.command("invite", "tt-hh-12"))
    assert "https://t.me/phananh_bot?start=i-" in joined(sent)
    sent = await bot.send(chair.command("invite", "cb-bd-dc"))
    assert says(joined(sent), "admin.not_your_ward", staff="cb-bd-dc")
    for outsider in (bot.user(501, "An"), bot.user(ENVIRONMENT_CADRE, "Thắng")):
        sent = await bot.send(outsider.command("invite", "tt-hh-12"))
        assert says(joined(sent), "admin.only_ward_leaders")


async def test_a_ward_leader_cannot_mint_an_invite_to_take_over_an_account(
    bot: BotDriver,
) -> None:
    """The takeover: a ward leader minted an invite for the ward's conduct
    leader (or another bound account), opened it from a second account, and
    received the conduct complaints with the reporters' names while the real
    person was demoted to resident without a word.  A leader invites only
    roles below their own, and never a bound account."""
    chair = bot.user(WARD_CHAIR, "Hùng")
    sent = await bot.send(chair.command("invite", "ld-hh-bt"))  # the conduct leader
    assert joined(sent) == t("vi", "admin.not_below_you", staff="ld-hh-bt")
    sent = await bot.send(chair.command("invite", "cb-hh-mt"))  # a cadre who has joined
    assert joined(sent) == t("vi", "admin.already_bound", staff="cb-hh-mt")
    sent = await bot.send(chair.command("invite", "ld-hh-ct"))  # their own record
    assert "https://t.me/" not in joined(sent)
    # The list of who may be invited shows only the cadres who have not joined.
    sent = await bot.send(chair.command("invite"))
    assert "tt-hh-12 (Ngô Thị Lan)" in joined(sent)
    assert "ld-" not in joined(sent)
    secretary = bot.user(WARD_SECRETARY, "Bí thư")
    assert "lãnh đạo" in joined(await bot.send(secretary.command("whoami")))


async def test_an_invite_for_a_record_bound_since_it_was_minted_is_refused(
    bot: BotDriver,
) -> None:
    first = await _invite(bot)
    second = await _invite(bot)  # minted while nobody held the record
    lan = bot.user(NEWCOMER, "Lan")
    await bot.send(lan.command("start", first))
    taker = bot.user(8810, "Kẻ lạ")
    sent = await bot.send(taker.command("start", second))
    assert joined(sent) == t("vi", "invite.taken")
    assert says(joined(await bot.send(taker.command("whoami"))), "whoami.resident")
    assert "Ngô Thị Lan" in joined(await bot.send(lan.command("whoami")))


async def test_the_command_line_rebinds_an_account_and_the_old_one_is_told(
    bot: BotDriver,
) -> None:
    admin = Admin(bot.services)
    with pytest.raises(AdminError) as bound:
        await admin.invite("cb-hh-mt", Role.CADRE, LINKS)
    assert bound.value.key == "admin.already_bound"
    link = await admin.invite("cb-hh-mt", Role.CADRE, LINKS, rebind=True)
    new_phone = bot.user(8811, "Thắng")
    sent = await bot.send(new_phone.command("start", link.url.split("start=")[1]))
    assert says(joined(to(sent, new_phone)), "invite.welcome", name="Vũ Đức Thắng")
    told = to(sent, bot.user(ENVIRONMENT_CADRE, "Thắng"))
    assert joined(told) == t("vi", "notify.account_rebound", staff="Vũ Đức Thắng")
    old_phone = bot.user(ENVIRONMENT_CADRE, "Thắng")
    assert says(joined(await bot.send(old_phone.command("whoami"))), "whoami.resident")
    assert "Vũ Đức Thắng" in joined(await bot.send(new_phone.command("whoami")))


async def test_whoami_and_help_follow_the_role(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    chair = bot.user(WARD_CHAIR, "Hùng")
    assert says(joined(await bot.send(an.command("whoami"))), "whoami.resident")
    assert says(
        joined(await bot.send(chair.command("whoami"))),
        "whoami.ward_leader",
        wards="Phường Hồng Hải",
    )
    resident_help = joined(await bot.send(an.command("help")))
    leader_help = joined(await bot.send(chair.command("help")))
    assert "/tasks" not in resident_help
    assert "/reassign" in leader_help
    assert "/invite" in leader_help


async def test_deactivating_a_cadre_reroutes_their_open_tasks(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)  # goes to cb-hh-mt
    bot.new_messages()
    moved = await Admin(bot.services).deactivate("cb-hh-mt")
    assert moved == 1
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.owner, complaint.state) == ("ld-hh-ct", State.SUBMITTED)
    sent = await bot.flush()
    assert "đã được chuyển tới" in joined(to(sent, an))
    chair = [m for m in sent if m.chat_id == WARD_CHAIR]
    assert "Vũ Đức Thắng đã ngừng hoạt động:\n   PA-000001 → Nguyễn Văn Hùng" in joined(chair)
    assert says(
        joined(chair), "task.card", header=t("vi", "task.transferred_header"), code="PA-000001"
    ), "the task reaches its new owner"
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    assert says(joined(await bot.send(cadre.command("tasks"))), "task.not_staff")
    await file_sanitation_report(bot, an, group="HH-TDP05")
    routed = await bot.services.complaint(2)
    assert routed is not None
    assert routed.owner == "ld-hh-ct", "routing skips the deactivated cadre"
    with pytest.raises(AdminError):
        await Admin(bot.services).deactivate("cb-hh-mt")


async def test_a_changed_chart_is_applied_as_a_diff(bot: BotDriver, chart: OrgChart) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"))
    staff = {k: v for k, v in chart.staff.items() if k != "cb-hh-mt"}
    defaults = {k: v for k, v in chart.family_defaults.items() if v != "cb-hh-mt"}
    assignments = {k: v for k, v in chart.assignments.items() if v != "cb-hh-mt"}
    smaller = dataclasses.replace(
        chart, staff=staff, family_defaults=defaults, assignments=assignments
    )
    admin = Admin(bot.services)
    plan = await admin.plan_import(smaller)
    assert plan.diff.sections["staff"].removed == ("cb-hh-mt",)
    assert [m.complaint.id for m in plan.consequences.moves] == [1]
    assert not plan.refused
    assert await admin.apply_import(plan)
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.owner == "ld-hh-ct"
    again = await admin.plan_import(smaller)
    assert again.diff.empty, "nothing left to change"


async def test_a_chart_that_would_orphan_a_complaint_is_refused_whole(
    bot: BotDriver, chart: OrgChart
) -> None:
    await file_sanitation_report(bot, bot.user(501, "An"), group="HH-TDP03")
    areas = {k: v for k, v in chart.areas.items() if k != "HH-TDP03"}
    staff = {k: v for k, v in chart.staff.items() if k != "tt-hh-01"}
    assignments = {k: v for k, v in chart.assignments.items() if v != "tt-hh-01"}
    broken = dataclasses.replace(chart, areas=areas, staff=staff, assignments=assignments)
    admin = Admin(bot.services)
    plan = await admin.plan_import(broken)
    assert plan.refused
    assert [c.id for c in plan.consequences.orphans] == [1]
    assert not await admin.apply_import(plan)
    still = await bot.services.store.load_org()
    assert still is not None
    assert "HH-TDP03" in still.areas
    assert "tt-hh-01" in still.staff, "nothing at all was applied"


async def test_the_check_lists_gaps_and_who_has_not_joined(bot: BotDriver) -> None:
    check = await Admin(bot.services).check()
    assert ("HONGHAI", "HH-TDP01", "KHAC") in check.gaps, "'other' has no default cadre"
    assert ("BACHDANG", "BD-TDP01", "RTPT") in check.gaps
    assert all(category not in ("TDCB", "NNCB") for _, _, category in check.gaps)
    assert check.unbound == ("tt-hh-12",)


def test_the_command_line_invites_checks_exports_and_deactivates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name in list(__import__("os").environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "cli.db"))
    monkeypatch.chdir(tmp_path)
    example = Path(__file__).resolve().parents[1] / "examples" / "org.yaml"

    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 1
    assert says(capsys.readouterr().err, "cli.no_database"), "no database yet"
    assert main(["org", "import", str(example), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+ staff: tt-hh-12" in out
    assert says(out, "cli.org_dry_run_no_database")
    assert main(["org", "check"]) == 1, "the dry run applied nothing"
    assert says(capsys.readouterr().err, "cli.no_database"), "nor made an empty database"
    capsys.readouterr()
    assert main(["org", "import", str(example)]) == 0
    capsys.readouterr()

    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 2
    assert "PHANANH_BOT_USERNAME" in capsys.readouterr().err
    monkeypatch.setenv("PHANANH_BOT_USERNAME", "@phananh_bot")
    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 0
    assert "https://t.me/phananh_bot?start=i-" in capsys.readouterr().out
    assert main(["invite", "--role", "city_leader", "--staff", "tt-hh-12"]) == 1
    assert says(capsys.readouterr().err, "admin.role_mismatch")
    assert main(["invite", "--role", "cadre", "--staff", "cb-hh-mt"]) == 1
    assert capsys.readouterr().err.strip() == t("vi", "admin.already_bound", staff="cb-hh-mt")
    assert main(["invite", "--role", "cadre", "--staff", "cb-hh-mt", "--rebind"]) == 0
    assert "https://t.me/phananh_bot?start=i-" in capsys.readouterr().out

    assert main(["org", "check"]) == 0
    out = capsys.readouterr().out
    assert "tt-hh-12 (Ngô Thị Lan)" in out
    assert "KHAC" in out

    exported = tmp_path / "export.yaml"
    assert main(["org", "export", str(exported)]) == 0
    capsys.readouterr()
    assert main(["org", "import", str(exported), "--dry-run"]) == 0
    assert "(0;" in capsys.readouterr().out, "an export imports without changes"

    assert main(["staff", "deactivate", "cb-hh-mt"]) == 0
    assert "Đã ngừng hoạt động cb-hh-mt" in capsys.readouterr().out
    assert main(["staff", "deactivate", "nobody"]) == 1
    assert says(capsys.readouterr().err, "admin.unknown_staff")
    assert main(["org", "export", str(exported), "--force"]) == 0
    assert "active: false" in exported.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["org", "import", str(exported), "--dry-run"]) == 0
    assert "(0;" in capsys.readouterr().out, "the deactivation survives an export"
