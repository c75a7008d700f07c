"""The ward's data on the command line: backup and restore, the copy into
PostgreSQL, blocking a person, a complaint's history, the digest to files."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from functools import partial
from pathlib import Path

from bot.cli.console import (
    EXIT_REFUSED,
    EXIT_USAGE,
    Console,
    awaited,
    digests_of,
    on_existing_database,
    operator,
    os_reason,
    positive_number,
    reason_text,
    services_of,
)
from bot.cli.language import Subcommands, Words
from bot.config import ConfigError, PostgresUrl, Settings
from bot.domain.channels import CHANNELS, TELEGRAM, Account, label, valid_account_id
from bot.i18n import LANGUAGES, t


def add_backup(sub: Subcommands, w: Words) -> None:
    """``backup FILE``."""
    h = w.h
    backup = sub.add_parser("backup", help=h("cli_help.backup"), description=h("cli_help.backup"))
    backup.add_argument(
        "file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.backup_file")
    )
    backup.set_defaults(handler=on_existing_database(cmd_backup))


def add_restore(sub: Subcommands, w: Words) -> None:
    """``restore FILE``."""
    h = w.h
    restore = sub.add_parser(
        "restore", help=h("cli_help.restore"), description=h("cli_help.restore")
    )
    restore.add_argument(
        "file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.restore_file")
    )
    restore.set_defaults(handler=cmd_restore)


def add_people(sub: Subcommands, w: Words) -> None:
    """``people block|unblock``."""
    h = w.h
    make = w.make
    by = w.operator
    people = sub.add_parser("people", help=h("cli_help.people"), description=h("cli_help.people"))
    people_sub = people.add_subparsers(
        dest="people_command", required=True, metavar=h("cli_help.subcommand")
    )
    # An account names the person: blocking it drops their messages on every channel.
    account = make(add_help=False)
    account.add_argument("account", metavar=h("cli_help.account_value"), help=h("cli_help.account"))
    account.add_argument(
        "--channel",
        default=TELEGRAM,
        metavar=h("cli_help.channel_value"),
        help=h("cli_help.channel", channels=", ".join(CHANNELS), default=TELEGRAM),
    )
    block = people_sub.add_parser(
        "block",
        help=h("cli_help.block"),
        description=h("cli_help.block"),
        parents=[by, account],
    )
    block.add_argument(
        "--reason",
        required=True,
        type=partial(reason_text, w.language),
        metavar=h("cli_help.text"),
        help=h("cli_help.reason"),
    )
    unblock = people_sub.add_parser(
        "unblock",
        help=h("cli_help.unblock"),
        description=h("cli_help.unblock"),
        parents=[by, account],
    )
    block.set_defaults(handler=on_existing_database(awaited(cmd_people)))
    unblock.set_defaults(handler=on_existing_database(awaited(cmd_people)))


def add_history(sub: Subcommands, w: Words) -> None:
    """``history [CODE]``: a complaint's history, or the admin log."""
    h = w.h
    history = sub.add_parser(
        "history", help=h("cli_help.history"), description=h("cli_help.history")
    )
    history.add_argument("code", nargs="?", metavar=h("cli_help.id"), help=h("cli_help.code"))
    history.add_argument(
        "--limit",
        type=partial(positive_number, w.language),
        default=50,
        metavar=h("cli_help.number"),
        help=h("cli_help.limit"),
    )
    history.set_defaults(handler=on_existing_database(awaited(cmd_history)))


def add_digest(sub: Subcommands, w: Words) -> None:
    """``digest``: the weekly digest to files."""
    h = w.h
    digest = sub.add_parser("digest", help=h("cli_help.digest"), description=h("cli_help.digest"))
    which = digest.add_mutually_exclusive_group(required=True)
    which.add_argument("--ward", metavar=h("cli_help.id"), help=h("cli_help.digest_ward"))
    which.add_argument("--all", action="store_true", help=h("cli_help.digest_all"))
    digest.add_argument("--week", metavar=h("cli_help.week_value"), help=h("cli_help.week"))
    digest.add_argument(
        "--out", type=Path, required=True, metavar=h("cli_help.folder"), help=h("cli_help.out")
    )
    digest.add_argument("--lang", choices=LANGUAGES, help=h("cli_help.lang"))
    digest.set_defaults(handler=on_existing_database(cmd_digest))


