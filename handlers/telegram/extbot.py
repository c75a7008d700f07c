"""The bot every handler sends through: PTB's own, fitted to Telegram's limits.

Telegram refuses (400 "message is too long") a text over 4,096 UTF-16 code
units and a caption over 1,024, and an emoji counts two.  A resident may type
2,000 characters of emoji, so a checked length in characters proves nothing.
Rather than trust every call site to measure, the one place all sends pass
through (`ExtBot._send_message`) does it: a long text goes out whole, in as
many messages as it needs, its buttons on the last (which is the message
returned, so a caller that remembers the buttons' message finds them); a
caption too long is shortened with "…".

Texts with a parse mode or entities are left alone: cutting them could cut a
tag or shift an offset, and this bot sends plain text only.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import ExtBot

from handlers.telegram.render import CAPTION_LIMIT, clip, split_message

JSONDict = dict[str, Any]


class TelegramBot(ExtBot[None]):
    async def _send_message(self, endpoint: str, data: JSONDict, *args: Any, **kwargs: Any) -> Any:
        caption = kwargs.get("caption")
        if isinstance(caption, str) and not _formatted({}, kwargs):
            kwargs["caption"] = clip(caption, CAPTION_LIMIT)
        text = data.get("text")
        if endpoint != "sendMessage" or not isinstance(text, str) or _formatted(data, kwargs):
            return await super()._send_message(endpoint, data, *args, **kwargs)
        *first, last = split_message(text) or [text]
        for piece in first:
            # The earlier pieces carry no buttons and no reply keyboard: one
            # message holds one keyboard, and it belongs with the end.
            await super()._send_message(
                endpoint, {**data, "text": piece}, *args, **{**kwargs, "reply_markup": None}
            )
        return await super()._send_message(endpoint, {**data, "text": last}, *args, **kwargs)


def _formatted(data: JSONDict, kwargs: JSONDict) -> bool:
    """A parse mode (a string; PTB's "no value" default is not one) or entities."""
    return isinstance(kwargs.get("parse_mode"), str) or bool(data.get("entities"))
