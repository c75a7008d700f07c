"""The resident's side in Telegram: start, report, follow, confirm or dispute.

Each handler turns the update into plain values, calls one service, and
renders the reply.  Whatever the resident sends — text, a location however it
arrives, photos, or something the bot cannot use — becomes an `Answer` for
the conversation under way, so the same flow can later serve Zalo.
"""

from __future__ import annotations

import asyncio
from datetime import UTC

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import i18n
from bot.app.desk import Said
from bot.domain.authz import Actor
from bot.domain.complaints import Action
from bot.domain.conversation import (
    BACK,
    Answer,
    ChoiceAnswer,
    LocationAnswer,
    OtherAnswer,
    PhotoAnswer,
    TextAnswer,
)
from bot.domain.flows.resident import is_thanks
from handlers.telegram.callbacks import (
    HELD_PATTERN,
    HeldReportPress,
    NewReportPress,
    PromptPress,
    TaskPress,
    decode,
)
from handlers.telegram.common import (
    PRIVATE,
    answer_press,
    deliver,
    drop_keyboard,
    location_keyboard,
    say,
    send_reply,
)
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.menus import default_menu_language
from handlers.telegram.photos import keep_photo, keep_photo_file
from handlers.telegram.staff import bound
from handlers.telegram.verdicts import FixedCheck

# A photo sent as a file may be huge; 10 MB is what Telegram allows a photo.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
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
        return PhotoAnswer(kept, caption=caption, album=album, message_id=message.message_id)
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        if (document.file_size or 0) > MAX_PHOTO_BYTES:
            return OtherAnswer("big_photo")
        kept_file = await keep_photo_file(context.bot, media, document.file_id, document.mime_type)
        if kept_file is None:
            return OtherAnswer("not_a_photo")
        return PhotoAnswer(kept_file, caption=caption, album=album, message_id=message.message_id)
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


async def cmd_start(update: Update, context: BotContext) -> None:
    """``/start`` greets; ``/start a-<area>`` (a deep link, e.g. from a QR
    poster) also starts a report with that area chosen; ``/start i-<token>``
    opens a staff invite."""
    assert update.effective_chat is not None and update.effective_user is not None
    args = context.args or []
    name = update.effective_user.first_name
    said = await context.desk.start(context.require_actor(), name, args[0] if args else None)
    await deliver(context, update.effective_chat.id, said)
    if said.actor is not None:
        await bound(update, context)
    actor = context.require_actor()
    app_language = default_menu_language(update.effective_user.language_code)
    if actor.staff is None and actor.language == i18n.DEFAULT_LANGUAGE != app_language:
        # Every resident starts in Vietnamese, the ward office's language;
        # one whose app is in English is told, in English, how to switch
        # (and their menu is in Vietnamese meanwhile, as the bot: menus.py).
        await say(context, update.effective_chat.id, "start.english_offer")


async def _start_report(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.new_report(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_new(update: Update, context: BotContext) -> None:
    await _start_report(update, context)


async def cmd_mine(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.mine(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def cmd_status(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.status(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_withdraw(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.withdraw(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def cmd_unfollow(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.unfollow(context.require_actor(), context.args or [])
    await deliver(context, update.effective_chat.id, said)


async def on_message(update: Update, context: BotContext) -> None:
    """Any non-command message in a private chat: an answer to the
    conversation under way, a tracking code, or the start of a report."""
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    chat_id = update.effective_chat.id
    actor = context.require_actor()
    services = context.services
    desk = context.desk
    if not services.has_chart:
        await say(context, chat_id, "fallback.not_set_up")
        return
    if message.text is not None:
        invited = await desk.typed_invite(actor, message.text)
        if invited is not None:  # an invite's code, typed as on Zalo
            await deliver(context, chat_id, invited)
            await bound(update, context)
            return
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
        # At "đã khắc phục chưa?", a sentence or photos answer it (verdicts.py).
        checked = await FixedCheck(context, actor).answer(answer, str(update.update_id))
        said = checked or await desk.unanswered(actor, answer, update_id=str(update.update_id))
        if _only_thanks(actor, answer) and said.items == [desk.fallback(actor)]:
            # Thanked (at the rating, at the end): thanked back, not told how to report.
            said = desk.say(actor, "fallback.thanks")
    else:
        said = Said([reply])
    await deliver(context, chat_id, said)


async def on_edited(update: Update, context: BotContext) -> None:
    """A message edited after it was sent.  A live location keeps editing
    itself: not a word.  An edited text or photo caption corrects the draft
    under way where it gave its words (bot/app/desk.py `edited`); any other
    edit, a command's included, is not read — an old /extend or /withdraw edited
    must not act again — and the person is told what to do instead."""
    message = update.edited_message
    if message is None or update.effective_chat is None:
        return
    if message.text is None and message.caption is None:
        return
    words = message.text if message.text is not None else message.caption
    said = await context.desk.edited(
        context.require_actor(),
        message.message_id,
        None if _is_command(message) else words,
        update_id=str(update.update_id),
    )
    await deliver(context, update.effective_chat.id, said)


def _only_thanks(actor: Actor, answer: Answer) -> bool:
    return actor.staff is None and isinstance(answer, TextAnswer) and is_thanks(answer.text)


def _is_command(message: Message) -> bool:
    return bool(message.text and message.text.startswith("/"))


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
            back=press.key == BACK,
        ),
    ]
    if reply.after is None or reply.after.seq != press.seq:
        calls.append(drop_keyboard(update))
    await asyncio.gather(*calls)


async def on_verdict_press(update: Update, context: BotContext) -> None:
    """The resident's "Fixed" / "Not fixed" under a resolution (or under
    the check of a sentence typed there, which it keeps: verdicts.py)."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    assert isinstance(press, TaskPress)
    actor = context.require_actor()
    check = FixedCheck(context, actor)
    reply = await check.pressed(press.action, press.complaint_id, str(update.update_id))
    if reply.refused is not None:
        await answer_press(query, context.renderer.refusal(actor.language, reply.refused.value))
        return
    await answer_press(query)
    if press.action is Action.CONFIRM:
        await drop_keyboard(update)
    await send_reply(context, update.effective_chat.id, reply)


async def on_held_report_press(update: Update, context: BotContext) -> None:
    """ "Gửi phản ánh mới" under the check of a sentence typed at the fixed
    question: a new report with that sentence as its description."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    assert isinstance(press, HeldReportPress)
    check = FixedCheck(context, context.require_actor())
    said = await check.new_report(press.complaint_id, str(update.update_id))
    await asyncio.gather(answer_press(query), drop_keyboard(update))
    await deliver(context, update.effective_chat.id, said)


def register_edits(app: BotApplication) -> None:
    """Before every command handler (they take edited messages too): an
    edited message, a command's included, goes to `on_edited` only."""
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, on_edited))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("start", cmd_start, filters=PRIVATE))
    app.add_handler(CommandHandler("new", cmd_new, filters=PRIVATE))
    app.add_handler(CommandHandler("mine", cmd_mine, filters=PRIVATE))
    app.add_handler(CommandHandler("status", cmd_status, filters=PRIVATE))
    app.add_handler(CommandHandler("withdraw", cmd_withdraw, filters=PRIVATE))
    app.add_handler(CommandHandler("unfollow", cmd_unfollow, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_prompt_press, pattern=r"^(q:|new$)"))
    app.add_handler(CallbackQueryHandler(on_verdict_press, pattern=r"^[fni]:[1-9][0-9]{0,11}$"))
    app.add_handler(CallbackQueryHandler(on_held_report_press, pattern=HELD_PATTERN))
    app.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_message)
    )
