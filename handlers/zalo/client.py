"""An async client for the Zalo Bot API: JSON over POST, typed results, errors a sender can act on.

No Zalo client on PyPI is fit to depend on (`python-zalo-bot` copies PTB's old internals and
handles one update at a time; the others drive personal accounts against Zalo's terms), and the
API is small, so the project owns this one, over httpx (already installed with PTB).

Three decisions shape it:

* Errors are split by what the caller should do.  `ZaloTransientError` (HTTP 429, 5xx, an
  unreadable answer, no answer at all) means "try again later, with backoff"; a
  `ZaloPermanentError` (any other 4xx) means this request will never succeed as it is;
  `ZaloUnauthorized` (401) means the token is wrong and nothing will work.  An idle long poll
  (HTTP 408) is not an error: `get_updates` returns None, "nothing new".
* The token is a password that sits in the URL path (``/bot<TOKEN>/<method>``), and httpx logs
  every request URL at INFO.  So the token is kept out of this module's exception texts and
  reprs, exceptions from httpx are not chained (their text may carry the URL), and a filter on
  the ``httpx`` logger replaces the token in its log lines with ``<redacted>``.
* The base URL is a setting (Zalo's documented host changed once already); the client appends
  ``<token>/<method>``, as PTB does with ``PHANANH_TELEGRAM_API_URL``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "BotInfo",
    "SentMessage",
    "WebhookInfo",
    "ZaloBotClient",
    "ZaloError",
    "ZaloNetworkError",
    "ZaloPermanentError",
    "ZaloTransientError",
    "ZaloUnauthorized",
    "redact_token_in_logs",
]

DEFAULT_BASE_URL: Final = "https://bot-api.zaloplatforms.com/bot"
DEFAULT_POLL_TIMEOUT: Final = 30
REDACTED: Final = "<redacted>"

# httpx logs "HTTP Request: POST <url> ..." on this logger.  httpcore's loggers log hosts and
# ports but no paths, so they need no filter.
_URL_LOGGERS: Final = ("httpx",)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# A token is one path segment: refuse what would change the URL's shape (or end up in an
# httpx.InvalidURL message, token and all).
_TOKEN_SHAPE: Final = re.compile(r"[^\s/?#%]+")

JSONDict = dict[str, Any]


# ---- errors -------------------------------------------------------------------------------------


class ZaloError(Exception):
    """A Zalo Bot API call failed.  The text names the method, never the token.

    `status` is the HTTP status (0 when no answer came; Zalo's `error_code` when an error came
    with HTTP 200), `error_code` Zalo's own code when the body carried one, `description`
    Zalo's words.
    """

    def __init__(
        self, method: str, status: int, description: str, error_code: int | None = None
    ) -> None:
        self.method = method
        self.status = status
        self.error_code = error_code
        self.description = description
        where = f"HTTP {status}" if status else "no answer"
        super().__init__(f"Zalo {method}: {where}: {description}")


class ZaloTransientError(ZaloError):
    """Try again later with backoff: rate limited (429), a server fault (5xx), or no answer."""


class ZaloNetworkError(ZaloTransientError):
    """No answer reached the client: the request may or may not have been carried out."""


class ZaloPermanentError(ZaloError):
    """Zalo refused the request (a 4xx other than 429): sending it again will not help."""


class ZaloUnauthorized(ZaloPermanentError):
    """The token is wrong or revoked (401): no call will succeed until it is replaced."""


def _error_for(method: str, status: int, description: str, code: int | None) -> ZaloError:
    """The error class a caller acts on, judged by the status (HTTP's, or Zalo's code)."""
    if status == 401:
        return ZaloUnauthorized(method, status, description, code)
    if status in (408, 429) or status >= 500:
        return ZaloTransientError(method, status, description, code)
    return ZaloPermanentError(method, status, description, code)


# ---- typed results -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotInfo:
    """Who the bot is (getMe): checked at start-up, so a wrong token fails before any poll."""

    id: str
    account_name: str
    display_name: str
    account_type: str
    can_join_groups: bool


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Zalo's receipt for a message it accepted: its id, and when (from milliseconds, UTC).

    Both are None if Zalo said ok without them: the message went out, and sending it again
    because the receipt looks odd would deliver it twice.
    """

    message_id: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    """The webhook as Zalo knows it; `url` is empty once deleted."""

    url: str
    updated_at: datetime | None


