"""The command line for people with accounts on several channels: `phananh
invite` prints the Telegram link and the code to send the Zalo bot (the code
binds wherever it is typed), `--add` mints one that adds an account, and
`phananh people block` names an account on any channel."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.app.admin import Admin
from bot.app.services import Services
from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.orgchart import Role
from bot.i18n import t
from handlers.telegram.links import TelegramLinks
from storage.sqlite.db import Database
from storage.sqlite.store import SqliteStore
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in [n for n in os.environ if n.startswith("PHANANH_")]:
        monkeypatch.delenv(name)
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_BOT_USERNAME", "phananh_bot")
    monkeypatch.chdir(tmp_path)
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0
    return db


async def _on_zalo(db_path: Path, external_id: str, typed: str) -> tuple[list[str], str | None]:
    """A Zalo account writes ``typed`` to the bot (the channel-neutral use
    case a Zalo channel calls); the reply's keys and whom it is now."""
    db = await Database.open(db_path)
    try:
        services = Services(SqliteStore(db), ManualClock(START))
        await services.load_org()
        actor = await services.identify(ZALO, external_id, "Lan")
        reply = await Admin(services).bind_by_code(actor, typed)
        after = await services.identify(ZALO, external_id, None)
        return [n.key for n in reply.notes] if reply else [], after.staff and after.staff.id
    finally:
        await db.close()