def add_db(sub: Subcommands, w: Words) -> None:
    """``db copy``: a ward's SQLite history into PostgreSQL."""
    h = w.h
    db = sub.add_parser("db", help=h("cli_help.db"), description=h("cli_help.db"))
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar=h("cli_help.subcommand"))
    copy = db_sub.add_parser("copy", help=h("cli_help.db_copy"), description=h("cli_help.db_copy"))
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        type=Path,
        metavar=h("cli_help.file"),
        help=h("cli_help.copy_from"),
    )
    copy.add_argument("--to", metavar=h("cli_help.url"), help=h("cli_help.copy_to"))
    copy.set_defaults(handler=cmd_db_copy)


def cmd_backup(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """Never over an existing file; the file readable by its owner only
    (`_create_private`), and removed again when the backup fails."""
    target: Path = args.file
    try:
        _create_private(target)
    except FileExistsError as exc:
        if target.is_dir():  # a folder named instead of a file is no backup "already made"
            console.warn(
                "cli.backup_failed",
                db=settings.database,
                error=os_reason(console.language, exc, target),
            )
            return EXIT_REFUSED
        console.warn("cli.backup_exists", path=target)
        return EXIT_REFUSED
    except OSError as exc:  # no such folder, a folder, not ours to write, too long a name
        reason = os_reason(console.language, exc, target)
        console.warn("cli.backup_failed", db=settings.database, error=reason)
        return EXIT_REFUSED
    try:
        return asyncio.run(_backup(settings, console, target))
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _create_private(target: Path) -> None:
    """The backup's file, made empty with mode 0600 before the engine writes
    into it (SQLite's backup API and pg_dump keep a file's mode): it holds
    every resident's reports and contacts, and a folder such as
    /var/backups would otherwise show it to every account on the machine.
    O_EXCL: never over an existing file, nor through a link left in its place."""
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


async def _backup(settings: Settings, console: Console, target: Path) -> int:
    """SQLite: the online backup API; PostgreSQL: pg_dump (storage/engines.py)."""
    from bot.runtime import open_database

    storage = await open_database(settings)
    try:
        await storage.backup_to(target)
    finally:
        await storage.close()
    console.say("cli.backup_done", path=target)
    return 0


def cmd_restore(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """A refusal (not our backup, the bot still running) is one line, in `main`."""
    from storage.engines import restore

    source: Path = args.file
    if source.is_dir():
        console.warn("cli.restore_is_folder", path=source)
        return EXIT_REFUSED
    if settings.db_url is None and _same_file(source, settings.db_path):
        # The database in use named as its own backup: "restored" would be
        # untrue, and the clerk meant another file.
        console.warn("cli.restore_same_file", path=source, db=settings.db_path.absolute())
        return EXIT_REFUSED
    asyncio.run(restore(source, settings.database))
    # The full path: restored from the wrong folder, ./data/phananh.db is
    # not the bot's database, and the clerk must be able to see it.
    shown = settings.db_path.absolute() if settings.db_url is None else settings.database
    console.say("cli.restore_done", path=source, db=shown)
    return 0


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:  # either is not there: not the same file
        return False


def cmd_db_copy(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """A ward's SQLite history into an empty PostgreSQL database.  The
    target is --to, or PHANANH_DB when that is a PostgreSQL URL (which keeps
    the password off the command line, where ps would show it)."""
    from storage.postgres.copy import copy_sqlite

    try:
        target = PostgresUrl.parse(args.to) if args.to else settings.db_url
    except ConfigError as exc:  # --to given wrong: named, not PHANANH_DB
        console.warn("cli.config_error", error=exc.given_as("--to").text(console.language))
        return EXIT_USAGE
    if target is None:
        console.warn("cli.copy_needs_postgres")
        return EXIT_USAGE
    copied = asyncio.run(copy_sqlite(args.source, target))
    console.say(
        "cli.copy_done",
        source=args.source,
        db=target,
        complaints=copied.rows.get("complaints", 0),
        people=copied.rows.get("people", 0),
        rows=copied.total,
    )
    return 0


def _account(console: Console, args: argparse.Namespace) -> Account | None:
    """``telegram:123456``, ``zalo:e4ea…``, or a bare id on ``--channel``;
    None (and the reason said) when that is no account."""
    channel, colon, external = str(args.account).strip().partition(":")
    if not colon:
        channel, external = args.channel, channel
    channel = channel.strip().lower()
    if channel not in CHANNELS:
        console.warn("cli.people_unknown_channel", channel=channel, channels=", ".join(CHANNELS))
        return None
    external = external.strip()
    if channel == TELEGRAM and external.isdigit():
        external = str(int(external))  # 0666 is 666
    if not valid_account_id(channel, external):
        console.warn("cli.people_bad_id", id=external, channel=label(channel))
        return None
    return Account(channel, external)


async def cmd_people(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """Block or unblock the person behind an account: on the abuse list, a
    person's messages are dropped on every channel they write from."""
    from bot.ports import AdminAction, AdminEntry

    account = _account(console, args)
    if account is None:
        return EXIT_USAGE
    async with services_of(settings) as services:
        if args.people_command == "unblock":
            # An id the bot has never seen (mistyped, most likely) cannot be
            # blocked: "unblocked" would be untrue, and the person made up.
            known = await services.store.find_person(account.channel, account.external_id)
            if known is None:
                console.warn(
                    "cli.people_not_blocked",
                    channel=label(account.channel),
                    id=account.external_id,
                )
                return EXIT_REFUSED
        blocking = args.people_command == "block"
        person = await services.store.upsert_person(
            account.channel, account.external_id, None, settings.default_language
        )
        if await services.store.is_blocked(person.id) == blocking:
            # Already so: "done" and a line in the admin log would both be untrue.
            console.say(
                "cli.people_already_blocked" if blocking else "cli.people_already_unblocked",
                channel=label(account.channel),
                id=account.external_id,
            )
            return 0
        reason = args.reason if blocking else None
        now = services.now()
        audit = AdminEntry(
            now,
            operator(args),
            AdminAction(f"people_{args.people_command}"),
            person_id=person.id,
            detail={"reason": reason} if reason else {},
        )
        await services.store.set_blocked(person.id, reason, now, audit)
    console.say(
        f"cli.people_{args.people_command}",
        channel=label(account.channel),
        id=account.external_id,
    )
    return 0


async def cmd_history(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """A complaint's history, or the admin log; reads only (a database that
    does not exist is not created: `on_existing_database`)."""
    from bot.app.audit import admin_log, trail
    from bot.report.history import admin_log_text, trail_text

    async with services_of(settings) as services:
        if args.code is None:
            print(
                admin_log_text(await admin_log(services, args.limit), console.language, settings.tz)
            )
            return 0
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        found = await trail(services, args.code)
        if found is None:
            console.warn("history.not_found", code=args.code.strip()[:20])
            return EXIT_REFUSED
        print(trail_text(found, services.chart, console.language, settings.tz))
    return 0


def cmd_digest(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    from bot.app.briefing import BriefingError, write_briefing

    language = args.lang or settings.default_language
    try:
        written = write_briefing(settings, args.ward, args.week, args.out, language, digests_of)
    except BriefingError as error:
        print(t(language, error.key, **error.params), file=sys.stderr)
        return error.exit_code
    scope = (
        t(language, "cli.digest_all_wards")
        if written.scope.whole_city
        else ",".join(written.scope.wards)
    )
    print(t(language, "cli.digest_written", week=written.week.key, scope=scope, out=args.out))
    return 0
