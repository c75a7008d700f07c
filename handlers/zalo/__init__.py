"""The Zalo channel: the Bot API client, reading updates, cutting long texts.

These are self-contained building blocks (no storage, no conversation): the channel's intake,
rendering and sender are built on them.  The wire format they follow is in
``ZALO_NOTES.md``; ``bot.zalo_fake`` is the fake Zalo server the tests run them against.
"""

from handlers.zalo.client import (
    DEFAULT_BASE_URL,
    BotInfo,
    SentMessage,
    WebhookInfo,
    ZaloBotClient,
    ZaloError,
    ZaloNetworkError,
    ZaloPermanentError,
    ZaloTransientError,
    ZaloUnauthorized,
    redact_token_in_logs,
)
from handlers.zalo.split import ZALO_TEXT_LIMIT, split_text
from handlers.zalo.updates import EventKind, IncomingEvent, MalformedUpdate, parse_update

__all__ = [
    "DEFAULT_BASE_URL",
    "ZALO_TEXT_LIMIT",
    "BotInfo",
    "EventKind",
    "IncomingEvent",
    "MalformedUpdate",
    "SentMessage",
    "WebhookInfo",
    "ZaloBotClient",
    "ZaloError",
    "ZaloNetworkError",
    "ZaloPermanentError",
    "ZaloTransientError",
    "ZaloUnauthorized",
    "parse_update",
    "redact_token_in_logs",
    "split_text",
]