def _milliseconds(value: object) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        try:
            return _EPOCH + timedelta(milliseconds=value)
        except OverflowError:
            return None
    return None


def _text(result: Mapping[str, Any], key: str) -> str:
    value = result.get(key)
    return "" if value is None else str(value)


# ---- the redacting log filter -------------------------------------------------------------------


class _TokenRedactor(logging.Filter):
    """Replace every known token in a record's formatted message, on the loggers that log URLs.

    One instance serves every client in the process (a process may run several bots), and it
    keeps the tokens it learnt: a token seen once stays secret after its client is closed.
    """

    def __init__(self) -> None:
        super().__init__("zalo-token-redactor")
        self._secrets: set[str] = set()

    def add(self, token: str) -> None:
        # A URL may carry the token percent-encoded: httpx encodes some characters ("{" but
        # not "|"), other tools all but letters; redact every spelling.
        in_httpx_path = httpx.URL(f"http://host/{token}").raw_path.decode()[1:]
        self._secrets.update({token, in_httpx_path, quote(token, safe=""), quote(token)})

    def redact(self, text: str) -> str:
        # Longest first, so a token is never half-replaced by a shorter spelling of itself.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR: Final = _TokenRedactor()


def redact_token_in_logs(token: str) -> None:
    """Keep `token` out of the log lines of the libraries that log request URLs.

    Every `ZaloBotClient` calls this for its own token; call it yourself for a token used by
    anything else (e.g. a webhook setup script).  Idempotent.
    """
    _REDACTOR.add(token)
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


# ---- the client ---------------------------------------------------------------------------------


