"""The audit log, readable: ``/history CODE`` in chat for the owner and the
leaders who may see the complaint (the authorization table decides), and
``phananh history`` on the command line, where the changes made from the
command line (org imports, deactivations, block and unblock) are recorded
with who ran them."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from tests.factories import (
    CITY_LEADER,
    CONSTRUCTION_K1,
    ENVIRONMENT_CADRE,
    OTHER_WARD_LEADER,
    WARD_CHAIR,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RESIDENT = 501


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def a_handled_complaint(bot: BotDriver, clock: ManualClock) -> None:
    """Filed Monday 09:00 by Nguyễn Thị An, acknowledged at 09:30 by the
    environment cadre, resolved at 14:00 with a note."""
    await file_sanitation_report(bot, bot.user(RESIDENT, "Nguyễn Thị", last_name="An"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    clock.set(at(23, 9, 30))
    await bot.press(cadre, "a:1")
    await bot.choose(cadre, "s")  # no note to the resident
    clock.set(at(23, 14))
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom, rửa sạch"))
    await bot.choose(cadre, "s")


def line(at_text: str, action_key: str, actor: str, language: str = "vi", **extra: str) -> str:
    action = t(language, f"history.action_{action_key}")
    return t(language, "history.line", at=at_text, action=action, actor=actor, **extra)


# ---- in chat --------------------------------------------------------------------------------


async def test_the_owner_reads_who_did_what_and_when(bot: BotDriver, clock: ManualClock) -> None:
    clock.set(at(23, 9))
    await a_handled_complaint(bot, clock)
    sent = await bot.send(bot.user(ENVIRONMENT_CADRE, "Thắng").command("history", "pa-000001"))
    text = joined(sent)
    assert [m.chat_id for m in sent] == [ENVIRONMENT_CADRE]
    lines = text.splitlines()
    assert lines[0].startswith("📜 Lịch sử xử lý PA-000001 — Rác không được thu gom")
    assert line("23/11/2026 09:00", "file", t("vi", "history.by_reporter")) in lines
    assert line("23/11/2026 09:30", "acknowledge", "Vũ Đức Thắng") in lines
    resolved = lines.index(line("23/11/2026 14:00", "resolve", "Vũ Đức Thắng"))
    assert lines[resolved + 1] == t("vi", "history.note", note="Đã thu gom, rửa sạch")
    assert "Nguyễn Thị" not in text, "the history never names the resident"


async def test_the_leaders_who_may_see_it_read_it_and_nobody_else(
    bot: BotDriver, clock: ManualClock
) -> None:
    clock.set(at(23, 9))
    await a_handled_complaint(bot, clock)
    readers = {WARD_CHAIR: "Hùng", CITY_LEADER: "Sơn"}
    for user_id, name in readers.items():
        sent = await bot.send(bot.user(user_id, name).command("history", "PA-000001"))
        assert joined(sent).startswith("📜 Lịch sử xử lý PA-000001"), name
    refused = {
        OTHER_WARD_LEADER: t("vi", "refusal.not_allowed"),  # another ward's leader
        CONSTRUCTION_K1: t("vi", "refusal.not_allowed"),  # a cadre of the ward, not its owner
        RESIDENT: t("vi", "history.only_staff"),  # the reporter
        502: t("vi", "history.only_staff"),  # anyone
    }
    for user_id, answer in refused.items():
        sent = await bot.send(bot.user(user_id, "Ai đó").command("history", "PA-000001"))
        assert joined(sent) == answer, user_id
    chair = bot.user(WARD_CHAIR, "Hùng")
    nothing = joined(await bot.send(chair.command("history", "PA-000099")))
    assert nothing == t("vi", "status.not_found", code="PA-000099"), "a guessed code: not found"
    assert joined(await bot.send(chair.command("history"))) == t("vi", "history.usage")


async def test_a_complaint_about_the_ward_leadership_shows_its_history_to_the_city_only(
    bot: BotDriver,
) -> None:
    cuong = bot.user(503, "Cường")
    await bot.send(cuong.command("new"))
    await bot.choose(cuong, "official_conduct")
    await bot.choose(cuong, "NNCB")
    await bot.choose(cuong, "y")  # it concerns the ward's leadership
    await bot.choose(cuong, "HONGHAI")
    await bot.choose(cuong, "HH-TDP05")
    await bot.send(cuong.text("Lãnh đạo phường đòi tiền"))
    await bot.choose(cuong, "d")
    await bot.choose(cuong, "ok")
    city = joined(await bot.send(bot.user(CITY_LEADER, "Sơn").command("history", "PA-000001")))
    assert city.startswith("📜 Lịch sử xử lý PA-000001")
    chair = joined(await bot.send(bot.user(WARD_CHAIR, "Hùng").command("history", "PA-000001")))
    assert "Lãnh đạo phường đòi tiền" not in chair and not chair.startswith("📜")


async def test_an_extension_and_a_rejection_read_with_their_reasons(
    bot: BotDriver, clock: ManualClock
) -> None:
    clock.set(at(23, 9))
    for n in range(2):
        await file_sanitation_report(bot, bot.user(RESIDENT + n, f"Dân {n}"))
    chair = bot.user(WARD_CHAIR, "Hùng")
    clock.set(at(23, 10))
    await bot.send(chair.command("extend", "PA-000001"))
    await bot.choose(chair, "5")  # the "+5 days" button
    await bot.send(chair.text("Chờ xe chuyên dụng"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    clock.set(at(23, 11))
    await bot.press(cadre, "j:2")
    await bot.choose(cadre, "duplicate")
    await bot.send(cadre.text("Trùng PA-000001"))
    extended = joined(await bot.send(chair.command("history", "PA-000001"))).splitlines()
    rejected = joined(await bot.send(chair.command("history", "PA-000002"))).splitlines()
    days = t("vi", "history.days", days="5")
    assert f"• 23/11/2026 10:00 — Gia hạn {days} — Nguyễn Văn Hùng" in extended
    assert t("vi", "history.note", note="Chờ xe chuyên dụng") in extended
    reason = t("vi", "reason.duplicate")
    assert f"• 23/11/2026 11:00 — Không tiếp nhận: {reason} — Vũ Đức Thắng" in rejected
    assert t("vi", "history.note", note="Trùng PA-000001") in rejected


async def test_history_in_english_for_an_officer_who_chose_it(
    bot: BotDriver, clock: ManualClock
) -> None:
    clock.set(at(23, 9))
    await a_handled_complaint(bot, clock)
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.send(cadre.command("lang", "en"))
    text = joined(await bot.send(cadre.command("history", "PA-000001")))
    assert text.startswith("📜 History of PA-000001 — Rubbish not collected")
    assert line("23/11/2026 09:30", "acknowledge", "Vũ Đức Thắng", "en") in text.splitlines()


# ---- on the command line --------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PHANANH_* variable, the database in tmp_path, and an OS user
    named ``thu-ky`` (the ward office's clerk)."""
    for name in [n for n in os.environ if n.startswith("PHANANH_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("LOGNAME", "thu-ky")
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    return db


async def _handled(db: Path, chart: OrgChart) -> None:
    await load_chart(db, chart)
    clock = ManualClock(at(23, 9))
    async with started_bot(db, clock) as bot:
        await a_handled_complaint(bot, clock)
        await file_sanitation_report(bot, bot.user(502, "Bình"))  # PA-000002, left open


def test_phananh_history_prints_a_complaints_history(
    cli_env: Path, chart: OrgChart, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_handled(cli_env, chart))
    assert main(["history", "PA-000001"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("📜 Lịch sử xử lý PA-000001")
    assert line("23/11/2026 09:30", "acknowledge", "Vũ Đức Thắng") in out.splitlines()

    assert main(["history", "PA-000404"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [t("vi", "history.not_found", code="PA-000404")]


def test_phananh_history_without_a_database_creates_none(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "PA-000001"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        t("vi", "cli.no_database", db=cli_env, full=cli_env.absolute())
    ]
    assert not cli_env.exists()


def test_command_line_changes_are_logged_with_who_ran_them(
    cli_env: Path, chart: OrgChart, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_handled(cli_env, chart))
    assert main(["history"]) == 0
    assert capsys.readouterr().out.strip() == t("vi", "history.admin_empty")

    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0  # as the OS user
    assert main(["staff", "deactivate", "cb-hh-mt", "--by", "Trần Thu Trang"]) == 0
    assert main(["people", "block", "666", "--reason", "spam", "--by", "thu-ky"]) == 0
    assert main(["people", "unblock", "666"]) == 0
    capsys.readouterr()

    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == t("vi", "history.admin_title", count=4)
    actors = [entry.rsplit(" — ", 1)[1] for entry in lines[1:]]
    assert actors == ["thu-ky", "Trần Thu Trang / thu-ky", "thu-ky", "thu-ky"]
    assert f"Nạp sơ đồ tổ chức {EXAMPLE_ORG}: 0 thay đổi" in lines[1]
    assert "Ngừng hoạt động cb-hh-mt: chuyển 1 việc (PA-000002)" in lines[2]
    assert "Chặn tài khoản Telegram 666: “spam”" in lines[3]
    assert "Bỏ chặn tài khoản Telegram 666" in lines[4]

    # The complaint the deactivation moved says so, and by whom.
    assert main(["history", "PA-000002"]) == 0
    moved = capsys.readouterr().out.splitlines()[-1]
    operator = t("vi", "history.by_operator", name="Trần Thu Trang / thu-ky")
    assert moved.startswith("• ") and moved.endswith(operator)
    assert "→ Nguyễn Văn Hùng" in moved, "to the ward leader (nobody else does rubbish in tổ 3)"


def test_the_admin_log_cannot_be_rewritten(cli_env: Path) -> None:
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0  # the ward's database
    assert main(["people", "block", "666", "--reason", "spam"]) == 0
    with closing(sqlite3.connect(cli_env)) as conn:
        for sql in ("UPDATE admin_log SET actor = 'ai đó'", "DELETE FROM admin_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


def test_a_forgotten_person_is_not_named_in_the_admin_log(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0  # the ward's database
    assert main(["people", "block", "666", "--reason", "spam"]) == 0
    with closing(sqlite3.connect(cli_env)) as conn, conn:
        conn.execute("DELETE FROM accounts WHERE external_id = '666'")
    capsys.readouterr()
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "666" not in out and t("vi", "history.account_forgotten") in out


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "\u202e\u202e"])
def test_a_bad_by_name_is_a_usage_error(
    cli_env: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["people", "unblock", "666", "--by", name])
    assert exit_info.value.code == 2
    assert "--by" in capsys.readouterr().err
    assert not cli_env.exists()


def test_under_sudo_the_person_who_ran_sudo_is_logged(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGNAME", "root")
    monkeypatch.setenv("SUDO_USER", "thu-ky")
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0  # the ward's database
    assert main(["people", "block", "666", "--reason", "spam"]) == 0
    capsys.readouterr()
    assert main(["history"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith(" — thu-ky (sudo)")


def test_the_os_user_of_a_real_process_is_logged(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHANANH_", "SUDO_"))}
    env.update(PHANANH_DB=str(tmp_path / "os.db"), LOGNAME="van-phong", USER="van-phong")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )

    assert run("org", "import", str(EXAMPLE_ORG)).returncode == 0
    shown = run("history")
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.splitlines()[1].endswith(" — van-phong")
