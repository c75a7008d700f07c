"""`phananh` on the command line: argument parsing only; the work is done
by the app factory, the org-file loader and the demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.i18n import LANGUAGES, t
from bot.orgfile import OrgChartInvalid, load_org_file

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phananh", description="Phản Ánh: residents report, cadres fix, leaders see."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling (needs PHANANH_TELEGRAM_TOKEN)")
    org = sub.add_parser("org", help="manage the org chart")
    org_sub = org.add_subparsers(dest="org_command", required=True)
    imp = org_sub.add_parser("import", help="validate an org-chart YAML file and load it")
    imp.add_argument("file", type=Path)
    digest = sub.add_parser(
        "digest", help="write a week's digest (text, chart, CSV, XLSX) to a folder"
    )
    which = digest.add_mutually_exclusive_group(required=True)
    which.add_argument("--ward", help="a ward code from the org chart")
    which.add_argument("--all", action="store_true", help="the whole city")
    digest.add_argument("--week", help="an ISO week like 2026-W47 (default: last week)")
    digest.add_argument("--out", type=Path, required=True, help="the folder to write to")
    digest.add_argument("--lang", choices=LANGUAGES, help="vi or en (default: the configured)")
    demo = sub.add_parser("demo", help="play the offline demo story (no token, no network)")
    demo.add_argument("--db", type=Path, default=Path("data/demo.db"))
    return parser


def _say(settings: Settings | None, key: str, **params: object) -> str:
    return t(settings.default_language if settings else "vi", key, **params)


def cmd_run(settings: Settings) -> int:
    if not settings.telegram_token:
        print(_say(settings, "cli.missing_token"), file=sys.stderr)
        return EXIT_USAGE
    from bot.app import build_application

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = build_application(settings)
    print(_say(settings, "cli.running"), file=sys.stderr)
    app.run_polling(allowed_updates=["message", "edited_message", "callback_query"])
    return 0


def cmd_org_import(settings: Settings, path: Path) -> int:
    try:
        chart = load_org_file(path)
    except OrgChartInvalid as invalid:
        lang = settings.default_language
        for issue in invalid.issues:
            message = t(lang, issue.key, **issue.params)
            line = t(lang, "cli.org_line", line=issue.line, message=message)
            print(line if issue.line else message, file=sys.stderr)
        print(
            _say(settings, "cli.org_invalid", path=path, count=len(invalid.issues)),
            file=sys.stderr,
        )
        return 1

    async def load() -> None:
        from storage.db import Database
        from storage.sqlite import SqliteStore

        db = await Database.open(settings.db_path)
        try:
            await SqliteStore(db).replace_org(chart)
        finally:
            await db.close()

    asyncio.run(load())
    print(
        _say(
            settings,
            "cli.org_imported",
            db=settings.db_path,
            areas=len(chart.areas),
            groups=len(chart.groups()),
            categories=len(chart.categories),
            staff=len(chart.staff),
            assignments=len(chart.assignments),
        )
    )
    return 0


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.briefing import BriefingError, write_briefing

    language = args.lang or settings.default_language
    try:
        written = write_briefing(settings, args.ward, args.week, args.out, language)
    except BriefingError as error:
        print(t(language, error.key, **error.params), file=sys.stderr)
        return error.exit_code
    scope = "all" if written.scope.whole_city else ",".join(written.scope.wards)
    print(t(language, "cli.digest_written", week=written.week.key, scope=scope, out=args.out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(_say(None, "cli.config_error", error=exc), file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return cmd_run(settings)
    if args.command == "org":
        return cmd_org_import(settings, args.file)
    if args.command == "digest":
        return cmd_digest(settings, args)
    if args.command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo(args.db))
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
