"""The README, the text catalogues and the code agree (in the style of
sqlite-utils' test_docs.py): every command the bot registers and every CLI
subcommand is documented, the two catalogues match key for key and
placeholder for placeholder, and no catalogue key is left unused."""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import string
import subprocess
from collections.abc import Collection, Iterable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot import config, i18n
from bot.app.notify import FOLLOWER_WORDED
from bot.app.owner_notices import BACK, JOINED, RETURNED
from bot.cli import _parser
from bot.config import Settings
from bot.domain.authz import Refusal
from bot.domain.commands import ALL_COMMANDS
from bot.domain.complaints import Action, RejectReason, State
from bot.domain.digest import Outcome
from bot.domain.flows import ALL_FLOWS
from bot.domain.orgchart import Family
from bot.domain.reminders import Due
from bot.domain.routing import OwnerProblem
from bot.ports import AdminAction
from bot.report.export import COLUMNS
from handlers.telegram.app import build_application
from handlers.telegram.resident import _OTHER_KINDS
from tests.catalogue import says

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
    listed = list(ALL_COMMANDS)
    assert len(listed) == len(set(listed)), "a command is listed twice"
    assert sorted(set(listed) - registered) == [], "listed but never registered"
    assert sorted(registered - set(listed)) == [], "registered but missing from the lists"


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_command_names_are_valid_for_telegram(command: str) -> None:
    assert re.fullmatch(r"[a-z0-9_]{1,32}", command)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_command_has_a_menu_description(lang: str, command: str) -> None:
    description = i18n.catalogue(lang).get(f"commands.{command}")
    assert description is not None, f"commands.{command} missing from {lang}.toml"
    # Telegram's setMyCommands: a description is 1-256 characters.
    assert 1 <= len(description.strip()) == len(description) <= 256


# ------------------------------------------------------------ CLI commands


