"""The resident's side in Telegram: start, report, follow, confirm or dispute.

Each handler turns the update into plain values, calls one service, and
renders the reply.  Whatever the resident sends — text, a location however it
arrives, photos, or something the bot cannot use — becomes an `Answer` for
the conversation under way, so the same flow can later serve Zalo.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app.admin import INVITE_PREFIX
from bot.app.services import Reply
from bot.domain.complaints import Action, parse_code
from bot.domain.conversation import (
    Answer,
    ChoiceAnswer,
    LocationAnswer,
    OtherAnswer,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from handlers.telegram.callbacks import NEW_REPORT, NewReportPress, PromptPress, TaskPress, decode
from handlers.telegram.common import PRIVATE, answer_press, drop_keyboard, say, send_reply
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.photos import keep_photo
from handlers.telegram.staff import accept_invite, typed_invite

# A photo sent as a file may be huge; 10 MB is what Telegram allows a photo.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
_AREA_LINK = re.compile(r"^a-([A-Za-z0-9_-]{1,32})$")
# The album whose first photo ended a conversation (a fix's photo, a dispute
# with a caption): its other photos arrive right after, one update each, and
# must not start a report of their own.
FINISHED_ALBUM = "finished_album"

_OTHER_KINDS = (
    ("sticker", "sticker"),
    ("voice", "voice"),
    ("video_note", "video_note"),
    ("video", "video"),
    ("audio", "audio"),
    ("animation", "animation"),
    ("contact", "contact"),
    ("poll", "poll"),
    ("dice", "dice"),
)


async def to_answer(message: Message, context: BotContext) -> Answer:
    """Whatever arrived, as an answer the conversation engine understands
    (a photo downloaded and kept first: bot/app/media.py)."""
    if message.location is not None:
        title = None
        if message.venue is not None:
            title = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
        return LocationAnswer(
            lat=message.location.latitude, lon=message.location.longitude, title=title
        )
    # A photo's caption is part of the answer (at the description step it is
    # the description); photos of one album share their media group.
    caption, album = message.caption, message.media_group_id
    media = context.services.media
    if message.photo:
        kept = await keep_photo(context.bot, media, message.photo[-1].file_id, "image/jpeg")
        return PhotoAnswer(kept, caption=caption, album=album)
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        if (document.file_size or 0) > MAX_PHOTO_BYTES:
            return OtherAnswer("big_photo")
        kept = await keep_photo(context.bot, media, document.file_id, document.mime_type)
        return PhotoAnswer(kept, caption=caption, album=album)
    if message.text is not None:
        sent_at = message.date.astimezone(UTC) if message.date else None
        return TextAnswer(message.text, message_id=message.message_id, sent_at=sent_at)
    if message.caption is not None and document is None:
        return TextAnswer(message.caption, message_id=message.message_id)
    for attribute, kind in _OTHER_KINDS:
        if getattr(message, attribute, None):
            return OtherAnswer(kind)
    if document is not None:
        return OtherAnswer("document")
    return OtherAnswer("other")


def location_keyboard(before: Prompt | None, after: Prompt | None) -> dict[str, bool]:
    """Offer the location button when a place question starts; take it away
    when the conversation moves past it."""
    was = bool(before and before.wants_location)
    now = bool(after and after.wants_location)
    return {"close_location": was and not now, "offer_location": not was}


async def _greet(update: Update, context: BotContext) -> None:
    actor = context.require_actor()
    assert update.effective_chat is not None and update.effective_user is not None
    await context.bot.send_message(
        update.effective_chat.id,
        context.renderer.t(actor.language, "start.greeting", name=update.effective_user.first_name),
        reply_markup=context.renderer.new_report_keyboard(actor.language),
    )


async def cmd_start(update: Update, context: BotContext) -> None:
    """``/start`` greets; ``/start a-<area>`` (a deep link, e.g. from a QR
    poster) also starts a report with that area chosen; ``/start i-<token>``
    opens a staff invite."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    args = context.args or []
    if not args:
        await _greet(update, context)
        return
    if args[0].startswith(INVITE_PREFIX):
        await accept_invite(update, context, args[0][len(INVITE_PREFIX) :])
        return
    if args[0] == NEW_REPORT:  # the link a group chat points to
        await _greet(update, context)
        await _start_report(update, context)
        return
    match = _AREA_LINK.match(args[0])
    services = context.services
    if match is None:
        await say(context, chat_id, "start.unknown_link")
        await _greet(update, context)
        return
    if not services.has_chart or match.group(1) not in services.chart.areas:
        await say(context, chat_id, "start.unknown_area", code=match.group(1)[:32])
        await _greet(update, context)
        return
    await _greet(update, context)
    reply = await services.start_report(context.require_actor(), match.group(1))
    await send_reply(context, chat_id, reply)