class ZaloBotClient:
    """One bot's calls to the Zalo Bot API.

    Use it as ``async with ZaloBotClient(token) as zalo: ...``, or call `aclose`.  Pass
    `transport` to run it against the project's fake (``bot.zalo_fake``) without sockets, or
    `http` to share one httpx client (its own timeouts then apply, except for long polls).
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        watch: Callable[[str, int], None] | None = None,
    ) -> None:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ValueError("the Zalo token is empty or not a single URL path segment")
        scheme = base_url.partition("://")[0]
        if scheme not in ("http", "https"):
            raise ValueError("the Zalo API base URL must start with https:// (or http://)")
        redact_token_in_logs(token)
        self.__token = token
        self.base_url = base_url
        self.timeout = timeout
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        # Told each call's method and status (0: no answer): the operators' metrics.
        self._watch = watch

    def __repr__(self) -> str:
        return f"ZaloBotClient(base_url={self.base_url!r}, token={REDACTED!r})"

    async def __aenter__(self) -> ZaloBotClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, unless it was lent by the caller."""
        if self._own_http:
            await self._http.aclose()

    # ---- the wire ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> Any:
        """POST `params` as JSON to `method`; Zalo's `result` (None when it sends none).

        Raises a `ZaloError` subclass; an idle long poll raises `ZaloTransientError` here (408),
        which `get_updates` turns into "nothing new".
        """
        try:
            result = await self._post(method, params, read_timeout)
        except ZaloError as exc:
            if self._watch is not None:
                self._watch(method, exc.status)
            raise
        if self._watch is not None:
            self._watch(method, 200)
        return result

    async def _post(
        self, method: str, params: Mapping[str, Any] | None, read_timeout: float | None
    ) -> Any:
        url = f"{self.base_url}{self.__token}/{method}"
        timeout = httpx.Timeout(self.timeout, read=read_timeout or self.timeout)
        try:
            response = await self._http.post(url, json=dict(params or {}), timeout=timeout)
        except httpx.HTTPError as exc:
            # Not chained: an httpx exception may carry the URL, and with it the token.
            reason = _REDACTOR.redact(str(exc)) or type(exc).__name__
            raise ZaloNetworkError(method, 0, reason) from None
        return self._result(method, response)

    def _result(self, method: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # A proxy's HTML error page, or garbage: judge by the status alone.
            what = "an answer that is not a JSON object"
            raise _error_for(method, status if status >= 400 else 502, what, None)
        if body.get("ok") is True and status < 400:
            return body.get("result")
        raw_code = body.get("error_code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        description = _REDACTOR.redact(str(body.get("description") or "no description"))
        raise _error_for(method, status if status >= 400 else (code or 400), description, code)

    # ---- methods ----------------------------------------------------------------------------

    async def get_me(self) -> BotInfo:
        """Who the bot is; also the cheapest check that the token works."""
        result = self._mapping("getMe", await self.call("getMe"))
        return BotInfo(
            id=_text(result, "id"),
            account_name=_text(result, "account_name"),
            display_name=_text(result, "display_name"),
            account_type=_text(result, "account_type"),
            can_join_groups=result.get("can_join_groups") is True,
        )

    async def get_updates(self, poll_seconds: int = DEFAULT_POLL_TIMEOUT) -> JSONDict | None:
        """The next update (one object, not a list), or None when the poll ended idle.

        Zalo holds the request open up to `poll_seconds` (its `timeout`) waiting for one.  It
        forgets an update once it has handed it out: store it durably before handling it.
        """
        try:
            result = await self.call(
                "getUpdates",
                {"timeout": poll_seconds},
                read_timeout=poll_seconds + self.timeout,
            )
        except ZaloTransientError as exc:
            if 408 in (exc.status, exc.error_code):
                return None
            raise
        if result is None:
            return None
        return dict(self._mapping("getUpdates", result))

    async def set_webhook(self, url: str, secret_token: str) -> WebhookInfo:
        """Have Zalo POST updates to `url` (HTTPS) with `secret_token` in a header."""
        result = await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        return self._webhook("setWebhook", result)

    async def delete_webhook(self) -> WebhookInfo:
        """Back to polling: `getUpdates` refuses to work while a webhook is set."""
        return self._webhook("deleteWebhook", await self.call("deleteWebhook"))

    async def get_webhook_info(self) -> WebhookInfo | None:
        """The webhook, or None when there is none (Zalo answers that with HTTP 404)."""
        try:
            result = await self.call("getWebhookInfo")
        except ZaloPermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return self._webhook("getWebhookInfo", result)

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        """Send plain text (1–2,000 characters: split longer ones with `split_text`)."""
        return await self._send("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> SentMessage:
        """Send the image at `photo_url`, which Zalo fetches itself: it must be reachable."""
        params: JSONDict = {"chat_id": chat_id, "photo": photo_url}
        if caption is not None:
            params["caption"] = caption
        return await self._send("sendPhoto", params)

    async def send_sticker(self, chat_id: str, sticker: str) -> SentMessage:
        """Send a sticker by its Zalo id."""
        return await self._send("sendSticker", {"chat_id": chat_id, "sticker": sticker})

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """Show "typing…"; Zalo answers ``{"ok": true}`` with no result."""
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    # ---- result parsing -----------------------------------------------------------------------

    @staticmethod
    def _mapping(method: str, result: object) -> Mapping[str, Any]:
        if not isinstance(result, Mapping):
            raise ZaloTransientError(method, 200, "the result is not a JSON object")
        return result

    async def _send(self, method: str, params: JSONDict) -> SentMessage:
        result = await self.call(method, params)
        receipt: Mapping[str, Any] = result if isinstance(result, Mapping) else {}
        message_id = receipt.get("message_id")
        return SentMessage(
            message_id=None if message_id in (None, "") else str(message_id),
            date=_milliseconds(receipt.get("date")),
        )

    def _webhook(self, method: str, result: object) -> WebhookInfo:
        mapping = self._mapping(method, result) if result is not None else {}
        updated_at = _milliseconds(mapping.get("updated_at"))
        return WebhookInfo(url=_text(mapping, "url"), updated_at=updated_at)
