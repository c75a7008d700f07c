"""Imports point down: the use cases, what to tell whom (bot/app) and the
words people read (bot/report) know no messenger, so a second channel
reuses them unchanged; the domain knows no I/O at all.  Read with ast,
every import counted (those inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# folder -> the packages nothing in it may import
# (The metrics are told through the `Observer` port: neither imports them.)
METRICS = ("prometheus_client", "bot.metrics")
FORBIDDEN = {
    "bot/domain": (
        *("telegram", "aiosqlite", "handlers", "storage", "bot.app", "bot.report"),
        *METRICS,
    ),
    "bot/app": ("telegram", "aiosqlite", "handlers", "storage", *METRICS),
    "bot/report": ("telegram", "handlers"),
}


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(folder: str, banned: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, module in imported(tree):
            if any(module == b or module.startswith(f"{b}.") for b in banned):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(folder: str) -> None:
    assert (ROOT / folder).is_dir()
    assert violations(folder, FORBIDDEN[folder]) == []


def test_the_check_sees_an_import_where_there_is_one() -> None:
    """The handlers do import telegram: the same check finds it there, in
    both forms and inside a function."""
    assert violations("handlers/telegram", ("telegram",))
    tree = ast.parse("import telegram.error\ndef f():\n    from telegram import Bot\n")
    assert imported(tree) == [(1, "telegram.error"), (3, "telegram")]
