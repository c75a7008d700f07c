"""A resident's own data: /mydata sends everything stored about them as a
JSON file; /forget deletes their personal data (after they confirm)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from handlers.telegram.common import PRIVATE, answer_press, drop_keyboard, send_reply
from handlers.telegram.context import BotApplication, BotContext

FORGET = "forget"


async def cmd_mydata(update: Update, context: BotContext) -> None:
    actor = context.require_actor()
    assert update.effective_chat is not None
    data = await context.services.my_data(actor)
    await context.bot.send_document(
        update.effective_chat.id,
        data,
        filename="phananh-mydata.json",
        caption=context.renderer.t(actor.language, "privacy.mydata_caption"),
    )


async def cmd_forget(update: Update, context: BotContext) -> None:
    actor = context.require_actor()
    assert update.effective_chat is not None
    label = context.renderer.t(actor.language, "privacy.forget_button")
    await context.bot.send_message(
        update.effective_chat.id,
        context.renderer.t(actor.language, "privacy.forget_warning"),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=FORGET)]]),
    )


async def on_forget_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    await answer_press(query)
    await drop_keyboard(update)
    reply = await context.services.forget(context.require_actor())
    await send_reply(context, update.effective_chat.id, reply)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("mydata", cmd_mydata, filters=PRIVATE))
    app.add_handler(CommandHandler("forget", cmd_forget, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_forget_press, pattern=f"^{FORGET}$"))
