"""Webhook mode: Telegram's route on the bot's own HTTP server (bot/http.py),
instead of python-telegram-bot's webhook server.

PTB's webhook server was attacked and lost on three counts:

- it answers 200 as soon as an update is in an in-memory queue: Telegram
  got 200 for 40 updates, the bot was killed, and none of them was ever
  handled (Telegram never sends an update again once it got 200);
- tornado reads the whole body before PTB's handler looks at the secret
  token: three 90 MB bodies without the secret grew the process from 55 MB
  to 289 MB;
- a body that is not JSON, or JSON that is not an update, gave a 500 and a
  traceback in the log.

Here each request goes through, in this order: the path and the method; the
secret token, compared in constant time, before a byte of the body is read
(403); the declared length, at most `MAX_BODY` (411, 413: refused unread);
the body as UTF-8 JSON (400); a JSON object with an integer ``update_id``
(400); readable by PTB (if not, logged by its id alone and answered 200,
since Telegram would only send it again, as long polling confirms it past);
then stored in the database's ``webhook_updates`` table and committed — and
only then 200.  Each refusal is one log line, without the body.  An answer
given before the body was read closes the connection, so the body is never
taken in (uvicorn buffers at most 64 KiB of it meanwhile); a body that takes
over `BODY_TIMEOUT` to arrive is refused with 408.

A stored update is handed to the inbox worker (bot/app/inbox.py): a chat's
stored updates are handled one by one, in the order they were stored, each
deleted once handled — with several bot processes behind a load balancer,
by the one process holding the chat's turn, whichever process stored them.
The rows a crash left behind are handled at the next start, once the
Application runs (an update that comes before then is stored and waits
with them: the server listens first), or by another process at its next
sweep; the processed-update table keeps one that was finished from being
handled twice: the at-least-once guarantee long polling has (polling.py).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from bot.app.inbox import InboxWorker
from bot.domain.clock import Clock
from bot.http import BODY_TIMEOUT, MAX_BODY, length_refusal, read_body
from bot.ports import StoredUpdate, UpdateInbox
from handlers.telegram.context import BotApplication
from handlers.telegram.processing import chat_key, read_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes (a 4,096-character text, the
# message it replies to, entities): a megabyte (MAX_BODY) is far beyond any.
# An answer given before the body was read: the connection closes with it.
CLOSE = {"Connection": "close"}


def webhook_path(url: str) -> str:
    """The path the webhook is served at: the URL's, as the reverse proxy passes it on."""
    return "/" + urlsplit(url).path.strip("/")


class TelegramWebhook:
    """Telegram's webhook route over a built Application, storing into ``inbox``."""

    def __init__(self, app: BotApplication, inbox: UpdateInbox, clock: Clock, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self.app = app
        self.worker = InboxWorker(inbox)
        self._clock = clock
        self._secret = secret.encode()

    @property
    def inbox(self) -> UpdateInbox:
        return self.worker.inbox

    # ---- the life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Once the Application runs: hand over what a crash (or a request
        that came before now) left stored, and from now on each update as it
        comes."""
        await self.worker.open(self._handle)

    async def look_again(self) -> None:
        """What another process died with, or left stored (the sweep)."""
        await self.worker.look_again()

    async def close(self) -> None:
        """Hand nothing more over, and let what is being handled finish
        (what a stop cuts off stays stored for the next start)."""
        await self.worker.close()

    async def settled(self) -> None:
        """Until every update handed over so far was handled (and deleted)."""
        await self.worker.settled()

    # ---- one request ------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        status = self.refusal(request.headers)
        if status is not None:
            return Response(status_code=status, headers=CLOSE)
        body = await read_body(request, MAX_BODY, BODY_TIMEOUT)
        if isinstance(body, tuple):
            return Response(status_code=_refused(*body), headers=CLOSE)
        return Response(status_code=await self.receive(body))

    def refusal(self, headers: Mapping[str, str]) -> int | None:
        """What the headers alone decide, before any of the body is read."""
        token = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._secret):
            return _refused(403, "missing or wrong secret token")
        length = length_refusal(headers, MAX_BODY)
        return None if length is None else _refused(*length)

    async def receive(self, body: bytes) -> int:
        """The HTTP status for a body that came with the right secret."""
        if not body:
            return _refused(400, "empty body")
        try:
            payload = body.decode("utf-8")
            data = json.loads(payload)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep
            return _refused(400, "the body is not JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return _refused(400, f"JSON {type(data).__name__} that is not an update")
        update = read_update(data, self.app.bot)
        if update is None:
            return 200  # logged; Telegram would only send it again
        key = chat_key(update)
        try:
            await self.worker.store(
                str(update_id), payload, self._clock.now(), "" if key is None else str(key)
            )
        except Exception as exc:  # the database refused: Telegram sends it again
            log.error(
                "update %s could not be stored (%s); answered 500, Telegram sends it again",
                update_id,
                type(exc).__name__,
            )
            return 500
        return 200

    async def _handle(self, stored: StoredUpdate, recovered: bool) -> None:
        """One stored update, through the update processor (a failed one is
        logged by the worker and, like long polling's, not handed over again)."""
        update = read_update(json.loads(stored.payload), self.app.bot)
        if update is not None:
            processor = self.app.update_processor
            await processor.process_update(update, self.app.process_update(update))


def _refused(status: int, reason: str) -> int:
    log.warning("webhook request refused (%d): %s", status, reason)
    return status
