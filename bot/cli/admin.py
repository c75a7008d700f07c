"""The ward's set-up on the command line: the org chart (import, export,
check), staff invitations and deactivation, the QR posters."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.cli.console import (
    EXIT_REFUSED,
    EXIT_USAGE,
    Console,
    awaited,
    on_existing_database,
    operator,
    os_reason,
    services_of,
)
from bot.cli.language import Subcommands, Words
from bot.config import Settings
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import t
from bot.orgio.csvfiles import describe_issue
from bot.orgio.reader import OrgChartInvalid, load_org_file

# A role as the invite's line names it (the --role code is the org file's word).
ROLE_NAMES = {
    Role.CADRE: "cli.role_cadre",
    Role.WARD_LEADER: "cli.role_ward_leader",
    Role.CITY_LEADER: "cli.role_city_leader",
}


# What `org export` writes: the chart as YAML, under a name that says so.
EXPORT_SUFFIXES = (".yaml", ".yml")


def add_org(sub: Subcommands, w: Words) -> None:
    """``org import|export|check``."""
    h = w.h
    by = w.operator
    org = sub.add_parser("org", help=h("cli_help.org"), description=h("cli_help.org"))
    org_sub = org.add_subparsers(
        dest="org_command", required=True, metavar=h("cli_help.subcommand")
    )
    imp = org_sub.add_parser(
        "import",
        help=h("cli_help.org_import"),
        description=h("cli_help.org_import"),
        parents=[by],
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
    exp.add_argument("--force", action="store_true", help=h("cli_help.export_force"))
    check = org_sub.add_parser(
        "check", help=h("cli_help.org_check"), description=h("cli_help.org_check")
    )
    imp.set_defaults(handler=awaited(cmd_org_import))
    exp.set_defaults(handler=on_existing_database(cmd_org_export))
    check.set_defaults(handler=on_existing_database(awaited(cmd_org_check)))


def add_invite(sub: Subcommands, w: Words) -> None:
    """``invite``: a one-time code for a staff member."""
    h = w.h
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
    invite.set_defaults(handler=on_existing_database(awaited(cmd_invite)))


def add_staff(sub: Subcommands, w: Words) -> None:
    """``staff deactivate``."""
    h = w.h
    by = w.operator
    staff = sub.add_parser("staff", help=h("cli_help.staff"), description=h("cli_help.staff"))
    staff_sub = staff.add_subparsers(
        dest="staff_command", required=True, metavar=h("cli_help.subcommand")
    )
    deactivate = staff_sub.add_parser(
        "deactivate",
        help=h("cli_help.deactivate"),
        description=h("cli_help.deactivate"),
        parents=[by],
    )
    deactivate.add_argument("staff_id", metavar=h("cli_help.id"), help=h("cli_help.staff_id"))
    deactivate.set_defaults(handler=on_existing_database(awaited(cmd_staff_deactivate)))


def add_posters(sub: Subcommands, w: Words) -> None:
    """``posters``: a QR poster per residential group."""
    h = w.h
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
    posters.set_defaults(handler=on_existing_database(awaited(cmd_posters)))


def _load_chart(args: argparse.Namespace, console: Console) -> OrgChart | None:
    try:
        return load_org_file(args.file, staff_csv=args.staff, assignments_csv=args.assignments)
    except OrgChartInvalid as invalid:
        csv_given = args.staff is not None or args.assignments is not None
        org_file = str(args.file) if csv_given else None
        for issue in invalid.issues:
            print(describe_issue(issue, console.language, org_file=org_file), file=sys.stderr)
        count = len(invalid.issues)
        if csv_given:  # the mistakes may all be in a CSV file: name every file read
            given = (args.file, args.staff, args.assignments)
            paths = ", ".join(str(path) for path in given if path is not None)
            console.warn("cli.org_invalid_files", paths=paths, count=count)
        else:
            console.warn("cli.org_invalid", path=args.file, count=count)
        return None


async def cmd_org_import(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    from bot.app.admin import Admin
    from bot.domain.orgdiff import diff, lines

    chart = _load_chart(args, console)
    if chart is None:
        return EXIT_REFUSED
    if args.dry_run and settings.db_url is None and not settings.db_path.exists():
        # Opening the database would create it: a dry run writes nothing,
        # and shows everything in the file as added.
        _print_changes(console, lines(diff(None, chart)))
        console.say(
            "cli.org_dry_run_no_database",
            db=settings.db_path,
            full=settings.db_path.absolute(),
            **_counts(chart),
        )
        return 0
    async with services_of(settings) as services:
        admin = Admin(services)
        plan = await admin.plan_import(chart)
        _print_changes(console, lines(plan.diff))
        if services.has_chart:
            _print_ward_moves(console, services.chart, chart)
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
    console.say("cli.org_imported", db=settings.database, **_counts(chart))
    return 0


def _print_changes(console: Console, changes: Sequence[tuple[str, str, str]]) -> None:
    console.say("cli.org_diff_header", count=len(changes))
    for section, sign, key in changes:
        print(f"  {sign} {section}: {key}")


def _print_ward_moves(console: Console, old: OrgChart, new: OrgChart) -> None:
    """Areas the file puts in another ward: "~ areas: HH-TDP04" alone hid
    that its residents' reports now go to another ward's office."""
    for code in new.areas:
        if code not in old.areas:
            continue
        before, after = old.ward_of(code), new.ward_of(code)
        if before is not None and after is not None and before != after:
            console.say("cli.org_area_ward", code=code, old=before, new=after)


def _counts(chart: OrgChart) -> dict[str, int]:
    """What an imported chart holds, as the import's last line says it."""
    return {
        "areas": len(chart.areas),
        "groups": len(chart.groups()),
        "categories": len(chart.categories),
        "staff": len(chart.staff),
        "assignments": len(chart.assignments),
    }


