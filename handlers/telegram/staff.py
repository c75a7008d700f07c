"""Staff onboarding in chat: opening an invite link, /invite for ward
leaders, /whoami for anyone, and each person's command menu."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot import i18n
from bot.domain.authz import Actor, may_use
from handlers.telegram.common import (
    COMMANDS,
    LEADER_COMMANDS,
    PRIVATE,
    STAFF_COMMANDS,
    deliver,
)
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.links import TelegramLinks

log = logging.getLogger(__name__)


def commands_for(actor: Actor) -> list[str]:
    """The command menu of a role: what the authorization table lets them use."""
    return [c for c in (*COMMANDS, *STAFF_COMMANDS, *LEADER_COMMANDS) if may_use(actor, c)]


async def set_menu(context: BotContext | BotApplication, actor: Actor, chat_id: int) -> None:
    """One menu per staff chat, in that person's language (the default menu
    stays the residents')."""
    bot = context.bot
    commands = [BotCommand(c, i18n.t(actor.language, f"commands.{c}")) for c in commands_for(actor)]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a menu is a convenience; never fail a binding for it
        log.warning("command menu not set for a staff chat: %s", type(exc).__name__)


async def bound(update: Update, context: BotContext) -> None:
    """After an invite was opened: a staff member's chat gets the command
    menu of their role."""
    assert update.effective_chat is not None
    actor = context.require_actor()
    if actor.staff is not None:
        await set_menu(context, actor, update.effective_chat.id)


async def cmd_whoami(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.whoami(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_invite(update: Update, context: BotContext) -> None:
    """``/invite STAFF_ID``: a ward leader gets a one-time link for a member
    of their own ward; without an argument, who has not joined yet."""
    assert update.effective_chat is not None
    links = TelegramLinks(context.bot.username)
    said = await context.desk.invite(context.require_actor(), context.args or [], links)
    await deliver(context, update.effective_chat.id, said)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("whoami", cmd_whoami, filters=PRIVATE))
    app.add_handler(CommandHandler("invite", cmd_invite, filters=PRIVATE))
