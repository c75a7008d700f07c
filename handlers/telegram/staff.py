"""Staff onboarding in chat: opening an invite link, /invite for ward
leaders, /whoami for anyone, and each person's command menu."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot import i18n
from bot.app.admin import Admin, AdminError
from bot.app.services import Reply
from bot.domain.authz import Actor, may_use
from bot.domain.channels import TELEGRAM
from handlers.telegram.common import (
    COMMANDS,
    LEADER_COMMANDS,
    PRIVATE,
    STAFF_COMMANDS,
    say,
    send_reply,
)
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.links import TelegramLinks

log = logging.getLogger(__name__)


def commands_for(actor: Actor) -> list[str]:
    """The command menu of a role: what the authorization table lets them use."""
    return [c for c in (*COMMANDS, *STAFF_COMMANDS, *LEADER_COMMANDS) if may_use(actor, c)]


async def set_menu(context: BotContext | BotApplication, actor: Actor, chat_id: int) -> None:
    """One menu per staff chat, in that person's language (the default menu
    stays the residents')."""
    bot = context.bot
    commands = [BotCommand(c, i18n.t(actor.language, f"commands.{c}")) for c in commands_for(actor)]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a menu is a convenience; never fail a binding for it
        log.warning("command menu not set for a staff chat: %s", type(exc).__name__)


async def accept_invite(update: Update, context: BotContext, token: str) -> None:
    """``/start i-<code>``: the invite link was opened."""
    assert update.effective_chat is not None
    if not context.services.has_chart:
        await say(context, update.effective_chat.id, "fallback.not_set_up")
        return
    reply = await Admin(context.services).accept_invite(context.require_actor(), token)
    await _bound(update, context, reply)


async def typed_invite(update: Update, context: BotContext, typed: str) -> bool:
    """An invite's code typed as a message, as on Zalo: the same as opening
    the link.  False when the message is no invite code."""
    reply = await Admin(context.services).bind_by_code(context.require_actor(), typed)
    if reply is None:
        return False
    await _bound(update, context, reply)
    return True


async def _bound(update: Update, context: BotContext, reply: Reply) -> None:
    """Say how the invite went; the person speaks as the staff record from
    now on, with its command menu."""
    assert update.effective_chat is not None and update.effective_user is not None
    chat_id = update.effective_chat.id
    await send_reply(context, chat_id, reply)
    actor = await context.services.identify(TELEGRAM, str(update.effective_user.id), None)
    context.actor = actor
    if actor.staff is not None:
        await set_menu(context, actor, chat_id)


async def cmd_whoami(update: Update, context: BotContext) -> None:
    actor = context.require_actor()
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    if actor.staff is None or not context.services.has_chart:
        await say(context, chat_id, "whoami.resident")
        return
    summary = Admin(context.services).role_summary(actor.staff.id)
    await context.bot.send_message(
        chat_id,
        "\n".join(
            [
                context.renderer.t(actor.language, "whoami.staff", name=actor.staff.name),
                context.renderer.text(actor.language, summary),
            ]
        ),
    )


async def cmd_invite(update: Update, context: BotContext) -> None:
    """``/invite STAFF_ID``: a ward leader gets a one-time link for a member
    of their own ward; without an argument, who has not joined yet."""
    actor = context.require_actor()
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    services = context.services
    if actor.staff is None or not may_use(actor, "invite") or not services.has_chart:
        await say(context, chat_id, "admin.only_ward_leaders")
        return
    args = context.args or []
    admin = Admin(services)
    if not args:
        check = await admin.check()
        mine = [
            s
            for s in (services.chart.staff[i] for i in check.unbound)
            if admin.invitable_by(actor, s)
        ]
        names = ", ".join(f"{s.id} ({s.name})" for s in mine) or "—"
        await say(context, chat_id, "invite.usage", pending=names)
        return
    try:
        link = await admin.invite_by_leader(
            actor, args[0].strip(), TelegramLinks(context.bot.username)
        )
    except AdminError as exc:
        await say(context, chat_id, exc.key, **exc.params)
        return
    member = services.chart.staff[link.staff_id]
    await say(
        context,
        chat_id,
        "invite.link",
        name=member.name,
        url=link.url,
        code=link.code,
        expires=link.expires_at,
    )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("whoami", cmd_whoami, filters=PRIVATE))
    app.add_handler(CommandHandler("invite", cmd_invite, filters=PRIVATE))
