"""`phananh` and its subcommands: one table of the commands, in the order
the help lists them; each command module adds its own parser and names the
function that carries it out (``handler``).  Adding a command: a function
``add_…`` in the module of its kind, and a line here."""

from __future__ import annotations

import argparse
from functools import partial

from bot.cli import admin, data, platforms, serving
from bot.cli.console import operator_name
from bot.cli.language import Subcommands, Words, parser_in
from bot.i18n import DEFAULT_LANGUAGE, t

COMMANDS = (
    serving.add_run,
    serving.add_serve,
    admin.add_org,
    admin.add_invite,
    admin.add_staff,
    admin.add_posters,
    data.add_backup,
    data.add_restore,
    data.add_people,
    data.add_history,
    data.add_digest,
    platforms.add_apikey,
    platforms.add_web,
    data.add_db,
    serving.add_demo,
)


def _parser(language: str = DEFAULT_LANGUAGE) -> argparse.ArgumentParser:
    """``phananh`` and its subcommands, every word of their help from the
    catalogue in ``language``."""

    def h(key: str, **params: object) -> str:
        return t(language, key, **params)

    make = parser_in(language)
    parser = make(prog="phananh", description=h("cli_help.description"))
    sub: Subcommands = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", required=True, metavar=h("cli_help.command")
    )
    # Changes to the set-up are recorded with who made them (the admin log).
    by = make(add_help=False)
    by.add_argument(
        "--by",
        metavar=h("cli_help.name"),
        type=partial(operator_name, language),
        help=h("cli_help.by"),
    )
    words = Words(h, make, by, language)
    for add in COMMANDS:
        add(sub, words)
    return parser
