"""The README, the text catalogues and the code agree (in the style of
sqlite-utils' test_docs.py): every command the bot registers and every CLI
subcommand is documented, and the two catalogues match key for key and
placeholder for placeholder."""

from __future__ import annotations

import argparse
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot import config, i18n
from bot.app import build_application
from bot.cli import _parser
from bot.config import Settings
from handlers.common import COMMANDS, LEADER_COMMANDS, STAFF_COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")

FENCE = re.compile(r"^[ \t]*```([\w-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}


def _registered_commands(tmp_path: Path) -> set[str]:
    app = build_application(Settings(db_path=tmp_path / "docs.db"))
    return {
        command
        for handlers in app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return _registered_commands(tmp_path_factory.mktemp("docs"))


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}"
                yield path
                yield from _subcommands(sub, path)


CLI_SUBCOMMANDS = sorted(_subcommands(_parser(), "phananh"))


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


# ------------------------------------------------------------ bot commands


def test_the_bot_registers_commands(registered: set[str]) -> None:
    # Guards the tests below against an empty walk over the handlers.
    assert {"start", "new", "help", "tasks"} <= registered


def test_every_registered_command_is_in_the_readme(registered: set[str]) -> None:
    missing = sorted(c for c in registered if not re.search(rf"`/{c}\b", README))
    assert missing == []


def test_every_command_in_the_readme_is_registered(registered: set[str]) -> None:
    # The first cell of the README's command tables (`/file/bot` elsewhere is a URL path).
    documented = set(re.findall(r"^\| `/([A-Za-z0-9_]+)", README, re.MULTILINE))
    assert len(documented) >= 8
    assert sorted(documented - registered) == []


def test_the_command_lists_match_the_registered_handlers(registered: set[str]) -> None:
    listed = [*COMMANDS, *STAFF_COMMANDS, *LEADER_COMMANDS]
    assert len(listed) == len(set(listed)), "a command is listed twice"
    assert sorted(set(listed) - registered) == [], "listed but never registered"
    assert sorted(registered - set(listed)) == [], "registered but missing from the lists"


@pytest.mark.parametrize("command", [*COMMANDS, *STAFF_COMMANDS, *LEADER_COMMANDS])
def test_command_names_are_valid_for_telegram(command: str) -> None:
    assert re.fullmatch(r"[a-z0-9_]{1,32}", command)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("command", [*COMMANDS, *STAFF_COMMANDS, *LEADER_COMMANDS])
def test_every_command_has_a_menu_description(lang: str, command: str) -> None:
    description = i18n.catalogue(lang).get(f"commands.{command}")
    assert description is not None, f"commands.{command} missing from {lang}.toml"
    # Telegram's setMyCommands: a description is 1-256 characters.
    assert 1 <= len(description.strip()) == len(description) <= 256


# ------------------------------------------------------------ CLI commands


def test_the_cli_has_the_documented_shape() -> None:
    # Guards the walk below against an empty or a flattened parser.
    assert CLI_SUBCOMMANDS == [
        "phananh backup",
        "phananh demo",
        "phananh digest",
        "phananh invite",
        "phananh org",
        "phananh org check",
        "phananh org export",
        "phananh org import",
        "phananh people",
        "phananh people block",
        "phananh people unblock",
        "phananh posters",
        "phananh restore",
        "phananh run",
        "phananh staff",
        "phananh staff deactivate",
    ]


@pytest.mark.parametrize("subcommand", CLI_SUBCOMMANDS)
def test_every_cli_subcommand_is_in_the_readme(subcommand: str) -> None:
    readme = " ".join(README.split())  # a command may be wrapped across lines
    assert subcommand in readme


# ---------------------------------------------------------------- catalogues


def test_both_catalogues_have_the_same_keys() -> None:
    vi, en = i18n.catalogue("vi"), i18n.catalogue("en")
    assert len(vi) > 100
    assert sorted(set(vi) - set(en)) == [], "only in vi.toml"
    assert sorted(set(en) - set(vi)) == [], "only in en.toml"


def test_both_catalogues_use_the_same_placeholders() -> None:
    vi, en = i18n.catalogue("vi"), i18n.catalogue("en")
    mismatched = {
        key: (sorted(_placeholders(vi[key])), sorted(_placeholders(en[key])))
        for key in sorted(set(vi) & set(en))
        if _placeholders(vi[key]) != _placeholders(en[key])
    }
    assert mismatched == {}
    # The comparison above is not vacuous.
    assert _placeholders(vi["cli.org_imported"]) == {
        "db",
        "areas",
        "groups",
        "categories",
        "staff",
        "assignments",
    }


# -------------------------------------------------------------- the README


def _fenced_blocks() -> list[tuple[int, str, str]]:
    """(offset, language, body) of every fenced block, in order."""
    return [(m.start(), m.group(1), m.group(2)) for m in FENCE.finditer(README)]


def _commands(body: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in body.splitlines())
    return [line for line in lines if line]


def test_readme_shows_make_demo_and_make_test_first() -> None:
    shell_blocks = [block for block in _fenced_blocks() if block[1] in SHELL_LANGUAGES]
    assert len(shell_blocks) >= 2
    _, _, first = shell_blocks[0]
    assert _commands(first) == ["make demo", "make test"]
    # And no other fenced block of any kind comes before it.
    assert _fenced_blocks()[0] == shell_blocks[0]
    assert all("make demo" not in body for _, _, body in shell_blocks[1:])


@pytest.mark.parametrize("target", ["demo", "test"])
def test_the_make_targets_the_readme_shows_exist(target: str) -> None:
    assert re.search(rf"^{target}:", MAKEFILE, re.MULTILINE)


def test_readme_configuration_table_matches_the_settings() -> None:
    rows = dict(re.findall(r"^\| `(PHANANH_[A-Z_]+)` \| ([^|]+?) \|", README, re.MULTILINE))
    assert set(rows) == set(config._ENV_NAMES.values())
    # TOML keys are the variable names without the prefix, in lower case.
    for key, variable in config._ENV_NAMES.items():
        assert variable == f"PHANANH_{key.upper()}"
    defaults = Settings()
    assert rows["PHANANH_TELEGRAM_API_URL"] == f"`{defaults.telegram_api_url}`"
    assert rows["PHANANH_DB"] == f"`{config.DEFAULT_DB}`"
    assert Path(config.DEFAULT_DB) == defaults.db_path
    assert rows["PHANANH_TZ"] == f"`{defaults.tz_name}`"
    assert rows["PHANANH_LOCATE_MAX_KM"] == f"`{defaults.locate_max_km}`"
    assert rows["PHANANH_DEFAULT_LANGUAGE"] == f"`{defaults.default_language}`"
