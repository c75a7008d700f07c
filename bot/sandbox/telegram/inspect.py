"""What a test reads back: the messages each chat got, their buttons, the
calls made, and waiting (without sleeping) for one to arrive."""

from __future__ import annotations

from collections.abc import Callable

from bot.sandbox.telegram.records import (
    ApiCall,
    JSONDict,
    SentMessage,
    menu_key,
)
from bot.sandbox.telegram.state import ApiState
from bot.sandbox.waiting import wait_on


class Inspection(ApiState):
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._sent_to.get(chat_id, ()))

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """A message the bot sent, as it is now (edits applied)."""
        return self._messages.get((chat_id, message_id))

    def last_to(self, chat_id: int) -> SentMessage:
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def menu(self, chat_id: int, language: str = "") -> list[str]:
        """The commands a private chat's menu shows, in order."""
        return [str(c["command"]) for c in self.menu_entries(chat_id, language)]

    def menu_entries(self, chat_id: int, language: str = "") -> list[JSONDict]:
        """The menu a private chat shows a user whose app is set to
        ``language``, found as Telegram finds it: the first list set of the
        chat's own scope, all private chats, then the default one, each in
        that language before the one without a language."""
        scopes: list[JSONDict] = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        ]
        for scope in scopes:
            for code in dict.fromkeys((language, "")):
                found = self.commands.get(menu_key(scope, code))
                if found:
                    return [dict(c) for c in found]
        return []

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    @staticmethod
    def buttons(msg: SentMessage) -> list[tuple[str, str]]:
        """(label, callback_data) of every callback button; URL buttons carry no data."""
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        return [
            (b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b
        ]

    @staticmethod
    def reply_keyboard(msg: SentMessage) -> list[str]:
        rows = (msg.reply_markup or {}).get("keyboard", [])
        return [b if isinstance(b, str) else b["text"] for row in rows for b in row]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounded by default, even when a test forgets
    ) -> None:
        """Wait, without polling, until `condition` holds after some API call arrived or ended."""
        await wait_on(
            self._changed,
            condition,
            timeout,
            lambda: [(m.chat_id, m.kind, m.text) for m in self.sent[-5:]],
        )

    async def wait_for_sent(
        self,
        predicate: Callable[[SentMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first recorded message (edits count) matching `predicate`, waiting if needed."""
        found: list[SentMessage] = []

        def matched() -> bool:
            found[:] = [m for m in self.sent if predicate(m)][:1]
            return bool(found)

        await self.wait_until(matched, timeout)
        return found[0]
