"""The chats the fake knows and the files it holds (what users sent, what
the bot uploaded), served by getFile."""

from __future__ import annotations

from bot.sandbox.telegram.records import (
    ApiError,
    JSONDict,
    StoredFile,
    placeholder_jpeg,
)
from bot.sandbox.telegram.state import ApiState


class ChatsAndFiles(ApiState):
    def register_chat(self, chat: JSONDict) -> None:
        """Let sent messages carry this chat's real names, as Telegram's do."""
        self._chats[int(chat["id"])] = dict(chat)

    def chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, shared by the bot's and the people's messages."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def put_file(
        self,
        file_id: str,
        content: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Make `file_id` known, so getFile, downloads and re-sending it work
        like Telegram (without ``content``: placeholder bytes of its own)."""
        if file_id not in self._files:
            content = placeholder_jpeg(file_id) if content is None else content
            n = next(self._ids)
            if mime_type is None or mime_type == "image/jpeg":
                folder, suffix = "photos", "jpg"
            else:
                folder, suffix = "documents", mime_type.rpartition("/")[2]
            self._files[file_id] = StoredFile(
                file_id,
                f"AQAD{n:08d}",
                f"{folder}/file_{n}.{suffix}",
                content,
                file_name,
                mime_type,
            )
        return file_id

    def forget_file(self, file_id: str) -> None:
        """Telegram no longer knows ``file_id`` (one from another bot, or a
        file it dropped): sending it is refused with a 400, as Telegram does."""
        self._files.pop(file_id, None)

    def file_content(self, file_id: str) -> bytes:
        """What the bot uploaded (or a user sent) under ``file_id``."""
        return self._files[file_id].content

    def file_bytes(self, file_path: str) -> bytes | None:
        return next((f.content for f in self._files.values() if f.file_path == file_path), None)

    def clear(self) -> None:
        """Forget recorded calls and sent messages; messages stay editable, as on Telegram."""
        self.calls.clear()
        self.sent.clear()
        self._sent_to.clear()

    def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
