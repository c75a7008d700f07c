"""The abuse list and the admin log (who changed what from the command line)."""

from __future__ import annotations

import json
from datetime import datetime

from bot.ports import (
    AdminAction,
    AdminEntry,
)
from storage.sqlite.accounts import accounts_of
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.rows import (
    bump_roster,
    insert_admin_entry,
)


class SqliteAdmin(SqliteBase):
    async def set_blocked(
        self, person_id: int, reason: str | None, at: datetime, audit: AdminEntry | None = None
    ) -> None:
        """Put a person on the abuse list (a reason), or take them off (None);
        the admin log records who did it (``audit``) in the same transaction."""
        async with self.db.transaction() as conn:
            if audit is not None:
                await insert_admin_entry(conn, audit)
            await bump_roster(conn)
            if reason is None:
                await conn.execute("DELETE FROM blocked_people WHERE person_id = ?", (person_id,))
            else:
                await conn.execute(
                    "INSERT INTO blocked_people (person_id, reason, blocked_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (person_id) DO UPDATE SET reason = excluded.reason",
                    (person_id, reason, utc_text(at)),
                )

    async def is_blocked(self, person_id: int) -> bool:
        """Whether the person is on the abuse list: blocking them again, or
        unblocking someone who is not, changes nothing and logs nothing."""
        row = await self._one("SELECT 1 FROM blocked_people WHERE person_id = ?", (person_id,))
        return row is not None

    async def admin_log(self, limit: int) -> list[AdminEntry]:
        """The last ``limit`` lines of the admin log, oldest first, each
        person with their accounts as they are now (those of the person a
        record was merged into; none after a /forget)."""
        rows = await self._all(
            "SELECT * FROM (SELECT a.*, COALESCE(p.merged_into, p.id) AS holder FROM admin_log a"
            " LEFT JOIN people p ON p.id = a.person_id ORDER BY a.id DESC LIMIT ?) ORDER BY id",
            (limit,),
        )
        accounts = await accounts_of(self.conn, (r["holder"] for r in rows if r["holder"]))
        return [
            AdminEntry(
                at=parse_utc(r["at"]),
                actor=r["actor"],
                action=AdminAction(r["action"]),
                subject=r["subject"],
                person_id=r["person_id"],
                detail=json.loads(r["detail"]),
                accounts=accounts.get(r["holder"], ()),
            )
            for r in rows
        ]
