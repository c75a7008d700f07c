"""Photos are the project's own: kept once when they arrive, handed to each
channel its own way.

A channel that receives a photo downloads it at once (a Zalo photo URL may
not live; a Telegram file id means nothing to Zalo) and keeps the bytes
here, once per content (by SHA-256), with its own handle for them — so the
same photo is downloaded once, and sending it back on that channel reuses
the handle.  Another channel uploads the bytes (Telegram, which then hands
back a file id to cache) or sends a link to them: `signed_path` makes an
unguessable link that expires (HMAC-SHA256 over the media id and the
expiry), `MediaLinks.media_response` answers it for the web server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from bot.domain.clock import Clock
from bot.domain.complaints import Photo
from bot.ports import MediaStore, StoredMedia

log = logging.getLogger(__name__)

MEDIA_PATH = "/media/"
# How long a link to a photo works: long enough for a channel to fetch it
# (Zalo fetches the link it is given when the photo is sent).
LINK_LIFETIME = timedelta(hours=24)
# The type assumed for a photo known only by a channel's handle.
JPEG = "image/jpeg"

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff(content: bytes, declared: str | None = None) -> str:
    """The type of an image by its first bytes; else what the sender
    declared; else a generic one (served as a download, never rendered)."""
    for magic, mime in _MAGIC:
        if content.startswith(magic):
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return declared or "application/octet-stream"


def is_picture(content: bytes) -> bool:
    """Whether these bytes are an image every channel shows as a photo (a
    file that only says it is one may be a PDF, empty, or HEIC)."""
    return sniff(content).startswith("image/")


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Media:
    """Keeping photos and finding them again; each channel's handles."""

    def __init__(self, store: MediaStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def keep(self, content: bytes, mime: str | None = None) -> int:
        """The media id of these bytes (identical bytes are stored once)."""
        return await self.store.put_media(
            digest_of(content), content, sniff(content, mime), self.clock.now()
        )

    async def known(self, channel: str, ref: str) -> int | None:
        """The media a channel's handle names, if it arrived before: it
        need not be downloaded again."""
        return await self.store.media_of_ref(channel, ref)

    async def arrived(self, channel: str, ref: str, content: bytes, mime: str | None = None) -> int:
        """A photo a channel downloaded: its bytes kept, its handle remembered."""
        media_id = await self.keep(content, mime)
        await self.store.remember_media_ref(media_id, channel, ref, self.clock.now())
        return media_id

    async def handle_only(self, channel: str, ref: str, mime: str | None = None) -> int:
        """A photo whose bytes could not be fetched: kept by its handle
        alone, so it still reaches people on that channel."""
        return await self.store.adopt_media_ref(channel, ref, mime or JPEG, self.clock.now())

    async def content(self, media_id: int) -> StoredMedia | None:
        return await self.store.media_content(media_id)

    async def refs(self, media_ids: Sequence[int], channel: str) -> dict[int, str]:
        return await self.store.media_refs(media_ids, channel)

    async def remember(self, media_id: int, channel: str, ref: str) -> None:
        """A channel's handle for bytes it was sent (Telegram's file id
        after an upload), to reuse next time."""
        await self.store.remember_media_ref(media_id, channel, ref, self.clock.now())

    async def photos(self, raw: Iterable[object]) -> list[Photo]:
        """Photos as a draft or a notice holds them: media ids — or, in what
        was saved before photos were kept, [channel, file id] pairs (or
        {"channel", "file_ref"} objects), each taken in by its handle."""
        out = []
        for value in raw:
            if isinstance(value, int) and not isinstance(value, bool):
                out.append(Photo(value))
                continue
            pair = _legacy_pair(value)
            if pair is None:
                log.error("a photo in an unknown form is skipped: %r", value)
                continue
            out.append(Photo(await self.handle_only(*pair)))
        return out


def _legacy_pair(value: object) -> tuple[str, str] | None:
    if isinstance(value, dict) and "channel" in value and "file_ref" in value:
        return str(value["channel"]), str(value["file_ref"])
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None


# ---- links that expire ------------------------------------------------------------------------

_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")
# Used when no secret is configured: links then live as long as the process.
_PROCESS_SECRET = secrets.token_bytes(32)


def media_secret(configured: str) -> bytes:
    """The key that signs media links: the configured one
    (``PHANANH_MEDIA_SECRET``), else one drawn at random for this process."""
    return configured.encode() if configured else _PROCESS_SECRET


def _signature(body: str, secret: bytes) -> str:
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def signed_path(media_id: int, expires_at: datetime, secret: bytes) -> str:
    """``/media/<id>.<expiry>.<signature>``: a link nobody can make or alter
    without the secret, refused once ``expires_at`` has passed."""
    body = f"{media_id}.{int(expires_at.timestamp())}"
    return f"{MEDIA_PATH}{body}.{_signature(body, secret)}"


def verify(path: str, now: datetime, secret: bytes) -> int | None:
    """The media id a link names — or None when it was not made with this
    secret, was altered, or has expired.  Takes the path or its last part."""
    token = path.removeprefix(MEDIA_PATH)
    match = _TOKEN.match(token)
    if match is None:
        return None
    media, expiry, signature = match.groups()
    if not hmac.compare_digest(_signature(f"{media}.{expiry}", secret), signature):
        return None
    if now.timestamp() >= int(expiry):
        return None
    return int(media)


class MediaLinks:
    """Links to kept photos for channels that send photos by URL (Zalo's
    sendPhoto fetches the URL it is given), and the answer to them."""

    def __init__(
        self,
        store: MediaStore,
        clock: Clock,
        secret: bytes,
        public_url: str = "",
        lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        self.store = store
        self.clock = clock
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime

    def link(self, media_id: int) -> str:
        """The full URL, under ``PHANANH_PUBLIC_URL``, valid for `lifetime`."""
        expires = self.clock.now() + self.lifetime
        return self.public_url + signed_path(media_id, expires, self.secret)

    async def media_response(self, token: str) -> tuple[bytes, str] | None:
        """What ``GET /media/{token}`` serves: the bytes and their type, or
        None (the route answers 404) for a link that is forged, altered or
        expired, or a photo whose bytes are not kept."""
        media_id = verify(token, self.clock.now(), self.secret)
        if media_id is None:
            return None
        stored = await self.store.media_content(media_id)
        return (stored.content, stored.mime) if stored is not None else None


# ---- files made for one person ----------------------------------------------------------------

FILES_PATH = "/files/"
# A file the bot made for someone (an export, /mydata, a digest's chart)
# lives this long at its link: long enough to open it from the chat.
FILE_LIFETIME = timedelta(hours=1)
# At most this much is held at once; the oldest files go first.
FILES_MAX_BYTES = 64 * 1024 * 1024
_FILE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class TemporaryFiles:
    """Files the bot made for one person, for a channel that can send no
    file (Zalo takes photos by URL only): each at a random, unguessable
    link under ``PHANANH_PUBLIC_URL`` that works for `FILE_LIFETIME`.  They
    are held in this process's memory only, never written down — they may
    hold personal data (an export with residents' names, someone's
    /mydata) — so a restart ends their links too."""

    def __init__(
        self,
        clock: Clock,
        public_url: str = "",
        lifetime: timedelta = FILE_LIFETIME,
        limit: int = FILES_MAX_BYTES,
    ) -> None:
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime
        self.limit = limit
        self._files: OrderedDict[str, tuple[bytes, str, str, datetime]] = OrderedDict()

    def put(self, content: bytes, mime: str, filename: str) -> tuple[str, datetime]:
        """The link to ``content`` (named ``filename`` when downloaded), and
        when it stops working."""
        self._expire()
        token = secrets.token_urlsafe(32)
        expires = self.clock.now() + self.lifetime
        self._files[token] = (content, mime, filename, expires)
        while sum(len(f[0]) for f in self._files.values()) > self.limit and len(self._files) > 1:
            self._files.popitem(last=False)
        return f"{self.public_url}{FILES_PATH}{token}/{quote(filename)}", expires

    def get(self, token: str) -> tuple[bytes, str, str] | None:
        """The bytes, type and name a link names; None once it has expired."""
        self._expire()
        if not _FILE_TOKEN.match(token):
            return None
        found = self._files.get(token)
        return None if found is None else found[:3]

    def _expire(self) -> None:
        now = self.clock.now()
        for token in [t for t, f in self._files.items() if f[3] <= now]:
            del self._files[token]
