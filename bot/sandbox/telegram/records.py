"""The fake Bot API's records: calls, sent messages, stored files, faults,
and how Telegram reads HTML and counts lengths."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Final, Literal

JSONDict = dict[str, Any]


MessageKind = Literal["text", "photo", "location", "venue", "document", "media_group_photo"]


TEXT_LIMIT: Final = 4096


CAPTION_LIMIT: Final = 1024


CALLBACK_DATA_LIMIT: Final = 64


# Not a decodable image: bots here only pass file bytes along, they never render them.
PLACEHOLDER_JPEG: Final = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def placeholder_jpeg(name: str) -> bytes:
    """The placeholder with ``name`` in a JPEG comment: each file a person
    sends is bytes of its own, as two photos taken are (a bot that keeps
    photos once per content must not take two of them for one)."""
    comment = name.encode()
    length = (len(comment) + 2).to_bytes(2, "big")
    return PLACEHOLDER_JPEG[:-2] + b"\xff\xfe" + length + comment + PLACEHOLDER_JPEG[-2:]


# PTB sends string values raw and everything else JSON-encoded, so over HTTP a fake cannot tell
# text="42" from chat_id=42 without knowing which fields are strings.
STRING_FIELDS: Final = frozenset(
    {
        "action", "address", "animation", "audio", "business_connection_id", "callback_query_id",
        "caption", "currency", "custom_title", "description", "document", "emoji",
        "explanation", "explanation_parse_mode", "file_id", "first_name", "foursquare_id",
        "foursquare_type", "game_short_name", "google_place_id", "google_place_type",
        "inline_message_id", "invite_link", "ip_address", "language_code", "last_name",
        "message_effect_id", "name", "parse_mode", "payload", "phone_number", "photo",
        "provider_token", "query", "question", "question_parse_mode", "secret_token",
        "short_description", "start_parameter", "sticker", "text", "title", "url", "vcard",
        "video", "video_note", "voice",
    }
)  # fmt: skip


HTML_TAGS: Final = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "span",
     "tg-spoiler", "tg-emoji", "blockquote"}
)  # fmt: skip


NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


# Telegram's words when a text or a caption is over its limit (in UTF-16 code units).
TEXT_TOO_LONG: Final = "Bad Request: message is too long"


CAPTION_TOO_LONG: Final = "Bad Request: message caption is too long"


COMMAND_AT_START: Final = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and length limits in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class SimulatedNetworkFailure(Exception):
    """Raised by `FakeBotApi.call` when the transport must behave as if the network broke."""


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class UploadedFile:
    """File bytes a bot uploaded; transports put one where the Bot API field would be."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class ApiCall:
    """One Bot API request as received; `status` stays 0 while the call is still pending."""

    method: str
    params: JSONDict
    status: int = 0


@dataclass
class SentMessage:
    """A message the bot sent, kept in its current state; `history` holds what edits replaced.

    `reply_markup` is whatever markup the bot sent (inline or reply keyboard), while `raw` is
    the Message object as Telegram reports it, which only ever carries inline keyboards.
    """

    chat_id: int
    message_id: int
    kind: MessageKind
    text: str | None
    reply_markup: JSONDict | None
    media: list[str] = field(default_factory=list)
    location: tuple[float, float] | None = None
    media_group_id: str | None = None
    deleted: bool = False
    history: list[tuple[str | None, JSONDict | None]] = field(default_factory=list)
    raw: JSONDict = field(default_factory=dict, repr=False)
    params: JSONDict = field(default_factory=dict, repr=False)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class Fault:
    method: str
    chat_id: int | None
    times: int
    error: ApiError | None  # None: the network breaks instead of answering


class TelegramHtml(HTMLParser):
    """Turns Telegram-HTML into the plain text users see, failing where Telegram fails."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self.parts: list[str] = []
        self.open_tags: list[str] = []

    def _fail(self, reason: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self._source[: self._line_starts[line - 1] + column].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            offset = self._byte_offset()
            raise self._fail(f'Unsupported start tag "{tag}" at byte offset {offset}')
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            expected = f', expected "</{self.open_tags[-1]}>"' if self.open_tags else ""
            offset = self._byte_offset()
            raise self._fail(
                f'Unmatched end tag at byte offset {offset}{expected}, found "</{tag}>"'
            )
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def plain_text(self) -> str:
        self.feed(self._source)
        self.close()
        if self.open_tags:
            tag = self.open_tags[-1]
            raise self._fail(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.parts)


# The scopes of a command menu, with the ids each names (Bot API: BotCommandScope).
MENU_SCOPES: dict[str, tuple[str, ...]] = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}


def menu_key(scope: JSONDict, language: str = "") -> str:
    """How the fake keeps one menu: its scope and its language ("" for all)."""
    return json.dumps([scope, language], sort_keys=True)


def as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def text_content(text: str, command: str | None = None) -> JSONDict:
    """A text message; clients mark a leading /command with an entity, so CommandHandler sees it."""
    if command is None and (match := COMMAND_AT_START.match(text)):
        command = match.group()
    content: JSONDict = {"text": text}
    if command:
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    return content


API_PATH: Final = re.compile(r"/bot([^/]+)/([A-Za-z]+)$")


FILE_PATH: Final = re.compile(r"/file/bot([^/]+)/(.+)$")
