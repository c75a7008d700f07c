"""How requests reach the fake: httpx straight in (no sockets, idle polls
answered at once) or HTTP on 127.0.0.1 (long polls really wait)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from bot.sandbox.zalo.api import FakeZaloApi
from bot.sandbox.zalo.records import (
    SimulatedNetworkFailure,
)


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
