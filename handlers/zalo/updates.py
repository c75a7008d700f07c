"""Read one raw Zalo update into a small, typed event the rest of the bot can trust.

Zalo's updates arrive two ways (a long poll hands out the bare update; a webhook body may be
the bare update or the envelope ``{"ok": true, "result": <update>}``, depending on the source)
and the documentation disagrees with itself on details (``from.display_name`` in the field
reference, ``from.first_name`` in its own sample; ``photo`` or ``photo_url``).  This module
absorbs all of that in one place, so the conversation code sees one shape and never a dict.

What it checks is what the bot cannot work without: who wrote, in which chat, when, and the
content the event's kind promises.  Anything else in the update is ignored, so a new field from
Zalo never breaks the bot.  An update missing what the bot needs raises `MalformedUpdate`,
whose message names the missing field but never a value from the update: the update holds a
resident's name and words, and the message ends up in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "PHOTO_EVENT",
    "EventKind",
    "IncomingEvent",
    "MalformedUpdate",
    "parse_update",
    "unreadable_content",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class EventKind(StrEnum):
    """What a person did, independent of how Zalo names it."""

    TEXT = "text"
    PHOTO = "photo"
    STICKER = "sticker"
    VOICE = "voice"
    # Zalo sends this for message types a bot cannot receive, and for users whose data the law
    # protects (such as children): the bot can answer, but learns nothing of the content.
    UNSUPPORTED = "unsupported"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    # An event name this code does not know yet: the bot may answer politely, not crash.
    UNKNOWN = "unknown"


PHOTO_EVENT: Final = "message.image.received"
_KINDS: Final[Mapping[str, EventKind]] = {
    "message.text.received": EventKind.TEXT,
    PHOTO_EVENT: EventKind.PHOTO,
    "message.sticker.received": EventKind.STICKER,
    "message.voice.received": EventKind.VOICE,
    "message.unsupported.received": EventKind.UNSUPPORTED,
    "user.follow": EventKind.FOLLOW,
    "user.unfollow": EventKind.UNFOLLOW,
}
# Follow events are not messages: no source shows them carrying a message id.
_WITHOUT_MESSAGE_ID: Final = frozenset({EventKind.FOLLOW, EventKind.UNFOLLOW, EventKind.UNKNOWN})


class MalformedUpdate(ValueError):
    """The update lacks something the bot needs; the message names the field, never a value."""


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One thing a person did on Zalo, in the terms the bot works with.

    Ids stay strings, as Zalo sends them (opaque, scoped to the bot).  `message_id` is the key
    for handling a delivery once: Zalo may deliver a webhook twice.  It is None only for events
    that are not messages (follow, unfollow, unknown kinds).  `text` is set for TEXT events,
    `photo_url` for PHOTO events (with an optional `caption`); other fields are None.
    """

    kind: EventKind
    event_name: str
    sender_id: str
    sender_name: str
    chat_id: str
    is_group: bool
    message_id: str | None
    sent_at: datetime
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None


def parse_update(raw: object) -> IncomingEvent:
    """The event in a raw update, bare or inside ``{"ok": true, "result": ...}``."""
    update = _unwrap(raw)
    event_name = _string(update, "event_name", "event_name")
    kind = _KINDS.get(event_name, EventKind.UNKNOWN)
    message = _object(update, "message", "message")
    sender = _object(message, "from", "message.from")
    chat = _object(message, "chat", "message.chat")
    return IncomingEvent(
        kind=kind,
        event_name=event_name,
        sender_id=_identifier(sender, "id", "message.from.id"),
        sender_name=_sender_name(sender),
        chat_id=_identifier(chat, "id", "message.chat.id"),
        is_group=str(chat.get("chat_type", "")).upper() == "GROUP",
        message_id=_message_id(message, kind),
        sent_at=_instant(message),
        text=_string(message, "text", "message.text") if kind is EventKind.TEXT else None,
        photo_url=_photo_url(message) if kind is EventKind.PHOTO else None,
        caption=_optional_string(message, "caption") if kind is EventKind.PHOTO else None,
    )


def unreadable_content(raw: object) -> IncomingEvent | None:
    """An update whose content the bot cannot read (a photo without a link
    it can find, a text that is not a string) as what it is to the bot: a
    message of a kind it cannot read, so its sender is still answered.
    None when not even who wrote, where and when can be read."""
    try:
        unwrapped = _unwrap(raw)
        update = {**unwrapped, "event_name": "message.unsupported.received"}
        event = parse_update(update)
    except MalformedUpdate:
        return None
    # What it was sent as stays known: a photo whose link is unreadable is
    # answered as a photo that could not be fetched.
    named = unwrapped.get("event_name")
    return replace(event, event_name=named) if isinstance(named, str) else event


def _unwrap(raw: object) -> Mapping[str, Any]:
    """The update itself: a webhook may wrap it in the same envelope as an API answer."""
    if not isinstance(raw, Mapping):
        raise MalformedUpdate("the update is not a JSON object")
    if "event_name" not in raw and "result" in raw:
        if raw.get("ok") is not True:
            raise MalformedUpdate("the envelope does not say ok")
        result = raw["result"]
        if not isinstance(result, Mapping):
            raise MalformedUpdate("the envelope's result is not a JSON object")
        return result
    return raw


def _object(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise MalformedUpdate(f"{path} is missing or not an object")
    return value


def _string(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise MalformedUpdate(f"{path} is missing or not a string")
    return value


def _optional_string(parent: Mapping[str, Any], key: str) -> str | None:
    value = parent.get(key)
    return value if isinstance(value, str) else None


def _identifier(parent: Mapping[str, Any], key: str, path: str) -> str:
    """An opaque id as a string; a number is accepted, since one client's sample shows one."""
    value = parent.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MalformedUpdate(f"{path} is missing or empty")
    return value


def _sender_name(sender: Mapping[str, Any]) -> str:
    """The name to address the person by: `display_name`, else the sample's `first_name`."""
    for key in ("display_name", "first_name"):
        name = sender.get(key)
        if isinstance(name, str) and name.strip():
            return name.strip()
    return ""


def _message_id(message: Mapping[str, Any], kind: EventKind) -> str | None:
    if kind in _WITHOUT_MESSAGE_ID and "message_id" not in message:
        return None
    return _identifier(message, "message_id", "message.message_id")


def _instant(message: Mapping[str, Any]) -> datetime:
    """`date` is epoch milliseconds (not seconds, unlike Telegram): exact, in UTC."""
    value = message.get("date")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedUpdate("message.date is missing or not epoch milliseconds")
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise MalformedUpdate("message.date is out of range") from None


def _photo_url(message: Mapping[str, Any]) -> str:
    """The image's URL: the field reference says `photo`, one open client reads `photo_url`."""
    for key in ("photo", "photo_url"):
        url = message.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    raise MalformedUpdate("message.photo is missing or not a URL")
