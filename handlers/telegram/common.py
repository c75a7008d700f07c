"""Handlers every audience shares: who is this, language, help, cancel, the
outbox flush after each update, and the error handler."""

from __future__ import annotations

import asyncio
import logging
import secrets

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import i18n
from bot.app.desk import Said
from bot.app.services import Reply
from bot.domain.conversation import Prompt
from bot.domain.messages import Text
from handlers.telegram import reach
from handlers.telegram.callbacks import LANGUAGE_PATTERN, LanguagePress, PromptPress, decode
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.sender import TelegramSender

log = logging.getLogger(__name__)

CHANNEL = "telegram"
PRIVATE = filters.ChatType.PRIVATE


def not_for_us(update: Update) -> str | None:
    """Why the bot leaves an update alone, or None when it serves it.

    The bot talks with people in chats.  Posts in a channel, messages with
    no person behind them (sent on behalf of a chat), inline queries and
    presses on inline messages (the bot makes none, so such data is forged)
    have nobody and nowhere to answer.  Updates about the bot's own
    membership (``my_chat_member``) are served: they say who blocked it.
    """
    if update.channel_post or update.edited_channel_post:
        return "channel post"
    if update.inline_query or update.chosen_inline_result:
        return "inline query"
    query = update.callback_query
    if query is not None and query.message is None:
        return "press on an inline message"
    message = update.message or update.edited_message
    if message is not None and (message.from_user is None or message.sender_chat is not None):
        return "message without a person behind it"
    return None


async def claim(update: Update, context: BotContext) -> None:
    """Group -2: an update Telegram redelivers after a crash is not handled
    twice (see storage migration 0004 for the exact guarantee).  An update
    the bot does not serve is left alone here, quietly."""
    reason = not_for_us(update)
    if reason is not None:
        log.debug("update %s ignored: %s", update.update_id, reason)
        raise ApplicationHandlerStop
    claimed, _ = await asyncio.gather(
        context.services.claim_update(CHANNEL, str(update.update_id)),
        identify_early(update, context),
    )
    if not claimed:
        raise ApplicationHandlerStop


async def identify_early(update: Update, context: BotContext) -> None:
    """Who is writing, looked up while the ledger claims the update (the
    two do not depend on each other): the identify step then has it without
    a second wait.  Not for a block or unblock (``my_chat_member``), which
    must not count as the person being reachable again (reach.py), nor for
    an update without a person."""
    user = update.effective_user
    if user is None or user.is_bot or update.my_chat_member is not None:
        return
    context.identified = await context.services.identify_sender(
        CHANNEL, str(user.id), display_name(user.first_name, user.last_name)
    )
    context.prefetched = True


def display_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


async def finish(update: Update, context: BotContext) -> None:
    """After the handlers: the update is done, whatever they did with it.
    Marked before the outbox is flushed (the group after): what the update
    queued is in the database and goes out from any process, so a crash
    while it is sent no longer hands the update (and its reply) to be
    handled a second time — only a crash between the reply and this mark
    does."""
    await context.services.finish_update(CHANNEL, str(update.update_id))


async def identify(update: Update, context: BotContext) -> None:
    """Group -1: attach the Actor (person, language, staff record) to the
    context so every handler after it knows who is speaking.  An account on
    the abuse list is dropped here without a word.  A command or a press
    elsewhere ends an optional step first (see `turns_elsewhere`)."""
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop  # channel posts and the like: nothing to answer
    if context.prefetched:
        actor = context.identified
    else:
        name = display_name(user.first_name, user.last_name)
        actor = await context.services.identify_sender(CHANNEL, str(user.id), name)
    if actor is None:
        raise ApplicationHandlerStop
    context.actor = actor
    chat = update.effective_chat
    if chat is not None and chat.type == chat.PRIVATE and update.my_chat_member is None:
        # The command menu in the language the bot speaks to them (menus.py).
        context.wiring.menus.resident_seen(chat.id, actor, user.language_code)
    if turns_elsewhere(update):
        await context.services.leave_optional(actor)


