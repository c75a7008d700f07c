"""One conversation per person: the draft and the answer it waits for."""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.conversation import ConversationState
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text


class SqliteConversations(SqliteBase):
    async def load_conversation(self, person_id: int) -> ConversationState | None:
        row = await self._one("SELECT * FROM conversations WHERE person_id = ?", (person_id,))
        if row is None:
            return None
        return ConversationState(
            kind=row["kind"],
            step=row["step"],
            data=json.loads(row["data"]),
            seq=row["seq"],
            last_update=row["last_update"],
            updated_at=parse_utc(row["updated_at"]),
        )

    async def save_conversation(
        self, person_id: int, state: ConversationState, at: datetime
    ) -> None:
        await self.db.write(
            "INSERT INTO conversations"
            " (person_id, kind, step, data, seq, updated_at, last_update)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET"
            " kind = excluded.kind, step = excluded.step, data = excluded.data,"
            " seq = excluded.seq, updated_at = excluded.updated_at,"
            " last_update = excluded.last_update",
            (
                person_id,
                state.kind,
                state.step,
                json.dumps(dict(state.data), ensure_ascii=False),
                state.seq,
                utc_text(at),
                state.last_update,
            ),
        )

    async def delete_conversation(self, person_id: int) -> None:
        await self.db.write("DELETE FROM conversations WHERE person_id = ?", (person_id,))
