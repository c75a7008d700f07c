"""A fake Zalo Bot API, so the Zalo channel's real code runs offline, faithful to the wire.

There is no test server for the Zalo Bot Platform, and mocking the client would skip what
breaks in production: one update per poll (not a list), an update gone once handed out, HTTP
408 as the idle answer, string ids, dates in milliseconds, the 2,000-character limit, a photo
sent by URL that Zalo must fetch itself.  So the project owns this fake, built from
``ZALO_NOTES.md``, and drives the real client through it:

* `FakeZaloApi` is the server's state and rules; `handle` answers one HTTP request;
* `FakeZaloTransport` plugs it into httpx without sockets (fast tests): an idle poll answers
  408 at once, so no test ever waits out a long poll;
* `HttpFakeZaloApi` serves it on 127.0.0.1 (end-to-end tests, the demo): long polls really
  wait, up to their ``timeout``, and are released when the server stops;
* `FakeZaloUser` and `FakeZaloGroup` write the updates Zalo would deliver, of every kind;
* in webhook mode the fake POSTs updates to the bot, with the secret header, bare or enveloped.

Where the notes leave a detail open (the status of ``getUpdates`` while a webhook is set, the
wording of errors), the fake picks something plausible and says so in a comment; the client
must not depend on those details.  The fake is stricter than Zalo may be where strictness
catches the bot's own mistakes: it takes only JSON bodies by POST, string ids, and messages to
chats that have written to the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import io
import itertools
import json
import mimetypes
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit

import httpx
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web
from PIL import Image

from bot.domain.clock import Clock, SystemClock

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "FakeZaloApi",
    "FakeZaloGroup",
    "FakeZaloTransport",
    "FakeZaloUser",
    "HttpFakeZaloApi",
    "MemoryPhotoHost",
    "SimulatedNetworkFailure",
    "WebhookDelivery",
    "ZaloCall",
    "ZaloSent",
    "fetch_over_http",
    "sample_jpeg",
]

JSONDict = dict[str, Any]
PhotoFetcher = Callable[[str], Awaitable[bytes | None]]
WebhookBody = Literal["bare", "enveloped"]

DEFAULT_TOKEN: Final = "3141592653589793238:fake-zalo-bot-secret"
SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"
TEXT_LIMIT: Final = 2000
CAPTION_LIMIT: Final = 2000
SECRET_LENGTH: Final = range(8, 257)
DEFAULT_POLL_SECONDS: Final = 30.0
CHAT_ACTIONS: Final = frozenset({"typing", "upload_photo"})
DEFAULT_MEDIA_BASE: Final = "https://zdn.fake-zalo.invalid/media/"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_API_PATH: Final = re.compile(r"/bot([^/]+)/([A-Za-z]+)$")
_MEDIA_PATH: Final = re.compile(r"/media/([A-Za-z0-9._-]+)$")
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_IMAGE_MAGIC: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def _is_image(content: bytes) -> bool:
    """Zalo shows images only: a URL that answers with an HTML page is refused too."""
    is_webp = content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    return is_webp or content.startswith(_IMAGE_MAGIC)


def sample_jpeg(seed: int = 0) -> bytes:
    """A small, decodable JPEG whose bytes differ by `seed`: photos are stored by their hash."""
    colour = ((seed * 67 + 40) % 256, (seed * 131 + 90) % 256, (seed * 29 + 160) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _milliseconds(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(milliseconds=1)


class SimulatedNetworkFailure(Exception):
    """The request got no answer; `reached` says whether the fake carried it out first."""

    def __init__(self, message: str, *, reached: bool) -> None:
        super().__init__(message)
        self.reached = reached


class _ApiError(Exception):
    """An error answer.  `bare` leaves `error_code` out of the body, as Zalo's 408 and 404 do."""

    def __init__(self, status: int, description: str, *, bare: bool = False) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.bare = bare

    def body(self) -> JSONDict:
        if self.bare:
            return {"ok": False, "description": self.description}
        return {"ok": False, "error_code": self.status, "description": self.description}


@dataclass
class ZaloCall:
    """One API request as received; `status` stays 0 while it is pending (a parked poll)."""

    method: str
    params: JSONDict
    status: int = 0


