"""The fake Zalo Bot API's records and wire helpers: what it keeps of each
call and message, its errors and scripted faults, its limits and the JSON it
speaks, and a sample photo."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import httpx
from PIL import Image

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

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
API_PATH: Final = re.compile(r"/bot([^/]+)/([A-Za-z]+)$")
MEDIA_PATH: Final = re.compile(r"/media/([A-Za-z0-9._-]+)$")
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
IMAGE_MAGIC: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def is_image(content: bytes) -> bool:
    """Zalo shows images only: a URL that answers with an HTML page is refused too."""
    is_webp = content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    return is_webp or content.startswith(IMAGE_MAGIC)


def sample_jpeg(seed: int = 0) -> bytes:
    """A small, decodable JPEG whose bytes differ by `seed`: photos are stored by their hash."""
    colour = ((seed * 67 + 40) % 256, (seed * 131 + 90) % 256, (seed * 29 + 160) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def milliseconds(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)


class SimulatedNetworkFailure(Exception):
    """The request got no answer; `reached` says whether the fake carried it out first."""

    def __init__(self, message: str, *, reached: bool) -> None:
        super().__init__(message)
        self.reached = reached


class ApiError(Exception):
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
class Fault:
    method: str
    chat_id: str | None
    times: int
    error: ApiError | None = None
    raw_body: bytes | None = None  # answered as is, e.g. a proxy's HTML error page
    network: bool = False  # no answer at all

    def matches(self, method: str, params: JSONDict) -> bool:
        return self.method == method and self.chat_id in (None, params.get("chat_id"))


class RawAnswer(Exception):
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


def poll_seconds(value: object) -> float:
    """getUpdates' `timeout`: seconds, as a number or (one client's habit) a numeric string."""
    try:
        seconds = float(value) if isinstance(value, int | float | str) else -1.0
    except ValueError:
        seconds = -1.0
    if isinstance(value, bool) or not 0 <= seconds <= 3600:
        raise ApiError(400, "Bad Request: timeout must be a number of seconds")
    return seconds


def json_params(body: bytes) -> JSONDict:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except ValueError:
        raise ApiError(400, "Bad Request: the body must be JSON") from None
    if not isinstance(params, dict):
        raise ApiError(400, "Bad Request: the body must be a JSON object")
    return params


def json_answer(status: int, body: JSONDict) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode()
