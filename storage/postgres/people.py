"""People (keyed by channel and account id, never by username), the staff
record an account is bound to, and how many complaints someone filed lately."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.ports import Identity, Person
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant, rows_changed
from storage.postgres.rows import bind, bump_roster, person_from_row

IDENTIFY = (
    "SELECT p.*, b.staff_id AS bound_staff,"
    " EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS blocked"
    " FROM people p LEFT JOIN staff_bindings b ON b.person_id = p.id"
    " WHERE p.channel = $1 AND p.external_id = $2"
)


class PostgresPeople(PostgresBase):
    async def upsert_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Person:
        identity = await self.identify_person(channel, external_id, display_name, default_language)
        return identity.person

    async def identify_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Identity:
        """Every update starts here: one read in the usual case (the person,
        their staff binding and the abuse list together); writes only for a
        newcomer, a changed name, or a person who was unreachable and has
        written again."""
        row = await self._one(IDENTIFY, channel, external_id)
        if row is None:
            await self.db.execute(
                "INSERT INTO people (channel, external_id, display_name, language)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (channel, external_id) DO NOTHING",
                channel,
                external_id,
                display_name,
                default_language,
            )
            row = await self._one(IDENTIFY, channel, external_id)
            assert row is not None
        person = person_from_row(row)
        returned = row["unreachable_at"] is not None
        if returned:
            # They wrote to the bot: they can be reached again.
            await self.mark_reachable(person.id)
        if display_name and person.display_name != display_name:
            await self.db.execute(
                "UPDATE people SET display_name = $1 WHERE id = $2", display_name, person.id
            )
            person = replace(person, display_name=display_name)
        staff = row["bound_staff"]
        return Identity(person, staff, row["blocked"], returned)

    async def get_person(self, person_id: int) -> Person | None:
        row = await self._one("SELECT * FROM people WHERE id = $1", person_id)
        return person_from_row(row) if row else None

    async def set_language(self, person_id: int, language: str) -> None:
        await self.db.execute("UPDATE people SET language = $1 WHERE id = $2", language, person_id)

    async def staff_of_person(self, person_id: int) -> str | None:
        staff: str | None = await self.db.fetchval(
            "SELECT staff_id FROM staff_bindings WHERE person_id = $1", person_id
        )
        return staff

    async def person_of_staff(self, staff_id: str) -> Person | None:
        row = await self._one(
            "SELECT p.* FROM people p JOIN staff_bindings b ON b.person_id = p.id"
            " WHERE b.staff_id = $1",
            staff_id,
        )
        return person_from_row(row) if row else None

    async def find_person(self, channel: str, external_id: str) -> Person | None:
        row = await self._one(
            "SELECT * FROM people WHERE channel = $1 AND external_id = $2", channel, external_id
        )
        return person_from_row(row) if row else None

    async def bind_staff(self, staff_id: str, person_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await bump_roster(conn)
            await bind(conn, staff_id, person_id, at)
        self.db.outbox_changes += 1  # rows that waited for this account can go now

    async def reports_since(self, person_id: int, since: datetime) -> int:
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM complaint_people WHERE person_id = $1 AND role = 'reporter'"
            " AND joined_at >= $2",
            person_id,
            instant(since),
        )
        return int(count)

    async def mark_reachable(self, person_id: int) -> bool:
        """True when the person was unreachable until now."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE people SET unreachable_at = NULL"
                " WHERE id = $1 AND unreachable_at IS NOT NULL",
                person_id,
            )
            if rows_changed(status) != 1:
                return False
            await bump_roster(conn)
            return True

    async def mark_unreachable(self, person_id: int, at: datetime) -> bool:
        """True when the person was reachable until now."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE people SET unreachable_at = $1 WHERE id = $2 AND unreachable_at IS NULL",
                instant(at),
                person_id,
            )
            if rows_changed(status) != 1:
                return False
            await bump_roster(conn)
            return True
