"""The bot's one HTTP server (bot/http.py): routes registered by the parts
that own them, anything else 404, the media route, and where it listens
(PHANANH_HTTP_HOST and PHANANH_HTTP_PORT; only when something needs it).

Telegram's webhook on it, with every guarantee it has, is tests/test_webhook.py
(and the kill -9 case in tests/test_crash.py)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from bot.app.media import TemporaryFiles
from bot.config import ConfigError, load_settings
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.http import HttpServer, add_files_route, add_media_route, length_refusal
from bot.runtime import running
from bot.sandbox.telegram import FakeBotApi
from handlers.telegram.channel import Polling, Webhook
from tests.factories import fake_telegram, load_chart, settings_for

PHOTO = b"\x89PNG\r\n\x1a\n a photo"


async def echo(request: Request) -> Response:
    return Response(f"{request.method} {request.url.path}", media_type="text/plain")


async def lookup(token: str) -> tuple[bytes, str] | None:
    """A media store that knows one link (the media part's real one signs and expires them)."""
    return (PHOTO, "image/png") if token == "good-token" else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def db_path(tmp_path: Path, chart: OrgChart) -> Path:
    path = tmp_path / "bot.db"
    await load_chart(path, chart)
    return path


async def test_each_route_is_served_by_its_owner_and_anything_else_is_404() -> None:
    """In process, through the ASGI application."""
    server = HttpServer("127.0.0.1", 0)
    server.add_route("/telegram", echo, methods=["POST"])
    add_media_route(server, lookup)
    transport = httpx.ASGITransport(app=server.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        hook = await client.post("/telegram")
        photo = await client.get("/media/good-token")
        expired = await client.get("/media/bad-token")
        nowhere = await client.get("/nowhere")
        slash = await client.post("/telegram/")
        wrong_method = await client.get("/telegram")
        posted_media = await client.post("/media/good-token")
    assert (hook.status_code, hook.text) == (200, "POST /telegram")
    assert (photo.status_code, photo.content) == (200, PHOTO)
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["cache-control"] == "private"
    assert [r.status_code for r in (expired, nowhere, slash)] == [404, 404, 404]
    assert [r.status_code for r in (wrong_method, posted_media)] == [405, 405]


async def test_stored_bytes_that_are_a_web_page_are_downloaded_never_shown(
    clock: ManualClock,
) -> None:
    """/media and /files answer on the dashboard's own origin: a "photo"
    kept with the type text/html, or a file made as SVG, was shown by the
    browser as a page of the bot's site (its script able to read the
    dashboard with the leader's cookie).  Now only a picture is shown
    inline; anything else is a download, never sniffed, sandboxed."""
    page = b"<html><script>fetch('/web/tasks')</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'

    async def kept(token: str) -> tuple[bytes, str] | None:
        return {"page": (page, "text/html"), "photo": (PHOTO, "image/png")}.get(token)

    files = TemporaryFiles(clock, "https://bot.example.org")
    drawn, _ = files.put(svg, "image/svg+xml", "bản đồ.svg")
    chart, _ = files.put(PHOTO, "image/png", "chart.png")
    server = HttpServer("127.0.0.1", 0)
    add_media_route(server, kept)
    add_files_route(server, files.get)
    transport = httpx.ASGITransport(app=server.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.org") as client:
        as_media = await client.get("/media/page")
        as_file = await client.get(drawn.removeprefix("https://bot.example.org"))
        photo = await client.get("/media/photo")
        shown = await client.get(chart.removeprefix("https://bot.example.org"))
        nowhere = await client.get("/nowhere")
    for download in (as_media, as_file):
        assert download.headers["content-disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''b%E1%BA%A3n%20%C4%91%E1%BB%93.svg"
        in as_file.headers["content-disposition"]
    )
    for answer in (as_media, as_file, photo, shown):
        assert answer.status_code == 200
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in answer.headers["content-security-policy"]
    for picture in (photo, shown):
        assert "content-disposition" not in picture.headers
    assert nowhere.status_code == 404 and nowhere.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("length", ["\u00b2", "\u0663", "\uff11\uff12", "+5", "-1", " 12"])
def test_a_length_not_in_plain_digits_is_refused_not_a_crash(length: str) -> None:
    """Content-Length "²" (Latin-1 0xB2) passed str.isdigit and int() then
    raised: a 500 under an ASGI server that lets it through (uvicorn's h11
    refuses it first).  Any length not in ASCII digits is 413, unread."""
    assert length_refusal({"Content-Length": length}) == (413, "a body over 1048576 bytes")


def test_a_route_is_added_once_with_its_path_before_the_server_listens() -> None:
    server = HttpServer("127.0.0.1", 0)
    server.add_route("/telegram", echo, methods=["POST"])
    with pytest.raises(ValueError, match="served already"):
        server.add_route("/telegram", echo)
    with pytest.raises(ValueError, match="starts with"):
        server.add_route("zalo", echo)
    assert [route.path for route in server.routes] == ["/telegram"]


def test_only_a_webhook_makes_the_server_listen() -> None:
    server = HttpServer("127.0.0.1", 0)
    add_media_route(server, lookup)
    assert not server.wanted, "media links are served only with a public URL"
    server.add_route("/telegram", echo, methods=["POST"])
    assert server.wanted


async def test_the_server_listens_on_the_configured_host_and_port_and_lets_go_of_it(
    db_path: Path, clock: ManualClock
) -> None:
    """PHANANH_HTTP_HOST and PHANANH_HTTP_PORT, read like every setting; a
    public URL is reason enough to listen (media links point at it)."""
    port = free_port()
    settings = load_settings(
        environ={
            "PHANANH_DB": str(db_path),
            "PHANANH_HTTP_HOST": "127.0.0.1",
            "PHANANH_HTTP_PORT": str(port),
            "PHANANH_PUBLIC_URL": "https://example.org/phananh/",
            "PHANANH_HOLIDAYS": "2026-01-01,2027-01-01",
        }
    )
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", port)
    assert settings.public_url == "https://example.org/phananh"
    async with running(settings, clock=clock, channels=[]) as runtime:
        assert runtime.http.listening and runtime.http.port == port
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/nowhere")
            media = await client.get(f"http://127.0.0.1:{port}/media/unknown")
    assert (answer.status_code, media.status_code) == (404, 404)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # stopped: the port is free again


async def test_long_polling_without_a_public_url_opens_no_port(
    db_path: Path, clock: ManualClock
) -> None:
    api = FakeBotApi()
    settings = settings_for(db_path, http_port=free_port())
    channel = fake_telegram(api, Polling())
    async with running(settings, clock=clock, channels=[channel]) as runtime:
        assert not runtime.http.listening
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", settings.http_port))  # nobody holds it


async def test_a_webhook_on_a_port_in_use_fails_before_telegram_is_asked_anything(
    db_path: Path, clock: ManualClock
) -> None:
    api = FakeBotApi()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = settings_for(db_path, http_port=taken.getsockname()[1])
        channel = fake_telegram(api, Webhook("https://example.org/hook", "secret"))
        with pytest.raises(OSError, match="in use") as refused:
            async with running(settings, clock=clock, channels=[channel]):
                pass
    assert refused.value.errno == errno.EADDRINUSE
    assert api.calls == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PHANANH_HTTP_PORT", "eighty", "http_port must be a whole number"),
        ("PHANANH_HTTP_PORT", "70000", "http_port must be between 0 and 65535"),
        ("PHANANH_HTTP_HOST", " ", "http_host must name an address"),
        ("PHANANH_PUBLIC_URL", "example.org/bot", "public_url must look like"),
        ("PHANANH_PUBLIC_URL", "ftp://example.org", "public_url must look like"),
    ],
)
def test_a_bad_http_setting_is_one_clear_line(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={variable: value})
