"""People writing to the bot: the updates Zalo would deliver for a user
in a private chat or a group, of every kind."""

from __future__ import annotations

import copy
from typing import Literal

from bot.sandbox.zalo.api import FakeZaloApi
from bot.sandbox.zalo.records import (
    JSONDict,
)


class FakeZaloGroup:
    """A group chat with the bot: Zalo marks its updates ``chat_type: GROUP``."""

    def __init__(self, api: FakeZaloApi, *, group_id: str | None = None) -> None:
        self.api = api
        self.group_id = group_id or api.next_id("group")
        api.register_chat(self.group_id, "GROUP")

    @property
    def chat(self) -> JSONDict:
        return {"id": self.group_id, "chat_type": "GROUP"}


class FakeZaloUser:
    """One person writing to the bot, by default in a private chat (chat id == user id).

    Each method returns the update Zalo would deliver, without delivering it: give it to
    `api.deliver` (webhook or poll, whichever is set up), `api.push_update`, or straight to
    the parser.  `name_field` switches to the documentation sample's `from.first_name`;
    `photo_field` to the `photo_url` some sources name.  Every update is kept in `updates`.
    """

    def __init__(
        self,
        api: FakeZaloApi,
        display_name: str,
        *,
        user_id: str | None = None,
        name_field: Literal["display_name", "first_name"] = "display_name",
        photo_field: Literal["photo", "photo_url"] = "photo",
    ) -> None:
        self.api = api
        self.display_name = display_name
        self.user_id = user_id or api.next_id("user")
        self.name_field = name_field
        self.photo_field = photo_field
        self.updates: list[JSONDict] = []
        api.register_chat(self.user_id, "PRIVATE")

    @property
    def chat(self) -> JSONDict:
        return {"id": self.user_id, "chat_type": "PRIVATE"}

    def text(self, text: str, *, group: FakeZaloGroup | None = None) -> JSONDict:
        return self._message("message.text.received", {"text": text}, group)

    def image(
        self,
        *,
        caption: str | None = None,
        content: bytes | None = None,
        url: str | None = None,
        group: FakeZaloGroup | None = None,
    ) -> JSONDict:
        """A photo: hosted on the fake's CDN (`content`, else a fresh JPEG), or at `url`."""
        if url is None:
            url = self.api.put_media(content)
        fields: JSONDict = {self.photo_field: url}
        if caption is not None:
            fields["caption"] = caption
        return self._message("message.image.received", fields, group)

    def sticker(
        self, sticker_id: str = "bfe3a5d2f1", *, group: FakeZaloGroup | None = None
    ) -> JSONDict:
        url = f"https://zdn.fake-zalo.invalid/sticker/{sticker_id}.webp"
        return self._message("message.sticker.received", {"sticker": sticker_id, "url": url}, group)

    def voice(self, *, group: FakeZaloGroup | None = None) -> JSONDict:
        url = f"https://zdn.fake-zalo.invalid/voice/{self.api.next_id('voice')}.aac"
        return self._message("message.voice.received", {"voice_url": url}, group)

    def unsupported(self, *, group: FakeZaloGroup | None = None) -> JSONDict:
        """A message the bot may not read: an unknown type, or a person the law protects."""
        return self._message("message.unsupported.received", {}, group)

    def follow(self) -> JSONDict:
        """The person followed the bot.  Its shape is undocumented: a message without an id."""
        return self._user_event("user.follow")

    def unfollow(self) -> JSONDict:
        """The person stopped following the bot (same guessed shape as `follow`)."""
        return self._user_event("user.unfollow")

    def _user_event(self, event_name: str) -> JSONDict:
        message = {"from": self._sender(), "chat": self.chat, "date": self.api.now_ms()}
        return self._keep({"event_name": event_name, "message": message})

    def _sender(self) -> JSONDict:
        return {"id": self.user_id, self.name_field: self.display_name, "is_bot": False}

    def _message(self, event_name: str, content: JSONDict, group: FakeZaloGroup | None) -> JSONDict:
        message: JSONDict = {
            "from": self._sender(),
            "chat": group.chat if group else self.chat,
            **content,
            "message_id": self.api.next_id("message", 32),
            "date": self.api.now_ms(),
        }
        return self._keep({"event_name": event_name, "message": message})

    def _keep(self, update: JSONDict) -> JSONDict:
        self.updates.append(update)
        return copy.deepcopy(update)


# ---- transports ---------------------------------------------------------------------------------
