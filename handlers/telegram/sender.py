"""The channel-neutral messages of an outbox row (bot/app/outgoing.py) as
Bot API calls: texts split as Telegram measures them with the choices as
inline buttons on the last piece, photos as albums of at most ten with the
complaint's code in their caption, places as venue pins, files as uploads,
and earlier keyboards redrawn.

Each call is a `Part` with a key of its own (the message's key, and the
piece's number where one message takes several calls), so the outbox
records each as Telegram accepts it and a retry sends only the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from telegram import Bot, InlineKeyboardMarkup, InputFile, ReplyKeyboardRemove
from telegram.error import BadRequest

from bot.app.outgoing import FileOut, LocationOut, Outgoing, PhotosOut, RefreshOut, TextOut
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.ports import OutboxItem
from handlers.telegram.photos import send_photos
from handlers.telegram.render import CAPTION_LIMIT, choices_markup, clip, split_message

log = logging.getLogger(__name__)

ALBUM_MAX = 10  # photos in one sendMediaGroup
ADDRESS_LIMIT = 200  # a venue's address


def chat_of(item: OutboxItem) -> int:
    """The Telegram chat an outbox row goes to: the account the store chose
    for it (the one on this channel the person used last)."""
    assert item.account is not None  # the store only returns rows with an account
    return int(item.account.external_id)


@dataclass(frozen=True)
class Part:
    """One send of a row: a text (or a piece of one), a photo or an album,
    a pin, a file, a redraw.  ``key`` names it within the row, the same on
    every attempt."""

    key: str
    send: Callable[[], Awaitable[object]]
    optional: bool = False  # a photo or a pin: refused, it is skipped
    buttons_of: int | None = None  # it carries this complaint's buttons


class TelegramSender:
    """Renders messages for one person's chat."""

    def __init__(self, bot: Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    def parts(self, chat_id: int, actor: Actor, messages: Sequence[Outgoing]) -> list[Part]:
        out: list[Part] = []
        for message in messages:
            if isinstance(message, TextOut):
                out += self._text(chat_id, message)
            elif isinstance(message, PhotosOut):
                out += self._photos(chat_id, message)
            elif isinstance(message, LocationOut):
                out.append(self._location(chat_id, message))
            elif isinstance(message, FileOut):
                out.append(Part(message.key, partial(self._file, chat_id, message)))
            else:
                out.append(Part(message.key, partial(self._refresh, actor, message)))
        return out

    def _text(self, chat_id: int, message: TextOut) -> list[Part]:
        """A text in as many messages as Telegram needs (measured as it
        measures), the buttons on the last."""
        markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None = choices_markup(message.choices)
        if markup is None and message.closes_prompt:
            markup = ReplyKeyboardRemove()
        pieces = split_message(message.body)
        last = len(pieces) - 1
        return [
            Part(
                f"{message.key}:{n}",
                partial(
                    self.bot.send_message,
                    chat_id,
                    piece,
                    reply_markup=markup if n == last else None,
                ),
                buttons_of=message.about
                if n == last and isinstance(markup, InlineKeyboardMarkup)
                else None,
            )
            for n, piece in enumerate(pieces)
        ]

    def _photos(self, chat_id: int, message: PhotosOut) -> list[Part]:
        """Photos forwarded with the complaint's code in their caption (an
        album with none cannot be matched to its task on a phone); albums of
        at most ten."""
        caption = clip(message.caption, CAPTION_LIMIT)
        media = self.services.media
        return [
            Part(
                f"{message.key}:{n}",
                partial(
                    send_photos,
                    self.bot,
                    media,
                    chat_id,
                    message.media[start : start + ALBUM_MAX],
                    caption,
                ),
                optional=True,
            )
            for n, start in enumerate(range(0, len(message.media), ALBUM_MAX))
        ]

    def _location(self, chat_id: int, message: LocationOut) -> Part:
        send = partial(
            self.bot.send_venue,
            chat_id,
            latitude=message.lat,
            longitude=message.lon,
            title=message.title,
            address=clip(message.address, ADDRESS_LIMIT),
        )
        return Part(message.key, send, optional=True)

    async def _file(self, chat_id: int, message: FileOut) -> object:
        """A file the bot made, uploaded: an image as a photo, else as a document."""
        upload = InputFile(await message.content(), filename=message.filename)
        caption = clip(message.caption, CAPTION_LIMIT)
        if message.mime.startswith("image/"):
            return await self.bot.send_photo(chat_id, upload, caption=caption or None)
        return await self.bot.send_document(chat_id, upload, caption=caption or None)

    async def _refresh(self, actor: Actor, message: RefreshOut) -> None:
        """Redraw (or remove) the buttons this person still has on the
        complaint's earlier messages, so a stale keyboard cannot mislead."""
        keyboard = choices_markup(message.choices)
        for sent in await self.services.open_button_messages(message.complaint_id, actor.person_id):
            try:
                await self.bot.edit_message_reply_markup(
                    chat_id=int(sent.chat_id),
                    message_id=int(sent.message_id),
                    reply_markup=keyboard,
                )
            except BadRequest as exc:
                # "message is not modified" / "message to edit not found":
                # either way there is nothing stale left to fix.
                log.debug("keyboard refresh skipped: %s", exc.message)
            if keyboard is None:
                await self.services.button_message_cleared(sent.id)
