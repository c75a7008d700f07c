"""The leader's side: reassign a task to another cadre, or extend its
deadline with a reason — by command (``/reassign CODE``, ``/extend CODE``)
or by the buttons on an escalation message (handled with the task buttons)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.domain.complaints import Action
from handlers.telegram.common import PRIVATE, deliver
from handlers.telegram.context import BotApplication, BotContext


async def _leader_command(update: Update, context: BotContext, action: Action) -> None:
    assert update.effective_chat is not None
    said = await context.desk.lead(context.require_actor(), action, context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_reassign(update: Update, context: BotContext) -> None:
    await _leader_command(update, context, Action.REASSIGN)


async def cmd_extend(update: Update, context: BotContext) -> None:
    await _leader_command(update, context, Action.EXTEND)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("reassign", cmd_reassign, filters=PRIVATE))
    app.add_handler(CommandHandler("extend", cmd_extend, filters=PRIVATE))
