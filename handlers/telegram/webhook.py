"""Webhook mode: the project's own small HTTP server in front of the
Application, instead of python-telegram-bot's.

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
only then 200.  Each refusal is one log line, without the body.

A stored update is handed to the update processor (each chat in order) and
its row deleted once handled; the rows a crash left behind are handled
first at the next start, and the processed-update table keeps one that was
finished from being handled twice: the at-least-once guarantee long polling
has (handlers/telegram/polling.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.httputil
import tornado.web
from telegram import Update

from bot.domain.clock import Clock
from handlers.telegram.app import extras, initialized, shutdown, startup
from handlers.telegram.context import BotApplication
from handlers.telegram.polling import catch_up_safely, stop_on_signals
from handlers.telegram.processing import read_update
from storage.sqlite.db import Database, Refusal
from storage.sqlite.inbox import WebhookInbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes (a 4,096-character text, the
# message it replies to, entities): a megabyte is far beyond any of them.
MAX_BODY = 1 << 20
BODY_TIMEOUT = 30.0  # seconds a client may take to send a body
IDLE_TIMEOUT = 120.0  # seconds a kept-alive connection may sit idle


class WebhookServer:
    """The HTTP side of webhook mode, over a started Application (the
    database must be open: `bot.app.startup` has run)."""

    def __init__(self, app: BotApplication, path: str, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self.app = app
        self.path = "/" + path.strip("/")
        self._secret = secret.encode()
        db: Database = extras(app)["db"]
        self._clock: Clock = extras(app)["clock"]
        self.inbox = WebhookInbox(db)
        self._handling: set[asyncio.Task[None]] = set()
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    # ---- the life cycle ---------------------------------------------------------------------

    async def start(self, listen: str, port: int) -> None:
        """Hand over what a crash left stored, then listen (``port`` 0
        picks a free one: see `port`)."""
        await self.replay()
        routes = [(rf"{re.escape(self.path)}/?", _UpdateHandler, {"server": self})]
        application = tornado.web.Application(routes, log_function=lambda handler: None)
        server = tornado.httpserver.HTTPServer(
            application,
            max_body_size=MAX_BODY,
            body_timeout=BODY_TIMEOUT,
            idle_connection_timeout=IDLE_TIMEOUT,
        )
        listening = _listening_socket(listen, port)
        server.add_sockets([listening])
        self._server = server
        self.port = int(listening.getsockname()[1])

    async def stop(self) -> None:
        """Take no more requests, then let what is being handled finish
        (what a stop cuts off stays stored for the next start)."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            await server.close_all_connections()
        await self.settled()

    async def settled(self) -> None:
        """Until every update handed over so far was handled (and deleted)."""
        while self._handling:
            await asyncio.wait(set(self._handling))

    async def replay(self) -> None:
        for update_id, payload in await self.inbox.backlog():
            update = read_update(json.loads(payload), self.app.bot)
            if update is None:
                await self.inbox.done(update_id)
            else:
                self._hand_over(update_id, update)

    # ---- one request ------------------------------------------------------------------------

    def refusal(self, headers: tornado.httputil.HTTPHeaders) -> int | None:
        """What the headers alone decide, before any of the body is read."""
        token = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._secret):
            return _refused(403, "missing or wrong secret token")
        length = headers.get("Content-Length")
        if length is None:
            return _refused(411, "no Content-Length")
        if not length.isdigit() or int(length) > MAX_BODY:
            return _refused(413, f"a body over {MAX_BODY} bytes")
        return None

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
        try:
            fresh = await self.inbox.put(str(update_id), payload, self._clock.now())
        except (sqlite3.Error, Refusal) as exc:
            log.error(
                "update %s could not be stored (%s); answered 500, Telegram sends it again",
                update_id,
                type(exc).__name__,
            )
            return 500
        if fresh:  # else Telegram sent it again before hearing us: it is being handled
            self._hand_over(str(update_id), update)
        return 200

    def _hand_over(self, update_id: str, update: Update) -> None:
        task = asyncio.create_task(self._handle(update_id, update))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update_id: str, update: Update) -> None:
        processor = self.app.update_processor
        try:
            await processor.process_update(update, self.app.process_update(update))
        except Exception:
            # Like long polling, which confirms a failed update past: it is
            # not handed over again and again.
            log.exception("update %s failed", update_id)
        await self.inbox.done(update_id)


def _listening_socket(listen: str, port: int) -> socket.socket:
    """The server's socket (tornado's bind_sockets leaves the socket open
    when the port is taken)."""
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    listening = socket.create_server((listen, port), family=family, backlog=128)
    listening.setblocking(False)
    return listening


def _refused(status: int, reason: str) -> int:
    log.warning("webhook request refused (%d): %s", status, reason)
    return status


@tornado.web.stream_request_body
class _UpdateHandler(tornado.web.RequestHandler):
    """Streams the body, so that `prepare` decides on the headers alone
    (tornado otherwise reads the whole body before any handler runs)."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, server: WebhookServer) -> None:
        self.server = server
        self.body = bytearray()

    def prepare(self) -> None:
        status = self.server.refusal(self.request.headers)
        if status is not None:
            self.set_status(status)
            self.finish()  # tornado then closes the connection: the body is never read

    def data_received(self, chunk: bytes) -> None:
        if not self._finished and len(self.body) + len(chunk) <= MAX_BODY:
            self.body += chunk

    async def post(self) -> None:
        self.set_status(await self.server.receive(bytes(self.body)))
        self.finish()


@asynccontextmanager
async def serving(
    app: BotApplication, path: str, secret: str, listen: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[WebhookServer]:
    """The webhook server over a started Application, for the time of a
    block: `run_webhook` uses it, and so do the tests."""
    server = WebhookServer(app, path, secret)
    try:
        await server.start(listen, port)
        yield server
    finally:
        await server.stop()


async def run_webhook(
    app: BotApplication,
    *,
    url: str,
    listen: str,
    port: int,
    secret: str,
    allowed_updates: Sequence[str] | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Start the bot, listen, tell Telegram where to send updates, serve
    until SIGINT or SIGTERM, stop cleanly.  ``ready`` is called once
    Telegram accepted the token (getMe) and the address (setWebhook).  The
    webhook stays set when the bot stops: Telegram keeps the updates for it."""
    stop = stop_on_signals()
    async with initialized(app):
        await startup(app, catch_up_now=False)
        await app.start()
        catching_up: asyncio.Task[Any] | None = None
        try:
            async with serving(app, urlsplit(url).path, secret, listen, port):
                await app.bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates)
                if ready is not None:
                    ready()
                catching_up = asyncio.create_task(catch_up_safely(app))
                await stop.wait()
        finally:
            if catching_up is not None and not catching_up.done():
                catching_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await catching_up
            await app.stop()
            await shutdown(app)
