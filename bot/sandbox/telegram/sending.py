"""sendMessage and the other send methods, checked as Telegram checks them:
lengths in UTF-16 units, HTML, keyboards, files, albums, places."""

from __future__ import annotations

import copy
import time
from typing import Any

from bot.sandbox.telegram.chats import ChatsAndFiles
from bot.sandbox.telegram.records import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    ApiError,
    JSONDict,
    MessageKind,
    SentMessage,
    TelegramHtml,
    UploadedFile,
    utf16_len,
)


class Sending(ChatsAndFiles):
    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None

    @staticmethod
    def _render(value: object, parse_mode: object, limit: int, too_long: str) -> str:
        """The text users will see, refused where Telegram refuses it."""
        text = "" if value is None else str(value)
        if str(parse_mode).upper() == "HTML":
            text = TelegramHtml(text).plain_text()
        if utf16_len(text) > limit:
            raise ApiError(400, too_long)
        return text

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _caption(self, params: JSONDict) -> str | None:
        if params.get("caption") is None:
            return None
        return self._render(
            params["caption"], params.get("parse_mode"), CAPTION_LIMIT, CAPTION_TOO_LONG
        )

    def _file_id(self, value: Any, params: JSONDict, what: str, mime: str | None) -> str:
        """Resolve a file field as Telegram does: upload, attach://, URL, or known file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            file_id = f"BQACAgUAAx{next(self._ids):08d}"
            mime = value.mime_type if value.mime_type != "application/octet-stream" else mime
            return self.put_file(file_id, value.content, file_name=value.filename, mime_type=mime)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.put_file(f"BQACAgUAAx{next(self._ids):08d}", mime_type=mime)
        if isinstance(value, str) and value in self._files:
            if what == "photo" and value in self._documents:
                raise ApiError(400, "Bad Request: type of file mismatch")
            return value
        if value is None:
            raise ApiError(400, f"Bad Request: there is no {what} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, file_id: str) -> list[JSONDict]:
        stored = self._files[file_id]
        return [
            {
                "file_id": file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 1280,
                "height": 960,
                "file_size": len(stored.content),
            }
        ]

    def _document(self, file_id: str) -> JSONDict:
        stored = self._files[file_id]
        document: JSONDict = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name or stored.file_path.rpartition("/")[2],
            "file_size": len(stored.content),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _deliver(
        self,
        params: JSONDict,
        kind: MessageKind,
        content: JSONDict,
        *,
        text: str | None = None,
        media: list[str] | None = None,
        location: tuple[float, float] | None = None,
    ) -> JSONDict:
        """Store one message the bot sent and return it as Telegram reports it."""
        chat_id = self._chat_id(params)
        markup = self._markup(params)
        message_id = self.next_message_id(chat_id)
        raw: JSONDict = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # Message.reply_markup is only ever an inline keyboard
        msg = SentMessage(
            chat_id=chat_id,
            message_id=message_id,
            kind=kind,
            text=text,
            reply_markup=markup,
            media=media or [],
            location=location,
            media_group_id=content.get("media_group_id"),
            raw=raw,
            params=dict(params),
        )
        self._messages[(chat_id, message_id)] = msg
        self.sent.append(msg)
        self._sent_to.setdefault(chat_id, []).append(msg)
        return copy.deepcopy(raw)

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = self._render(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, TEXT_TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._deliver(params, "text", {"text": text}, text=text)

    def _send_photo(self, params: JSONDict) -> JSONDict:
        caption = self._caption(params)
        file_id = self._file_id(params.get("photo"), params, "photo", "image/jpeg")
        content: JSONDict = {"photo": self._photo_sizes(file_id)}
        if caption is not None:
            content["caption"] = caption
        return self._deliver(params, "photo", content, text=caption, media=[file_id])

    def _send_document(self, params: JSONDict) -> JSONDict:
        caption = self._caption(params)
        file_id = self._file_id(params.get("document"), params, "document", None)
        content: JSONDict = {"document": self._document(file_id)}
        if caption is not None:
            content["caption"] = caption
        return self._deliver(params, "document", content, text=caption, media=[file_id])

    @staticmethod
    def _point(params: JSONDict) -> tuple[float, float]:
        try:
            lat, lon = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ApiError(400, "Bad Request: wrong latitude or longitude")
        return lat, lon

    def _send_location(self, params: JSONDict) -> JSONDict:
        point = self._point(params)
        location: JSONDict = {"latitude": point[0], "longitude": point[1]}
        if params.get("live_period"):
            location["live_period"] = int(params["live_period"])
        return self._deliver(params, "location", {"location": location}, location=point)

    def _send_venue(self, params: JSONDict) -> JSONDict:
        point = self._point(params)
        location = {"latitude": point[0], "longitude": point[1]}
        title, address = str(params.get("title", "")), str(params.get("address", ""))
        venue = {"location": location, "title": title, "address": address}
        content = {"location": location, "venue": venue}
        return self._deliver(params, "venue", content, text=title, location=point)

    def _send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must have 2-10 items")
        self._chat_id(params)
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        album: list[tuple[JSONDict, MessageKind, JSONDict, str | None, str]] = []
        for item in media:  # check every item before sending any: an album arrives whole or not
            item_params = {**params, **item, "reply_markup": None}  # albums carry no buttons
            caption = self._caption(item_params)
            content: JSONDict = {"media_group_id": group_id}
            if caption is not None:
                content["caption"] = caption
            if item.get("type") == "photo":
                file_id = self._file_id(item.get("media"), params, "photo", "image/jpeg")
                content["photo"] = self._photo_sizes(file_id)
                kind: MessageKind = "media_group_photo"
            else:
                file_id = self._file_id(item.get("media"), params, "document", None)
                content["document"] = self._document(file_id)
                kind = "document"
            album.append((item_params, kind, content, caption, file_id))
        return [
            self._deliver(item_params, kind, content, text=caption, media=[file_id])
            for item_params, kind, content, caption, file_id in album
        ]
