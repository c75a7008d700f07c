"""Photos in and out of Telegram, as the project's own (bot/app/media.py).

In: a photo a resident or cadre sends is downloaded at once (getFile and
the file's URL) and kept, with its file id as Telegram's handle for it — a
file id already seen is not downloaded again.  Out: a photo goes by its
cached file id when Telegram has one, else its bytes are uploaded and the
file id Telegram hands back is cached for next time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, InputFile, InputMediaPhoto, Message
from telegram.error import TelegramError

from bot.app.media import Media, is_picture
from bot.domain.channels import TELEGRAM as CHANNEL
from bot.ports import StoredMedia

log = logging.getLogger(__name__)

_SUFFIXES = {"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


async def keep_photo(bot: Bot, media: Media, file_id: str, mime: str | None = None) -> int:
    """The media id of a photo that arrived: downloaded and kept the first
    time its file id is seen.  When the download fails the file id alone is
    kept: the photo then still reaches people on Telegram."""
    known = await media.known(CHANNEL, file_id)
    if known is not None:
        return known
    try:
        file = await bot.get_file(file_id)
        content = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("a photo could not be downloaded, kept by its file id: %s", exc)
        return await media.handle_only(CHANNEL, file_id, mime)
    return await media.arrived(CHANNEL, file_id, content, mime)


async def keep_photo_file(bot: Bot, media: Media, file_id: str, mime: str | None) -> int | None:
    """The media id of a photo sent "as file" (a document), or None when
    its bytes are not a picture or cannot be fetched.  Only the bytes are
    kept, never the document's file id: Telegram will not send a
    document's file id as a photo, so the photo is uploaded instead."""
    try:
        file = await bot.get_file(file_id)
        content = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("a photo sent as a file could not be downloaded: %s", exc)
        return None
    return await media.keep(content, mime) if is_picture(content) else None


async def send_photos(
    bot: Bot, media: Media, chat_id: int, group: Sequence[int], caption: str
) -> Message | tuple[Message, ...] | None:
    """One photo, or an album of up to ten, the caption on the first; each
    by its cached file id, else uploaded (and the new file id cached).  A
    photo Telegram has no file id for and whose bytes are not kept (erased
    by /forget) is left out; with none left, nothing is sent."""
    refs = await media.refs(group, CHANNEL)
    found: list[tuple[int, str | StoredMedia]] = []
    for media_id in group:
        stored = refs.get(media_id) or await media.content(media_id)
        if stored is None:
            log.warning("photo %s has neither a Telegram file id nor bytes: left out", media_id)
            continue
        found.append((media_id, stored))
    if not found:
        return None
    # In an album each upload is a part of its own, named by attach://.
    items = [(media_id, _photo(media_id, what, len(found) > 1)) for media_id, what in found]
    sent: Message | tuple[Message, ...]
    if len(items) == 1:
        sent = await bot.send_photo(chat_id, items[0][1], caption=caption)
        messages: Sequence[Message] = (sent,)
    else:
        album = [
            InputMediaPhoto(photo, caption=caption if i == 0 else None)
            for i, (_, photo) in enumerate(items)
        ]
        sent = messages = await bot.send_media_group(chat_id, album)
    for (media_id, photo), message in zip(items, messages, strict=False):
        if isinstance(photo, InputFile) and message.photo:
            await media.remember(media_id, CHANNEL, message.photo[-1].file_id)
    return sent


def _photo(media_id: int, what: str | StoredMedia, attach: bool) -> str | InputFile:
    """A file id as it is; kept bytes as an upload."""
    if isinstance(what, str):
        return what
    name = f"photo-{media_id}{_SUFFIXES.get(what.mime, '.jpg')}"
    return InputFile(what.content, filename=name, attach=attach)
