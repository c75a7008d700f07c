"""The leaders' dashboard on SQLite (migration 0019): one-time sign-in
links and the sessions they start, each kept by its token's SHA-256."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text

# A link expired this long ago is of no use even to the logs: cleared.
KEEP_EXPIRED = timedelta(days=1)


class SqliteWeb(SqliteBase):
    async def add_signin(
        self, token_hash: str, staff_id: str, at: datetime, expires_at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM web_signins WHERE expires_at < ?", (utc_text(at - KEEP_EXPIRED),)
            )
            await conn.execute(
                "INSERT INTO web_signins (token_hash, staff_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, staff_id, utc_text(at), utc_text(expires_at)),
            )

    async def open_session(
        self, token_hash: str, session_hash: str, at: datetime, expires_at: datetime
    ) -> str | None:
        async with self.db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE web_signins SET used_at = ? WHERE token_hash = ?"
                    " AND used_at IS NULL AND expires_at > ? RETURNING staff_id",
                    (utc_text(at), token_hash, utc_text(at)),
                )
            )
            if not rows:
                return None
            staff_id = str(rows[0][0])
            await conn.execute(
                "DELETE FROM web_sessions WHERE expires_at < ?", (utc_text(at - KEEP_EXPIRED),)
            )
            await conn.execute(
                "INSERT INTO web_sessions (session_hash, staff_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session_hash, staff_id, utc_text(at), utc_text(expires_at)),
            )
        return staff_id

    async def session_staff(self, session_hash: str, at: datetime) -> str | None:
        row = await self._one(
            "SELECT staff_id FROM web_sessions WHERE session_hash = ?"
            " AND ended_at IS NULL AND expires_at > ?",
            (session_hash, utc_text(at)),
        )
        return None if row is None else str(row[0])

    async def end_session(self, session_hash: str, at: datetime) -> bool:
        changed = await self.db.write(
            "UPDATE web_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL",
            (utc_text(at), session_hash),
        )
        return changed == 1

    async def end_sessions_of(self, staff_id: str, at: datetime) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE staff_id = ? AND ended_at IS NULL"
                " AND expires_at > ?",
                (utc_text(at), staff_id, utc_text(at)),
            )
            ended = cur.rowcount
            await conn.execute(
                "UPDATE web_signins SET used_at = ? WHERE staff_id = ? AND used_at IS NULL",
                (utc_text(at), staff_id),
            )
        return ended
