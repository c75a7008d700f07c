"""`phananh` on the command line: argument parsing and printing only; the
work is done by the app factory, the org-file loader, the admin use cases,
the poster renderer and the demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config import ConfigError, PostgresUrl, Settings, is_url, load_settings
from bot.domain.channels import CHANNELS, TELEGRAM, Account, label, valid_account_id
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language, t
from bot.logs import configure_logging
from bot.orgio.csvfiles import describe_issue
from bot.orgio.reader import OrgChartInvalid, load_org_file

EXIT_USAGE = 2
EXIT_REFUSED = 1


# argparse's own words ("usage:", "options", its error messages), as its
# gettext calls ask for them, and the catalogue keys that say them in the
# operator's language.  A message not listed stays in English.
_ARGPARSE_WORDS = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "show this help message and exit": "argparse.help",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "the following arguments are required: %s": "argparse.required",
    "one of the arguments %s is required": "argparse.one_required",
    "not allowed with argument %s": "argparse.not_allowed_with",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "expected one argument": "argparse.expected_one",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
}


@contextmanager
def _argparse_speaks(language: str) -> Iterator[None]:
    """argparse looks its words up through gettext (its module-level ``_``)
    as it builds a parser, formats help and reports a mistake: while this
    lasts, they come from the catalogue."""
    english = argparse._  # type: ignore[attr-defined]

    def translate(message: str) -> str:
        key = _ARGPARSE_WORDS.get(message)
        return t(language, key) if key is not None else str(english(message))

    argparse._ = translate  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = english  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks the operator's language: its help and
    its mistakes, its own words included (`_argparse_speaks`).  Subparsers
    are made of the same class, so they speak it too."""

    language = DEFAULT_LANGUAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _argparse_speaks(self.language):
            super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with _argparse_speaks(self.language):
            return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        with _argparse_speaks(self.language):
            return super().format_help()

    def format_usage(self) -> str:
        with _argparse_speaks(self.language):
            return super().format_usage()


def _parser_in(language: str) -> type[_Parser]:
    """The parser class for one language."""
    return type(f"Parser_{language}", (_Parser,), {"language": language})