async def _current_chart(settings: Settings) -> OrgChart | None:
    async with services_of(settings) as services:
        return services.chart if services.has_chart else None


def cmd_org_export(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """The chart in use as YAML; an existing file is kept unless --force."""
    from bot.orgio.writer import dump_org

    path: Path = args.file
    if path.suffix.lower() not in EXPORT_SUFFIXES and not path.is_dir():
        # The whole chart is YAML; the CSV files (docs/org-csv.md) hold only
        # staff and assignments, so a .csv name would get YAML under it.
        console.warn("cli.org_export_not_yaml", path=path, suggestion=path.with_suffix(".yaml"))
        return EXIT_USAGE
    chart = asyncio.run(_current_chart(settings))
    if chart is None:
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    if path.is_file() and not args.force:
        # The clerk's edited copy, or the file of an earlier export they
        # still need: replaced only when they say so.
        console.warn("cli.org_export_exists", path=path)
        return EXIT_REFUSED
    try:
        path.write_text(dump_org(chart, console.language), encoding="utf-8")
    except OSError as exc:
        reason = os_reason(console.language, exc, path)
        console.warn("cli.org_export_failed", path=path, reason=reason)
        return EXIT_REFUSED
    console.say("cli.org_exported", path=path)
    return 0


async def cmd_org_check(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    from bot.app.admin import Admin

    async with services_of(settings) as services:
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


def _zalo_set_up(settings: Settings) -> bool:
    """The Zalo bot is set up (its token or its link): without a Telegram
    bot's name, the ward office of a country where Telegram is blocked."""
    return bool(settings.zalo_token.reveal() or settings.zalo_bot_link)


async def cmd_invite(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """One code for a staff member: the Telegram link that carries it, and
    the code itself to send the bot where no link can carry it (Zalo) —
    only the code when the office runs the Zalo bot alone."""
    from bot.app.admin import Admin, AdminError
    from bot.ports import ChannelLinks
    from handlers.telegram.links import TelegramLinks
    from handlers.zalo.links import ZaloLinks

    zalo = ZaloLinks(settings.zalo_bot_link)
    async with services_of(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        username = await _bot_username(settings, services)
        if username is None and not _zalo_set_up(settings):
            console.warn("cli.no_bot_username")
            return EXIT_USAGE
        links: ChannelLinks = TelegramLinks(username) if username is not None else zalo
        try:
            link = await Admin(services).invite(
                args.staff, Role(args.role), links, rebind=args.rebind, add=args.add
            )
        except AdminError as exc:
            console.warn(exc.key, **exc.params)
            return EXIT_REFUSED
        name = services.chart.staff[args.staff].name
    if username is not None:
        expires = link.expires_at.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M")
        role = t(console.language, ROLE_NAMES[Role(args.role)])
        console.say("cli.invite", name=name, role=role, url=link.url, expires=expires)
    console.say("cli.invite_code", code=zalo.invite(link.token))
    return 0


async def cmd_staff_deactivate(
    settings: Settings, console: Console, args: argparse.Namespace
) -> int:
    from bot.app.admin import Admin, AdminError

    staff_id = args.staff_id
    async with services_of(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        try:
            moved = await Admin(services).deactivate(staff_id, by=operator(args))
        except AdminError as exc:
            console.warn(exc.key, **exc.params)
            return EXIT_REFUSED
    console.say("cli.deactivated" if moved else "cli.deactivated_none", staff=staff_id, count=moved)
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

    async with services_of(settings) as services:
        if not services.has_chart:
            console.warn("cli.no_chart", db=settings.database)
            return EXIT_REFUSED
        username = await _bot_username(settings, services)
        chart = services.chart
    links: list[ChannelLinks] = [] if username is None else [TelegramLinks(username)]
    if settings.zalo_bot_link:
        links.append(ZaloLinks(settings.zalo_bot_link))
    if not links:  # a Zalo-only office needs the Zalo bot's link for the QR code
        console.warn("cli.no_bot_username")
        return EXIT_USAGE
    try:
        paths = render_posters(
            chart, args.ward, links, args.out, fmt=args.format, language=console.language
        )
    except (AdminError, PosterError, OutputError) as exc:
        console.warn(exc.key, **exc.params)
        return EXIT_REFUSED
    console.say("cli.posters", count=len(paths), out=args.out)
    return 0
