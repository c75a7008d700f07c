"""The abuse list and the admin log (who changed what from the command line)."""

from __future__ import annotations

from datetime import datetime

from bot.ports import AdminAction, AdminEntry
from storage.postgres.accounts import accounts_of
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant
from storage.postgres.rows import bump_roster, insert_admin_entry


class PostgresAdmin(PostgresBase):
    async def set_blocked(
        self, person_id: int, reason: str | None, at: datetime, audit: AdminEntry | None = None
    ) -> None:
        """Put a person on the abuse list (a reason), or take them off (None);
        the admin log records who did it in the same transaction."""
        async with self.db.transaction() as conn:
            if audit is not None:
                await insert_admin_entry(conn, audit)
            await bump_roster(conn)
            if reason is None:
                await conn.execute("DELETE FROM blocked_people WHERE person_id = $1", person_id)
            else:
                await conn.execute(
                    "INSERT INTO blocked_people (person_id, reason, blocked_at)"
                    " VALUES ($1, $2, $3)"
                    " ON CONFLICT (person_id) DO UPDATE SET reason = excluded.reason",
                    person_id,
                    reason,
                    instant(at),
                )

    async def is_blocked(self, person_id: int) -> bool:
        """Whether the person is on the abuse list: blocking them again, or
        unblocking someone who is not, changes nothing and logs nothing."""
        row = await self._one("SELECT 1 FROM blocked_people WHERE person_id = $1", person_id)
        return row is not None

    async def admin_log(self, limit: int) -> list[AdminEntry]:
        """The last ``limit`` lines of the admin log, oldest first, each
        person with their accounts as they are now (those of the person a
        record was merged into; none after a /forget)."""
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM (SELECT a.*, COALESCE(p.merged_into, p.id) AS holder"
                " FROM admin_log a LEFT JOIN people p ON p.id = a.person_id"
                " ORDER BY a.id DESC LIMIT $1) last ORDER BY id",
                limit,
            )
            accounts = await accounts_of(conn, (r["holder"] for r in rows if r["holder"]))
        return [
            AdminEntry(
                at=r["at"],
                actor=r["actor"],
                action=AdminAction(r["action"]),
                subject=r["subject"],
                person_id=r["person_id"],
                detail=r["detail"],
                accounts=accounts.get(r["holder"], ()),
            )
            for r in rows
        ]
