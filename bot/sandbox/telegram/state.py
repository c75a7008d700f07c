"""The fake server's state, how one request is answered, and the faults a
test can script (an error, a lost answer, a network failure)."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox.telegram.records import (
    ApiCall,
    ApiError,
    Fault,
    JSONDict,
    SentMessage,
    SimulatedNetworkFailure,
    StoredFile,
    as_int,
)


class ApiState:
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
        # The clock the rate counts by (a test may hand it another).
        self.monotonic: Callable[[], float] = time.monotonic
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
        # How a webhook's HTTPS certificate is checked: a test's own (nginx with a
        # certificate made for the run), or the system's.
        self.webhook_verify: ssl.SSLContext | bool = True
        self._webhook_client: httpx.AsyncClient | None = None
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._files: dict[str, StoredFile] = {}
        # Files people sent as documents: Telegram will not send one of
        # these as a photo (each file id has its type).
        self._documents: set[str] = set()
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] = []
        self._last_update_id = 0
        self._new_update = asyncio.Event()
        self._closed = False
        self._faults: list[Fault] = []
        self._holds: list[tuple[str, str | None, asyncio.Event]] = []
        self._lost_answers: list[Fault] = []
        self._send_times: deque[float] = deque()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._dispatch: dict[str, Callable[[JSONDict], Any]] = {}

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """getUpdates, a long poll: answered by the feed (feed.py)."""
        raise NotImplementedError

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        """Answer one Bot API request with (HTTP status, Telegram's JSON body)."""
        record = ApiCall(method, dict(params))
        self.calls.append(record)
        key = method.lower()
        # Telegram counts a message against the bot's rate when it arrives;
        # the answer comes after the latency.  Counted after it instead, the
        # count would hold this fake's own late wake-ups (its event loop,
        # busy on a loaded machine, wakes many sleepers at once), not the
        # bot's spacing.
        too_fast = self._over_rate(key, params)
        await self._notify()  # waiters may be watching for a call to arrive, e.g. a long-poll
        if self.latency:
            await asyncio.sleep(self.latency)
        await self._held(key, params)
        try:
            self._check_faults(key, params)
            if too_fast:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
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
        except ApiError as exc:
            record.status = exc.code
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        await self._notify()
        return record.status, body

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def hold(self, method: str, *, scope: str | None = None) -> asyncio.Event:
        """Keep every call of ``method`` (of a command menu's ``scope`` type,
        if given: "chat", "default"…) unanswered until the event returned is
        set: Telegram slow to answer, for as long as a test wants."""
        released = asyncio.Event()
        self._holds.append((method.lower(), scope, released))
        return released

    async def _held(self, key: str, params: JSONDict) -> None:
        scope = params.get("scope")
        scope_type = scope.get("type") if isinstance(scope, dict) else None
        for method, wanted, released in list(self._holds):
            if method == key and wanted in (None, scope_type or "default"):
                await released.wait()

    def _check_faults(self, key: str, params: JSONDict) -> None:
        chat_id = as_int(params.get("chat_id"), 0) if "chat_id" in params else None
        for fault in self._faults:
            if fault.method == key and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                if fault.error is None:
                    raise SimulatedNetworkFailure(f"simulated network failure in {key}")
                raise fault.error
        if _is_send(key) and chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _over_rate(self, key: str, params: JSONDict) -> bool:
        """Whether a message arriving now is one too many for the bot's
        rate (``rate_limit_per_second`` within the last second); one that is
        not is counted."""
        if not _is_send(key) or self.rate_limit_per_second is None:
            return False
        if as_int(params.get("chat_id"), 0) in self.blocked_chats:
            return False  # refused for that, and not counted
        now = self.monotonic()
        while self._send_times and now - self._send_times[0] >= 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= self.rate_limit_per_second:
            return True
        self._send_times.append(now)
        return False

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
        error = ApiError(code, description or default, **extra)
        self._faults.append(Fault(method.lower(), chat_id, times, error))

    def network_failure_next(self, method: str, times: int = 1, chat_id: int | None = None) -> None:
        """Make the next `times` calls of `method` get no answer at all (PTB: NetworkError)."""
        self._faults.append(Fault(method.lower(), chat_id, times, None))

    def clear_faults(self) -> None:
        """Forget the failures still planned: the network is back."""
        self._faults.clear()
        self._lost_answers.clear()

    def lose_answer_next(self, method: str, times: int = 1, chat_id: int | None = None) -> None:
        """Carry out the next `times` calls of `method`, then drop their answers: the
        message is delivered, but the bot sees a network error (PTB: NetworkError)."""
        self._lost_answers.append(Fault(method.lower(), chat_id, times, None))

    def _answer_lost(self, key: str, params: JSONDict) -> bool:
        chat_id = as_int(params.get("chat_id"), 0) if "chat_id" in params else None
        for fault in self._lost_answers:
            if fault.method == key and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._lost_answers.remove(fault)
                return True
        return False


def _is_send(key: str) -> bool:
    """Whether a method (lower case) sends a message: what Telegram counts
    against the bot's rate, and what a chat that blocked the bot refuses."""
    return key.startswith("send") and key != "sendchataction"
