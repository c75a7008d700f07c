"""Complaints: filed with their receipt and task card in one transaction,
changed only at the version they were read at, read back with their photos,
their events and who reported them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.complaints import Action, Complaint, Event, State
from bot.ports import Change, NewComplaint, Notice
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant, maybe_instant
from storage.postgres.rows import OPEN_STATES, complaint_from_row, event_from_row, with_complaint


class PostgresComplaints(PostgresBase):
    async def create_complaint(
        self,
        new: NewComplaint,
        reporter_id: int,
        event_at: datetime,
        notices: Sequence[Notice],
    ) -> Complaint:
        """Insert the complaint, its reporter, photos, first event and the
        notices it causes, and end the reporter's draft — all at once."""
        created = instant(new.created_at)
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "INSERT INTO complaints (category, family, area, ward, state, owner,"
                " concerns_leadership, description, landmark, lat, lon, created_at, due_at,"
                " clock_start, ack_due_at, urgent, swept_until, next_action_at, fallback_from)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $14,"
                " $15, $12, $16, $17) RETURNING *",
                new.category,
                new.family,
                new.area,
                new.ward,
                State.SUBMITTED.value,
                new.owner,
                new.concerns_leadership,
                new.description,
                new.landmark,
                new.location.lat if new.location else None,
                new.location.lon if new.location else None,
                created,
                instant(new.due_at),
                instant(new.ack_due_at or new.created_at),
                new.urgent,
                maybe_instant(new.next_action_at),
                new.fallback_from,
            )
            assert row is not None
            complaint_id = row["id"]
            await conn.execute(
                "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at,"
                " show_name) VALUES ($1, $2, 'reporter', $3, $4)",
                complaint_id,
                reporter_id,
                instant(event_at),
                new.show_name,
            )
            photos = [("report", p) for p in new.photos]
            await self._insert_photos(conn, complaint_id, photos)
            await self._insert_event(
                conn,
                Event(
                    complaint_id=complaint_id,
                    at=event_at,
                    action=Action.FILE,
                    from_state=None,
                    to_state=State.SUBMITTED,
                    actor_person_id=reporter_id,
                ),
            )
            await self._insert_notices(
                conn, [with_complaint(n, complaint_id) for n in notices], event_at
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = $1", reporter_id)
        # Read back as inserted (RETURNING *): no second trip for it.
        return complaint_from_row(row, photos)

    async def get_complaint(self, complaint_id: int) -> Complaint | None:
        found = await self._complaints("SELECT * FROM complaints WHERE id = $1", complaint_id)
        return found[0] if found else None

    async def get_complaints(self, ids: Sequence[int]) -> dict[int, Complaint]:
        """Many complaints in two queries (rows, photos)."""
        found = await self._complaints(
            "SELECT * FROM complaints WHERE id = ANY($1::bigint[])", sorted(set(ids))
        )
        return {c.id: c for c in found}

    async def reporter_of(self, complaint_id: int) -> int | None:
        person: int | None = await self.db.fetchval(
            "SELECT person_id FROM complaint_people WHERE complaint_id = $1 AND role = 'reporter'",
            complaint_id,
        )
        return person

    async def apply_change(self, change: Change) -> bool:
        async with self.db.transaction() as conn:
            return await self._write_change(conn, change)

    async def complaints_of_reporter(self, person_id: int) -> list[Complaint]:
        return await self._complaints(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = $1 AND p.role = 'reporter' ORDER BY c.id DESC",
            person_id,
        )

    async def open_tasks(
        self, *, owner: str | None = None, wards: Sequence[str] | None = None
    ) -> list[Complaint]:
        where = ["state = ANY($1::text[])"]
        params: list[Any] = [OPEN_STATES]
        scope = []
        if owner is not None:
            params.append(owner)
            scope.append(f"owner = ${len(params)}")
        if wards:
            params.append(list(wards))
            scope.append(f"ward = ANY(${len(params)}::text[])")
        if scope:
            where.append("(" + " OR ".join(scope) + ")")
        return await self._complaints(
            f"SELECT * FROM complaints WHERE {' AND '.join(where)} ORDER BY due_at, id", *params
        )

    async def open_deadlines(self) -> list[tuple[str, int, datetime]]:
        """(owner, id, deadline) of every open complaint, by deadline: the
        morning briefing's lists (three columns, not whole complaints)."""
        rows = await self._all(
            "SELECT owner, id, due_at FROM complaints WHERE state = ANY($1::text[])"
            " ORDER BY due_at, id",
            OPEN_STATES,
        )
        return [(owner, id_, due_at) for owner, id_, due_at in rows]

    async def all_complaints(self) -> list[Complaint]:
        return await self._complaints("SELECT * FROM complaints ORDER BY id")

    async def reporter_identity(self, complaint_id: int) -> tuple[str | None, bool]:
        """The reporter's display name and whether they let the cadre see it."""
        row = await self._one(
            "SELECT p.display_name, cp.show_name FROM complaint_people cp"
            " JOIN people p ON p.id = cp.person_id"
            " WHERE cp.complaint_id = $1 AND cp.role = 'reporter'",
            complaint_id,
        )
        if row is None:
            return None, False
        return row["display_name"], row["show_name"]

    async def log_identity_access(self, complaint_id: int, staff_id: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO identity_access (complaint_id, staff_id, at) VALUES ($1, $2, $3)",
            complaint_id,
            staff_id,
            instant(at),
        )

    async def last_note(self, complaint_id: int, action: Action) -> str | None:
        note: str | None = await self.db.fetchval(
            "SELECT note FROM complaint_events WHERE complaint_id = $1 AND action = $2"
            " ORDER BY id DESC LIMIT 1",
            complaint_id,
            action.value,
        )
        return note

    async def events_of(self, complaint_id: int) -> list[Event]:
        rows = await self._all(
            "SELECT * FROM complaint_events WHERE complaint_id = $1 ORDER BY id", complaint_id
        )
        return [event_from_row(r) for r in rows]