@dataclass
class ZaloSent:
    """A message the bot sent, as the person would see it."""

    chat_id: str
    message_id: str
    date: int
    kind: Literal["text", "photo", "sticker"]
    text: str | None = None
    photo_url: str | None = None
    photo: bytes | None = field(default=None, repr=False)
    caption: str | None = None
    sticker: str | None = None


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook; `status` 0 means the bot never answered."""

    url: str
    update: JSONDict
    enveloped: bool
    secret: str | None
    status: int


@dataclass
class _Fault:
    method: str
    chat_id: str | None
    times: int
    error: _ApiError | None = None
    raw_body: bytes | None = None  # answered as is, e.g. a proxy's HTML error page
    network: bool = False  # no answer at all

    def matches(self, method: str, params: JSONDict) -> bool:
        return self.method == method and self.chat_id in (None, params.get("chat_id"))


class _RawAnswer(Exception):
    def __init__(self, status: int, content: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.content = content


async def fetch_over_http(url: str) -> bytes | None:
    """How Zalo gets a photo: a plain GET; anything but a 200 with a body is a failure."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return None
    return response.content if response.status_code == 200 and response.content else None


class MemoryPhotoHost:
    """Images by URL, for in-memory tests: what the bot's own media server would serve."""

    def __init__(self) -> None:
        self.images: dict[str, bytes] = {}
        self.requests: list[str] = []

    def put(self, url: str, content: bytes) -> str:
        self.images[url] = content
        return url

    async def __call__(self, url: str) -> bytes | None:
        self.requests.append(url)
        return self.images.get(url)