def turns_elsewhere(update: Update) -> bool:
    """A command, or a press on anything but a question's buttons: an
    optional step under way (a rating, a note to the resident) ends, so it
    cannot take what the person types next.  Presses on a question's
    buttons go to the conversation, which judges them itself."""
    if update.callback_query is not None:
        return not isinstance(decode(update.callback_query.data), PromptPress)
    if update.edited_message is not None:
        return False  # an old message edited is not the person turning anywhere
    return bool(filters.COMMAND.check_update(update))


def addressed_elsewhere(update: Update, bot_username: str) -> bool:
    """``/new@other_bot``: in a group, a command meant for another bot."""
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return False
    command = message.text.split(maxsplit=1)[0]
    _, at, addressee = command.partition("@")
    return bool(at) and addressee.lower() != bot_username.lower()


async def in_a_group(update: Update, context: BotContext) -> None:
    """Reports are private business: in a group, point to the private chat.
    A command addressed to another bot of the group is not ours to answer."""
    chat = update.effective_chat
    if chat is None or context.actor is None:
        return
    if addressed_elsewhere(update, context.bot.username):
        return
    link = f"https://t.me/{context.bot.username}?start=new"
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.renderer.t(context.actor.language, "group.button"), url=link
                )
            ]
        ]
    )
    await context.bot.send_message(
        chat.id,
        context.renderer.t(context.actor.language, "group.private_only"),
        reply_markup=keyboard,
    )


async def flush_outbox(update: Update, context: BotContext) -> None:
    """Last group: send what the update's changes put in the outbox, on
    every channel (a Telegram resident's complaint may go to a cadre on Zalo),
    once the update is marked done (`finish`)."""
    await context.wiring.senders.after_update()


def location_keyboard(before: Prompt | None, after: Prompt | None) -> dict[str, bool]:
    """Offer the location button when a place question starts; take it away
    when the conversation moves past it."""
    was = bool(before and before.wants_location)
    now = bool(after and after.wants_location)
    return {"close_location": was and not now, "offer_location": not was}


async def deliver(context: BotContext, chat_id: int, said: Said) -> None:
    """Send what the desk (bot/app/desk.py) says to the person who acted:
    a service's reply with its question's buttons, texts with their choices
    as buttons (remembered where they are about a complaint), files as
    uploads.  The person may be someone else from now on (a language, an
    invite opened)."""
    if said.actor is not None:
        context.actor = said.actor
    actor = context.require_actor()
    sender = TelegramSender(context.bot, context.services)
    for item in said.items:
        if isinstance(item, Reply):
            await send_reply(context, chat_id, item, **location_keyboard(item.before, item.after))
            continue
        for part in sender.parts(chat_id, actor, [item]):
            sent = await part.send()
            if part.buttons_of is not None and isinstance(sent, Message):
                await context.services.remember_buttons(
                    part.buttons_of, actor, str(chat_id), str(sent.message_id)
                )


async def send_reply(
    context: BotContext,
    chat_id: int,
    reply: Reply,
    *,
    close_location: bool = False,
    offer_location: bool = True,
    back: bool = False,
) -> None:
    """Send a service's reply: notes in one message, then the prompt with its
    buttons, then — the first time a prompt wants a place — the location
    button (a message has one keyboard, so it needs a message of its own).
    The location button taken away with no note to carry it goes with a
    line of its own: ``back`` (↩ pressed at the place question) says the
    resident went back a step, not that something was noted."""
    actor = context.require_actor()
    lang = actor.language
    render = context.renderer
    notes: list[Text] = list(reply.notes)
    if reply.refused is not None:
        notes.append(Text(f"refusal.{reply.refused.value}"))
    pending_remove = close_location
    if notes:
        await context.bot.send_message(
            chat_id,
            render.notes(lang, notes),
            reply_markup=ReplyKeyboardRemove() if pending_remove else None,
        )
        pending_remove = False
    if reply.prompt is not None:
        if pending_remove:
            await context.bot.send_message(
                chat_id,
                render.t(lang, "report.location_back" if back else "report.location_closed"),
                reply_markup=ReplyKeyboardRemove(),
            )
        body, keyboard = render.prompt(lang, reply.prompt)
        await context.bot.send_message(chat_id, body, reply_markup=keyboard)
        if reply.prompt.wants_location and offer_location:
            await context.bot.send_message(
                chat_id,
                render.t(lang, "report.location_prompt"),
                reply_markup=render.location_keyboard(lang),
            )


