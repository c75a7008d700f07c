"""A person's own data: everything kept about them, and its erasure
(contact details masked in what stays)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from storage.postgres.base import PostgresBase
from storage.postgres.db import instant
from storage.postgres.rows import mask_what_they_wrote


def plain(row: asyncpg.Record) -> dict[str, Any]:
    """A row as the SQLite engine gives it to /mydata: instants as UTC text
    (``YYYY-MM-DD HH:MM:SS``), so a resident's file reads the same from
    either engine."""
    return {
        key: instant(value).strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value
        for key, value in row.items()
    }


class PostgresPrivacy(PostgresBase):
    async def person_data(self, person_id: int) -> dict[str, Any]:
        """Everything stored about one person, as plain data: who they are,
        what they reported, what they did, and any draft."""
        person = await self._one("SELECT * FROM people WHERE id = $1", person_id)
        reported = await self._all(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = $1 ORDER BY c.id",
            person_id,
        )
        photos = await self._photos({r["id"] for r in reported})
        acted = await self._all(
            "SELECT complaint_id, at, action, note FROM complaint_events"
            " WHERE actor_person_id = $1 ORDER BY id",
            person_id,
        )
        draft = await self._one("SELECT * FROM conversations WHERE person_id = $1", person_id)
        staff = await self.db.fetchval(
            "SELECT staff_id FROM staff_bindings WHERE person_id = $1", person_id
        )
        return {
            "person": plain(person) if person else {},
            "staff_id": staff,
            "complaints": [
                {
                    **plain(r),
                    "photos": [
                        {"kind": kind, "file": photo.file_ref}
                        for kind, photo in photos.get(r["id"], [])
                    ],
                }
                for r in reported
            ],
            "actions": [plain(r) for r in acted],
            "draft": plain(draft) if draft else None,
        }

    async def forget_person(self, person_id: int, at: datetime) -> None:
        """Detach a person from everything: their complaints stay (they are
        public business) but nothing left says who filed them.  The old row
        versions leave the tables at the next VACUUM (autovacuum, on the
        server); see README, "Running for a city"."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE people SET channel = 'forgotten', external_id = 'forgotten:' || id,"
                " display_name = NULL, username = NULL, unreachable_at = NULL WHERE id = $1",
                person_id,
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = $1", person_id)
            await conn.execute("DELETE FROM button_messages WHERE person_id = $1", person_id)
            await conn.execute("DELETE FROM blocked_people WHERE person_id = $1", person_id)
            await conn.execute(
                "UPDATE outbox SET given_up_at = $1, last_error = 'forgotten'"
                " WHERE person_id = $2 AND sent_at IS NULL AND given_up_at IS NULL",
                instant(at),
                person_id,
            )
            await conn.execute(
                "UPDATE complaint_photos SET file_ref = 'forgotten'"
                " WHERE kind IN ('dispute', 'info') AND complaint_id IN"
                " (SELECT complaint_id FROM complaint_people WHERE person_id = $1)",
                person_id,
            )
            await mask_what_they_wrote(conn, person_id)
