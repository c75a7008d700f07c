"""One conversation per person: the draft and the answer it waits for."""

from __future__ import annotations

from datetime import datetime

from bot.domain.conversation import ConversationState
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant


class PostgresConversations(PostgresBase):
    async def load_conversation(self, person_id: int) -> ConversationState | None:
        row = await self._one("SELECT * FROM conversations WHERE person_id = $1", person_id)
        if row is None:
            return None
        return ConversationState(
            kind=row["kind"],
            step=row["step"],
            data=row["data"],
            seq=row["seq"],
            last_update=row["last_update"],
            updated_at=row["updated_at"],
        )

    async def save_conversation(
        self, person_id: int, state: ConversationState, at: datetime
    ) -> None:
        await self.db.execute(
            "INSERT INTO conversations"
            " (person_id, kind, step, data, seq, updated_at, last_update)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (person_id) DO UPDATE SET"
            " kind = excluded.kind, step = excluded.step, data = excluded.data,"
            " seq = excluded.seq, updated_at = excluded.updated_at,"
            " last_update = excluded.last_update",
            person_id,
            state.kind,
            state.step,
            dict(state.data),
            state.seq,
            instant(at),
            state.last_update,
        )

    async def delete_conversation(self, person_id: int) -> None:
        await self.db.execute("DELETE FROM conversations WHERE person_id = $1", person_id)
