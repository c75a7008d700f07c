"""A resident's own data: /mydata sends everything stored about them as a
JSON file; /forget deletes their personal data (after they confirm)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from handlers.telegram.callbacks import FORGET
from handlers.telegram.common import PRIVATE, answer_press, deliver, drop_keyboard
from handlers.telegram.context import BotApplication, BotContext


async def cmd_mydata(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.mydata(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_forget(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    await deliver(context, update.effective_chat.id, context.desk.forget(context.require_actor()))


async def on_forget_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    await answer_press(query)
    await drop_keyboard(update)
    said = await context.desk.forget_confirmed(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("mydata", cmd_mydata, filters=PRIVATE))
    app.add_handler(CommandHandler("forget", cmd_forget, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_forget_press, pattern=f"^{FORGET}$"))
