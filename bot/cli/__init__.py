"""`phananh` on the command line: argument parsing and printing only; the
work is done by the app factory, the org-file loader, the admin use cases,
the poster renderer and the demo.

One module per kind of command (serving: run, serve, demo; admin: the org
chart, invitations, staff, posters; data: backup, restore, db copy, people,
history, digest; platforms: Open311 keys, dashboard links), the table of
commands in parsing.py, what they share in console.py, the parser's
language in language.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bot.cli.console import EXIT_REFUSED, EXIT_USAGE, Console, Handler
from bot.cli.parsing import _parser
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import normalise_language, t

__all__ = ["EXIT_REFUSED", "EXIT_USAGE", "_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    from storage.errors import Refusal

    try:
        settings: Settings | None = load_settings()
    except ConfigError as exc:
        settings, problem = None, exc
    # The help and the mistakes in the configured language, even when the
    # rest of the configuration is wrong (its own variable is read alone).
    language = (
        settings.default_language
        if settings is not None
        else normalise_language(os.environ.get("PHANANH_DEFAULT_LANGUAGE"))
    )
    args = _parser(language).parse_args(argv)
    if settings is None:
        print(t(language, "cli.config_error", error=problem.text(language)), file=sys.stderr)
        return EXIT_USAGE
    console = Console(settings)
    try:
        handler: Handler = args.handler
        code = handler(settings, console, args)
        sys.stdout.flush()  # a pipe closed early fails here, not at the interpreter's exit
        return code
    except Refusal as refusal:  # a database file that cannot be used: one line, never a traceback
        console.warn(refusal.key, **refusal.params)
        return EXIT_REFUSED
    except BrokenPipeError:
        # Read through `| head` or `| less` and quit: nothing more to say to
        # a reader who has gone (and no traceback); what is left unprinted
        # goes nowhere, as the standard library's recipe does it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED
