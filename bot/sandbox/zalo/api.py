"""The fake Zalo Bot API the demo and the tests drive: one object, its parts in
modules of their own (state, feed, sending, inspect)."""

from __future__ import annotations

from typing import ClassVar

from bot.sandbox.zalo.feed import UpdatesFeed
from bot.sandbox.zalo.inspect import Inspection
from bot.sandbox.zalo.records import JSONDict
from bot.sandbox.zalo.sending import Sending


class FakeZaloApi(UpdatesFeed, Sending, Inspection):
    """The state and rules of a fake Zalo Bot API server, independent of how
    requests arrive (transport.py: in memory or over HTTP)."""

    METHODS: ClassVar[dict[str, str]] = {
        "getMe": "_get_me",
        "setWebhook": "_set_webhook",
        "deleteWebhook": "_delete_webhook",
        "getWebhookInfo": "_get_webhook_info",
        "sendMessage": "_send_message",
        "sendSticker": "_send_sticker",
        "sendChatAction": "_send_chat_action",
    }
    ASYNC_METHODS: ClassVar[dict[str, str]] = {"sendPhoto": "_send_photo"}

    def _get_me(self, params: JSONDict) -> JSONDict:
        return dict(self.bot_info)
