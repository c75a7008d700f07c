"""People (keyed by channel and account id, never by username), the staff
record an account is bound to, and how many complaints someone filed lately."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.ports import (
    Identity,
    Person,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.rows import (
    bump_roster,
    person_from_row,
)


class SqlitePeople(SqliteBase):
    async def upsert_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Person:
        identity = await self.identify_person(channel, external_id, display_name, default_language)
        return identity.person

    async def identify_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Identity:
        """Every update starts here, so it is one read in the usual case —
        the person, their staff binding and the abuse list together — and
        writes only for a newcomer, a changed name or a person who was
        unreachable and has written again."""
        sql = (
            "SELECT p.*, b.staff_id AS bound_staff,"
            " EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS blocked"
            " FROM people p LEFT JOIN staff_bindings b ON b.person_id = p.id"
            " WHERE p.channel = ? AND p.external_id = ?"
        )
        row = await self._one(sql, (channel, external_id))
        if row is None:
            await self.db.write(
                "INSERT INTO people (channel, external_id, display_name, language, created_at)"
                " VALUES (?, ?, ?, ?, datetime('now'))"
                " ON CONFLICT (channel, external_id) DO NOTHING",
                (channel, external_id, display_name, default_language),
            )
            row = await self._one(sql, (channel, external_id))
            assert row is not None
        person = person_from_row(row)
        returned = row["unreachable_at"] is not None
        if returned:
            # They wrote to the bot: they can be reached again.
            await self.mark_reachable(person.id)
        if display_name and person.display_name != display_name:
            await self.db.write(
                "UPDATE people SET display_name = ? WHERE id = ?", (display_name, person.id)
            )
            person = replace(person, display_name=display_name)
        staff = row["bound_staff"]
        return Identity(
            person, str(staff) if staff is not None else None, bool(row["blocked"]), returned
        )

    async def get_person(self, person_id: int) -> Person | None:
        row = await self._one("SELECT * FROM people WHERE id = ?", (person_id,))
        return person_from_row(row) if row else None

    async def set_language(self, person_id: int, language: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def staff_of_person(self, person_id: int) -> str | None:
        row = await self._one(
            "SELECT staff_id FROM staff_bindings WHERE person_id = ?", (person_id,)
        )
        return str(row["staff_id"]) if row else None

    async def person_of_staff(self, staff_id: str) -> Person | None:
        row = await self._one(
            "SELECT p.* FROM people p JOIN staff_bindings b ON b.person_id = p.id"
            " WHERE b.staff_id = ?",
            (staff_id,),
        )
        return person_from_row(row) if row else None

    async def find_person(self, channel: str, external_id: str) -> Person | None:
        row = await self._one(
            "SELECT * FROM people WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return person_from_row(row) if row else None

    async def bind_staff(self, staff_id: str, person_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await bump_roster(conn)
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
        self.db.outbox_changes += 1  # rows that waited for this account can go now

    async def reports_since(self, person_id: int, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM complaint_people WHERE person_id = ? AND role = 'reporter'"
            " AND joined_at >= ?",
            (person_id, utc_text(since)),
        )
        return int(row[0]) if row else 0

    async def mark_reachable(self, person_id: int) -> bool:
        """True when the person was unreachable until now."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE people SET unreachable_at = NULL"
                " WHERE id = ? AND unreachable_at IS NOT NULL",
                (person_id,),
            )
            if cur.rowcount != 1:
                return False
            await bump_roster(conn)
            return True

    async def mark_unreachable(self, person_id: int, at: datetime) -> bool:
        """True when the person was reachable until now."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE people SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
                (utc_text(at), person_id),
            )
            if cur.rowcount != 1:
                return False
            await bump_roster(conn)
            return True