async def _start_report(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    if not context.services.has_chart:
        await say(context, update.effective_chat.id, "fallback.not_set_up")
        return
    reply = await context.services.start_report(context.require_actor())
    await send_reply(context, update.effective_chat.id, reply)


async def cmd_new(update: Update, context: BotContext) -> None:
    await _start_report(update, context)


async def cmd_mine(update: Update, context: BotContext) -> None:
    actor = context.require_actor()
    assert update.effective_chat is not None
    complaints = await context.services.my_complaints(actor)
    if not complaints:
        await say(context, update.effective_chat.id, "mine.empty")
        return
    render = context.renderer
    chart = context.services.chart
    lines = [render.t(actor.language, "mine.header", count=len(complaints))]
    lines += [render.mine_line(actor.language, chart, c) for c in complaints[:30]]
    await context.bot.send_message(update.effective_chat.id, "\n".join(lines))


async def cmd_status(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    args = context.args or []
    if not args:
        await say(context, update.effective_chat.id, "status.usage")
        return
    await show_status(context, update.effective_chat.id, " ".join(args))


async def show_status(context: BotContext, chat_id: int, code_text: str) -> None:
    """One complaint in detail, for its reporter or whoever may handle it.
    Any other code reads "not found", whether or not it exists."""
    actor = context.require_actor()
    services = context.services
    complaint = await services.find_own(actor, code_text) if services.has_chart else None
    if complaint is None:
        await say(context, chat_id, "status.not_found", code=code_text.strip()[:20])
        return
    render = context.renderer
    body = render.status(
        actor.language, services.chart, complaint, services.handler_label(complaint)
    )
    reporter = await services.reporter_id(complaint.id)
    actions = services.available_actions(actor, complaint, reporter)
    keyboard = render.action_keyboard(actor.language, complaint.id, actions)
    sent = await context.bot.send_message(chat_id, body, reply_markup=keyboard)
    if keyboard is not None:
        await services.remember_buttons(complaint.id, actor, str(chat_id), str(sent.message_id))


async def cmd_withdraw(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    args = context.args or []
    if not args:
        await say(context, update.effective_chat.id, "withdraw.usage")
        return
    reply = await context.services.withdraw(context.require_actor(), " ".join(args))
    await send_reply(context, update.effective_chat.id, reply)


async def on_message(update: Update, context: BotContext) -> None:
    """Any non-command message in a private chat: an answer to the
    conversation under way, a tracking code, or the start of a report."""
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    chat_id = update.effective_chat.id
    actor = context.require_actor()
    services = context.services
    if not services.has_chart:
        await say(context, chat_id, "fallback.not_set_up")
        return
    if message.text is not None and await typed_invite(update, context, message.text):
        return  # an invite's code, typed as on Zalo
    answer = await to_answer(message, context)
    reply = await services.answer(actor, answer, update_id=str(update.update_id))
    album = answer.album if isinstance(answer, PhotoAnswer) else None
    memory = context.chat_data
    assert memory is not None  # a message in a private chat has its chat
    if reply is None and album is not None and memory.get(FINISHED_ALBUM) == album:
        return  # the rest of an album whose first photo ended a conversation
    if reply is not None and reply.after is None and album is not None:
        memory[FINISHED_ALBUM] = album
    if reply is None:  # no conversation under way
        if isinstance(answer, TextAnswer) and parse_code(answer.text) is not None:
            await show_status(context, chat_id, answer.text)
            return
        # A photo or a sentence out of the blue starts a report and is kept in it.
        reply = await services.open_report(actor, answer, update_id=str(update.update_id))
        if reply is None:
            await context.bot.send_message(
                chat_id,
                context.renderer.t(actor.language, "fallback.help"),
                reply_markup=context.renderer.new_report_keyboard(actor.language),
            )
            return
    await send_reply(context, chat_id, reply, **location_keyboard(reply.before, reply.after))


async def on_edited(update: Update, context: BotContext) -> None:
    """Edits are not read (a live location keeps editing itself): only an
    edited text gets a word, so nobody thinks a correction was taken."""
    message = update.edited_message
    if message is None or message.text is None or update.effective_chat is None:
        return
    await say(context, update.effective_chat.id, "fallback.edited_ignored")


async def on_prompt_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    actor = context.require_actor()
    services = context.services
    if isinstance(press, NewReportPress):
        await answer_press(query)
        await _start_report(update, context)
        return
    if not isinstance(press, PromptPress) or not services.has_chart:
        await answer_press(query, context.renderer.t(actor.language, "refusal.bad_button"))
        return
    reply = await services.answer(
        actor, ChoiceAnswer(press.seq, press.key), update_id=str(update.update_id)
    )
    if reply is None:
        await answer_press(query, context.renderer.t(actor.language, "refusal.bad_button"))
        await drop_keyboard(update)
        return
    # Three independent calls side by side: one round trip to Telegram, not
    # three, for every button a resident presses.
    calls = [
        answer_press(query),
        send_reply(
            context,
            update.effective_chat.id,
            reply,
            **location_keyboard(reply.before, reply.after),
        ),
    ]
    if reply.after is None or reply.after.seq != press.seq:
        calls.append(drop_keyboard(update))
    await asyncio.gather(*calls)


async def on_verdict_press(update: Update, context: BotContext) -> None:
    """The resident's "Fixed" / "Not fixed" under a resolution."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    assert isinstance(press, TaskPress)
    actor = context.require_actor()
    services = context.services
    reply: Reply
    if press.action is Action.CONFIRM:
        reply = await services.confirm_fixed(actor, press.complaint_id)
    elif press.action is Action.ANSWER_INFO:
        reply = await services.begin_info_reply(actor, press.complaint_id)
    else:
        reply = await services.begin(actor, press.complaint_id, Action.DISPUTE)
    if reply.refused is not None:
        await answer_press(query, context.renderer.refusal(actor.language, reply.refused.value))
        return
    await answer_press(query)
    if press.action is Action.CONFIRM:
        await drop_keyboard(update)
    await send_reply(context, update.effective_chat.id, reply)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("start", cmd_start, filters=PRIVATE))
    app.add_handler(CommandHandler("new", cmd_new, filters=PRIVATE))
    app.add_handler(CommandHandler("mine", cmd_mine, filters=PRIVATE))
    app.add_handler(CommandHandler("status", cmd_status, filters=PRIVATE))
    app.add_handler(CommandHandler("withdraw", cmd_withdraw, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_prompt_press, pattern=r"^(q:|new$)"))
    app.add_handler(CallbackQueryHandler(on_verdict_press, pattern=r"^[fni]:[1-9][0-9]{0,11}$"))
    app.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_message)
    )
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, on_edited))
