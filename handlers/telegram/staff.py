"""Staff onboarding in chat: opening an invite link, /invite for ward
leaders, /whoami for anyone, and each person's command menu."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from handlers.telegram.common import PRIVATE, deliver
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.links import TelegramLinks


async def bound(update: Update, context: BotContext) -> None:
    """After an invite was opened: the person's chats get the command menu
    of their role at once, in the background (handlers/telegram/menus.py)."""
    if context.require_actor().staff is not None:
        context.wiring.menus.soon()


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
