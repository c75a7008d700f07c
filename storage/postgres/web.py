"""The leaders' dashboard on PostgreSQL (migration 0010; see
storage/sqlite/web.py): one-time sign-in links and the sessions they start,
each kept by its token's SHA-256."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.postgres.base import PostgresBase
from storage.postgres.db import instant, rows_changed

KEEP_EXPIRED = timedelta(days=1)


class PostgresWeb(PostgresBase):
    async def add_signin(
        self, token_hash: str, staff_id: str, at: datetime, expires_at: datetime
    ) -> None:
        # The link is shown at once: its row must outlive a crash.
        async with self.db.durable_transaction() as conn:
            await conn.execute(
                "DELETE FROM web_signins WHERE expires_at < $1", instant(at - KEEP_EXPIRED)
            )
            await conn.execute(
                "INSERT INTO web_signins (token_hash, staff_id, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                token_hash,
                staff_id,
                instant(at),
                instant(expires_at),
            )

    async def open_session(
        self, token_hash: str, session_hash: str, at: datetime, expires_at: datetime
    ) -> str | None:
        async with self.db.transaction() as conn:
            # The row's lock makes a link used twice at once start one session.
            staff_id = await conn.fetchval(
                "UPDATE web_signins SET used_at = $1 WHERE token_hash = $2"
                " AND used_at IS NULL AND expires_at > $1 RETURNING staff_id",
                instant(at),
                token_hash,
            )
            if staff_id is None:
                return None
            await conn.execute(
                "DELETE FROM web_sessions WHERE expires_at < $1", instant(at - KEEP_EXPIRED)
            )
            await conn.execute(
                "INSERT INTO web_sessions (session_hash, staff_id, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                session_hash,
                staff_id,
                instant(at),
                instant(expires_at),
            )
        return str(staff_id)

    async def session_staff(self, session_hash: str, at: datetime) -> str | None:
        staff_id = await self.db.fetchval(
            "SELECT staff_id FROM web_sessions WHERE session_hash = $1"
            " AND ended_at IS NULL AND expires_at > $2",
            session_hash,
            instant(at),
        )
        return None if staff_id is None else str(staff_id)

    async def end_session(self, session_hash: str, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE web_sessions SET ended_at = $1 WHERE session_hash = $2 AND ended_at IS NULL",
            instant(at),
            session_hash,
        )
        return changed == 1

    async def end_sessions_of(self, staff_id: str, at: datetime) -> int:
        async with self.db.durable_transaction() as conn:
            status = await conn.execute(
                "UPDATE web_sessions SET ended_at = $1 WHERE staff_id = $2 AND ended_at IS NULL"
                " AND expires_at > $1",
                instant(at),
                staff_id,
            )
            await conn.execute(
                "UPDATE web_signins SET used_at = $1 WHERE staff_id = $2 AND used_at IS NULL",
                instant(at),
                staff_id,
            )
        return rows_changed(status)
