"""Leaders' reports in Telegram: ``/digest``, ``/stats``, ``/export``, and
``/web`` (a sign-in link to the same reports on a screen).

Only leaders, only for their own wards (`bot.domain.authz.report_scope`);
anyone else gets a polite refusal in their language.  What each command
answers is the desk's (bot/app/desk.py); Monday's digest comes from the
outbox.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from handlers.telegram.common import PRIVATE, deliver
from handlers.telegram.context import BotApplication, BotContext


async def cmd_digest(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.digest(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_stats(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.stats(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_export(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.export(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_web(update: Update, context: BotContext) -> None:
    """A one-time link to the dashboard: it is the leaders' reports on a screen."""
    assert update.effective_chat is not None
    said = await context.desk.web(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("digest", cmd_digest, filters=PRIVATE))
    app.add_handler(CommandHandler("stats", cmd_stats, filters=PRIVATE))
    app.add_handler(CommandHandler("export", cmd_export, filters=PRIVATE))
    app.add_handler(CommandHandler("web", cmd_web, filters=PRIVATE))
