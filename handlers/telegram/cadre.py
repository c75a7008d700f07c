"""The cadre's side (and a leader acting on a task): the task buttons,
/tasks and its buttons (a task in detail).
Every press is checked by the services — a forged or stale press
gets a polite refusal and changes nothing."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.domain.complaints import Action, format_code
from handlers.telegram.callbacks import TaskPress, ViewPress, decode
from handlers.telegram.common import PRIVATE, answer_press, deliver, drop_keyboard, send_reply
from handlers.telegram.context import BotApplication, BotContext


async def cmd_tasks(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    said = await context.desk.tasks(context.require_actor())
    await deliver(context, update.effective_chat.id, said)


async def on_tasks_press(update: Update, context: BotContext) -> None:
    """ "Tasks to handle", under a staff member's greeting: the same as /tasks."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await answer_press(query)
    await cmd_tasks(update, context)


async def on_view_press(update: Update, context: BotContext) -> None:
    """One task in detail, from the list of tasks: the same as /status CODE."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    assert isinstance(press, ViewPress)
    await answer_press(query)
    said = await context.desk.show_status(context.require_actor(), format_code(press.complaint_id))
    await deliver(context, update.effective_chat.id, said)


async def on_task_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    press = decode(query.data)
    assert isinstance(press, TaskPress)
    actor = context.require_actor()
    services = context.services
    render = context.renderer
    reply = await context.desk.act(actor, press.action, press.complaint_id)
    if reply.refused is not None:
        await answer_press(query, render.refusal(actor.language, reply.refused.value))
        if reply.complaint is not None and services.may_see(actor, reply.complaint):
            # A stale keyboard: redraw it as it is now, so the next press works.
            await redraw_keyboard(update, context)
        return
    await answer_press(query)
    if press.action is Action.ACKNOWLEDGE:
        await redraw_keyboard(update, context)
    await send_reply(context, update.effective_chat.id, reply)


async def redraw_keyboard(update: Update, context: BotContext) -> None:
    """Show on the pressed message the buttons its complaint allows now; on
    a message about several tasks (a list, a reminder), take away the
    button pressed and leave the others."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    if not isinstance(press, TaskPress) or query.message is None:
        return
    markup = getattr(query.message, "reply_markup", None)
    if isinstance(markup, InlineKeyboardMarkup) and not _about_one(markup, press.complaint_id):
        await _without(query, markup, query.data)
        return
    services = context.services
    actor = context.require_actor()
    complaint = await services.complaint(press.complaint_id)
    if complaint is None:
        await drop_keyboard(update)
        return
    reporter = await services.reporter_id(complaint.id)
    followers = await services.followers(complaint.id)
    actions = services.available_actions(actor, complaint, reporter, followers)
    keyboard = context.renderer.action_keyboard(actor.language, complaint.id, actions)
    if keyboard is None:
        await drop_keyboard(update)
        return
    try:
        await query.edit_message_reply_markup(reply_markup=keyboard)
    except BadRequest:  # not modified, or too old to edit: the press is handled anyway
        return


def _about_one(markup: InlineKeyboardMarkup, complaint_id: int) -> bool:
    """Whether every button of a keyboard acts on this one complaint."""
    presses = [
        decode(b.callback_data if isinstance(b.callback_data, str) else None)
        for row in markup.inline_keyboard
        for b in row
    ]
    return all(isinstance(p, TaskPress) and p.complaint_id == complaint_id for p in presses)


async def _without(query: CallbackQuery, markup: InlineKeyboardMarkup, data: str | None) -> None:
    rows = [[b for b in row if b.callback_data != data] for row in markup.inline_keyboard]
    kept = [row for row in rows if row]
    try:
        await query.edit_message_reply_markup(
            reply_markup=InlineKeyboardMarkup(kept) if kept else None
        )
    except BadRequest:  # not modified, or too old to edit: the press is handled anyway
        return


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("tasks", cmd_tasks, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_task_press, pattern=r"^[arjthge]:[1-9][0-9]{0,11}$"))
    app.add_handler(CallbackQueryHandler(on_tasks_press, pattern=r"^tasks$"))
    app.add_handler(CallbackQueryHandler(on_view_press, pattern=r"^v:[1-9][0-9]{0,11}$"))
