"""The channels a person can reach the bot on, by the names every part uses.

A person is one record with accounts on channels; an account is a channel's
name and the id the channel gives the person there, always as a string
(Telegram's integer ids are written in decimal).  Each channel's own rules
for what an id looks like live here too, so the org chart, the command line
and the channels agree on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TELEGRAM = "telegram"
ZALO = "zalo"
CHANNELS = (TELEGRAM, ZALO)


@dataclass(frozen=True)
class Account:
    """A person's account on a channel: the channel's name and the id the
    channel gives them there, always a string."""

    channel: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


# How a channel is named to people (the command line, the admin log).
LABELS = {TELEGRAM: "Telegram", ZALO: "Zalo"}

# Zalo's ids are opaque strings scoped to the bot (hex in every sample).
_ZALO_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TELEGRAM_ID = re.compile(r"^[1-9][0-9]{0,18}$")


def valid_account_id(channel: str, external_id: str) -> bool:
    """Whether ``external_id`` can be an account id on ``channel``: a
    positive whole number on Telegram, an opaque id of letters, digits and
    ``_ . -`` on Zalo."""
    if channel == TELEGRAM:
        return bool(_TELEGRAM_ID.match(external_id))
    if channel == ZALO:
        return bool(_ZALO_ID.match(external_id))
    return False


def label(channel: str) -> str:
    """The channel's name as people write it ("Telegram"); an unknown one as stored."""
    return LABELS.get(channel, channel.capitalize())