def _parser(language: str = DEFAULT_LANGUAGE) -> argparse.ArgumentParser:
    """``phananh`` and its subcommands, every word of their help from the
    catalogue in ``language``."""

    def h(key: str, **params: object) -> str:
        return t(language, key, **params)

    make = _parser_in(language)
    parser = make(prog="phananh", description=h("cli_help.description"))
    sub = parser.add_subparsers(dest="command", required=True, metavar=h("cli_help.command"))
    run = sub.add_parser("run", help=h("cli_help.run"), description=h("cli_help.run"))
    run.add_argument("--webhook", metavar=h("cli_help.url"), help=h("cli_help.webhook"))
    # Given, --listen and --port replace PHANANH_HTTP_HOST and PHANANH_HTTP_PORT.
    run.add_argument("--listen", metavar=h("cli_help.address"), help=h("cli_help.listen"))
    run.add_argument("--port", type=int, metavar=h("cli_help.number"), help=h("cli_help.port"))

    serve = sub.add_parser("serve", help=h("cli_help.serve"), description=h("cli_help.serve"))
    serve.add_argument("--listen", metavar=h("cli_help.address"), help=h("cli_help.listen"))
    serve.add_argument("--port", type=int, metavar=h("cli_help.number"), help=h("cli_help.port"))

    org = sub.add_parser("org", help=h("cli_help.org"), description=h("cli_help.org"))
    org_sub = org.add_subparsers(
        dest="org_command", required=True, metavar=h("cli_help.subcommand")
    )
    # Changes to the set-up are recorded with who made them (the admin log).
    operator = make(add_help=False)
    operator.add_argument(
        "--by",
        metavar=h("cli_help.name"),
        type=partial(_operator_name, language),
        help=h("cli_help.by"),
    )
    imp = org_sub.add_parser(
        "import",
        help=h("cli_help.org_import"),
        description=h("cli_help.org_import"),
        parents=[operator],
    )
    imp.add_argument("file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.org_file"))
    imp.add_argument("--staff", type=Path, metavar=h("cli_help.file"), help=h("cli_help.staff_csv"))
    imp.add_argument(
        "--assignments", type=Path, metavar=h("cli_help.file"), help=h("cli_help.assignments_csv")
    )
    imp.add_argument("--dry-run", action="store_true", help=h("cli_help.dry_run"))
    exp = org_sub.add_parser(
        "export", help=h("cli_help.org_export"), description=h("cli_help.org_export")
    )
    exp.add_argument("file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.export_file"))
    org_sub.add_parser("check", help=h("cli_help.org_check"), description=h("cli_help.org_check"))

    invite = sub.add_parser("invite", help=h("cli_help.invite"), description=h("cli_help.invite"))
    invite.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help=h("cli_help.role")
    )
    invite.add_argument(
        "--staff", required=True, metavar=h("cli_help.id"), help=h("cli_help.staff_id")
    )
    bound = invite.add_mutually_exclusive_group()
    bound.add_argument("--rebind", action="store_true", help=h("cli_help.rebind"))
    bound.add_argument("--add", action="store_true", help=h("cli_help.add_account"))

    staff = sub.add_parser("staff", help=h("cli_help.staff"), description=h("cli_help.staff"))
    staff_sub = staff.add_subparsers(
        dest="staff_command", required=True, metavar=h("cli_help.subcommand")
    )
    deactivate = staff_sub.add_parser(
        "deactivate",
        help=h("cli_help.deactivate"),
        description=h("cli_help.deactivate"),
        parents=[operator],
    )
    deactivate.add_argument("staff_id", metavar=h("cli_help.id"), help=h("cli_help.staff_id"))

    posters = sub.add_parser(
        "posters", help=h("cli_help.posters"), description=h("cli_help.posters")
    )
    posters.add_argument("--ward", required=True, metavar=h("cli_help.id"), help=h("cli_help.ward"))
    posters.add_argument(
        "--out", required=True, type=Path, metavar=h("cli_help.folder"), help=h("cli_help.out")
    )
    posters.add_argument(
        "--format", choices=["pdf", "png"], default="pdf", help=h("cli_help.poster_format")
    )

    backup = sub.add_parser("backup", help=h("cli_help.backup"), description=h("cli_help.backup"))
    backup.add_argument(
        "file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.backup_file")
    )
    restore = sub.add_parser(
        "restore", help=h("cli_help.restore"), description=h("cli_help.restore")
    )
    restore.add_argument(
        "file", type=Path, metavar=h("cli_help.file"), help=h("cli_help.restore_file")
    )

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
        parents=[operator, account],
    )
    block.add_argument(
        "--reason", required=True, metavar=h("cli_help.text"), help=h("cli_help.reason")
    )
    people_sub.add_parser(
        "unblock",
        help=h("cli_help.unblock"),
        description=h("cli_help.unblock"),
        parents=[operator, account],
    )

    history = sub.add_parser(
        "history", help=h("cli_help.history"), description=h("cli_help.history")
    )
    history.add_argument("code", nargs="?", metavar=h("cli_help.id"), help=h("cli_help.code"))
    history.add_argument(
        "--limit", type=int, default=50, metavar=h("cli_help.number"), help=h("cli_help.limit")
    )

    digest = sub.add_parser("digest", help=h("cli_help.digest"), description=h("cli_help.digest"))
    which = digest.add_mutually_exclusive_group(required=True)
    which.add_argument("--ward", metavar=h("cli_help.id"), help=h("cli_help.digest_ward"))
    which.add_argument("--all", action="store_true", help=h("cli_help.digest_all"))
    digest.add_argument("--week", metavar=h("cli_help.week_value"), help=h("cli_help.week"))
    digest.add_argument(
        "--out", type=Path, required=True, metavar=h("cli_help.folder"), help=h("cli_help.out")
    )
    digest.add_argument("--lang", choices=LANGUAGES, help=h("cli_help.lang"))
    apikey = sub.add_parser("apikey", help=h("cli_help.apikey"), description=h("cli_help.apikey"))
    apikey_sub = apikey.add_subparsers(
        dest="apikey_command", required=True, metavar=h("cli_help.subcommand")
    )
    for action, words in (
        ("create", "cli_help.apikey_create"),
        ("revoke", "cli_help.apikey_revoke"),
    ):
        named = apikey_sub.add_parser(action, help=h(words), description=h(words))
        named.add_argument("name", metavar=h("cli_help.name"), help=h("cli_help.key_name"))
    apikey_sub.add_parser(
        "list", help=h("cli_help.apikey_list"), description=h("cli_help.apikey_list")
    )
    web = sub.add_parser("web", help=h("cli_help.web"), description=h("cli_help.web"))
    web_sub = web.add_subparsers(
        dest="web_command", required=True, metavar=h("cli_help.subcommand")
    )
    for action, words in (("link", "cli_help.web_link"), ("revoke", "cli_help.web_revoke")):
        named = web_sub.add_parser(action, help=h(words), description=h(words))
        named.add_argument(
            "--staff", required=True, metavar=h("cli_help.id"), help=h("cli_help.staff_id")
        )
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
    demo = sub.add_parser("demo", help=h("cli_help.demo"), description=h("cli_help.demo"))
    demo.add_argument(
        "--db",
        type=_demo_database,
        default=Path("data/demo.db"),
        metavar=h("cli_help.demo_db_value"),
        help=h("cli_help.demo_db"),
    )
    return parser


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
OPERATOR_MAX = 80


