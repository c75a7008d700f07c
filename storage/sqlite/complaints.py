"""Complaints: filed with their receipt and task card in one transaction,
changed only at the version they were read at, read back with their photos,
their events and who reported them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.complaints import Action, Complaint, Event, State
from bot.ports import (
    Change,
    NewComplaint,
    Notice,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.rows import (
    complaint_from_row,
    with_complaint,
)


class SqliteComplaints(SqliteBase):
    async def create_complaint(
        self,
        new: NewComplaint,
        reporter_id: int,
        event_at: datetime,
        notices: Sequence[Notice],
    ) -> Complaint:
        """Insert the complaint, its reporter, photos, first event and the
        notices it causes, and end the reporter's draft — all at once, so a
        crash can neither lose the complaint nor leave a draft that would
        file it twice."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO complaints (category, family, area, ward, state, owner,"
                " concerns_leadership, description, landmark, lat, lon, created_at, due_at,"
                " clock_start, ack_due_at, urgent, swept_until, next_action_at, fallback_from)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.category,
                    new.family,
                    new.area,
                    new.ward,
                    State.SUBMITTED.value,
                    new.owner,
                    int(new.concerns_leadership),
                    new.description,
                    new.landmark,
                    new.location.lat if new.location else None,
                    new.location.lon if new.location else None,
                    utc_text(new.created_at),
                    utc_text(new.due_at),
                    utc_text(new.created_at),
                    utc_text(new.ack_due_at or new.created_at),
                    int(new.urgent),
                    utc_text(new.created_at),
                    utc_text(new.next_action_at) if new.next_action_at else None,
                    new.fallback_from,
                ),
            )
            complaint_id = cur.lastrowid
            assert complaint_id is not None
            await conn.execute(
                "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at,"
                " show_name) VALUES (?, ?, 'reporter', ?, ?)",
                (complaint_id, reporter_id, utc_text(event_at), int(new.show_name)),
            )
            await self._insert_photos(conn, complaint_id, [("report", p) for p in new.photos])
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
                conn,
                [with_complaint(n, complaint_id) for n in notices],
                event_at,
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = ?", (reporter_id,))
        complaint = await self.get_complaint(complaint_id)
        assert complaint is not None
        return complaint

    async def get_complaint(self, complaint_id: int) -> Complaint | None:
        row = await self._one("SELECT * FROM complaints WHERE id = ?", (complaint_id,))
        if row is None:
            return None
        photos = await self._photos({complaint_id})
        return complaint_from_row(row, photos.get(complaint_id, []))

    async def get_complaints(self, ids: Sequence[int]) -> dict[int, Complaint]:
        """Many complaints in two queries (rows, photos), for the messages
        that list tasks; chunked under SQLite's limit on parameters."""
        found: dict[int, Complaint] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for c in await self._complaints(
                f"SELECT * FROM complaints WHERE id IN ({marks})", chunk
            ):
                found[c.id] = c
        return found

    async def reporter_of(self, complaint_id: int) -> int | None:
        row = await self._one(
            "SELECT person_id FROM complaint_people WHERE complaint_id = ? AND role = 'reporter'",
            (complaint_id,),
        )
        return int(row["person_id"]) if row else None

    async def apply_change(self, change: Change) -> bool:
        async with self.db.transaction() as conn:
            return await self._write_change(conn, change)

    async def complaints_of_reporter(self, person_id: int) -> list[Complaint]:
        return await self._complaints(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = ? AND p.role = 'reporter' ORDER BY c.id DESC",
            (person_id,),
        )

    async def open_tasks(
        self, *, owner: str | None = None, wards: Sequence[str] | None = None
    ) -> list[Complaint]:
        open_states = [s.value for s in State if s.is_open]
        where = [f"state IN ({','.join('?' * len(open_states))})"]
        params: list[Any] = [*open_states]
        scope = []
        if owner is not None:
            scope.append("owner = ?")
            params.append(owner)
        if wards:
            scope.append(f"ward IN ({','.join('?' * len(wards))})")
            params.extend(wards)
        if scope:
            where.append("(" + " OR ".join(scope) + ")")
        return await self._complaints(
            f"SELECT * FROM complaints WHERE {' AND '.join(where)} ORDER BY due_at, id",
            params,
        )

    async def open_deadlines(self) -> list[tuple[str, int, datetime]]:
        """(owner, id, deadline) of every open complaint, by deadline: the
        morning briefing's lists.  Three columns, not whole complaints: at a
        hundred thousand open ones that is 0.4 s instead of 4."""
        open_states = [s.value for s in State if s.is_open]
        async with self.conn.execute(
            f"SELECT owner, id, due_at FROM complaints"
            f" WHERE state IN ({','.join('?' * len(open_states))}) ORDER BY due_at, id",
            open_states,
        ) as cur:
            cur.row_factory = None
            rows = await cur.fetchall()
        return [(owner, id_, parse_utc(due_at)) for owner, id_, due_at in rows]

    async def all_complaints(self) -> list[Complaint]:
        return await self._complaints("SELECT * FROM complaints ORDER BY id", ())

    async def reporter_identity(self, complaint_id: int) -> tuple[str | None, bool]:
        """The reporter's display name and whether they let the cadre see it."""
        row = await self._one(
            "SELECT p.display_name, cp.show_name FROM complaint_people cp"
            " JOIN people p ON p.id = cp.person_id"
            " WHERE cp.complaint_id = ? AND cp.role = 'reporter'",
            (complaint_id,),
        )
        if row is None:
            return None, False
        return row["display_name"], bool(row["show_name"])

    async def log_identity_access(self, complaint_id: int, staff_id: str, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO identity_access (complaint_id, staff_id, at) VALUES (?, ?, ?)",
                (complaint_id, staff_id, utc_text(at)),
            )

    async def last_note(self, complaint_id: int, action: Action) -> str | None:
        row = await self._one(
            "SELECT note FROM complaint_events WHERE complaint_id = ? AND action = ?"
            " ORDER BY id DESC LIMIT 1",
            (complaint_id, action.value),
        )
        return str(row["note"]) if row and row["note"] is not None else None

    async def events_of(self, complaint_id: int) -> list[Event]:
        rows = await self._all(
            "SELECT * FROM complaint_events WHERE complaint_id = ? ORDER BY id", (complaint_id,)
        )
        return [
            Event(
                complaint_id=r["complaint_id"],
                at=parse_utc(r["at"]),
                action=Action(r["action"]),
                from_state=State(r["from_state"]) if r["from_state"] else None,
                to_state=State(r["to_state"]),
                actor_person_id=r["actor_person_id"],
                actor_staff_id=r["actor_staff_id"],
                note=r["note"],
                data=json.loads(r["data"]),
            )
            for r in rows
        ]