def test_invite_prints_the_telegram_link_and_the_code_that_binds_on_zalo(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    url = out[1]
    assert url.startswith("https://t.me/phananh_bot?start=i-")
    code = url.split("start=")[1]
    assert out[2] == t("vi", "cli.invite_code", code=code)

    keys, staff = asyncio.run(_on_zalo(cli_db, "e4ea5c", code))
    assert (keys[0], staff) == ("invite.welcome", "tt-hh-12")


def test_a_zalo_only_office_gets_the_invite_code_without_a_telegram_bot(
    cli_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram is blocked in Vietnam: a ward office with only the Zalo bot
    never learns a Telegram bot's name, and still invites its staff, with
    the code to send the Zalo bot (no Telegram link)."""
    monkeypatch.delenv("PHANANH_BOT_USERNAME")
    monkeypatch.setenv("PHANANH_ZALO_TOKEN", "1234567890:AbCdEfGh")
    capsys.readouterr()
    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert not any("t.me" in line for line in out)
    code = out[-1].rsplit(" ", 1)[1]
    assert code.startswith("i-")
    assert out[-1] == t("vi", "cli.invite_code", code=code)
    keys, staff = asyncio.run(_on_zalo(cli_db, "e4ea5c", code))
    assert (keys[0], staff) == ("invite.welcome", "tt-hh-12")
    monkeypatch.delenv("PHANANH_ZALO_TOKEN")
    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-11"]) == 2, "no bot known at all"
    assert capsys.readouterr().err.strip() == t("vi", "cli.no_bot_username")


def test_invite_add_gives_a_bound_member_a_code_for_a_second_account(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invite", "--role", "cadre", "--staff", "cb-hh-mt"]) == 1
    assert capsys.readouterr().err.strip() == t("vi", "admin.already_bound", staff="cb-hh-mt")
    assert main(["invite", "--role", "cadre", "--staff", "cb-hh-mt", "--add"]) == 0
    code = capsys.readouterr().out.strip().splitlines()[-1].rsplit(" ", 1)[1]
    keys, staff = asyncio.run(_on_zalo(cli_db, "e4ea-thang", code))
    assert (keys[0], staff) == ("invite.welcome", "cb-hh-mt")
    with sqlite3.connect(cli_db) as conn:
        accounts = conn.execute(
            "SELECT channel, external_id FROM accounts WHERE person_id ="
            " (SELECT person_id FROM staff_bindings WHERE staff_id = 'cb-hh-mt') ORDER BY 1"
        ).fetchall()
    assert accounts == [(TELEGRAM, "7013"), (ZALO, "e4ea-thang")], "his Telegram stays his"

    with pytest.raises(SystemExit) as usage:
        main(["invite", "--role", "cadre", "--staff", "cb-hh-mt", "--add", "--rebind"])
    assert usage.value.code == 2
    assert "--rebind" in capsys.readouterr().err


def _blocked(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT a.channel, a.external_id, k.reason FROM blocked_people k"
            " JOIN accounts a ON a.person_id = k.person_id ORDER BY 1, 2"
        ).fetchall()


def test_people_block_names_an_account_on_any_channel(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["people", "block", "zalo:e4ea5c", "--reason", "quảng cáo"]) == 0
    assert capsys.readouterr().out.strip() == t(
        "vi", "cli.people_block", channel="Zalo", id="e4ea5c"
    )
    assert main(["people", "block", "e4ea5d", "--channel", "zalo", "--reason", "spam"]) == 0
    assert main(["people", "block", "telegram:0666", "--reason", "spam"]) == 0
    assert main(["people", "block", "667", "--reason", "spam"]) == 0, "Telegram by default"
    assert _blocked(cli_db) == [
        (TELEGRAM, "666", "spam"),
        (TELEGRAM, "667", "spam"),
        (ZALO, "e4ea5c", "quảng cáo"),
        (ZALO, "e4ea5d", "spam"),
    ]
    assert main(["people", "unblock", "ZALO:e4ea5d"]) == 0
    assert (ZALO, "e4ea5d", "spam") not in _blocked(cli_db)
    capsys.readouterr()
    assert main(["history"]) == 0
    assert "Chặn tài khoản Zalo e4ea5c: “quảng cáo”" in capsys.readouterr().out


def _logged(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM admin_log").fetchone()[0])


def test_blocking_twice_or_unblocking_who_is_not_blocked_says_so_and_logs_nothing(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both said "done" and added a line to the admin log for nothing."""
    assert main(["people", "block", "zalo:e4ea5c", "--reason", "quảng cáo"]) == 0
    capsys.readouterr()
    logged = _logged(cli_db)

    assert main(["people", "block", "zalo:e4ea5c", "--reason", "spam"]) == 0
    assert capsys.readouterr().out.strip() == t(
        "vi", "cli.people_already_blocked", channel="Zalo", id="e4ea5c"
    )
    assert _blocked(cli_db) == [(ZALO, "e4ea5c", "quảng cáo")], "the first reason stands"

    assert main(["people", "unblock", "zalo:e4ea5c"]) == 0
    capsys.readouterr()
    logged = _logged(cli_db)
    assert main(["people", "unblock", "zalo:e4ea5c"]) == 0
    assert capsys.readouterr().out.strip() == t(
        "vi", "cli.people_already_unblocked", channel="Zalo", id="e4ea5c"
    )
    assert _logged(cli_db) == logged
    assert _blocked(cli_db) == []


@pytest.mark.parametrize(
    ("account", "key", "params"),
    [
        ("facebook:123", "cli.people_unknown_channel", {"channel": "facebook"}),
        ("telegram:abc", "cli.people_bad_id", {"id": "abc", "channel": "Telegram"}),
        ("telegram:-5", "cli.people_bad_id", {"id": "-5", "channel": "Telegram"}),
        ("zalo:có dấu", "cli.people_bad_id", {"id": "có dấu", "channel": "Zalo"}),
        ("zalo:", "cli.people_bad_id", {"id": "", "channel": "Zalo"}),
    ],
)
def test_people_block_refuses_what_is_no_account_in_one_line(
    cli_db: Path,
    capsys: pytest.CaptureFixture[str],
    account: str,
    key: str,
    params: dict[str, str],
) -> None:
    capsys.readouterr()
    assert main(["people", "block", account, "--reason", "spam"]) == 2
    captured = capsys.readouterr()
    if key == "cli.people_unknown_channel":
        params = {**params, "channels": "telegram, zalo"}
    assert (captured.out, captured.err.splitlines()) == ("", [t("vi", key, **params)])
    assert _blocked(cli_db) == []


async def _thang_adds_his_zalo(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        services = Services(SqliteStore(db), ManualClock(START))
        await services.load_org()
        admin = Admin(services)
        link = await admin.invite("cb-hh-mt", Role.CADRE, TelegramLinks("phananh_bot"), add=True)
        actor = await services.identify(ZALO, "e4ea-thang", "Thắng")
        await admin.bind_by_code(actor, link.code)
    finally:
        await db.close()


async def _blocked_on(db_path: Path, *accounts: tuple[str, str]) -> list[bool]:
    db = await Database.open(db_path)
    try:
        store = SqliteStore(db)
        return [
            (await store.identify_person(channel, external, None, "vi")).blocked
            for channel, external in accounts
        ]
    finally:
        await db.close()


def test_blocking_one_account_blocks_the_person_on_every_channel(cli_db: Path) -> None:
    asyncio.run(_thang_adds_his_zalo(cli_db))
    assert main(["people", "block", "zalo:e4ea-thang", "--reason", "mất máy"]) == 0
    both = ((TELEGRAM, "7013"), (ZALO, "e4ea-thang"))
    assert asyncio.run(_blocked_on(cli_db, *both)) == [True, True]


def test_the_zalo_bot_link_must_be_an_https_link() -> None:
    assert load_settings({"PHANANH_ZALO_BOT_LINK": "https://zalo.me/1234"}).zalo_bot_link
    for bad in ("zalo.me/1234", "http://zalo.me/1234", "https://", "https://zalo.me/a b"):
        with pytest.raises(ConfigError, match="zalo_bot_link"):
            load_settings({"PHANANH_ZALO_BOT_LINK": bad})
