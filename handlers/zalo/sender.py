"""Sending on Zalo: what the bot says, as Bot API calls.

- A text goes in pieces of at most 2,000 characters (split.py), its
  choices numbered under it; once the last piece is accepted the numbers
  are remembered for the person (bot/ports.py `Menu`).
- Photos go one by one by URL (Zalo has no albums and takes no uploads),
  each at a signed link to the kept photo that expires (bot/app/media.py),
  the complaint's code in the first one's caption.  A photo whose bytes
  are not kept (known to Telegram alone, or erased by /forget) is left out.
- A place is a line with a map link (Zalo has no location messages),
  inside the task card that follows it.
- A file the bot made goes by link too: an image (the digest's chart) as a
  photo, anything else (CSV, Excel, /mydata) as a link that expires.
- "Redraw the buttons of complaint N" means nothing here: no part.

Every call waits for the pacer's turn (`PHANANH_ZALO_RATE`).  The same
parts serve the outbox (`ZaloTransport`, over the shared delivery loop of
bot/app/outbox.py) and the direct answers to what a person typed
(handlers/zalo/intake.py).  The errors mean: 429 and 5xx (and no answer)
try again later with backoff, a 429 also slows every send a moment; any
other 4xx refuses this message for good (a photo or a place so refused is
skipped); after three refusals in a row the account counts as unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import partial

from bot.app.media import MediaLinks, TemporaryFiles
from bot.app.notify import Room
from bot.app.outbox import Failure, Part, Verdict
from bot.app.outgoing import FileOut, LocationOut, Outgoing, PhotosOut, RefreshOut, TextOut
from bot.app.pacing import Pacer
from bot.app.services import Reply, Services
from bot.domain.authz import Actor
from bot.domain.channels import ZALO
from bot.ports import MenuStore, OutboxItem
from handlers.zalo.client import (
    ZaloBotClient,
    ZaloNetworkError,
    ZaloPermanentError,
    ZaloTransientError,
    ZaloUnauthorized,
)
from handlers.zalo.render import MenuItem, ZaloRenderer
from handlers.zalo.split import ZALO_TEXT_LIMIT, split_text

log = logging.getLogger(__name__)

# What one Zalo message holds: a list of tasks is cut to this.
ZALO_ROOM = Room(ZALO_TEXT_LIMIT)
CAPTION_LIMIT = 2000
# A 429: every send of the channel waits this long (Zalo says not how long).
SLOW_DOWN = 1.0
# Refusals in a row to one account before it counts as unreachable: Zalo
# gives no sign of a person who blocked the bot, only refusals.
REFUSALS_BEFORE_UNREACHABLE = 3
MAP_URL = "https://www.google.com/maps?q={lat:.6f},{lon:.6f}"


def clip(value: str, limit: int = CAPTION_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class ZaloOut:
    """Renders what the bot says to one person into Zalo calls (`Part`s)."""

    def __init__(
        self,
        client: ZaloBotClient,
        services: Services,
        render: ZaloRenderer,
        pacer: Pacer,
        media: MediaLinks,
        files: TemporaryFiles,
        menus: MenuStore,
    ) -> None:
        self.client = client
        self.services = services
        self.render = render
        self.pacer = pacer
        self.media = media
        self.files = files
        self.menus = menus

    def parts(self, chat_id: str, actor: Actor, items: Sequence[Outgoing | Reply]) -> list[Part]:
        out: list[Part] = []
        items = self._places_folded(actor, items)
        for item in items:
            if isinstance(item, Reply):
                out += self._reply(chat_id, actor, item)
            elif isinstance(item, TextOut):
                out += self._text(chat_id, actor, item)
            elif isinstance(item, PhotosOut):
                out += self._photos(chat_id, item)
            elif isinstance(item, LocationOut):
                out.append(self._place(chat_id, actor, item))
            elif isinstance(item, FileOut):
                out.append(Part(item.key, partial(self._file, chat_id, actor, item)))
            else:
                assert isinstance(item, RefreshOut)  # nothing to redraw on Zalo
        return out

    def _places_folded(
        self, actor: Actor, items: Sequence[Outgoing | Reply]
    ) -> list[Outgoing | Reply]:
        """A place followed by its text (a task card) goes inside that text,
        as a map link: the card stays one message, with everything a cadre
        needs (Zalo has no location messages to show it apart)."""
        folded: list[Outgoing | Reply] = []
        for n, item in enumerate(items):
            after = items[n + 1] if n + 1 < len(items) else None
            if isinstance(item, LocationOut) and isinstance(after, TextOut):
                continue
            before = items[n - 1] if n else None
            if isinstance(item, TextOut) and isinstance(before, LocationOut):
                url = MAP_URL.format(lat=before.lat, lon=before.lon)
                line = self.render.present.t(actor.language, "task.map_zalo", url=url)
                item = replace(item, body=f"{item.body}\n{line}")
            folded.append(item)
        return folded

    # ---- the calls --------------------------------------------------------------------------

    async def send_text(self, chat_id: str, text: str) -> object:
        await self.pacer.turn()
        return await self.client.send_message(chat_id, text)

    async def send_photo(self, chat_id: str, url: str, caption: str | None) -> object:
        await self.pacer.turn()
        return await self.client.send_photo(chat_id, url, clip(caption) if caption else None)

    def _pieces(
        self, key: str, chat_id: str, body: str, last: Callable[[object], Awaitable[None]] | None
    ) -> list[Part]:
        """A text in as many messages as Zalo needs, ``last`` told when the
        last is accepted."""
        pieces = split_text(body)
        return [
            Part(
                f"{key}:{n}",
                partial(self.send_text, chat_id, piece),
                accepted=last if n == len(pieces) - 1 else None,
            )
            for n, piece in enumerate(pieces)
        ]

    # ---- messages ---------------------------------------------------------------------------

    def _reply(self, chat_id: str, actor: Actor, reply: Reply) -> list[Part]:
        """A service's reply; with a question, a number typed next answers it."""
        body = self.render.reply(actor.language, reply)
        shown = self._prompt_shown(actor) if reply.prompt is not None else None
        return self._pieces("reply", chat_id, body, shown)

    def _text(self, chat_id: str, actor: Actor, message: TextOut) -> list[Part]:
        numbered = self.render.with_choices(actor.language, message.body, message.choices)
        remember = self._remember(actor, numbered.items) if numbered.items else None
        return self._pieces(message.key, chat_id, numbered.body, remember)

    def _remember(
        self, actor: Actor, items: Sequence[MenuItem]
    ) -> Callable[[object], Awaitable[None]]:
        async def remember(_: object) -> None:
            await self.menus.remember_menu(actor.person_id, ZALO, items, self.services.now())

        return remember

    def _prompt_shown(self, actor: Actor) -> Callable[[object], Awaitable[None]]:
        async def shown(_: object) -> None:
            await self.menus.prompt_shown(actor.person_id)

        return shown

    def _photos(self, chat_id: str, message: PhotosOut) -> list[Part]:
        return [
            Part(
                f"{message.key}:{n}",
                partial(self._photo, chat_id, media_id, message.caption if n == 0 else None),
                optional=True,
            )
            for n, media_id in enumerate(message.media)
        ]

    async def _photo(self, chat_id: str, media_id: int, caption: str | None) -> object:
        if await self.services.media.content(media_id) is None:
            log.warning(
                "photo %s has no bytes kept (Telegram's alone, or erased): left out", media_id
            )
            return None
        return await self.send_photo(chat_id, self.media.link(media_id), caption)

    def _place(self, chat_id: str, actor: Actor, message: LocationOut) -> Part:
        url = MAP_URL.format(lat=message.lat, lon=message.lon)
        body = self.render.present.t(
            actor.language, "task.place_zalo", title=message.title, address=message.address, url=url
        )
        return Part(message.key, partial(self.send_text, chat_id, body), optional=True)

    async def _file(self, chat_id: str, actor: Actor, message: FileOut) -> object:
        """A file the bot made, by link: an image as a photo, else a text
        with the link and until when it works."""
        content = await message.content()
        url, expires = self.files.put(content, message.mime, message.filename)
        if message.mime.startswith("image/"):
            return await self.send_photo(chat_id, url, message.caption or None)
        link = self.render.present.t(
            actor.language, "digest.file_link_zalo", name=message.filename, url=url, expires=expires
        )
        body = f"{message.caption}\n{link}" if message.caption else link
        last: object = None
        for piece in split_text(body):
            last = await self.send_text(chat_id, piece)
        return last

    # ---- errors -----------------------------------------------------------------------------

    def judge(self, error: Exception) -> Failure | None:
        """What a Zalo error means for the message (see the docstring)."""
        if isinstance(error, ZaloUnauthorized):
            # Nothing will go until the token is replaced: retried, never given up
            # (a row is given up only while other messages get through).
            return Failure(Verdict.RETRY, "unauthorized")
        if isinstance(error, ZaloPermanentError):
            return Failure(Verdict.REFUSED, f"refused ({error.status}): {error.description}")
        if isinstance(error, ZaloTransientError):
            if error.status == 429 or error.error_code == 429:
                self.pacer.pause(SLOW_DOWN)
                return Failure(Verdict.WAIT, "429", None)
            kind = "network" if isinstance(error, ZaloNetworkError) else f"HTTP {error.status}"
            return Failure(Verdict.RETRY, kind)
        return None


class ZaloTransport:
    """Zalo's side of the outbox's delivery loop (bot/app/outbox.py)."""

    channel = ZALO
    room = ZALO_ROOM

    def __init__(self, out: ZaloOut) -> None:
        self.out = out

    def parts(self, item: OutboxItem, actor: Actor, messages: Sequence[Outgoing]) -> list[Part]:
        assert item.account is not None  # the store only returns rows with an account
        return self.out.parts(item.account.external_id, actor, messages)

    def judge(self, error: Exception) -> Failure | None:
        return self.out.judge(error)

    def sending(self) -> AbstractContextManager[None]:
        return nullcontext()
