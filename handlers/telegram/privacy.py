"""A resident's own data: /mydata sends everything stored about them as a
JSON file; /forget deletes their personal data (after they confirm)."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import MaybeInaccessibleMessage, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from handlers.telegram.callbacks import FORGET
from handlers.telegram.common import PRIVATE, answer_press, deliver, drop_keyboard
from handlers.telegram.context import BotApplication, BotContext

# How long the button under a /forget warning erases: long enough to read
# the warning, not so long that a tap on an old message does.
FORGET_WINDOW = timedelta(minutes=15)


async def cmd_mydata(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.mydata(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_forget(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    await deliver(context, update.effective_chat.id, context.desk.forget(context.require_actor()))


async def on_forget_press(update: Update, context: BotContext) -> None:
    """ "Erase my data", under the /forget warning just read — not a button
    found days later, nor "forget" forged onto another message: erasing
    cannot be undone."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    actor = context.require_actor()
    # (Staff are never erased: the desk says so, whatever the button.)
    if actor.staff is None and not _fresh_warning(query.message, context.services.now()):
        await answer_press(query, context.renderer.t(actor.language, "privacy.forget_stale"))
        await drop_keyboard(update)
        return
    await answer_press(query)
    await drop_keyboard(update)
    said = await context.desk.forget_confirmed(actor)
    await deliver(context, update.effective_chat.id, said)


def _fresh_warning(message: MaybeInaccessibleMessage | None, now: datetime) -> bool:
    """Whether the press is on a /forget warning (its own button is on it)
    sent within `FORGET_WINDOW`.  A message too old for Telegram to show
    the bot (inaccessible) is never fresh."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    buttons = [b.callback_data for row in message.reply_markup.inline_keyboard for b in row]
    return FORGET in buttons and now - message.date <= FORGET_WINDOW


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("mydata", cmd_mydata, filters=PRIVATE))
    app.add_handler(CommandHandler("forget", cmd_forget, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_forget_press, pattern=f"^{FORGET}$"))
