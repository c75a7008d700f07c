"""A fake Telegram Bot API, so the real PTB `Application` runs offline.

No maintained harness exists for python-telegram-bot 22, and mocking `Bot` methods would skip
exactly what breaks in production: CommandHandler's username check, result parsing, callback
data, HTML parse errors, flood control.  So the tests and the offline demo talk to this fake
instead, through PTB's own request layer:

* `FakeBotApi` is the server state; `call(method, params)` answers like Telegram, errors included;
* `InMemoryRequest` plugs it into PTB without sockets (fast: unit tests, benchmarks);
* `HttpFakeBotApi` serves it on 127.0.0.1 so PTB's httpx transport and `Updater` long-polling
  run unmodified (the demo, polling tests);
* `FakeUser` / `FakeGroup` write the update payloads Telegram would deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = [
    "ApiCall",
    "FakeBotApi",
    "FakeGroup",
    "FakeUser",
    "HttpFakeBotApi",
    "InMemoryRequest",
    "SentMessage",
    "SimulatedNetworkFailure",
    "UploadedFile",
]

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

_HTML_TAGS: Final = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "span",
     "tg-spoiler", "tg-emoji", "blockquote"}
)  # fmt: skip
_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# Telegram's words when a text or a caption is over its limit (in UTF-16 code units).
_TEXT_TOO_LONG: Final = "Bad Request: message is too long"
_CAPTION_TOO_LONG: Final = "Bad Request: message caption is too long"
_COMMAND_AT_START: Final = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


def _utf16_len(text: str) -> int:
    """Telegram measures entity offsets and length limits in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class SimulatedNetworkFailure(Exception):
    """Raised by `FakeBotApi.call` when the transport must behave as if the network broke."""


class _ApiError(Exception):
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
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Fault:
    method: str
    chat_id: int | None
    times: int
    error: _ApiError | None  # None: the network breaks instead of answering


