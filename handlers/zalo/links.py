"""What the Zalo bot prints for a person to reach it.  Zalo documents no
link that carries a start parameter, so nothing can be opened with a
payload: an invite is its code, typed to the bot ("i-XXXX"), and a poster
prints the residential group's code to type instead of a link.  The bot's
own link (`Settings.zalo_bot_link`) is what a poster's code opens."""

from __future__ import annotations

import re

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


# An invite's code inside what was pasted: "i-", perhaps a space the phone's
# keyboard put after it, the code (bot/app/admin.py), and not inside a link.
_PASTED_INVITE = re.compile(r"(?<![\w/-])[iI]- ?([A-Za-z0-9_-]{16,60})(?![\w-])")
# What a copied code brings along: quotes, a full stop, a colon, brackets.
_AROUND = "\"'“”‘’«».,;:!?()[]<> \t\r\n"
# At most this many words besides the code ("Mã mời: i-…"): a longer text is a sentence.
LABEL_WORDS = 4


def pasted_invite(typed: str) -> str:
    """What ``typed`` is as an invite's code, as the bot checks it: the
    code is sent to staff in a message, and copied with the quotes or the
    full stop around it, or after a label ("Mã: i-…"); typed on a phone,
    "i-" may get a space.  Anything else comes back stripped of such marks
    (a bare code with a full stop), for the bot to tell whether it is one."""
    found = _PASTED_INVITE.search(typed)
    if found is not None:
        rest = (typed[: found.start()] + " " + typed[found.end() :]).strip(_AROUND)
        if len(rest.split()) <= LABEL_WORDS:
            return INVITE_PREFIX + found.group(1)
    return typed.strip(_AROUND)
