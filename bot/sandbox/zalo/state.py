"""The fake Zalo server's state: one request in (`handle`, `call`), the
scripted faults and lost answers, the update queue and its long poll."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import mimetypes
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

import httpx

from bot.domain.clock import Clock, SystemClock
from bot.sandbox.zalo.records import (
    API_PATH,
    DEFAULT_MEDIA_BASE,
    DEFAULT_POLL_SECONDS,
    DEFAULT_TOKEN,
    MEDIA_PATH,
    ApiError,
    Fault,
    JSONDict,
    PhotoFetcher,
    RawAnswer,
    SimulatedNetworkFailure,
    WebhookBody,
    WebhookDelivery,
    ZaloCall,
    ZaloSent,
    fetch_over_http,
    json_answer,
    json_params,
    milliseconds,
    poll_seconds,
)


class ZaloApiState:
    """The fake server's state and the rules every call goes through: the token,
    scripted faults, lost answers, the update queue a poll takes from.  The
    methods themselves live in the mixins (feed.py, sending.py) and are listed
    in api.py."""

    # Each method the fake answers: its name on the wire, the Python method's
    # name (api.py fills these from the mixins; getUpdates, a long poll, is
    # answered here).
    METHODS: ClassVar[dict[str, str]] = {}
    ASYNC_METHODS: ClassVar[dict[str, str]] = {}

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
        self._faults: list[Fault] = []
        self._lost_answers: list[Fault] = []
        self._counter = itertools.count(1)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._closed = False

    # ---- the wire -------------------------------------------------------------------------------

    async def handle(
        self, http_method: str, path: str, body: bytes, *, long_poll: bool
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request with (status, content type, body).

        `long_poll` False answers an idle getUpdates with 408 at once (in-memory tests).  Raises
        `SimulatedNetworkFailure` when a scripted fault says the request gets no answer.
        """
        path = unquote(path)
        if media := MEDIA_PATH.search(path):
            content = self._media.get(media.group(1))
            if http_method != "GET" or content is None:
                return 404, "text/plain", b"Not Found"
            content_type = mimetypes.guess_type(media.group(1))[0] or "application/octet-stream"
            return 200, content_type, content
        api = API_PATH.search(path)
        if api is None:
            return json_answer(404, ApiError(404, "Not Found").body())
        if http_method != "POST":
            return json_answer(405, ApiError(405, "Method Not Allowed: send JSON by POST").body())
        try:
            params = json_params(body)
        except ApiError as exc:
            return json_answer(exc.status, exc.body())
        try:
            status, answer = await self.call(
                api.group(1), api.group(2), params, long_poll=long_poll
            )
        except RawAnswer as raw:
            return raw.status, "text/html", raw.content
        return json_answer(status, answer)

    async def call(
        self, token: str, method: str, params: JSONDict, *, long_poll: bool = False
    ) -> tuple[int, JSONDict]:
        """Answer one API call with (HTTP status, Zalo's JSON body)."""
        record = ZaloCall(method, copy.deepcopy(params))
        self.calls.append(record)
        await self._notify()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            self._check_faults(method, params)
            if method == "getUpdates":
                result: Any = await self._get_updates(params, long_poll=long_poll)
            elif method in self.ASYNC_METHODS:
                result = await getattr(self, self.ASYNC_METHODS[method])(params)
            elif method in self.METHODS:
                result = getattr(self, self.METHODS[method])(params)
            else:
                raise ApiError(404, "Not Found")
            body: JSONDict = {"ok": True} if result is None else {"ok": True, "result": result}
            record.status = 200
            self._check_lost_answer(method, params)
        except ApiError as exc:
            record.status = exc.status
            body = exc.body()
        except RawAnswer as raw:
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
                    raise RawAnswer(status, fault.raw_body)
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
        error = ApiError(status, words)
        self._faults.append(Fault(method, chat_id, times, error, raw_body))

    def network_failure_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` never reach the server (the client sees no answer)."""
        self._faults.append(Fault(method, None, times, network=True))

    def lose_answer_next(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `method`, then drop the answer.

        For getUpdates this is Zalo's at-most-once delivery: the update is gone, the bot
        never saw it (what a crash right after the poll returns looks like).
        """
        self._lost_answers.append(Fault(method, None, times, network=True))

    def register_chat(self, chat_id: str, chat_type: Literal["PRIVATE", "GROUP"]) -> None:
        """Make a chat known: the bot can only write to chats that wrote to it."""
        self._chats[chat_id] = chat_type

    def next_id(self, kind: str, length: int = 20) -> str:
        """A fresh opaque id (hex, like Zalo's), deterministic across runs."""
        return self._opaque(kind, length)

    def now_ms(self) -> int:
        return milliseconds(self.clock.now())

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

    async def _get_updates(self, params: JSONDict, *, long_poll: bool) -> JSONDict:
        if self.webhook_url:
            # The notes say only that getUpdates "does not work" with a webhook set; the status
            # is a guess (Telegram's).  The client treats any such 4xx as permanent.
            raise ApiError(409, "Conflict: webhook is active, call deleteWebhook first")
        wait = poll_seconds(params.get("timeout", DEFAULT_POLL_SECONDS))
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
                raise ApiError(408, "Request timeout", bare=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await wakeup.wait()
