"""What Telegram prints for a person to reach the bot: deep links that open
the bot with a payload its /start understands (`handlers/telegram/resident.py`)
— an invite (``i-<code>``) or a report in a residential group (``a-<code>``)."""

from __future__ import annotations

import re

from bot.app.admin import AREA_PREFIX, INVITE_PREFIX, AdminError
from bot.domain.channels import TELEGRAM

# Telegram usernames: 5-32 letters, digits and underscores.
_USERNAME = re.compile(r"^[A-Za-z0-9_]{5,32}$")


class TelegramLinks:
    """`bot.ports.ChannelLinks` for the bot whose username is given (with or
    without its "@"); a name Telegram cannot have is refused (`AdminError`
    ``poster.bad_username``), so no link is ever printed with it."""

    channel = TELEGRAM

    def __init__(self, username: str) -> None:
        name = username.removeprefix("@")
        if not _USERNAME.match(name):
            raise AdminError("poster.bad_username", username=username)
        self.username = name

    @property
    def bot(self) -> str:
        return f"@{self.username}"

    def invite(self, code: str) -> str:
        return self.start(INVITE_PREFIX + code)

    def start_report(self, area_code: str) -> str:
        return self.start(AREA_PREFIX + area_code)

    def start(self, payload: str) -> str:
        """The link that opens the bot and sends it ``/start <payload>``."""
        return f"https://t.me/{self.username}?start={payload}"
