"""How requests reach the fake: in memory (a python-telegram-bot request
class, no sockets) or over HTTP on 127.0.0.1 (tornado)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.sandbox.telegram.api import FakeBotApi
from bot.sandbox.telegram.records import (
    API_PATH,
    FILE_PATH,
    STRING_FIELDS,
    JSONDict,
    SimulatedNetworkFailure,
    UploadedFile,
)


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
        if file_match := FILE_PATH.search(path):
            content = self.api.file_bytes(file_match.group(2))
            return (200, content) if content is not None else (404, b"Not Found")
        api_match = API_PATH.search(path)
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
