"""What the Zalo bot prints for a person to reach it.  Zalo documents no
link that carries a start parameter, so nothing can be opened with a
payload: an invite is its code, typed to the bot ("i-XXXX"), and a poster
prints the residential group's code to type instead of a link.  The bot's
own link (`Settings.zalo_bot_link`) is what a poster's code opens."""

from __future__ import annotations

from bot.app.admin import INVITE_PREFIX
from bot.domain.channels import ZALO


class ZaloLinks:
    """`bot.ports.ChannelLinks` for the Zalo bot at ``bot_link`` (may be empty)."""

    channel = ZALO

    def __init__(self, bot_link: str = "") -> None:
        self.bot = bot_link

    def invite(self, code: str) -> str:
        return INVITE_PREFIX + code

    def start_report(self, area_code: str) -> None:
        return None