def _demo_database(text: str) -> Path | PostgresUrl:
    """--db: a file, or a PostgreSQL URL (a malformed one said without its password)."""
    if not is_url(text):
        return Path(text)
    try:
        return PostgresUrl.parse(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _operator_name(language: str, text: str) -> str:
    """--by NAME: one line of printable text, as it will be logged."""
    name = " ".join(_CONTROL.sub(" ", text).split())
    if not name or len(name) > OPERATOR_MAX:
        raise argparse.ArgumentTypeError(t(language, "cli.operator_name", limit=OPERATOR_MAX))
    return name


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


class Console:
    """Prints catalogue text in the operator's language."""

    def __init__(self, settings: Settings | None) -> None:
        self.language = settings.default_language if settings else "vi"

    def say(self, key: str, **params: Any) -> None:
        print(t(self.language, key, **params))

    def warn(self, key: str, **params: Any) -> None:
        print(t(self.language, key, **params), file=sys.stderr)


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Any]:
    """The same services the bot uses (bot/runtime.py builds both), on the
    configured database, with no channel: what they queue is sent the next
    time the bot runs."""
    from bot.runtime import opened

    async with opened(settings) as core:
        yield core.services


@asynccontextmanager
async def _digests(settings: Settings) -> AsyncIterator[Any]:
    """The bot's digest use cases on the configured database."""
    from bot.runtime import opened

    async with opened(settings) as core:
        yield core.digests


async def _has_chart(settings: Settings) -> bool:
    """Opens the database as the bot will (a folder, a file that is not
    SQLite, a newer schema: DatabaseUnusable, one line) and says whether it
    holds an org chart."""
    async with _services(settings) as services:
        return bool(services.has_chart)


