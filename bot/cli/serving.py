"""`phananh run`, `serve` and `demo`: the bot itself, its HTTP server
alone, and the offline story."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from bot.cli.console import (
    EXIT_REFUSED,
    EXIT_USAGE,
    Console,
    has_chart,
)
from bot.cli.language import Subcommands, Words
from bot.config import ConfigError, PostgresUrl, Settings, is_url
from bot.logs import configure_logging
from storage.sqlite.demo import demo_may_empty


def add_run(sub: Subcommands, w: Words) -> None:
    """``run``: the bot, by long polling or a webhook."""
    h = w.h
    run = sub.add_parser(
        "run", help=h("cli_help.run"), description=h("cli_help.run"), parents=[_listen(w)]
    )
    run.add_argument("--webhook", metavar=h("cli_help.url"), help=h("cli_help.webhook"))
    run.set_defaults(handler=cmd_run)


def add_serve(sub: Subcommands, w: Words) -> None:
    """``serve``: the HTTP server alone, no channel."""
    h = w.h
    serve = sub.add_parser(
        "serve", help=h("cli_help.serve"), description=h("cli_help.serve"), parents=[_listen(w)]
    )
    serve.set_defaults(handler=cmd_serve)


def _listen(w: Words) -> argparse.ArgumentParser:
    """--listen and --port, which replace PHANANH_HTTP_HOST and PHANANH_HTTP_PORT."""
    h = w.h
    options = w.make(add_help=False)
    options.add_argument("--listen", metavar=h("cli_help.address"), help=h("cli_help.listen"))
    options.add_argument("--port", type=int, metavar=h("cli_help.number"), help=h("cli_help.port"))
    return options


def add_demo(sub: Subcommands, w: Words) -> None:
    """``demo``: the offline story on a database of its own."""
    h = w.h
    demo = sub.add_parser("demo", help=h("cli_help.demo"), description=h("cli_help.demo"))
    demo.add_argument(
        "--db",
        type=partial(demo_database, w.language),
        default=Path("data/demo.db"),
        metavar=h("cli_help.demo_db_value"),
        help=h("cli_help.demo_db"),
    )
    demo.set_defaults(handler=cmd_demo)


def demo_database(language: str, text: str) -> Path | PostgresUrl:
    """--db: a file, or a PostgreSQL URL (a malformed one said without its
    password, in the operator's language)."""
    if not is_url(text):
        return Path(text)
    try:
        return PostgresUrl.parse(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.text(language)) from None


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
    prepared = _prepared(settings, console, args)
    if isinstance(prepared, int):
        return prepared
    settings = prepared
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from handlers.zalo.client import ZaloError, ZaloNetworkError, ZaloUnauthorized

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
        return _cannot_listen(settings, console, exc)
    return 0


def _prepared(settings: Settings, console: Console, args: argparse.Namespace) -> Settings | int:
    """Before serving: the database opens and holds an org chart, --listen
    and --port are valid, the log lines are set up.  The settings to serve
    with, or the exit code after saying in one line why not.  A database
    that is not there is not made empty (the wrong folder, or no org chart
    imported yet): both are said, with the full path."""
    if settings.db_url is None and not settings.db_path.exists():
        full = settings.db_path.absolute()
        console.warn("cli.no_database_to_serve", db=settings.db_path, full=full)
        return EXIT_REFUSED
    if not asyncio.run(has_chart(settings)):
        console.warn("cli.no_chart", db=settings.database)
        return EXIT_REFUSED
    try:
        settings = _listening(settings, args)
    except ConfigError as exc:
        console.warn("cli.config_error", error=exc.text(console.language))
        return EXIT_USAGE
    configure_logging(settings.log_format, logging.INFO)
    return settings


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
    prepared = _prepared(settings, console, args)
    if isinstance(prepared, int):
        return prepared
    settings = prepared
    from bot.runtime import serve_http

    shown = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    address = f"http://{shown}:{settings.http_port}"
    try:
        asyncio.run(serve_http(settings, ready=lambda: console.warn("cli.serving", url=address)))
    except OSError as exc:  # the HTTP server's port
        return _cannot_listen(settings, console, exc)
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


def cmd_demo(settings: Settings, console: Console, args: argparse.Namespace) -> int:
    """The story on a database of its own, emptied first: a file that is not
    a demo's own (the ward's database named by mistake, any other file) is
    refused in one line and left as it is, as PostgreSQL's already is."""
    from bot.demo import run_demo

    if isinstance(args.db, Path) and not demo_may_empty(args.db):
        console.warn("cli.demo_not_ours_file", db=args.db)
        return EXIT_REFUSED
    if settings.log_format == "json":
        # The demo's story goes to stdout; its log lines, as a log system reads them.
        configure_logging(settings.log_format, logging.INFO)
    asyncio.run(run_demo(args.db))
    return 0


def _cannot_listen(settings: Settings, console: Console, exc: OSError) -> int:
    """The HTTP server's address or port is taken or not allowed: one line."""
    console.warn(
        "cli.cannot_listen", listen=settings.http_host, port=settings.http_port, error=exc.strerror
    )
    return EXIT_REFUSED
