"""A photo a person sends on Zalo arrives as a URL on Zalo's servers, which
may not live long: it is downloaded at once and kept as the project's own
(bot/app/media.py), so it reaches a cadre on Telegram as an upload and
anyone on Zalo by the bot's own link.  The URL is remembered as Zalo's
handle for it: the same update delivered twice is not downloaded twice."""

from __future__ import annotations

import logging

import httpx

from bot.app.media import Media, sniff
from bot.domain.channels import ZALO

log = logging.getLogger(__name__)

# What Telegram allows a photo; a Zalo photo is far smaller.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
DOWNLOAD_SECONDS = 20.0


async def keep_photo(http: httpx.AsyncClient, media: Media, url: str) -> int | None:
    """The media id of the photo at ``url``, or None when it cannot be had
    (gone, not an image, too big, no answer): the person is asked again."""
    known = await media.known(ZALO, url)
    if known is not None:
        return known
    content = await _download(http, url)
    if content is None:
        return None
    if not sniff(content).startswith("image/"):
        log.warning("a Zalo photo URL did not answer with an image; the person is asked again")
        return None
    return await media.arrived(ZALO, url, content)


async def _download(http: httpx.AsyncClient, url: str) -> bytes | None:
    try:
        async with http.stream("GET", url, timeout=DOWNLOAD_SECONDS) as response:
            if response.status_code != 200:
                log.warning("a Zalo photo could not be downloaded: HTTP %d", response.status_code)
                return None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_PHOTO_BYTES:
                    log.warning("a Zalo photo over %d bytes was not kept", MAX_PHOTO_BYTES)
                    return None
            return bytes(body) or None
    except httpx.HTTPError as exc:
        # The URL names the photo, not the person: the error's type is enough.
        log.warning("a Zalo photo could not be downloaded: %s", type(exc).__name__)
        return None
