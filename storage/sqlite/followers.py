"""Followers: residents who follow a complaint instead of filing it again
(issue 17), and the open complaints of one problem near a new report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.complaints import OPEN_STATES, Complaint
from bot.ports import Box
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text


class SqliteFollowers(SqliteBase):
    async def follow(
        self, complaint_id: int, person_id: int, at: datetime, *, show_name: bool
    ) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at,"
                " show_name) VALUES (?, ?, 'follower', ?, ?) ON CONFLICT DO NOTHING",
                (complaint_id, person_id, utc_text(at), int(show_name)),
            )
            if cur.rowcount != 1:
                return False
            await conn.execute("DELETE FROM conversations WHERE person_id = ?", (person_id,))
        return True

    async def unfollow(self, complaint_id: int, person_id: int) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM complaint_people WHERE complaint_id = ? AND person_id = ?"
                " AND role = 'follower'",
                (complaint_id, person_id),
            )
            return cur.rowcount == 1

    async def followers_of(self, complaint_id: int) -> list[int]:
        rows = await self._all(
            "SELECT person_id FROM complaint_people WHERE complaint_id = ? AND role = 'follower'"
            " ORDER BY joined_at, person_id",
            (complaint_id,),
        )
        return [int(r["person_id"]) for r in rows]

    async def followed_by(self, person_id: int) -> list[Complaint]:
        return await self._complaints(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = ? AND p.role = 'follower' ORDER BY c.id DESC",
            (person_id,),
        )

    async def follower_counts(self, complaint_ids: Sequence[int]) -> dict[int, int]:
        rows = await self._all(
            "SELECT complaint_id, COUNT(*) AS n FROM complaint_people WHERE role = 'follower'"
            " AND complaint_id IN (SELECT value FROM json_each(?)) GROUP BY complaint_id",
            (json.dumps(sorted(set(complaint_ids))),),
        )
        return {int(r["complaint_id"]): int(r["n"]) for r in rows}

    async def follower_names(self, complaint_id: int) -> list[str]:
        rows = await self._all(
            "SELECT p.display_name FROM complaint_people cp JOIN people p ON p.id = cp.person_id"
            " WHERE cp.complaint_id = ? AND cp.role = 'follower' AND cp.show_name"
            " AND p.display_name IS NOT NULL ORDER BY cp.joined_at, cp.person_id",
            (complaint_id,),
        )
        return [str(r["display_name"]) for r in rows]

    async def open_alike(
        self,
        category: str,
        since: datetime,
        person_id: int,
        *,
        area: str | None = None,
        box: Box | None = None,
    ) -> list[Complaint]:
        states = sorted(s.value for s in OPEN_STATES)
        where = [
            "category = ?",
            "created_at >= ?",
            f"state IN ({','.join('?' * len(states))})",
            "id NOT IN (SELECT complaint_id FROM complaint_people WHERE person_id = ?)",
        ]
        params: list[Any] = [category, utc_text(since), *states, person_id]
        if box is not None:
            where.append("lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?")
            params.extend(box)
        elif area is not None:
            where.append("area = ?")
            params.append(area)
        else:
            return []
        return await self._complaints(
            f"SELECT * FROM complaints WHERE {' AND '.join(where)} ORDER BY created_at DESC, id"
            " LIMIT 200",
            params,
        )
