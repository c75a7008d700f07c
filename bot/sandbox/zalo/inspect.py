"""What tests read back from the fake: messages per chat, calls per
method, and waiting (without polling) for a condition to hold."""

from __future__ import annotations

from collections.abc import Callable

from bot.sandbox.waiting import wait_on
from bot.sandbox.zalo.records import (
    ZaloCall,
    ZaloSent,
)
from bot.sandbox.zalo.state import ZaloApiState


class Inspection(ZaloApiState):
    """Looking at what happened."""

    def messages_to(self, chat_id: str) -> list[ZaloSent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def texts_to(self, chat_id: str) -> list[str]:
        """What the person read, in order: texts and captions."""
        return [t for m in self.messages_to(chat_id) if (t := m.text or m.caption) is not None]

    def last_to(self, chat_id: str) -> ZaloSent:
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def calls_to(self, method: str) -> list[ZaloCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounded by default, even when a test forgets
    ) -> None:
        """Wait, without polling, until `condition` holds after some call arrived or ended."""
        await wait_on(
            self._changed,
            condition,
            timeout,
            lambda: [(m.chat_id, m.kind, m.text) for m in self.sent[-5:]],
        )
