"""Telegram's links to the bot: deep links that carry a ``/start`` payload
(an invite code, a residential group).

(The people part of the restructure owns this module and the command
line's use of it; this is the shape its plan fixes, so that the channel has
its ``links`` until then.)
"""

from __future__ import annotations


class TelegramLinks:
    def __init__(self, username: str) -> None:
        self.username = username.lstrip("@")

    def invite(self, code: str) -> str:
        return f"https://t.me/{self.username}?start=i-{code}"

    def start_report(self, area_code: str) -> str | None:
        return f"https://t.me/{self.username}?start=a-{area_code}"
