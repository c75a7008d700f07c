"""What the bot sends: texts, photos by URL (Zalo fetches them itself),
stickers, chat actions; and the fake's CDN for the photos users send."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from bot.sandbox.zalo.records import (
    CAPTION_LIMIT,
    CHAT_ACTIONS,
    TEXT_LIMIT,
    ApiError,
    JSONDict,
    ZaloSent,
    is_image,
    sample_jpeg,
)
from bot.sandbox.zalo.state import ZaloApiState


class Sending(ZaloApiState):
    """The send methods, checked as Zalo checks them, and the hosted media."""

    def put_media(self, content: bytes | None = None, suffix: str = "jpg") -> str:
        """Host `content` (default: a fresh JPEG) on the fake's CDN, as Zalo hosts a photo a
        user sent; its URL."""
        number = next(self._counter)
        name = f"{self._opaque('media', 24)}.{suffix}"
        self._media[name] = sample_jpeg(number) if content is None else content
        return self.media_base_url + name

    def expire_media(self, url: str) -> None:
        """Make a hosted URL answer 404 from now on: Zalo's photo links do not live forever."""
        self._media.pop(url.rpartition("/")[2], None)

    def media_bytes(self, url: str) -> bytes | None:
        """What the fake's CDN serves at `url`, whatever host the URL names."""
        return self._media.get(urlsplit(url).path.rpartition("/")[2])

    def _chat(self, params: JSONDict) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "Bad Request: chat_id must be a non-empty string")
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    @staticmethod
    def _bounded_text(params: JSONDict, key: str, limit: int, *, required: bool) -> str | None:
        value = params.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            raise ApiError(400, f"Bad Request: {key} must be 1 to {limit} characters")
        return value

    def _record(
        self, chat_id: str, kind: Literal["text", "photo", "sticker"], **content: Any
    ) -> JSONDict:
        message = ZaloSent(chat_id, self.next_id("message", 32), self.now_ms(), kind, **content)
        self.sent.append(message)
        return {"message_id": message.message_id, "date": message.date}

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        text = self._bounded_text(params, "text", TEXT_LIMIT, required=True)
        return self._record(chat_id, "text", text=text)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        caption = self._bounded_text(params, "caption", CAPTION_LIMIT, required=False)
        url = params.get("photo")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: photo must be an image URL")
        # Zalo fetches the image itself; its own CDN links it can always read.
        content = self.media_bytes(url) if url.startswith(self.media_base_url) else None
        if content is None:
            content = await self.fetcher(url)
        if not content or not is_image(content):
            raise ApiError(400, "Bad Request: could not fetch an image from the photo URL")
        return self._record(chat_id, "photo", photo_url=url, photo=content, caption=caption)

    def _send_sticker(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise ApiError(400, "Bad Request: sticker must be a sticker id")
        return self._record(chat_id, "sticker", sticker=sticker)

    def _send_chat_action(self, params: JSONDict) -> None:
        chat_id = self._chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: action must be typing or upload_photo")
        self.chat_actions.append((chat_id, str(action)))