def cmd_run(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """Everything that can be wrong before the bot serves anyone is said in
    one line with a non-zero exit: no token at all, an unusable database,
    no org chart, a token Telegram or Zalo refuses, no network, a port that
    cannot be listened on.  "Running" is printed only once every channel
    whose token is set started (the messenger accepted the token and, for
    a webhook, took the address)."""
    if not settings.telegram_token and not settings.zalo_token:
        console.warn("cli.missing_token")
        return EXIT_USAGE
    if not asyncio.run(_has_chart(settings)):
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from handlers.zalo.client import ZaloError, ZaloNetworkError, ZaloUnauthorized

    try:
        settings = _listening(settings, args)
    except ConfigError as exc:
        console.warn("cli.config_error", error=exc)
        return EXIT_USAGE
    configure_logging(settings.log_format, logging.INFO)
    try:
        asyncio.run(_serve(settings, console, args.webhook))
    except InvalidToken:
        console.warn("cli.bad_token")
        return EXIT_REFUSED
    except NetworkError:  # TimedOut included
        console.warn("cli.no_network", host=urlsplit(settings.telegram_api_url).netloc)
        return EXIT_REFUSED
    except TelegramError as exc:
        console.warn("cli.telegram_refused", error=exc.message)
        return EXIT_REFUSED
    except ZaloUnauthorized:
        console.warn("cli.zalo_bad_token")
        return EXIT_REFUSED
    except ZaloNetworkError:
        console.warn("cli.zalo_no_network", host=urlsplit(settings.zalo_api_url).netloc)
        return EXIT_REFUSED
    except ZaloError as exc:  # the token is never in it (handlers/zalo/client.py)
        console.warn("cli.zalo_refused", error=exc.description)
        return EXIT_REFUSED
    except OSError as exc:  # the HTTP server's port
        console.warn(
            "cli.cannot_listen",
            listen=settings.http_host,
            port=settings.http_port,
            error=exc.strerror,
        )
        return EXIT_REFUSED
    return 0


def _listening(settings: Settings, args: argparse.Namespace) -> Settings:
    """--listen and --port, when given, replace PHANANH_HTTP_HOST and PHANANH_HTTP_PORT."""
    return replace(
        settings,
        http_host=settings.http_host if args.listen is None else args.listen,
        http_port=settings.http_port if args.port is None else args.port,
        http_port_given=settings.http_port_given or args.port is not None,
    )


def cmd_serve(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """The HTTP server alone (Open311, metrics, health, links), no channel: no
    token needed; says where it listens once it does, or in one line why it
    cannot."""
    if not asyncio.run(_has_chart(settings)):
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    try:
        settings = _listening(settings, args)
    except ConfigError as exc:
        console.warn("cli.config_error", error=exc)
        return EXIT_USAGE
    configure_logging(settings.log_format, logging.INFO)
    from bot.runtime import serve_http

    shown = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    address = f"http://{shown}:{settings.http_port}"
    try:
        asyncio.run(serve_http(settings, ready=lambda: console.warn("cli.serving", url=address)))
    except OSError as exc:  # the HTTP server's port
        console.warn(
            "cli.cannot_listen",
            listen=settings.http_host,
            port=settings.http_port,
            error=exc.strerror,
        )
        return EXIT_REFUSED
    return 0


async def _serve(settings: Settings, console: Console, webhook: str | None) -> None:
    from bot.runtime import configured_channels, serve

    def ready() -> None:
        hook = webhook or (settings.zalo_webhook_url if settings.zalo_token else None)
        if hook is None:
            console.warn("cli.running")
        else:
            console.warn("cli.running_webhook", url=hook, port=settings.http_port)

    channels = configured_channels(settings, telegram_webhook=webhook)
    await serve(settings, channels=channels, ready=ready)


def _load_chart(args: argparse.Namespace, console: Console) -> OrgChart | None:
    try:
        return load_org_file(args.file, staff_csv=args.staff, assignments_csv=args.assignments)
    except OrgChartInvalid as invalid:
        csv_given = args.staff is not None or args.assignments is not None
        org_file = str(args.file) if csv_given else None
        for issue in invalid.issues:
            print(describe_issue(issue, console.language, org_file=org_file), file=sys.stderr)
        console.warn("cli.org_invalid", path=args.file, count=len(invalid.issues))
        return None


async def cmd_org_import(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    from bot.app.admin import Admin
    from bot.domain.orgdiff import lines

    chart = _load_chart(args, console)
    if chart is None:
        return EXIT_REFUSED
    async with _services(settings) as services:
        admin = Admin(services)
        plan = await admin.plan_import(chart)
        changes = lines(plan.diff)
        console.say("cli.org_diff_header", count=len(changes))
        for section, sign, key in changes:
            print(f"  {sign} {section}: {key}")
        for move in plan.consequences.moves:
            console.say(
                "cli.org_move" if move.why is not None else "cli.org_move_back",
                code=move.complaint.code,
                old=move.complaint.owner,
                new=move.route.owner,
            )
        if plan.refused:
            for orphan in plan.consequences.orphans:
                console.warn("cli.org_orphan", code=orphan.code, area=orphan.area)
            console.warn("cli.org_refused", count=len(plan.consequences.orphans))
            return EXIT_REFUSED
        if args.dry_run:
            console.say("cli.org_dry_run")
            return 0
        if not await admin.apply_import(plan, by=operator(args), source=str(args.file)):
            console.warn("cli.org_conflict")
            return EXIT_REFUSED
    console.say(
        "cli.org_imported",
        db=settings.database,
        areas=len(chart.areas),
        groups=len(chart.groups()),
        categories=len(chart.categories),
        staff=len(chart.staff),
        assignments=len(chart.assignments),
    )
    return 0


async def _current_chart(settings: Settings) -> OrgChart | None:
    async with _services(settings) as services:
        return services.chart if services.has_chart else None


def cmd_org_export(settings: Settings, console: Console, path: Path) -> int:
    from bot.orgio.writer import dump_org

    chart = asyncio.run(_current_chart(settings))
    if chart is None:
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    path.write_text(dump_org(chart), encoding="utf-8")
    console.say("cli.org_exported", path=path)
    return 0


async def cmd_org_check(settings: Settings, console: Console) -> int:
    from bot.app.admin import Admin

    async with _services(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        chart = services.chart
        check = await Admin(services).check()
        today = services.now().astimezone(settings.tz).date()
    holidays = settings.holiday_warning(today)
    if holidays is not None:
        print(holidays)
    console.say("cli.check_gaps", count=len(check.gaps))
    for ward, group, category in check.gaps:
        print(f"  {ward} / {group} ({chart.areas[group].name}) × {category}")
    console.say("cli.check_unbound", count=len(check.unbound))
    for staff_id in check.unbound:
        print(f"  {staff_id} ({chart.staff[staff_id].name})")
    if check.inactive:
        console.say("cli.check_inactive", staff=", ".join(check.inactive))
    return 0


async def _bot_username(settings: Settings, services: Any) -> str | None:
    from handlers.telegram.app import BOT_USERNAME_KEY

    if settings.bot_username:
        return settings.bot_username
    stored: str | None = await services.store.get_meta(BOT_USERNAME_KEY)
    return stored


async def cmd_invite(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """One code for a staff member: the Telegram link that carries it, and
    the code itself to send the bot where no link can carry it (Zalo)."""
    from bot.app.admin import Admin, AdminError
    from handlers.telegram.links import TelegramLinks
    from handlers.zalo.links import ZaloLinks

    async with _services(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        username = await _bot_username(settings, services)
        if username is None:
            console.warn("cli.no_bot_username")
            return EXIT_USAGE
        try:
            link = await Admin(services).invite(
                args.staff,
                Role(args.role),
                TelegramLinks(username),
                rebind=args.rebind,
                add=args.add,
            )
        except AdminError as exc:
            console.warn(exc.key, **exc.params)
            return EXIT_REFUSED
        name = services.chart.staff[args.staff].name
    expires = link.expires_at.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M")
    console.say("cli.invite", name=name, role=args.role, url=link.url, expires=expires)
    console.say("cli.invite_code", code=ZaloLinks(settings.zalo_bot_link).invite(link.token))
    return 0


async def cmd_staff_deactivate(
    settings: Settings, console: Console, args: argparse.Namespace
) -> int:
    from bot.app.admin import Admin, AdminError

    staff_id = args.staff_id
    async with _services(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        try:
            moved = await Admin(services).deactivate(staff_id, by=operator(args))
        except AdminError as exc:
            console.warn(exc.key, **exc.params)
            return EXIT_REFUSED
    console.say("cli.deactivated", staff=staff_id, count=moved)
    return 0


async def cmd_posters(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """The posters show Telegram's link to each group and, when the Zalo
    bot's link is set, that bot and the group's code to send it."""
    from bot.app.admin import AdminError
    from bot.outfiles import OutputError
    from bot.ports import ChannelLinks
    from bot.report.posters import PosterError, render_posters
    from handlers.telegram.links import TelegramLinks
    from handlers.zalo.links import ZaloLinks

    async with _services(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        username = await _bot_username(settings, services)
        chart = services.chart
    if username is None:
        console.warn("cli.no_bot_username")
        return EXIT_USAGE
    try:
        links: list[ChannelLinks] = [TelegramLinks(username)]
        if settings.zalo_bot_link:
            links.append(ZaloLinks(settings.zalo_bot_link))
        paths = render_posters(
            chart, args.ward, links, args.out, fmt=args.format, language=console.language
        )
    except (AdminError, PosterError, OutputError) as exc:
        console.warn(exc.key, **exc.params)
        return EXIT_REFUSED
    console.say("cli.posters", count=len(paths), out=args.out)
    return 0


async def cmd_backup(settings: Settings, console: Console, target: Path) -> int:
    """SQLite: the online backup API; PostgreSQL: pg_dump (storage/engines.py)."""
    from bot.runtime import open_database

    storage = await open_database(settings)
    try:
        await storage.backup_to(target)
    finally:
        await storage.close()
    console.say("cli.backup_done", path=target)
    return 0


def cmd_restore(settings: Settings, console: Console, source: Path) -> int:
    """A refusal (not our backup, the bot still running) is one line, in `main`."""
    from storage.engines import restore

    asyncio.run(restore(source, settings.database))
    console.say("cli.restore_done", path=source, db=settings.database)
    return 0


def cmd_db_copy(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """A ward's SQLite history into an empty PostgreSQL database.  The
    target is --to, or PHANANH_DB when that is a PostgreSQL URL (which keeps
    the password off the command line, where ps would show it)."""
    from storage.postgres.copy import copy_sqlite

    try:
        target = PostgresUrl.parse(args.to) if args.to else settings.db_url
    except ConfigError as exc:
        console.warn("cli.config_error", error=exc)
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
    async with _services(settings) as services:
        person = await services.store.upsert_person(
            account.channel, account.external_id, None, settings.default_language
        )
        reason = args.reason if args.people_command == "block" else None
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
    does not exist is not created)."""
    from bot.app.audit import admin_log, trail
    from bot.report.history import admin_log_text, trail_text

    if settings.db_url is None and not settings.db_path.is_file():
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    async with _services(settings) as services:
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


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app.briefing import BriefingError, write_briefing

    language = args.lang or settings.default_language
    try:
        written = write_briefing(settings, args.ward, args.week, args.out, language, _digests)
    except BriefingError as error:
        print(t(language, error.key, **error.params), file=sys.stderr)
        return error.exit_code
    scope = "all" if written.scope.whole_city else ",".join(written.scope.wards)
    print(t(language, "cli.digest_written", week=written.week.key, scope=scope, out=args.out))
    return 0


async def cmd_apikey(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """An integration's key to Open311: made (shown this once, stored
    hashed), revoked, or listed by name and dates (never the keys)."""
    from bot.app.open311 import ApiKeys, valid_key_name
    from bot.runtime import opened

    name = getattr(args, "name", "")
    if args.apikey_command != "list" and not valid_key_name(name):
        console.warn("cli.apikey_bad_name", name=name[:80])
        return EXIT_USAGE
    async with opened(settings) as core:
        keys = ApiKeys(core.storage.open311(), core.services)
        if args.apikey_command == "create":
            made = await keys.create(name)
            if made is None:
                console.warn("cli.apikey_exists", name=name)
                return EXIT_REFUSED
            console.say("cli.apikey_created", name=name, token=made.key)
            return 0
        if args.apikey_command == "revoke":
            if not await keys.revoke(name):
                console.warn("cli.apikey_unknown", name=name)
                return EXIT_REFUSED
            console.say("cli.apikey_revoked", name=name)
            return 0
        listed = await keys.listed()
    if not listed:
        console.say("cli.apikey_none")
    for key in listed:
        console.say(
            "cli.apikey_row",
            name=key.name,
            created=_when(key.created_at, settings),
            used=_when(key.last_used_at, settings) or t(console.language, "cli.apikey_never"),
            revoked=t(console.language, "cli.apikey_revoked_at", at=_when(key.revoked_at, settings))
            if key.revoked_at
            else "",
        )
    return 0


async def cmd_web(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """A leader's one-time sign-in link to the dashboard (what /web gives in
    the chat), or the end of all their sessions."""
    from bot.runtime import opened, web_of

    async with opened(settings) as core:
        if not core.services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        web = web_of(core)
        if args.web_command == "revoke":
            ended = await web.revoke(args.staff)
            console.say("cli.web_revoked", staff=args.staff, count=ended)
            return 0
        if not web.available:
            console.warn("cli.web_no_public_url")
            return EXIT_USAGE
        leader = web.leader(args.staff)
        if leader is None:
            console.warn("cli.web_not_leader", staff=args.staff[:40])
            return EXIT_REFUSED
        link = await web.link_for(leader.id)
    expires = _when(link.expires_at, settings)
    console.say("cli.web_link", name=leader.name, url=link.url, expires=expires)
    return 0


def _when(instant: Any, settings: Settings) -> str:
    """dd/mm/yyyy HH:MM in the ward's time ("" for none)."""
    return instant.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M") if instant else ""


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
        print(t(language, "cli.config_error", error=problem), file=sys.stderr)
        return EXIT_USAGE
    console = Console(settings)
    try:
        return _dispatch(settings, console, args)
    except Refusal as refusal:  # a database file that cannot be used: one line, never a traceback
        console.warn(refusal.key, **refusal.params)
        return EXIT_REFUSED


def _dispatch(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    if args.command == "run":
        return cmd_run(settings, console, args)
    if args.command == "serve":
        return cmd_serve(settings, console, args)
    if args.command == "org":
        if args.org_command == "import":
            return asyncio.run(cmd_org_import(settings, console, args))
        if args.org_command == "export":
            return cmd_org_export(settings, console, args.file)
        return asyncio.run(cmd_org_check(settings, console))
    if args.command == "invite":
        return asyncio.run(cmd_invite(settings, console, args))
    if args.command == "staff":
        return asyncio.run(cmd_staff_deactivate(settings, console, args))
    if args.command == "posters":
        return asyncio.run(cmd_posters(settings, console, args))
    if args.command == "backup":
        if args.file.exists():
            console.warn("cli.backup_exists", path=args.file)
            return EXIT_REFUSED
        return asyncio.run(cmd_backup(settings, console, args.file))
    if args.command == "restore":
        return cmd_restore(settings, console, args.file)
    if args.command == "people":
        return asyncio.run(cmd_people(settings, console, args))
    if args.command == "history":
        return asyncio.run(cmd_history(settings, console, args))
    if args.command == "digest":
        return cmd_digest(settings, args)
    if args.command == "apikey":
        return asyncio.run(cmd_apikey(settings, console, args))
    if args.command == "web":
        return asyncio.run(cmd_web(settings, console, args))
    if args.command == "db":
        return cmd_db_copy(settings, console, args)
    if args.command == "demo":
        from bot.demo import run_demo

        if settings.log_format == "json":
            # The demo's story goes to stdout; its log lines, as a log system reads them.
            configure_logging(settings.log_format, logging.INFO)

        return asyncio.run(run_demo(args.db))
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