class FakeZaloApi:
    """The state and rules of a fake Zalo Bot API server, independent of how requests arrive."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        display_name: str = "Phản Ánh",
        account_name: str = "phananh_bot",
        clock: Clock | None = None,
        fetcher: PhotoFetcher | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        webhook_body: WebhookBody = "bare",
        allow_http_webhook: bool = False,
        max_poll_seconds: float | None = None,
    ) -> None:
        """`fetcher` gets the photos the bot sends by URL (default: a real GET).

        `webhook_client` carries the webhook POSTs (default: a fresh httpx client each time;
        tests pass one bound to the bot's ASGI app).  `allow_http_webhook` lets a demo on
        127.0.0.1 register a plain-HTTP webhook, which Zalo itself refuses.
        `max_poll_seconds` caps how long a long poll over HTTP waits (tests; Zalo: none).
        """
        self.token = token
        self.bot_id = token.partition(":")[0]
        self.bot_info: JSONDict = {
            "id": self.bot_id,
            "account_name": account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
            "display_name": display_name,
        }
        self.clock: Clock = clock or SystemClock()
        self.fetcher: PhotoFetcher = fetcher or fetch_over_http
        self.webhook_client = webhook_client
        self.webhook_body: WebhookBody = webhook_body
        self.allow_http_webhook = allow_http_webhook
        self.max_poll_seconds = max_poll_seconds
        self.media_base_url = DEFAULT_MEDIA_BASE
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        self.calls: list[ZaloCall] = []
        self.sent: list[ZaloSent] = []
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.delivered_updates: list[JSONDict] = []  # handed out by getUpdates, gone from Zalo
        self._updates: list[JSONDict] = []
        self._chats: dict[str, str] = {}  # chat id -> chat_type
        self._media: dict[str, bytes] = {}
        self._faults: list[_Fault] = []
        self._lost_answers: list[_Fault] = []
        self._counter = itertools.count(1)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._closed = False
        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # ---- the wire -------------------------------------------------------------------------------

    async def handle(
        self, http_method: str, path: str, body: bytes, *, long_poll: bool
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request with (status, content type, body).

        `long_poll` False answers an idle getUpdates with 408 at once (in-memory tests).  Raises
        `SimulatedNetworkFailure` when a scripted fault says the request gets no answer.
        """
        path = unquote(path)
        if media := _MEDIA_PATH.search(path):
            content = self._media.get(media.group(1))
            if http_method != "GET" or content is None:
                return 404, "text/plain", b"Not Found"
            content_type = mimetypes.guess_type(media.group(1))[0] or "application/octet-stream"
            return 200, content_type, content
        api = _API_PATH.search(path)
        if api is None:
            return _json(404, _ApiError(404, "Not Found").body())
        if http_method != "POST":
            return _json(405, _ApiError(405, "Method Not Allowed: send JSON by POST").body())
        try:
            params = _json_params(body)
        except _ApiError as exc:
            return _json(exc.status, exc.body())
        try:
            status, answer = await self.call(
                api.group(1), api.group(2), params, long_poll=long_poll
            )
        except _RawAnswer as raw:
            return raw.status, "text/html", raw.content
        return _json(status, answer)

    async def call(
        self, token: str, method: str, params: JSONDict, *, long_poll: bool = False
    ) -> tuple[int, JSONDict]:
        """Answer one API call with (HTTP status, Zalo's JSON body)."""
        record = ZaloCall(method, copy.deepcopy(params))
        self.calls.append(record)
        await self._notify()
        try:
            if token != self.token:
                raise _ApiError(401, "Unauthorized")
            self._check_faults(method, params)
            if method == "getUpdates":
                result: Any = await self._get_updates(params, long_poll=long_poll)
            elif method == "sendPhoto":
                result = await self._send_photo(params)
            elif method in self._methods:
                result = self._methods[method](params)
            else:
                raise _ApiError(404, "Not Found")
            body: JSONDict = {"ok": True} if result is None else {"ok": True, "result": result}
            record.status = 200
            self._check_lost_answer(method, params)
        except _ApiError as exc:
            record.status = exc.status
            body = exc.body()
        except _RawAnswer as raw:
            record.status = raw.status
            raise
        except asyncio.CancelledError:
            record.status = 499  # the client hung up first (nginx's code for it)
            raise
        finally:
            await self._notify()
        return record.status, body

    def _check_faults(self, method: str, params: JSONDict) -> None:
        for fault in self._faults:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                if fault.network:
                    raise SimulatedNetworkFailure(f"no answer to {method}", reached=False)
                if fault.raw_body is not None:
                    status = fault.error.status if fault.error else 502
                    raise _RawAnswer(status, fault.raw_body)
                if fault.error is not None:
                    raise fault.error

    def _check_lost_answer(self, method: str, params: JSONDict) -> None:
        for fault in self._lost_answers:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._lost_answers.remove(fault)
                raise SimulatedNetworkFailure(f"answer to {method} lost", reached=True)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- test controls --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 502,
        *,
        description: str | None = None,
        times: int = 1,
        chat_id: str | None = None,
        raw_body: bytes | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) answer `status`.

        With `raw_body` the answer is that body as is (say, a proxy's HTML page), not JSON.
        """
        default = {429: "Too Many Requests", 400: "Bad Request", 403: "Forbidden"}
        words = description or default.get(status, "Bad Gateway" if status == 502 else "Error")
        error = _ApiError(status, words)
        self._faults.append(_Fault(method, chat_id, times, error, raw_body))

    def network_failure_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` never reach the server (the client sees no answer)."""
        self._faults.append(_Fault(method, None, times, network=True))

    def lose_answer_next(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `method`, then drop the answer.

        For getUpdates this is Zalo's at-most-once delivery: the update is gone, the bot
        never saw it (what a crash right after the poll returns looks like).
        """
        self._lost_answers.append(_Fault(method, None, times, network=True))

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates and wake a parked long poll."""
        self._updates.append(copy.deepcopy(update))
        self._wake_pollers()
        return update

    async def deliver(self, update: JSONDict) -> int | None:
        """Deliver as Zalo would: POST it to the webhook if one is set, else queue it for
        getUpdates.  Returns the webhook's HTTP status, or None when queued."""
        if self.webhook_url:
            return (await self.deliver_webhook(update)).status
        self.push_update(update)
        await self._notify()
        return None

    async def deliver_webhook(
        self,
        update: JSONDict,
        *,
        body: WebhookBody | None = None,
        secret: str | None = None,
        omit_secret: bool = False,
    ) -> WebhookDelivery:
        """POST `update` to the webhook, as Zalo does, and record how the bot answered.

        `body` picks bare or enveloped (default: the fake's `webhook_body`); `secret` sends a
        different secret and `omit_secret` none at all, to test the bot's refusal.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set: the bot must call setWebhook first")
        enveloped = (body or self.webhook_body) == "enveloped"
        payload = {"ok": True, "result": update} if enveloped else update
        sent_secret = None if omit_secret else (secret or self.webhook_secret)
        headers = {"Content-Type": "application/json"}
        if sent_secret is not None:
            headers[SECRET_HEADER] = sent_secret
        content = json.dumps(payload, ensure_ascii=False).encode()
        try:
            status = await self._post_webhook(content, headers)
        except httpx.HTTPError:
            status = 0
        delivery = WebhookDelivery(self.webhook_url, update, enveloped, sent_secret, status)
        self.webhook_deliveries.append(delivery)
        await self._notify()
        return delivery

    async def _post_webhook(self, content: bytes, headers: dict[str, str]) -> int:
        if self.webhook_client is not None:
            response = await self.webhook_client.post(
                self.webhook_url, content=content, headers=headers
            )
            return response.status_code
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.webhook_url, content=content, headers=headers)
            return response.status_code

    def register_chat(self, chat_id: str, chat_type: Literal["PRIVATE", "GROUP"]) -> None:
        """Make a chat known: the bot can only write to chats that wrote to it."""
        self._chats[chat_id] = chat_type

    def put_media(self, content: bytes | None = None, suffix: str = "jpg") -> str:
        """Host `content` (default: a fresh JPEG) on the fake's CDN, as Zalo hosts a photo a
        user sent; its URL."""
        number = next(self._counter)
        name = f"{self._opaque('media', 24)}.{suffix}"
        self._media[name] = sample_jpeg(number) if content is None else content
        return self.media_base_url + name

    def expire_media(self, url: str) -> None:
        """Make a hosted URL answer 404 from now on: Zalo's photo links do not live forever."""
        self._media.pop(url.rpartition("/")[2], None)

    def media_bytes(self, url: str) -> bytes | None:
        """What the fake's CDN serves at `url`, whatever host the URL names."""
        return self._media.get(urlsplit(url).path.rpartition("/")[2])

    def next_id(self, kind: str, length: int = 20) -> str:
        """A fresh opaque id (hex, like Zalo's), deterministic across runs."""
        return self._opaque(kind, length)

    def now_ms(self) -> int:
        return _milliseconds(self.clock.now())

    async def close(self) -> None:
        """Answer parked long polls (408) now and park no more, so a shutdown never waits."""
        self._closed = True
        self._wake_pollers()

    def reopen(self) -> None:
        self._closed = False

    def clear(self) -> None:
        """Forget recorded calls, sends and deliveries (queued updates stay)."""
        self.calls.clear()
        self.sent.clear()
        self.chat_actions.clear()
        self.webhook_deliveries.clear()
        self.delivered_updates.clear()

    def _opaque(self, kind: str, length: int) -> str:
        seed = f"{self.bot_id}:{kind}:{next(self._counter)}".encode()
        return hashlib.sha256(seed).hexdigest()[:length]

    def _wake_pollers(self) -> None:
        # A fresh event per generation: every poller parked on the old one wakes once.
        self._new_update.set()
        self._new_update = asyncio.Event()

    # ---- inspection -----------------------------------------------------------------------------

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet handed out."""
        return copy.deepcopy(self._updates)

    def messages_to(self, chat_id: str) -> list[ZaloSent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def texts_to(self, chat_id: str) -> list[str]:
        """What the person read, in order: texts and captions."""
        return [t for m in self.messages_to(chat_id) if (t := m.text or m.caption) is not None]

    def last_to(self, chat_id: str) -> ZaloSent:
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def calls_to(self, method: str) -> list[ZaloCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounded by default, even when a test forgets
    ) -> None:
        """Wait, without polling, until `condition` holds after some call arrived or ended."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(condition)
        except TimeoutError:
            recent = [(m.chat_id, m.kind, m.text) for m in self.sent[-5:]]
            raise TimeoutError(f"not met within {timeout}s; last sent: {recent}") from None

    # ---- receiving ------------------------------------------------------------------------------

    def _get_me(self, params: JSONDict) -> JSONDict:
        return dict(self.bot_info)

    async def _get_updates(self, params: JSONDict, *, long_poll: bool) -> JSONDict:
        if self.webhook_url:
            # The notes say only that getUpdates "does not work" with a webhook set; the status
            # is a guess (Telegram's).  The client treats any such 4xx as permanent.
            raise _ApiError(409, "Conflict: webhook is active, call deleteWebhook first")
        wait = _poll_seconds(params.get("timeout", DEFAULT_POLL_SECONDS))
        if self.max_poll_seconds is not None:
            wait = min(wait, self.max_poll_seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (wait if long_poll else 0.0)
        while True:
            wakeup = self._new_update
            if self._updates:
                update = self._updates.pop(0)  # no offset, no acknowledgement: it is gone
                self.delivered_updates.append(update)
                return copy.deepcopy(update)
            remaining = deadline - loop.time()
            if self._closed or remaining <= 0:
                raise _ApiError(408, "Request timeout", bare=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await wakeup.wait()

    def _set_webhook(self, params: JSONDict) -> JSONDict:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not self._webhook_url_allowed(url):
            raise _ApiError(400, "Bad Request: url must be an HTTPS URL")
        if not isinstance(secret, str) or len(secret) not in SECRET_LENGTH:
            raise _ApiError(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = self.now_ms()
        return {"url": url, "updated_at": self.webhook_updated_at}

    def _webhook_url_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        if parts.scheme == "https":
            return True
        return (
            self.allow_http_webhook
            and parts.scheme == "http"
            and (parts.hostname in _LOOPBACK_HOSTS)
        )

    def _delete_webhook(self, params: JSONDict) -> JSONDict:
        self.webhook_url, self.webhook_secret = "", ""
        self.webhook_updated_at = self.now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        if not self.webhook_url:
            # Measured by an open client: HTTP 404 {"ok": false, "description": "Not Found"}.
            raise _ApiError(404, "Not Found", bare=True)
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    # ---- sending --------------------------------------------------------------------------------

    def _chat(self, params: JSONDict) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise _ApiError(400, "Bad Request: chat_id must be a non-empty string")
        if chat_id not in self._chats:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    @staticmethod
    def _bounded_text(params: JSONDict, key: str, limit: int, *, required: bool) -> str | None:
        value = params.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            raise _ApiError(400, f"Bad Request: {key} must be 1 to {limit} characters")
        return value

    def _record(
        self, chat_id: str, kind: Literal["text", "photo", "sticker"], **content: Any
    ) -> JSONDict:
        message = ZaloSent(chat_id, self.next_id("message", 32), self.now_ms(), kind, **content)
        self.sent.append(message)
        return {"message_id": message.message_id, "date": message.date}

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        text = self._bounded_text(params, "text", TEXT_LIMIT, required=True)
        return self._record(chat_id, "text", text=text)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        caption = self._bounded_text(params, "caption", CAPTION_LIMIT, required=False)
        url = params.get("photo")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise _ApiError(400, "Bad Request: photo must be an image URL")
        # Zalo fetches the image itself; its own CDN links it can always read.
        content = self.media_bytes(url) if url.startswith(self.media_base_url) else None
        if content is None:
            content = await self.fetcher(url)
        if not content or not _is_image(content):
            raise _ApiError(400, "Bad Request: could not fetch an image from the photo URL")
        return self._record(chat_id, "photo", photo_url=url, photo=content, caption=caption)

    def _send_sticker(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _ApiError(400, "Bad Request: sticker must be a sticker id")
        return self._record(chat_id, "sticker", sticker=sticker)

    def _send_chat_action(self, params: JSONDict) -> None:
        chat_id = self._chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: action must be typing or upload_photo")
        self.chat_actions.append((chat_id, str(action)))


def _poll_seconds(value: object) -> float:
    """getUpdates' `timeout`: seconds, as a number or (one client's habit) a numeric string."""
    try:
        seconds = float(value) if isinstance(value, int | float | str) else -1.0
    except ValueError:
        seconds = -1.0
    if isinstance(value, bool) or not 0 <= seconds <= 3600:
        raise _ApiError(400, "Bad Request: timeout must be a number of seconds")
    return seconds


def _json_params(body: bytes) -> JSONDict:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except ValueError:
        raise _ApiError(400, "Bad Request: the body must be JSON") from None
    if not isinstance(params, dict):
        raise _ApiError(400, "Bad Request: the body must be a JSON object")
    return params


def _json(status: int, body: JSONDict) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode()


# ---- people writing to the bot ------------------------------------------------------------------


class FakeZaloGroup:
    """A group chat with the bot: Zalo marks its updates ``chat_type: GROUP``."""

    def __init__(self, api: FakeZaloApi, *, group_id: str | None = None) -> None:
        self.api = api
        self.group_id = group_id or api.next_id("group")
        api.register_chat(self.group_id, "GROUP")

    @property
    def chat(self) -> JSONDict:
        return {"id": self.group_id, "chat_type": "GROUP"}


class FakeZaloUser:
    """One person writing to the bot, by default in a private chat (chat id == user id).

    Each method returns the update Zalo would deliver, without delivering it: give it to
    `api.deliver` (webhook or poll, whichever is set up), `api.push_update`, or straight to
    the parser.  `name_field` switches to the documentation sample's `from.first_name`;
    `photo_field` to the `photo_url` some sources name.  Every update is kept in `updates`.
    """

    def __init__(
        self,
        api: FakeZaloApi,
        display_name: str,
        *,
        user_id: str | None = None,
        name_field: Literal["display_name", "first_name"] = "display_name",
        photo_field: Literal["photo", "photo_url"] = "photo",
    ) -> None:
        self.api = api
        self.display_name = display_name
        self.user_id = user_id or api.next_id("user")
        self.name_field = name_field
        self.photo_field = photo_field
        self.updates: list[JSONDict] = []
        api.register_chat(self.user_id, "PRIVATE")

    @property
    def chat(self) -> JSONDict:
        return {"id": self.user_id, "chat_type": "PRIVATE"}

    def text(self, text: str, *, group: FakeZaloGroup | None = None) -> JSONDict:
        return self._message("message.text.received", {"text": text}, group)

    def image(
        self,
        *,
        caption: str | None = None,
        content: bytes | None = None,
        url: str | None = None,
        group: FakeZaloGroup | None = None,
    ) -> JSONDict:
        """A photo: hosted on the fake's CDN (`content`, else a fresh JPEG), or at `url`."""
        if url is None:
            url = self.api.put_media(content)
        fields: JSONDict = {self.photo_field: url}
        if caption is not None:
            fields["caption"] = caption
        return self._message("message.image.received", fields, group)

    def sticker(
        self, sticker_id: str = "bfe3a5d2f1", *, group: FakeZaloGroup | None = None
    ) -> JSONDict:
        url = f"https://zdn.fake-zalo.invalid/sticker/{sticker_id}.webp"
        return self._message("message.sticker.received", {"sticker": sticker_id, "url": url}, group)

    def voice(self, *, group: FakeZaloGroup | None = None) -> JSONDict:
        url = f"https://zdn.fake-zalo.invalid/voice/{self.api.next_id('voice')}.aac"
        return self._message("message.voice.received", {"voice_url": url}, group)

    def unsupported(self, *, group: FakeZaloGroup | None = None) -> JSONDict:
        """A message the bot may not read: an unknown type, or a person the law protects."""
        return self._message("message.unsupported.received", {}, group)

    def follow(self) -> JSONDict:
        """The person followed the bot.  Its shape is undocumented: a message without an id."""
        return self._user_event("user.follow")

    def unfollow(self) -> JSONDict:
        """The person stopped following the bot (same guessed shape as `follow`)."""
        return self._user_event("user.unfollow")

    def _user_event(self, event_name: str) -> JSONDict:
        message = {"from": self._sender(), "chat": self.chat, "date": self.api.now_ms()}
        return self._keep({"event_name": event_name, "message": message})

    def _sender(self) -> JSONDict:
        return {"id": self.user_id, self.name_field: self.display_name, "is_bot": False}

    def _message(self, event_name: str, content: JSONDict, group: FakeZaloGroup | None) -> JSONDict:
        message: JSONDict = {
            "from": self._sender(),
            "chat": group.chat if group else self.chat,
            **content,
            "message_id": self.api.next_id("message", 32),
            "date": self.api.now_ms(),
        }
        return self._keep({"event_name": event_name, "message": message})

    def _keep(self, update: JSONDict) -> JSONDict:
        self.updates.append(update)
        return copy.deepcopy(update)


# ---- transports ---------------------------------------------------------------------------------


class FakeZaloTransport(httpx.AsyncBaseTransport):
    """httpx straight into a `FakeZaloApi`: the real client, no sockets, no waiting.

    It serves the API and the fake's CDN (user photos) whatever host a URL names, so one
    ``httpx.AsyncClient(transport=...)`` serves both the client and photo downloads.
    """

    def __init__(self, api: FakeZaloApi) -> None:
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            status, content_type, content = await self.api.handle(
                request.method, request.url.path, body, long_poll=False
            )
        except SimulatedNetworkFailure as exc:
            if exc.reached:
                raise httpx.ReadError(str(exc), request=request) from None
            raise httpx.ConnectError(str(exc), request=request) from None
        return httpx.Response(status, headers={"Content-Type": content_type}, content=content)


class _Handler(tornado.web.RequestHandler):
    """Every path goes to `FakeZaloApi.handle`; a client that hangs up cancels its long poll."""

    def initialize(self, server: HttpFakeZaloApi) -> None:
        self.server = server
        self._call: asyncio.Future[tuple[int, str, bytes]] | None = None
        self._client_gone = False

    async def post(self, path: str) -> None:
        async with self.server.answering():
            await self._answer()

    get = post

    async def _answer(self) -> None:
        request = self.request
        self._call = asyncio.ensure_future(
            self.server.api.handle(
                request.method or "POST", request.path, request.body, long_poll=True
            )
        )
        try:
            status, content_type, content = await self._call
        except SimulatedNetworkFailure:
            self.detach().close()  # no answer at all: the client sees a dropped connection
            return
        except asyncio.CancelledError:
            if not self._client_gone:
                raise
            self.detach().close()
            return
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            await self.finish(content)  # a client gone by now loses the answer, as on Zalo

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._call is not None:
            self._call.cancel()


class HttpFakeZaloApi:
    """The same fake on a free loopback port: the real client's HTTP stack and long polls."""

    def __init__(self, api: FakeZaloApi | None = None, *, host: str = "127.0.0.1") -> None:
        self.api = api or FakeZaloApi()
        self.host = host
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None
        self._answering = 0
        self._quiet = asyncio.Condition()

    @property
    def base_url(self) -> str:
        """What ``PHANANH_ZALO_API_URL`` would be: the client appends ``<token>/<method>``."""
        return f"http://{self.host}:{self.port}/bot"

    async def start(self) -> None:
        """Listen, and host the fake's CDN here too, so photo URLs in updates are fetchable."""
        if self._server is not None:
            raise RuntimeError("already started")
        self.api.reopen()
        app = tornado.web.Application(
            [(r"(/.*)", _Handler, {"server": self})], log_function=lambda handler: None
        )
        sockets = tornado.netutil.bind_sockets(0, self.host)
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self.api.media_base_url = f"http://{self.host}:{self.port}/media/"

    async def stop(self) -> None:
        """Answer parked long polls first, so a polling bot's shutdown does not wait them out."""
        await self.api.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0), self._quiet:
                await self._quiet.wait_for(lambda: self._answering == 0)
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            await server.close_all_connections()

    @contextlib.asynccontextmanager
    async def answering(self) -> AsyncIterator[None]:
        """Count a request being answered: `stop` lets released long polls finish answering."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            async with self._quiet:
                self._quiet.notify_all()

    async def __aenter__(self) -> HttpFakeZaloApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
