"""Fake users and groups: they build the updates a real client would send."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

from bot.sandbox.telegram.api import FakeBotApi
from bot.sandbox.telegram.records import (
    JSONDict,
    SentMessage,
    text_content,
)


class FakeUser:
    """One person in a private chat with the bot (chat id == user id), writing updates.

    Methods return a numbered update without pushing it: push it with `api.push_update` for
    polling, or parse it with `Update.de_json` for `process_update`.  Every update built is
    kept in `updates`.
    """

    def __init__(
        self,
        api: FakeBotApi,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.date_override: int | None = None
        self.updates: list[JSONDict] = []
        api.register_chat(self.chat)

    @property
    def user(self) -> JSONDict:
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> JSONDict:
        chat: JSONDict = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def _date(self) -> int:
        return self.date_override if self.date_override is not None else int(time.time())

    def _update(self, key: str, message: JSONDict) -> JSONDict:
        # Numbered now, so the update can go straight to Update.de_json without being pushed.
        update = {"update_id": self.api.next_update_id(), key: message}
        self.updates.append(update)
        return update

    def _say(self, content: JSONDict, chat: JSONDict | None = None) -> JSONDict:
        chat = chat or self.chat
        message = {
            "message_id": self.api.next_message_id(int(chat["id"])),
            "from": self.user,
            "chat": chat,
            "date": self._date(),
            **content,
        }
        return self._update("message", message)

    def _invent_file(self, prefix: str, mime: str | None, name: str | None) -> str:
        file_id = f"{prefix}{self.user_id}x{next(self.api._ids):06d}"
        return self.api.put_file(file_id, file_name=name, mime_type=mime)

    def _file(self, file_id: str) -> JSONDict:
        stored = self.api._files[file_id]
        return {"file_id": file_id, "file_unique_id": stored.file_unique_id}

    def text(self, s: str) -> JSONDict:
        return self._say(text_content(s))

    def command(self, name: str, *args: str) -> JSONDict:
        return self._say(text_content(" ".join([f"/{name}", *args]), f"/{name}"))

    def location(self, lat: float, lon: float, *, live_period: int | None = None) -> JSONDict:
        location: JSONDict = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            location["live_period"] = live_period
        return self._say({"location": location})

    def edited_location(self, original_update: JSONDict, lat: float, lon: float) -> JSONDict:
        """A live-location move: Telegram re-sends the original message as edited_message."""
        message = copy.deepcopy(original_update["message"])
        if "location" not in message:
            raise ValueError("only a location message can be moved")
        message.pop("update_id", None)
        message["location"].update(latitude=lat, longitude=lon)
        message["edit_date"] = self._date()
        return self._update("edited_message", message)

    def edited(self, original_update: JSONDict, text: str) -> JSONDict:
        """The person edits a text (or a photo's caption) they sent: Telegram
        sends the whole message again, changed, as ``edited_message``."""
        message = copy.deepcopy(original_update["message"])
        field = "caption" if "caption" in message or "photo" in message else "text"
        if field == "text" and "text" not in message:
            raise ValueError("only a text or a caption can be edited")
        if field == "text":
            message.pop("entities", None)
            message.update(text_content(text))
        else:
            message["caption"] = text
        message["edit_date"] = self._date()
        return self._update("edited_message", message)

    def venue(self, lat: float, lon: float, title: str, address: str) -> JSONDict:
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": location, "title": title, "address": address}
        return self._say({"location": location, "venue": venue})

    def photo(
        self,
        file_id: str | None = None,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        big = file_id or self._invent_file("AgAC", None, None)
        self.api.put_file(big)
        small = self.api.put_file(f"{big}-s")
        sizes = [
            {**self._file(small), "width": 90, "height": 67, "file_size": 1200},
            {**self._file(big), "width": 1280, "height": 960, "file_size": 98000},
        ]
        content: JSONDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._say(content)

    def document(
        self,
        mime_type: str = "application/pdf",
        *,
        file_name: str | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        name = file_name or f"file_{next(self.api._ids)}.{mime_type.rpartition('/')[2]}"
        file_id = self._invent_file("BQAC", mime_type, name)
        self.api._documents.add(file_id)
        document = {**self._file(file_id), "file_name": name, "mime_type": mime_type}
        content: JSONDict = {"document": {**document, "file_size": 98000}}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._say(content)

    def photo_as_document(
        self, *, caption: str | None = None, media_group_id: str | None = None
    ) -> JSONDict:
        """A photo sent "as file", uncompressed: it arrives as a document, not as a photo."""
        name = f"IMG_{next(self.api._ids):04d}.jpg"
        return self.document(
            "image/jpeg", file_name=name, caption=caption, media_group_id=media_group_id
        )

    def sticker(self) -> JSONDict:
        file_id = self._invent_file("CAAC", "image/webp", None)
        sticker = {"type": "regular", "width": 512, "height": 512, "emoji": "👍"}
        flags = {"is_animated": False, "is_video": False}
        return self._say({"sticker": {**self._file(file_id), **sticker, **flags}})

    def voice(self) -> JSONDict:
        file_id = self._invent_file("AwAC", "audio/ogg", None)
        voice = {**self._file(file_id), "duration": 3, "mime_type": "audio/ogg"}
        return self._say({"voice": voice})

    def video_note(self) -> JSONDict:
        file_id = self._invent_file("DQAC", "video/mp4", None)
        return self._say({"video_note": {**self._file(file_id), "length": 240, "duration": 5}})

    def legacy_poll(self, question: str, options: Sequence[str]) -> JSONDict:
        """A poll in the shape an older or self-hosted Bot API server sends:
        its options lack ``persistent_id``, which python-telegram-bot 22.8
        requires, so PTB cannot read the update at all."""
        poll: JSONDict = {
            "id": f"{next(self.api._ids)}",
            "question": question,
            "options": [{"text": option, "voter_count": 0} for option in options],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        return self._say({"poll": poll})

    def contact(self, phone: str) -> JSONDict:
        """The person's own contact, as a request_contact button shares it."""
        contact: JSONDict = {
            "phone_number": phone, "first_name": self.first_name, "user_id": self.user_id
        }  # fmt: skip
        if self.last_name:
            contact["last_name"] = self.last_name
        return self._say({"contact": contact})

    def press(self, message: SentMessage, data: str) -> JSONDict:
        """Press a button the bot really showed; use `press_raw` for forged or stale data."""
        if message.deleted:
            raise ValueError("the message with that button was deleted")
        if message.chat_id > 0 and message.chat_id != self.user_id:
            raise ValueError(f"user {self.user_id} cannot see chat {message.chat_id}")
        if data not in [d for _, d in FakeBotApi.buttons(message)]:
            raise ValueError(f"no button with callback_data {data!r} on that message")
        return self._callback(copy.deepcopy(message.raw), data)

    def press_button(self, message: SentMessage, label: str) -> JSONDict:
        """Press by label: needed when callback_data is opaque (arbitrary_callback_data)."""
        matches = [d for text, d in FakeBotApi.buttons(message) if text == label]
        if len(matches) != 1:
            raise ValueError(f"{len(matches)} buttons labelled {label!r} on that message")
        return self.press(message, matches[0])

    def press_raw(self, data: str, message_id: int) -> JSONDict:
        known = self.api._messages.get((self.user_id, message_id))
        if known is not None:
            message = copy.deepcopy(known.raw)
        else:
            message = {
                "message_id": message_id,
                "from": dict(self.api.bot_user),
                "chat": self.chat,
                "date": self._date(),
                "text": "…",
            }
        return self._callback(message, data)

    def blocks_bot(self) -> JSONDict:
        """The person blocks the bot: from now on Telegram refuses to deliver
        to them (403), and tells the bot with a ``my_chat_member`` update."""
        self.api.blocked_chats.add(self.user_id)
        return self._bot_status("member", "kicked")

    def unblocks_bot(self) -> JSONDict:
        """The person unblocks the bot (or restarts it): delivery works again."""
        self.api.blocked_chats.discard(self.user_id)
        return self._bot_status("kicked", "member")

    def _bot_status(self, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            found: JSONDict = {"user": dict(self.api.bot_user), "status": status}
            if status == "kicked":
                found["until_date"] = 0
            return found

        change = {
            "chat": self.chat,
            "from": self.user,
            "date": self._date(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._update("my_chat_member", change)

    def _callback(self, message: JSONDict, data: str) -> JSONDict:
        query = {
            "id": str(4_000_000_000_000 + next(self.api._ids)),
            "from": self.user,
            "message": message,
            "chat_instance": str(-7_000_000_000 - int(message["chat"]["id"])),
            "data": data,
        }
        return self._update("callback_query", query)


class FakeGroup:
    """A basic group the bot is in, for testing what the bot does (or ignores) there."""

    def __init__(self, api: FakeBotApi, chat_id: int, title: str) -> None:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.api = api
        self.chat_id = chat_id
        self.title = title
        api.register_chat(self.chat)

    @property
    def chat(self) -> JSONDict:
        return {"id": self.chat_id, "type": "group", "title": self.title}

    def text_from(self, user: FakeUser, s: str) -> JSONDict:
        return user._say(text_content(s), self.chat)

    def command_from(
        self, user: FakeUser, name: str, *args: str, mention: bool = False
    ) -> JSONDict:
        """`mention=True` writes /name@bot, as group clients do when several bots listen."""
        command = f"/{name}@{self.api.bot_user['username']}" if mention else f"/{name}"
        return user._say(text_content(" ".join([command, *args]), command), self.chat)
