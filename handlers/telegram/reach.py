"""Telegram tells the bot when a person blocks it and unblocks it: a
``my_chat_member`` update in their private chat, with the bot's new status
"kicked" or "member".  From then on the bot knows whether it can reach them:
a staff member's tasks go to someone who can act (their leader is told at
once), and when they are back they get one list of their open tasks — not
what failed meanwhile.  The same update about a group changes nothing."""

from __future__ import annotations

from telegram import Chat, ChatMember, Update
from telegram.ext import ChatMemberHandler

from handlers.telegram.context import BotApplication, BotContext

REFUSED = frozenset({ChatMember.BANNED})  # "kicked": the person blocked the bot
REACHABLE = frozenset({ChatMember.MEMBER})


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.PRIVATE:
        return  # added to or removed from a group: nothing to do
    status = change.new_chat_member.status
    if status not in REFUSED | REACHABLE:
        return
    services = context.services
    await services.channel_reach(
        services.channel, str(change.from_user.id), reachable=status in REACHABLE
    )


def register(app: BotApplication) -> None:
    """Before the person is identified (group -1, first): such an update is
    not the person writing to the bot, so it must not count as them being
    reachable again."""
    app.add_handler(
        ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER), group=-1
    )
