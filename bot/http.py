"""The bot's one HTTP server: every channel's webhook and the media links
(later Open311, /metrics, /healthz), on ``PHANANH_HTTP_HOST`` and
``PHANANH_HTTP_PORT`` behind a reverse proxy that provides the HTTPS.

Routes are registered by the parts that own them (a channel adds its
webhook, the runtime the media route) before the server listens; any other
path is answered 404, another method 405.

Why Starlette and uvicorn (rather than aiohttp's server, or the tornado
server python-telegram-bot ships for its own webhook):

- one ASGI application, which the tests call in process through
  ``httpx.ASGITransport`` and over a real socket alike;
- uvicorn's flow control stops reading a request body nobody asked for
  (at most 64 KiB are buffered), so a webhook can refuse on the headers
  alone and keep a large unread body out of memory;
- the routes to come (Open311's JSON, metrics, a health check, a small
  dashboard) are what Starlette is made for, and both are small, typed and
  well kept.

Nothing here is imported before the server is needed: the server listens
only when a route asks for it (a webhook) or the bot has a public URL
(media links point at it), so long polling starts without Starlette and
uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Mapping

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

Endpoint = Callable[["Request"], Awaitable["Response"]]
# A media token -> the bytes and their MIME type, or None (unknown, expired).
MediaLookup = Callable[[str], Awaitable[tuple[bytes, str] | None]]

# A file's token -> its bytes, MIME type and name, or None (unknown, expired).
FileLookup = Callable[[str], tuple[bytes, str, str] | None]

# Pictures a browser shows and never runs: the only stored bytes served inline.
PICTURES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Every answer carrying stored bytes: no type sniffing, and were it ever
# opened as a document, nothing in it runs or loads (a sandbox of its own).
STORED = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
IDLE_TIMEOUT = 120.0  # seconds a kept-alive connection may sit idle
STOP_GRACE = 5.0  # seconds stopping waits for requests under way
MEDIA_PATH = "/media"
FILES_PATH = "/files"


@dataclass(frozen=True)
class Route:
    path: str
    endpoint: Endpoint
    methods: tuple[str, ...]
    # Whether this route alone is a reason to listen (a webhook is; the
    # media route is only with a public URL).
    listen: bool


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port  # the port asked for; once listening, the one bound
        self._routes: list[Route] = []
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    # ---- routes -----------------------------------------------------------------------------

    def add_route(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        methods: Sequence[str] = ("GET",),
        listen: bool = True,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a route's path starts with '/': {path!r}")
        if any(route.path == path for route in self._routes):
            raise ValueError(f"{path} is served already")
        if self._server is not None:
            raise RuntimeError("routes are added before the server listens")
        self._routes.append(Route(path, endpoint, tuple(methods), listen))

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    @property
    def wanted(self) -> bool:
        """Some route needs the server to listen."""
        return any(route.listen for route in self._routes)

    def asgi(self) -> Starlette:
        """The ASGI application of the routes added so far."""
        from starlette.applications import Starlette
        from starlette.routing import Route as StarletteRoute

        routes = [
            StarletteRoute(route.path, route.endpoint, methods=list(route.methods))
            for route in self._routes
        ]
        app = Starlette(routes=routes)
        # "/hook/" is not "/hook": no redirect that a webhook sender would not follow.
        app.router.redirect_slashes = False
        app.add_middleware(NoSniff)
        return app

    # ---- the life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (an OSError when it cannot: the port is
        taken, the address is not this machine's) and serve."""
        import uvicorn

        config = uvicorn.Config(
            self.asgi(),
            http="h11",
            ws="none",
            lifespan="off",
            # Our own modules log what matters, without bodies or addresses.
            access_log=False,
            log_config=None,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=int(IDLE_TIMEOUT),
            timeout_graceful_shutdown=int(STOP_GRACE),
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)  # what `serve` would set: off
        listening = listening_socket(self.host, self.port)
        try:
            # Called directly rather than through `serve`, which would take
            # over SIGINT and SIGTERM (the runtime stops on them itself) and
            # poll for the stop every 100 ms.
            await server.startup(sockets=[listening])
        except BaseException:
            listening.close()
            raise
        self._server, self._socket = server, listening
        self.port = int(listening.getsockname()[1])
        log.info("serving HTTP on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Take no more connections; let the requests under way finish."""
        server, self._server = self._server, None
        if server is None:
            return
        server.should_exit = True
        await server.shutdown(sockets=[self._socket] if self._socket else None)
        self._socket = None

    @property
    def listening(self) -> bool:
        return self._server is not None


class NoSniff:
    """Every answer says ``X-Content-Type-Options: nosniff`` (a city's IT
    scans for it): a JSON error, a webhook's 403, a 404 in Starlette's own
    words — a browser takes each for the type it says, never for HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)


def stored_bytes(content: bytes, mime: str, name: str, cache: str) -> Response:
    """Bytes someone sent or the bot made, on the bot's own origin (where
    the dashboard's session lives): a picture shown inline; anything else
    (an SVG, HTML, a PDF, a spreadsheet) only downloaded as ``name``."""
    from starlette.responses import Response

    headers = {**STORED, "Cache-Control": cache}
    if mime.split(";", 1)[0].strip().lower() not in PICTURES:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=mime, headers=headers)


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here so that a port in use is an OSError
    for the caller (uvicorn would log it and exit the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.create_server((host, port), family=family, backlog=128)
    listening.setblocking(False)
    return listening


def add_media_route(server: HttpServer, lookup: MediaLookup) -> None:
    """``GET /media/{token}``: a stored photo at an unguessable, expiring
    link (for channels that send photos by URL).  Served only when the bot
    has a public URL, so the route alone is no reason to listen."""

    async def media(request: Request) -> Response:
        from starlette.responses import Response

        found = await lookup(str(request.path_params["token"]))
        if found is None:
            return Response(status_code=404)
        content, mime = found
        return stored_bytes(content, mime, "photo", "private")

    server.add_route(MEDIA_PATH + "/{token}", media, listen=False)


def add_files_route(server: HttpServer, lookup: FileLookup) -> None:
    """``GET /files/{token}/{name}``: a file the bot made for one person (an
    export, /mydata, a chart), at a random link that expires, downloaded
    under its name.  Like the media route, no reason to listen on its own."""

    async def files(request: Request) -> Response:
        from starlette.responses import Response

        found = lookup(str(request.path_params["token"]))
        if found is None:
            return Response(status_code=404)
        content, mime, name = found
        return stored_bytes(content, mime, name, "private, no-store")

    server.add_route(FILES_PATH + "/{token}/{name}", files, listen=False)


# ---- webhooks ---------------------------------------------------------------------------------

# A webhook's update is a few kilobytes: a megabyte is far beyond any of them.
MAX_BODY = 1 << 20
BODY_TIMEOUT = 30.0  # seconds a client may take to send a body


def length_refusal(headers: Mapping[str, str], max_body: int = MAX_BODY) -> tuple[int, str] | None:
    """What the declared length alone decides, before any of the body is
    read: none declared (411), or more than ``max_body`` (413)."""
    length = headers.get("Content-Length")
    if length is None:
        return 411, "no Content-Length"
    # ASCII digits only: "²" is a digit to str.isdigit but not to int().
    if not (length.isascii() and length.isdigit()) or int(length) > max_body:
        return 413, f"a body over {max_body} bytes"
    return None


async def read_body(
    request: Request, max_body: int = MAX_BODY, seconds: float = BODY_TIMEOUT
) -> bytes | tuple[int, str]:
    """A webhook request's body — or why it was refused: not all there
    within ``seconds`` (408), the client left mid-body (400), more than ``max_body`` whatever
    the framing said (413)."""
    from starlette.requests import ClientDisconnect

    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return 413, f"a body over {max_body} bytes"
    except TimeoutError:
        return 408, "the body was too slow"
    except ClientDisconnect:
        return 400, "the client left mid-body"
    return bytes(body)