def test_the_cli_has_the_documented_shape() -> None:
    # Guards the walk below against an empty or a flattened parser.
    assert CLI_SUBCOMMANDS == [
        "phananh apikey",
        "phananh apikey create",
        "phananh apikey list",
        "phananh apikey revoke",
        "phananh backup",
        "phananh db",
        "phananh db copy",
        "phananh demo",
        "phananh digest",
        "phananh history",
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
        "phananh serve",
        "phananh staff",
        "phananh staff deactivate",
        "phananh web",
        "phananh web link",
        "phananh web revoke",
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


# ------------------------------------------------------ no unused catalogue key
#
# The code is read with ast, never run; the tests are not read, so a key that
# only the tests look up counts as unused.  The rules are in unused_keys.

SOURCE_DIRS = ("bot", "handlers", "storage")


def _parse_sources() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for folder in SOURCE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


SOURCES = _parse_sources()


def _nodes(sources: Mapping[str, ast.Module]) -> Iterator[ast.AST]:
    for tree in sources.values():
        yield from ast.walk(tree)


def _constant(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def string_literals(sources: Mapping[str, ast.Module]) -> set[str]:
    return {s for node in _nodes(sources) if (s := _constant(node)) is not None}


def fstring_shapes(sources: Mapping[str, ast.Module]) -> dict[str, list[str]]:
    """Every f-string as a format shape (f"notify.{event}" is "notify.{}"),
    with where it is, for the failure messages."""
    shapes: dict[str, list[str]] = {}
    for path, tree in sources.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                shape = "".join(
                    part.replace("{", "{{").replace("}", "}}")
                    if (part := _constant(value)) is not None
                    else "{}"
                    for value in node.values
                )
                shapes.setdefault(shape, []).append(f"{path}:{node.lineno}")
    return shapes


def key_shapes(shapes: Iterable[str], keys: Collection[str]) -> set[str]:
    """The shapes that build catalogue keys: they start with a literal
    section of the catalogue and a dot ("notify.{}", "conv.kind_{}")."""
    sections = {key.split(".", 1)[0] for key in keys}
    return {s for s in shapes if "." in s and s.split(".", 1)[0] in sections}


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if position < len(call.args):
        return call.args[position]
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def emitted_events(sources: Mapping[str, ast.Module]) -> set[str]:
    """The events the services put in the outbox: a constant under the
    payload key "event" ({"event": "confirmed"}), or a constant passed as the
    ``event`` argument of a helper that builds the notice
    (``self._reporter_notice(complaint, "acknowledged")``)."""
    helpers: dict[str, int] = {}
    for node in _nodes(sources):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            if "event" in params:
                bound = 1 if params[0] in ("self", "cls") else 0
                helpers[node.name] = params.index("event") - bound
    events: set[str] = set()
    for node in _nodes(sources):
        if isinstance(node, ast.Dict):
            events |= {
                event
                for key, value in zip(node.keys, node.values, strict=True)
                if _constant(key) == "event" and (event := _constant(value)) is not None
            }
        elif isinstance(node, ast.Call) and (name := _called_name(node)) in helpers:
            event = _constant(_argument(node, helpers[name], "event"))
            if event is not None:
                events.add(event)
    return events


def constant_arguments(sources: Mapping[str, ast.Module], function: str, param: str) -> set[str]:
    """The constants passed as ``function``'s first argument, ``param``."""
    return {
        value
        for node in _nodes(sources)
        if isinstance(node, ast.Call) and _called_name(node) == function
        if (value := _constant(_argument(node, 0, param))) is not None
    }


def constants_assigned_to(sources: Mapping[str, ast.Module], variable: str) -> set[str]:
    """The constants the code assigns to a variable of that name."""
    return {
        value
        for node in _nodes(sources)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)
        if (value := _constant(node.value)) is not None
    }


def _each(values: Iterable[str]) -> set[tuple[str, ...]]:
    return {(value,) for value in values}


def _values(enum: type[StrEnum]) -> set[tuple[str, ...]]:
    return _each(member.value for member in enum)


def dynamic_families(sources: Mapping[str, ast.Module]) -> dict[str, set[tuple[str, ...]]]:
    """Each key shape the code builds at run time, and the values its
    placeholders can take there (one tuple per key)."""
    people = (p.rsplit(" ", 1)[1] for p in CLI_SUBCOMMANDS if p.startswith("phananh people "))
    return {
        # The menus of each role (bot/domain/commands.py, handlers/telegram/menus.py).
        "commands.{}": _each(ALL_COMMANDS),
        # Enumerations, shown by their value.
        "state.{}": _values(State),
        "family.{}": _values(Family),
        "outcome.{}": _values(Outcome),
        "refusal.{}": _values(Refusal),
        "reject.reason_{}": _values(RejectReason),
        # The rejection notice carries the RejectReason's value as reason_kind.
        "reason.{}": _values(RejectReason),
        # Why complaints changed hands (bot/app/owners.py), told to a leader.
        "owners.why_{}": _values(OwnerProblem) | _each([BACK, JOINED, RETURNED]),
        "leader.{}_usage": _values(Action),  # the Action of /reassign, /extend
        # The export's columns, and the flow a resident is busy with.
        "export.{}": _each(COLUMNS),
        "conv.kind_{}": _each(flow.kind for flow in ALL_FLOWS),
        # What the services emit, and what the outbox tells each person.
        "notify.{}": _each(emitted_events(sources)),
        # A follower's copy of the notices worded as the reporter's own.
        "notify_follower.{}": _each(FOLLOWER_WORDED),
        # A reminder's Due, or "overdue": the outbox's word for a resolve_due
        # reminder sent after the deadline (the bot was away).
        "reminder.{}": _values(Due) | _each(constants_assigned_to(sources, "due")),
        # Media the bot cannot use: handlers/telegram/resident.py maps message attributes
        # to kinds, and names a few itself (OtherAnswer("document")).
        "media.{}": _each(kind for _, kind in _OTHER_KINDS)
        | _each(constant_arguments(sources, "OtherAnswer", "kind")),
        # phananh people block|unblock
        "cli.people_{}": _each(people),
        # The audit log: a line per complaint event, per command-line change.
        "history.action_{}": _values(Action),
        "history.admin_{}": _values(AdminAction),
    }


def unused_keys(
    keys: Iterable[str],
    literals: Collection[str],
    shapes: Collection[str],
    families: Mapping[str, Iterable[tuple[str, ...]]],
) -> list[str]:
    """The keys the code cannot look up.

    A key is used when the code can reach it by one of two routes:

    1. Literally: the whole key is a string constant in bot/, handlers/ or
       storage/ ("report.filed"; a dict of keys such as render.py's buttons;
       the restore errors storage/sqlite/db.py raises).
    2. Built at run time: an f-string of that shape is in the code (literal
       parts kept, each placeholder as {}: f"notify.{event}" is "notify.{}")
       AND the key's variable part is a value the code can produce there.
       Those values are declared in dynamic_families: the real enumerations
       where there is one (State, Due, ALL_FLOWS, the COMMANDS lists…),
       otherwise read from the code that produces them (the events the
       services put in the outbox).

    A prefix alone is not enough, or any key under "notify." would pass.  The
    declarations cannot go stale either way: an f-string that builds keys but
    is not declared fails a test, and so does a declaration the code lost.
    """
    built = {
        shape.format(*values)
        for shape, options in families.items()
        if shape in shapes
        for values in options
    }
    return sorted(key for key in keys if key not in literals and key not in built)


def template_keys() -> set[str]:
    """The keys the dashboard's templates look up: t("web.…") in bot/web/templates."""
    return {
        key
        for path in (ROOT / "bot" / "web" / "templates").glob("*.html")
        for key in re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_0-9]+)["']""", path.read_text("utf-8"))
    }


LITERALS = string_literals(SOURCES) | template_keys()
SHAPES = fstring_shapes(SOURCES)
FAMILIES = dynamic_families(SOURCES)


def test_the_templates_keys_are_read() -> None:
    # The dashboard's words are looked up in its templates, not in Python.
    assert {"web.nav_week", "web.signin_button", "web.map_legend"} <= template_keys()


def test_no_catalogue_key_is_unused() -> None:
    # Both catalogues have the same keys (tested above), so one is enough.
    assert unused_keys(i18n.catalogue("vi"), LITERALS, SHAPES, FAMILIES) == []


