"""``/history CODE``: a complaint's audit log in chat — every step, who took
it and what they wrote — for the people the authorization table lets read
it (`bot.domain.authz.READS`: the owner and the leaders who may see it)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.app.audit import trail_for
from bot.domain.authz import Refusal, may_use
from bot.report.history import trail_text
from handlers.telegram.common import PRIVATE, say
from handlers.telegram.context import BotApplication, BotContext


async def cmd_history(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    actor = context.require_actor()
    if not may_use(actor, "history"):
        await say(context, chat_id, "history.only_staff")
        return
    code_text = " ".join(context.args or [])
    if not code_text:
        await say(context, chat_id, "history.usage")
        return
    services = context.services
    found = await trail_for(services, actor, code_text)
    if found is Refusal.NOT_FOUND:
        await say(context, chat_id, "status.not_found", code=code_text.strip()[:20])
        return
    if isinstance(found, Refusal):
        await say(context, chat_id, f"refusal.{found.value}")
        return
    tz = services.schedule.calendar.tz
    # The bot splits a history longer than one message (handlers/telegram/extbot.py).
    await context.bot.send_message(chat_id, trail_text(found, services.chart, actor.language, tz))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("history", cmd_history, filters=PRIVATE))
