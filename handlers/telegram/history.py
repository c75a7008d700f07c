"""``/history CODE``: a complaint's audit log in chat — every step, who took
it and what they wrote — for the people the authorization table lets read
it (`bot.domain.authz.READS`: the owner and the leaders who may see it)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from handlers.telegram.common import PRIVATE, deliver
from handlers.telegram.context import BotApplication, BotContext


async def cmd_history(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.history(context.require_actor(), context.args or [])
    # The bot splits a history longer than one message (handlers/telegram/sender.py).
    await deliver(context, update.effective_chat.id, said)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("history", cmd_history, filters=PRIVATE))