async def say(context: BotContext, chat_id: int, key: str, **params: object) -> None:
    actor = context.require_actor()
    await context.bot.send_message(chat_id, context.renderer.t(actor.language, key, **params))


async def answer_press(query: CallbackQuery, refusal: str | None = None) -> None:
    """Answer a button press — with a polite alert when it was refused.  A
    press answered too late (the bot was restarting) cannot be answered any
    more; the press itself is still handled."""
    try:
        if refusal is None:
            await query.answer()
        else:
            await query.answer(refusal, show_alert=True)
    except BadRequest as exc:
        log.info("press not answered: %s", exc.message)


async def drop_keyboard(update: Update) -> None:
    """Remove the buttons of the message a press came from; a message that
    is too old or already bare is fine as it is."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.debug("keyboard not removed: %s", exc.message)


async def cmd_help(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    await deliver(context, update.effective_chat.id, context.desk.help(context.require_actor()))


async def cmd_cancel(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.cancel(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_lang(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.language(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)
    menu_in_language(update, context, said)


def menu_in_language(update: Update, context: BotContext, said: Said) -> None:
    """Someone switched language: their menu follows at once (a staff
    member's with the roster, a resident's chat on its own)."""
    actor, chat, user = said.actor, update.effective_chat, update.effective_user
    if actor is None or chat is None or user is None:
        return
    if actor.staff is not None:
        context.wiring.menus.soon()
    else:
        context.wiring.menus.resident_seen(chat.id, actor, user.language_code, switched=True)


async def on_language_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    if not isinstance(press, LanguagePress):
        return
    said = await context.desk.set_language(context.require_actor(), press.language)
    await answer_press(query)
    await drop_keyboard(update)
    await deliver(context, update.effective_chat.id, said)
    menu_in_language(update, context, said)


async def on_unknown_press(update: Update, context: BotContext) -> None:
    """Any press no other handler took: malformed or forged data."""
    query = update.callback_query
    assert query is not None
    actor = context.require_actor()
    await answer_press(query, context.renderer.t(actor.language, "refusal.bad_button"))


async def on_error(update: object, context: BotContext) -> None:
    """Log with a reference id (no personal data) and apologise politely."""
    ref = secrets.token_hex(4)
    log.error("error %s while handling an update", ref, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = context.actor.language if context.actor else i18n.DEFAULT_LANGUAGE
        try:
            await context.bot.send_message(
                update.effective_chat.id, context.renderer.t(lang, "fallback.error", ref=ref)
            )
        except Exception:  # the apology itself failed; the log has the reference
            log.exception("could not send the error apology %s", ref)


def register(app: BotApplication) -> None:
    app.add_handler(TypeHandler(Update, claim), group=-2)
    reach.register(app)  # block / unblock: before identify, in the same group
    app.add_handler(TypeHandler(Update, identify), group=-1)
    app.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND, in_a_group
        )
    )
    app.add_handler(CommandHandler("help", cmd_help, filters=PRIVATE))
    app.add_handler(CommandHandler("cancel", cmd_cancel, filters=PRIVATE))
    app.add_handler(CommandHandler("lang", cmd_lang, filters=PRIVATE))
    # Only a language the bot speaks: any other "l:" press is the fallback's
    # (answered as a bad button), never left spinning.
    app.add_handler(CallbackQueryHandler(on_language_press, pattern=LANGUAGE_PATTERN))
    app.add_handler(TypeHandler(Update, finish), group=99)
    app.add_handler(TypeHandler(Update, flush_outbox), group=100)
    app.add_error_handler(on_error)


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have (a typo, an old one): show the help."""
    await cmd_help(update, context)


def register_fallbacks(app: BotApplication) -> None:
    """Registered after every audience's handlers: only what none took."""
    app.add_handler(CallbackQueryHandler(on_unknown_press))
    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_unknown_command))