class _TelegramHtml(HTMLParser):
    """Turns Telegram-HTML into the plain text users see, failing where Telegram fails."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self.parts: list[str] = []
        self.open_tags: list[str] = []

    def _fail(self, reason: str) -> _ApiError:
        return _ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self._source[: self._line_starts[line - 1] + column].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
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


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class FakeBotApi:
    """The state of a fake Telegram server, independent of how requests reach it."""

    def __init__(
        self, *, bot_id: int = 900000001, bot_username: str = "phananh_bot", latency: float = 0.0
    ) -> None:
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Phản Ánh",
            "username": bot_username,
        }
        self.latency = latency
        self.rate_limit_per_second: int | None = None
        self.blocked_chats: set[int] = set()
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self._sent_to: dict[int, list[SentMessage]] = {}  # `sent` by chat, for quick look-ups
        self.tokens_seen: set[str] = set()
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[str, list[JSONDict]] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_answers: list[tuple[int, int]] = []  # (update id, HTTP status) per delivery
        self._webhook_client: httpx.AsyncClient | None = None
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] = []
        self._last_update_id = 0
        self._new_update = asyncio.Event()
        self._closed = False
        self._faults: list[_Fault] = []
        self._lost_answers: list[_Fault] = []
        self._send_times: deque[float] = deque()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._dispatch: dict[str, Callable[[JSONDict], Any]] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendlocation": self._send_location,
            "sendvenue": self._send_venue,
            "sendmediagroup": self._send_media_group,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
        }

    # ---- the wire -------------------------------------------------------------------------

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        """Answer one Bot API request with (HTTP status, Telegram's JSON body)."""
        record = ApiCall(method, dict(params))
        self.calls.append(record)
        await self._notify()  # waiters may be watching for a call to arrive, e.g. a long-poll
        if self.latency:
            await asyncio.sleep(self.latency)
        key = method.lower()
        try:
            self._check_faults(key, params)
            if key == "getupdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self._dispatch.get(key)
                result = handler(params) if handler else True
            record.status, body = 200, {"ok": True, "result": result}
            if self._answer_lost(key, params):
                # Telegram did the work, but the answer never reached the bot:
                # what a crash or a timeout right after the send looks like.
                record.status = 0
                raise SimulatedNetworkFailure(f"simulated lost answer of {key}")
        except _ApiError as exc:
            record.status = exc.code
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        await self._notify()
        return record.status, body

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _check_faults(self, key: str, params: JSONDict) -> None:
        chat_id = _as_int(params.get("chat_id"), 0) if "chat_id" in params else None
        for fault in self._faults:
            if fault.method == key and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                if fault.error is None:
                    raise SimulatedNetworkFailure(f"simulated network failure in {key}")
                raise fault.error
        is_send = key.startswith("send") and key != "sendchataction"
        if is_send and chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if is_send and self.rate_limit_per_second is not None:
            now = time.monotonic()
            while self._send_times and now - self._send_times[0] >= 1.0:
                self._send_times.popleft()
            if len(self._send_times) >= self.rate_limit_per_second:
                raise _ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._send_times.append(now)

    # ---- test controls ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) answer an error.

        The code defaults to 429 when `retry_after` is given, else 500; the description defaults
        to the wording Telegram uses for that code.
        """
        code = error_code if error_code is not None else (429 if retry_after else 500)
        default = {
            400: "Bad Request",
            403: "Forbidden: bot was blocked by the user",
            429: f"Too Many Requests: retry after {retry_after}",
        }.get(code, "Internal Server Error")
        extra = {} if retry_after is None else {"retry_after": retry_after}
        error = _ApiError(code, description or default, **extra)
        self._faults.append(_Fault(method.lower(), chat_id, times, error))

    def network_failure_next(self, method: str, times: int = 1, chat_id: int | None = None) -> None:
        """Make the next `times` calls of `method` get no answer at all (PTB: NetworkError)."""
        self._faults.append(_Fault(method.lower(), chat_id, times, None))

    def clear_faults(self) -> None:
        """Forget the failures still planned: the network is back."""
        self._faults.clear()
        self._lost_answers.clear()

    def lose_answer_next(self, method: str, times: int = 1, chat_id: int | None = None) -> None:
        """Carry out the next `times` calls of `method`, then drop their answers: the
        message is delivered, but the bot sees a network error (PTB: NetworkError)."""
        self._lost_answers.append(_Fault(method.lower(), chat_id, times, None))

    def _answer_lost(self, key: str, params: JSONDict) -> bool:
        chat_id = _as_int(params.get("chat_id"), 0) if "chat_id" in params else None
        for fault in self._lost_answers:
            if fault.method == key and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._lost_answers.remove(fault)
                return True
        return False

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates (numbering it if needed) and wake the long-polls."""
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        else:
            update["update_id"] = self.next_update_id()
        self._updates.append(update)
        # Updates may be built in one order and pushed in another; Telegram delivers by id.
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._wake_pollers()
        return update

    async def deliver(self, update: JSONDict) -> int:
        """POST one update to the webhook the bot set, with the secret token it gave, as
        Telegram does; returns the HTTP status (0: no answer).  Telegram sends an update again
        only when it got no 2xx: a 200 is a promise that the update is taken care of."""
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=30)
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}
        try:
            response = await self._webhook_client.post(
                self.webhook_url, json=update, headers=headers
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        self.webhook_answers.append((int(update["update_id"]), status))
        return status

    def next_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset, as a crashed bot would see again."""
        return list(self._updates)

    async def close(self) -> None:
        """Release parked long-polls now and park no more: shutdown need not wait them out."""
        self._closed = True
        self._wake_pollers()
        if self._webhook_client is not None:
            client, self._webhook_client = self._webhook_client, None
            await client.aclose()

    def reopen(self) -> None:
        self._closed = False

    def _wake_pollers(self) -> None:
        # A fresh event per generation: every poller parked on the old one wakes exactly once.
        self._new_update.set()
        self._new_update = asyncio.Event()

    def register_chat(self, chat: JSONDict) -> None:
        """Let sent messages carry this chat's real names, as Telegram's do."""
        self._chats[int(chat["id"])] = dict(chat)

    def chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, shared by the bot's and the people's messages."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def put_file(
        self,
        file_id: str,
        content: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Make `file_id` known, so getFile, downloads and re-sending it work
        like Telegram (without ``content``: placeholder bytes of its own)."""
        if file_id not in self._files:
            content = placeholder_jpeg(file_id) if content is None else content
            n = next(self._ids)
            if mime_type is None or mime_type == "image/jpeg":
                folder, suffix = "photos", "jpg"
            else:
                folder, suffix = "documents", mime_type.rpartition("/")[2]
            self._files[file_id] = _StoredFile(
                file_id,
                f"AQAD{n:08d}",
                f"{folder}/file_{n}.{suffix}",
                content,
                file_name,
                mime_type,
            )
        return file_id

    def forget_file(self, file_id: str) -> None:
        """Telegram no longer knows ``file_id`` (one from another bot, or a
        file it dropped): sending it is refused with a 400, as Telegram does."""
        self._files.pop(file_id, None)

    def file_content(self, file_id: str) -> bytes:
        """What the bot uploaded (or a user sent) under ``file_id``."""
        return self._files[file_id].content

    def file_bytes(self, file_path: str) -> bytes | None:
        return next((f.content for f in self._files.values() if f.file_path == file_path), None)

    def clear(self) -> None:
        """Forget recorded calls and sent messages; messages stay editable, as on Telegram."""
        self.calls.clear()
        self.sent.clear()
        self._sent_to.clear()

    # ---- inspection -------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._sent_to.get(chat_id, ()))

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """A message the bot sent, as it is now (edits applied)."""
        return self._messages.get((chat_id, message_id))

    def last_to(self, chat_id: int) -> SentMessage:
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    @staticmethod
    def buttons(msg: SentMessage) -> list[tuple[str, str]]:
        """(label, callback_data) of every callback button; URL buttons carry no data."""
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        return [
            (b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b
        ]

    @staticmethod
    def reply_keyboard(msg: SentMessage) -> list[str]:
        rows = (msg.reply_markup or {}).get("keyboard", [])
        return [b if isinstance(b, str) else b["text"] for row in rows for b in row]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounded by default, even when a test forgets
    ) -> None:
        """Wait, without polling, until `condition` holds after some API call arrived or ended."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(condition)
        except TimeoutError:
            recent = [(m.chat_id, m.kind, m.text) for m in self.sent[-5:]]
            raise TimeoutError(f"not met within {timeout}s; last sent: {recent}") from None

    async def wait_for_sent(
        self,
        predicate: Callable[[SentMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first recorded message (edits count) matching `predicate`, waiting if needed."""
        found: list[SentMessage] = []

        def matched() -> bool:
            found[:] = [m for m in self.sent if predicate(m)][:1]
            return bool(found)

        await self.wait_until(matched, timeout)
        return found[0]

    # ---- updates and bot settings -----------------------------------------------------------

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if isinstance(params.get("allowed_updates"), list):  # Telegram remembers the setting
            self._allowed_updates = list(params["allowed_updates"])
        if self._allowed_updates:
            allowed = self._allowed_updates
            self._updates = [u for u in self._updates if set(u) - {"update_id"} <= set(allowed)]
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            wakeup = self._new_update
            remaining = deadline - loop.time()
            if self._updates or self._closed or remaining <= 0:
                return copy.deepcopy(self._updates[:limit])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await wakeup.wait()

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        self.webhook_secret = str(params.get("secret_token") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description"))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return list(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    # ---- sending ------------------------------------------------------------------------------

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None

    @staticmethod
    def _render(value: object, parse_mode: object, limit: int, too_long: str) -> str:
        """The text users will see, refused where Telegram refuses it."""
        text = "" if value is None else str(value)
        if str(parse_mode).upper() == "HTML":
            text = _TelegramHtml(text).plain_text()
        if _utf16_len(text) > limit:
            raise _ApiError(400, too_long)
        return text

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _caption(self, params: JSONDict) -> str | None:
        if params.get("caption") is None:
            return None
        return self._render(
            params["caption"], params.get("parse_mode"), CAPTION_LIMIT, _CAPTION_TOO_LONG
        )

    def _file_id(self, value: Any, params: JSONDict, what: str, mime: str | None) -> str:
        """Resolve a file field as Telegram does: upload, attach://, URL, or known file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            file_id = f"BQACAgUAAx{next(self._ids):08d}"
            mime = value.mime_type if value.mime_type != "application/octet-stream" else mime
            return self.put_file(file_id, value.content, file_name=value.filename, mime_type=mime)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.put_file(f"BQACAgUAAx{next(self._ids):08d}", mime_type=mime)
        if isinstance(value, str) and value in self._files:
            return value
        if value is None:
            raise _ApiError(400, f"Bad Request: there is no {what} in the request")
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, file_id: str) -> list[JSONDict]:
        stored = self._files[file_id]
        return [
            {
                "file_id": file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 1280,
                "height": 960,
                "file_size": len(stored.content),
            }
        ]

    def _document(self, file_id: str) -> JSONDict:
        stored = self._files[file_id]
        document: JSONDict = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name or stored.file_path.rpartition("/")[2],
            "file_size": len(stored.content),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _deliver(
        self,
        params: JSONDict,
        kind: MessageKind,
        content: JSONDict,
        *,
        text: str | None = None,
        media: list[str] | None = None,
        location: tuple[float, float] | None = None,
    ) -> JSONDict:
        """Store one message the bot sent and return it as Telegram reports it."""
        chat_id = self._chat_id(params)
        markup = self._markup(params)
        message_id = self.next_message_id(chat_id)
        raw: JSONDict = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # Message.reply_markup is only ever an inline keyboard
        msg = SentMessage(
            chat_id=chat_id,
            message_id=message_id,
            kind=kind,
            text=text,
            reply_markup=markup,
            media=media or [],
            location=location,
            media_group_id=content.get("media_group_id"),
            raw=raw,
            params=dict(params),
        )
        self._messages[(chat_id, message_id)] = msg
        self.sent.append(msg)
        self._sent_to.setdefault(chat_id, []).append(msg)
        return copy.deepcopy(raw)

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = self._render(
            params.get("text"), params.get("parse_mode"), TEXT_LIMIT, _TEXT_TOO_LONG
        )
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        return self._deliver(params, "text", {"text": text}, text=text)

    def _send_photo(self, params: JSONDict) -> JSONDict:
        caption = self._caption(params)
        file_id = self._file_id(params.get("photo"), params, "photo", "image/jpeg")
        content: JSONDict = {"photo": self._photo_sizes(file_id)}
        if caption is not None:
            content["caption"] = caption
        return self._deliver(params, "photo", content, text=caption, media=[file_id])

    def _send_document(self, params: JSONDict) -> JSONDict:
        caption = self._caption(params)
        file_id = self._file_id(params.get("document"), params, "document", None)
        content: JSONDict = {"document": self._document(file_id)}
        if caption is not None:
            content["caption"] = caption
        return self._deliver(params, "document", content, text=caption, media=[file_id])

    @staticmethod
    def _point(params: JSONDict) -> tuple[float, float]:
        try:
            lat, lon = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise _ApiError(400, "Bad Request: wrong latitude or longitude") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise _ApiError(400, "Bad Request: wrong latitude or longitude")
        return lat, lon

    def _send_location(self, params: JSONDict) -> JSONDict:
        point = self._point(params)
        location: JSONDict = {"latitude": point[0], "longitude": point[1]}
        if params.get("live_period"):
            location["live_period"] = int(params["live_period"])
        return self._deliver(params, "location", {"location": location}, location=point)

    def _send_venue(self, params: JSONDict) -> JSONDict:
        point = self._point(params)
        location = {"latitude": point[0], "longitude": point[1]}
        title, address = str(params.get("title", "")), str(params.get("address", ""))
        venue = {"location": location, "title": title, "address": address}
        content = {"location": location, "venue": venue}
        return self._deliver(params, "venue", content, text=title, location=point)

    def _send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: media group must have 2-10 items")
        self._chat_id(params)
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        album: list[tuple[JSONDict, MessageKind, JSONDict, str | None, str]] = []
        for item in media:  # check every item before sending any: an album arrives whole or not
            item_params = {**params, **item, "reply_markup": None}  # albums carry no buttons
            caption = self._caption(item_params)
            content: JSONDict = {"media_group_id": group_id}
            if caption is not None:
                content["caption"] = caption
            if item.get("type") == "photo":
                file_id = self._file_id(item.get("media"), params, "photo", "image/jpeg")
                content["photo"] = self._photo_sizes(file_id)
                kind: MessageKind = "media_group_photo"
            else:
                file_id = self._file_id(item.get("media"), params, "document", None)
                content["document"] = self._document(file_id)
                kind = "document"
            album.append((item_params, kind, content, caption, file_id))
        return [
            self._deliver(item_params, kind, content, text=caption, media=[file_id])
            for item_params, kind, content, caption, file_id in album
        ]

    # ---- changing sent messages ---------------------------------------------------------------

    def _target(self, params: JSONDict, missing: str) -> SentMessage:
        key = (self._chat_id(params), _as_int(params.get("message_id"), 0))
        msg = self._messages.get(key)
        if msg is None or msg.deleted:
            raise _ApiError(400, f"Bad Request: {missing}")
        return msg

    def _apply_edit(self, msg: SentMessage, text: str | None, markup: JSONDict | None) -> JSONDict:
        if text == msg.text and markup == msg.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        msg.history.append((msg.text, msg.reply_markup))
        if text != msg.text:  # only text and caption edits get here with new text
            field_name = "text" if msg.kind == "text" else "caption"
            if text is None:
                msg.raw.pop(field_name, None)
            else:
                msg.raw[field_name] = text
        msg.text, msg.reply_markup = text, markup
        if markup is None:
            msg.raw.pop("reply_markup", None)
        else:
            msg.raw["reply_markup"] = markup
        msg.raw["edit_date"] = int(time.time())
        return copy.deepcopy(msg.raw)

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        if msg.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._render(
            params.get("text"), params.get("parse_mode"), TEXT_LIMIT, _TEXT_TOO_LONG
        )
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        return self._apply_edit(msg, text, self._markup(params))

    def _edit_message_caption(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        if msg.kind not in ("photo", "document", "media_group_photo"):
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        return self._apply_edit(msg, self._caption(params), self._markup(params))

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        return self._apply_edit(msg, msg.text, self._markup(params))

    def _delete_message(self, params: JSONDict) -> bool:
        self._target(params, "message to delete not found").deleted = True
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if not query_id or query_id in self.callback_answers:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callback_answers[query_id] = dict(params)
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


# ---- people talking to the bot ------------------------------------------------------------------


def _text_content(text: str, command: str | None = None) -> JSONDict:
    """A text message; clients mark a leading /command with an entity, so CommandHandler sees it."""
    if command is None and (match := _COMMAND_AT_START.match(text)):
        command = match.group()
    content: JSONDict = {"text": text}
    if command:
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    return content


class FakeUser:
    """One person in a private chat with the bot (chat id == user id), writing updates.

    Methods return a numbered update without pushing it: push it with `api.push_update` for
    polling, or parse it with `Update.de_json` for `process_update`.  Every update built is
    kept in `updates`.
    """

    def __init__(
        self,
        api: FakeBotApi,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.date_override: int | None = None
        self.updates: list[JSONDict] = []
        api.register_chat(self.chat)

    @property
    def user(self) -> JSONDict:
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> JSONDict:
        chat: JSONDict = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def _date(self) -> int:
        return self.date_override if self.date_override is not None else int(time.time())

    def _update(self, key: str, message: JSONDict) -> JSONDict:
        # Numbered now, so the update can go straight to Update.de_json without being pushed.
        update = {"update_id": self.api.next_update_id(), key: message}
        self.updates.append(update)
        return update

    def _say(self, content: JSONDict, chat: JSONDict | None = None) -> JSONDict:
        chat = chat or self.chat
        message = {
            "message_id": self.api.next_message_id(int(chat["id"])),
            "from": self.user,
            "chat": chat,
            "date": self._date(),
            **content,
        }
        return self._update("message", message)

    def _invent_file(self, prefix: str, mime: str | None, name: str | None) -> str:
        file_id = f"{prefix}{self.user_id}x{next(self.api._ids):06d}"
        return self.api.put_file(file_id, file_name=name, mime_type=mime)

    def _file(self, file_id: str) -> JSONDict:
        stored = self.api._files[file_id]
        return {"file_id": file_id, "file_unique_id": stored.file_unique_id}

    def text(self, s: str) -> JSONDict:
        return self._say(_text_content(s))

    def command(self, name: str, *args: str) -> JSONDict:
        return self._say(_text_content(" ".join([f"/{name}", *args]), f"/{name}"))

    def location(self, lat: float, lon: float, *, live_period: int | None = None) -> JSONDict:
        location: JSONDict = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            location["live_period"] = live_period
        return self._say({"location": location})

    def edited_location(self, original_update: JSONDict, lat: float, lon: float) -> JSONDict:
        """A live-location move: Telegram re-sends the original message as edited_message."""
        message = copy.deepcopy(original_update["message"])
        if "location" not in message:
            raise ValueError("only a location message can be moved")
        message.pop("update_id", None)
        message["location"].update(latitude=lat, longitude=lon)
        message["edit_date"] = self._date()
        return self._update("edited_message", message)

    def venue(self, lat: float, lon: float, title: str, address: str) -> JSONDict:
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": location, "title": title, "address": address}
        return self._say({"location": location, "venue": venue})

    def photo(
        self,
        file_id: str | None = None,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        big = file_id or self._invent_file("AgAC", None, None)
        self.api.put_file(big)
        small = self.api.put_file(f"{big}-s")
        sizes = [
            {**self._file(small), "width": 90, "height": 67, "file_size": 1200},
            {**self._file(big), "width": 1280, "height": 960, "file_size": 98000},
        ]
        content: JSONDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._say(content)

    def document(
        self,
        mime_type: str = "application/pdf",
        *,
        file_name: str | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        name = file_name or f"file_{next(self.api._ids)}.{mime_type.rpartition('/')[2]}"
        file_id = self._invent_file("BQAC", mime_type, name)
        document = {**self._file(file_id), "file_name": name, "mime_type": mime_type}
        content: JSONDict = {"document": {**document, "file_size": 98000}}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._say(content)

    def photo_as_document(
        self, *, caption: str | None = None, media_group_id: str | None = None
    ) -> JSONDict:
        """A photo sent "as file", uncompressed: it arrives as a document, not as a photo."""
        name = f"IMG_{next(self.api._ids):04d}.jpg"
        return self.document(
            "image/jpeg", file_name=name, caption=caption, media_group_id=media_group_id
        )

    def sticker(self) -> JSONDict:
        file_id = self._invent_file("CAAC", "image/webp", None)
        sticker = {"type": "regular", "width": 512, "height": 512, "emoji": "👍"}
        flags = {"is_animated": False, "is_video": False}
        return self._say({"sticker": {**self._file(file_id), **sticker, **flags}})

    def voice(self) -> JSONDict:
        file_id = self._invent_file("AwAC", "audio/ogg", None)
        voice = {**self._file(file_id), "duration": 3, "mime_type": "audio/ogg"}
        return self._say({"voice": voice})

    def video_note(self) -> JSONDict:
        file_id = self._invent_file("DQAC", "video/mp4", None)
        return self._say({"video_note": {**self._file(file_id), "length": 240, "duration": 5}})

    def legacy_poll(self, question: str, options: Sequence[str]) -> JSONDict:
        """A poll in the shape an older or self-hosted Bot API server sends:
        its options lack ``persistent_id``, which python-telegram-bot 22.8
        requires, so PTB cannot read the update at all."""
        poll: JSONDict = {
            "id": f"{next(self.api._ids)}",
            "question": question,
            "options": [{"text": option, "voter_count": 0} for option in options],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        return self._say({"poll": poll})

    def contact(self, phone: str) -> JSONDict:
        """The person's own contact, as a request_contact button shares it."""
        contact: JSONDict = {
            "phone_number": phone, "first_name": self.first_name, "user_id": self.user_id
        }  # fmt: skip
        if self.last_name:
            contact["last_name"] = self.last_name
        return self._say({"contact": contact})

    def press(self, message: SentMessage, data: str) -> JSONDict:
        """Press a button the bot really showed; use `press_raw` for forged or stale data."""
        if message.deleted:
            raise ValueError("the message with that button was deleted")
        if message.chat_id > 0 and message.chat_id != self.user_id:
            raise ValueError(f"user {self.user_id} cannot see chat {message.chat_id}")
        if data not in [d for _, d in FakeBotApi.buttons(message)]:
            raise ValueError(f"no button with callback_data {data!r} on that message")
        return self._callback(copy.deepcopy(message.raw), data)

    def press_button(self, message: SentMessage, label: str) -> JSONDict:
        """Press by label: needed when callback_data is opaque (arbitrary_callback_data)."""
        matches = [d for text, d in FakeBotApi.buttons(message) if text == label]
        if len(matches) != 1:
            raise ValueError(f"{len(matches)} buttons labelled {label!r} on that message")
        return self.press(message, matches[0])

    def press_raw(self, data: str, message_id: int) -> JSONDict:
        known = self.api._messages.get((self.user_id, message_id))
        if known is not None:
            message = copy.deepcopy(known.raw)
        else:
            message = {
                "message_id": message_id,
                "from": dict(self.api.bot_user),
                "chat": self.chat,
                "date": self._date(),
                "text": "…",
            }
        return self._callback(message, data)

    def blocks_bot(self) -> JSONDict:
        """The person blocks the bot: from now on Telegram refuses to deliver
        to them (403), and tells the bot with a ``my_chat_member`` update."""
        self.api.blocked_chats.add(self.user_id)
        return self._bot_status("member", "kicked")

    def unblocks_bot(self) -> JSONDict:
        """The person unblocks the bot (or restarts it): delivery works again."""
        self.api.blocked_chats.discard(self.user_id)
        return self._bot_status("kicked", "member")

    def _bot_status(self, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            found: JSONDict = {"user": dict(self.api.bot_user), "status": status}
            if status == "kicked":
                found["until_date"] = 0
            return found

        change = {
            "chat": self.chat,
            "from": self.user,
            "date": self._date(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._update("my_chat_member", change)

    def _callback(self, message: JSONDict, data: str) -> JSONDict:
        query = {
            "id": str(4_000_000_000_000 + next(self.api._ids)),
            "from": self.user,
            "message": message,
            "chat_instance": str(-7_000_000_000 - int(message["chat"]["id"])),
            "data": data,
        }
        return self._update("callback_query", query)


class FakeGroup:
    """A basic group the bot is in, for testing what the bot does (or ignores) there."""

    def __init__(self, api: FakeBotApi, chat_id: int, title: str) -> None:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.api = api
        self.chat_id = chat_id
        self.title = title
        api.register_chat(self.chat)

    @property
    def chat(self) -> JSONDict:
        return {"id": self.chat_id, "type": "group", "title": self.title}

    def text_from(self, user: FakeUser, s: str) -> JSONDict:
        return user._say(_text_content(s), self.chat)

    def command_from(
        self, user: FakeUser, name: str, *args: str, mention: bool = False
    ) -> JSONDict:
        """`mention=True` writes /name@bot, as group clients do when several bots listen."""
        command = f"/{name}@{self.api.bot_user['username']}" if mention else f"/{name}"
        return user._say(_text_content(" ".join([command, *args]), command), self.chat)


# ---- transports -------------------------------------------------------------------------------

_API_PATH: Final = re.compile(r"/bot([^/]+)/([A-Za-z]+)$")
_FILE_PATH: Final = re.compile(r"/file/bot([^/]+)/(.+)$")


def _dump(body: JSONDict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class InMemoryRequest(BaseRequest):
    """PTB's request slot wired straight to a FakeBotApi: no sockets, no serialization games.

    Give `.request()` and `.get_updates_request()` one instance each: PTB initializes and
    shuts down each slot on its own.
    """

    __slots__ = ("_read_timeout", "api")

    def __init__(self, api: FakeBotApi, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        if file_match := _FILE_PATH.search(path):
            content = self.api.file_bytes(file_match.group(2))
            return (200, content) if content is not None else (404, b"Not Found")
        api_match = _API_PATH.search(path)
        if api_match is None:
            return 404, _dump({"ok": False, "error_code": 404, "description": "Not Found"})
        self.api.tokens_seen.add(api_match.group(1))
        params: JSONDict = dict(request_data.parameters) if request_data else {}
        if request_data is not None:
            for name, (filename, payload, mime) in request_data.multipart_data.items():
                data = payload if isinstance(payload, bytes) else payload.read()
                params[name] = UploadedFile(filename or name, data, mime)
        if isinstance(read_timeout, int | float):
            timeout: float | None = float(read_timeout)
        else:
            timeout = None if read_timeout is None else self._read_timeout
        try:
            async with asyncio.timeout(timeout):
                status, body = await self.api.call(api_match.group(2), params)
        except SimulatedNetworkFailure as exc:
            raise NetworkError(f"Simulated network failure: {exc}") from exc
        except TimeoutError as exc:
            raise TimedOut(f"no answer within {timeout}s") from exc
        return status, _dump(body)


def _form_value(name: str, raw: str) -> Any:
    if name in STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class _MethodHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api
        self._call: asyncio.Future[tuple[int, JSONDict]] | None = None
        self._client_gone = False

    async def post(self, token: str, method: str) -> None:
        self.api.tokens_seen.add(token)
        params: JSONDict = {}
        for source in (self.request.query_arguments, self.request.body_arguments):
            for name, values in source.items():
                params[name] = _form_value(name, values[-1].decode())
        for name, files in self.request.files.items():
            upload = files[-1]
            params[name] = UploadedFile(upload.filename, upload.body, upload.content_type)
        self._call = asyncio.ensure_future(self.api.call(method, params))
        try:
            status, body = await self._call
        except SimulatedNetworkFailure:
            self.detach().close()  # no answer at all: the client sees a dropped connection
            return
        except asyncio.CancelledError:
            if not self._client_gone:
                raise
            self.detach().close()  # nobody is left to answer (a cancelled long-poll)
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        await self.finish(_dump(body))

    get = post

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._call is not None:
            self._call.cancel()


class _FileHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def get(self, token: str, file_path: str) -> None:
        self.api.tokens_seen.add(token)
        content = self.api.file_bytes(file_path)
        if content is None:
            raise tornado.web.HTTPError(404)
        await self.finish(content)


class HttpFakeBotApi:
    """The same fake served on a free loopback port, so PTB's real HTTP stack is exercised."""

    def __init__(self, api: FakeBotApi | None = None, *, host: str = "127.0.0.1") -> None:
        self.api = api or FakeBotApi()
        self.host = host
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already started")
        self.api.reopen()
        routes = [
            (r"/bot([^/]+)/([A-Za-z]+)", _MethodHandler, {"api": self.api}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self.api}),
        ]
        app = tornado.web.Application(routes, log_function=lambda handler: None)
        sockets = tornado.netutil.bind_sockets(0, self.host)
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Answer parked long-polls first, so a polling bot's shutdown does not wait them out."""
        await self.api.close()
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            await server.close_all_connections()

    async def __aenter__(self) -> HttpFakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