def test_every_key_built_at_run_time_is_declared() -> None:
    built = key_shapes(SHAPES, i18n.catalogue("vi"))
    undeclared = {shape: SHAPES[shape] for shape in sorted(built - set(FAMILIES))}
    assert undeclared == {}, "declare what these f-strings can produce in dynamic_families"
    assert sorted(set(FAMILIES) - built) == [], "declared, but no f-string builds it any more"
    # Each declared family reaches real keys: its values are not stale.
    keys = i18n.catalogue("vi")
    for shape, options in FAMILIES.items():
        reached = [shape.format(*values) for values in options]
        assert set(reached) & set(keys), f"{shape} reaches no key"


def test_the_unused_key_check_finds_unused_keys() -> None:
    catalogue = {
        **i18n.catalogue("vi"),
        "report.made_up": "…",  # no literal, no f-string "report.{}"
        "notify.never_sent": "…",  # the shape is in the code, no service emits it
        "state.lost": "…",  # the shape is in the code, State has no such value
    }
    found = unused_keys(catalogue, LITERALS, SHAPES, FAMILIES)
    assert found == ["notify.never_sent", "report.made_up", "state.lost"]


def test_a_key_built_at_run_time_needs_its_f_string() -> None:
    # The state keys are never written out: they are used only through
    # f"state.{...}", so without that f-string they are all unused.
    states = sorted(f"state.{s.value}" for s in State)
    assert not set(states) & LITERALS
    shapes = set(SHAPES) - {"state.{}"}
    assert unused_keys(i18n.catalogue("vi"), LITERALS, shapes, FAMILIES) == states


def test_the_events_are_read_from_every_kind_of_emitter() -> None:
    # Guards emitted_events against an empty or partial walk: payload dicts
    # (services.py, owners.py), a method (services.py) and functions (sweep.py).
    events = emitted_events(SOURCES)
    assert {"confirmed", "returned", "acknowledged", "auto_closed"} <= events


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
    rows = dict(re.findall(r"^\| `(PHANANH_[A-Z0-9_]+)` \| ([^|]+?) \|", README, re.MULTILINE))
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


# ------------------------------------------------- for the ward's IT officer

ORG_CSV_DOC = (ROOT / "docs" / "org-csv.md").read_text(encoding="utf-8")
SERVICE = (ROOT / "examples" / "phananh.service").read_text(encoding="utf-8")


def _shell_commands(text: str) -> list[str]:
    return [
        command
        for m in FENCE.finditer(text)
        if m.group(1) in SHELL_LANGUAGES
        for command in _commands(m.group(2))
    ]


def test_the_csv_import_command_in_the_docs_runs_as_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/org-csv.md shows the exact commands; they run, from the
    repository's folder, and the second loads the example's people."""
    from bot.cli import main

    commands = [c for c in _shell_commands(ORG_CSV_DOC) if "org import" in c]
    assert len(commands) == 2 and all("--staff" in c and "--assignments" in c for c in commands)
    for name in [n for n in os.environ if n.startswith("PHANANH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "csv.db"))
    monkeypatch.chdir(ROOT)
    for command in commands:
        program, *args = shlex.split(command)
        assert program == ".venv/bin/phananh"
        assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert says(out, "cli.org_dry_run_no_database"), "a first dry run: no database yet"
    assert (
        i18n.t(
            "vi",
            "cli.org_imported",
            db=tmp_path / "csv.db",
            areas=23,
            groups=18,
            categories=13,
            staff=13,
            assignments=17,
        )
        in out
    )


def test_make_install_leaves_the_test_tools_out(tmp_path: Path) -> None:
    """`make install` is for a server: the bot and its dependencies only."""
    planned = subprocess.run(
        ["make", "-n", "install", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in planned.splitlines() if "pip install" in line]
    assert any(line.rstrip().endswith("-e .") for line in installs), planned
    assert not [line for line in installs if "[test" in line], "no test extra"
    assert re.search(r"^dev: \$\(TEST_STAMP\)", MAKEFILE, re.MULTILINE), "the tools, on demand"


def _unit(key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", SERVICE, re.MULTILINE)


def test_the_systemd_unit_runs_the_bot_as_a_service() -> None:
    assert _unit("User") == ["phananh"], "a dedicated user"
    assert _unit("Restart") == ["on-failure"]
    assert _unit("RestartPreventExitStatus") == ["2"], "a configuration mistake is not retried"
    assert _unit("EnvironmentFile") == ["/etc/phananh/phananh.env"]
    (db,) = [v.split("=", 1)[1] for v in _unit("Environment") if v.startswith("PHANANH_DB=")]
    assert Path(db).is_absolute() and db.startswith("/var/lib/phananh/")
    assert _unit("ExecStart")[0].endswith("/.venv/bin/phananh run")
    assert "examples/phananh.service" in README and "examples/phananh.env" in README
    env = (ROOT / "examples" / "phananh.env").read_text(encoding="utf-8")
    assert set(re.findall(r"^#? ?(PHANANH_[A-Z_]+)=", env, re.MULTILINE)) <= set(
        config._ENV_NAMES.values()
    ), "only settings the bot knows"
