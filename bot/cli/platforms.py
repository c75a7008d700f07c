"""Keys and links for what runs beside the chat: Open311 keys for the
city's integrations, sign-in links to the leaders' dashboard."""

from __future__ import annotations

import argparse

from bot.cli.console import (
    EXIT_REFUSED,
    EXIT_USAGE,
    Console,
    awaited,
    on_existing_database,
    when,
)
from bot.cli.language import Subcommands, Words
from bot.config import Settings
from bot.i18n import t


def add_apikey(sub: Subcommands, w: Words) -> None:
    """``apikey create|revoke|list``."""
    h = w.h
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
        named.set_defaults(handler=on_existing_database(awaited(cmd_apikey)))
    listed = apikey_sub.add_parser(
        "list", help=h("cli_help.apikey_list"), description=h("cli_help.apikey_list")
    )
    listed.set_defaults(handler=on_existing_database(awaited(cmd_apikey)))


def add_web(sub: Subcommands, w: Words) -> None:
    """``web link|revoke``."""
    h = w.h
    web = sub.add_parser("web", help=h("cli_help.web"), description=h("cli_help.web"))
    web_sub = web.add_subparsers(
        dest="web_command", required=True, metavar=h("cli_help.subcommand")
    )
    for action, words in (("link", "cli_help.web_link"), ("revoke", "cli_help.web_revoke")):
        named = web_sub.add_parser(action, help=h(words), description=h(words))
        named.add_argument(
            "--staff", required=True, metavar=h("cli_help.id"), help=h("cli_help.staff_id")
        )
        named.set_defaults(handler=on_existing_database(awaited(cmd_web)))


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
            created=when(key.created_at, settings),
            used=when(key.last_used_at, settings) or t(console.language, "cli.apikey_never"),
            revoked=t(console.language, "cli.apikey_revoked_at", at=when(key.revoked_at, settings))
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
            if args.staff not in core.services.chart.staff:  # mistyped: nothing to end
                console.warn("admin.unknown_staff", staff=args.staff[:40])
                return EXIT_REFUSED
            ended = await web.revoke(args.staff)
            key = "cli.web_revoked" if ended else "cli.web_revoked_none"
            console.say(key, staff=args.staff, count=ended)
            return 0
        if not web.available:
            console.warn("cli.web_no_public_url")
            return EXIT_USAGE
        leader = web.leader(args.staff)
        if leader is None:
            console.warn("cli.web_not_leader", staff=args.staff[:40])
            return EXIT_REFUSED
        link = await web.link_for(leader.id)
    expires = when(link.expires_at, settings)
    console.say("cli.web_link", name=leader.name, url=link.url, expires=expires)
    return 0
