"""The leader's side: reassign a task to another cadre, or extend its
deadline with a reason — by command (``/reassign CODE``, ``/extend CODE``)
or by the buttons on an escalation message (handled with the task buttons)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.domain.authz import may_use
from bot.domain.complaints import Action
from handlers.telegram.common import PRIVATE, say, send_reply
from handlers.telegram.context import BotApplication, BotContext


async def _leader_command(update: Update, context: BotContext, action: Action) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    actor = context.require_actor()
    usage = f"leader.{action.value}_usage"
    if not may_use(actor, action.value):
        await say(context, chat_id, "leader.only_leaders")
        return
    args = context.args or []
    if not args:
        await say(context, chat_id, usage)
        return
    services = context.services
    complaint = await services.find_for_leader(actor, " ".join(args))
    if complaint is None:
        await say(context, chat_id, "status.not_found", code=" ".join(args)[:20])
        return
    reply = await services.begin(actor, complaint.id, action)
    await send_reply(context, chat_id, reply)


async def cmd_reassign(update: Update, context: BotContext) -> None:
    await _leader_command(update, context, Action.REASSIGN)


async def cmd_extend(update: Update, context: BotContext) -> None:
    await _leader_command(update, context, Action.EXTEND)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("reassign", cmd_reassign, filters=PRIVATE))
    app.add_handler(CommandHandler("extend", cmd_extend, filters=PRIVATE))
