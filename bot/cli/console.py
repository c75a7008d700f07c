"""What every command shares: the console that prints catalogue text in
the operator's language, the exit codes, who the admin log names, and the
bot's own services opened on the configured database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.i18n import t

EXIT_USAGE = 2
EXIT_REFUSED = 1

# A command: the settings, the console, the parsed arguments in; the exit code out.
Handler = Callable[[Settings, "Console", argparse.Namespace], int]
AsyncHandler = Callable[[Settings, "Console", argparse.Namespace], Coroutine[Any, Any, int]]


def awaited(command: AsyncHandler) -> Handler:
    """A command written as a coroutine, run to its end."""

    def run(settings: Settings, console: Console, args: argparse.Namespace) -> int:
        return asyncio.run(command(settings, console, args))

    return run


def on_existing_database(command: Handler) -> Handler:
    """A command that works on the ward's data: run in the wrong folder,
    where ./data/phananh.db is not, it would make an empty database there
    and say "no org chart: import one" (or back the empty one up).  It is
    refused instead, naming the path it looked at."""

    def run(settings: Settings, console: Console, args: argparse.Namespace) -> int:
        if settings.db_url is None and not settings.db_path.exists():
            full = settings.db_path.absolute()
            console.warn("cli.no_database", db=settings.db_path, full=full)
            return EXIT_REFUSED
        return command(settings, console, args)

    return run


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
OPERATOR_MAX = 80


def operator_name(language: str, text: str) -> str:
    """--by NAME: one line of printable text, as it will be logged."""
    name = " ".join(CONTROL.sub(" ", text).split())
    if not name or len(name) > OPERATOR_MAX:
        raise argparse.ArgumentTypeError(t(language, "cli.operator_name", limit=OPERATOR_MAX))
    return name


REASON_MAX = 300


def reason_text(language: str, text: str) -> str:
    """--reason: one line of printable text, as the admin log keeps it; an
    empty one would be logged as “”, as if a reason had been given."""
    reason = " ".join(CONTROL.sub(" ", text).split())
    if not reason or len(reason) > REASON_MAX:
        raise argparse.ArgumentTypeError(t(language, "cli.reason_text", limit=REASON_MAX))
    return reason


def positive_number(language: str, text: str) -> int:
    """A count the operator gives (``--limit``): a whole number from 1 up;
    0 or -3 would otherwise be taken as 1 without a word."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(t(language, "cli.positive_number", value=text[:20]))
    return number


def os_user() -> str:
    """The account running ``phananh``; under sudo, the person who ran sudo."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid {os.getuid()}"
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (sudo)" if sudo and sudo != user else user


def operator(args: argparse.Namespace) -> str:
    """Who the admin log names: ``--by NAME`` (with the OS account it ran
    under), or the OS user."""
    user = os_user()
    by: str | None = getattr(args, "by", None)
    return user if by is None or by == user else f"{by} / {user}"


def os_reason(language: str, exc: OSError, path: Path) -> str:
    """Why ``path`` could not be written, in the operator's words: the usual
    causes (a folder that does not exist, a folder named instead of a file,
    no right to write) have their own; anything rarer keeps the system's."""
    folder = str(path.parent)
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return t(language, "cli.reason_is_folder", path=str(path))
    if isinstance(exc, FileNotFoundError) and not path.parent.is_dir():
        return t(language, "cli.reason_no_folder", folder=folder)
    if isinstance(exc, PermissionError):
        return t(language, "cli.reason_forbidden", folder=folder)
    return exc.strerror or type(exc).__name__


class Console:
    """Prints catalogue text in the operator's language."""

    def __init__(self, settings: Settings | None) -> None:
        self.language = settings.default_language if settings else "vi"

    def say(self, key: str, **params: Any) -> None:
        print(t(self.language, key, **params))

    def warn(self, key: str, **params: Any) -> None:
        print(t(self.language, key, **params), file=sys.stderr)


@asynccontextmanager
async def services_of(settings: Settings) -> AsyncIterator[Any]:
    """The same services the bot uses (bot/runtime.py builds both), on the
    configured database, with no channel: what they queue is sent the next
    time the bot runs."""
    from bot.runtime import opened

    async with opened(settings) as core:
        yield core.services


@asynccontextmanager
async def digests_of(settings: Settings) -> AsyncIterator[Any]:
    """The bot's digest use cases on the configured database."""
    from bot.runtime import opened

    async with opened(settings) as core:
        yield core.digests


async def has_chart(settings: Settings) -> bool:
    """Opens the database as the bot will (a folder, a file that is not
    SQLite, a newer schema: DatabaseUnusable, one line) and says whether it
    holds an org chart."""
    async with services_of(settings) as services:
        return bool(services.has_chart)


def when(instant: Any, settings: Settings) -> str:
    """dd/mm/yyyy HH:MM in the ward's time ("" for none)."""
    return instant.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M") if instant else ""
