"""Who can act: the chart's version stamp every process watches, who the
channel can reach, and the open complaints grouped by owner for the check
that each has an owner who can act."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.complaints import State
from bot.domain.routing import Reach
from bot.ports import Change, Notice, OwnerGroup
from storage.postgres.base import PostgresBase
from storage.postgres.rows import (
    FAMILIES,
    OPEN_STATES,
    ROSTER_VERSION,
    Conflict,
    drop_pending,
    lock_complaints,
)


class PostgresReach(PostgresBase):
    async def roster_version(self) -> int:
        """Grows with every change to the chart or to who can be reached, in
        whichever process made it."""
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = $1", ROSTER_VERSION)
        return int(value) if value is not None else 0

    async def reach(self) -> Reach:
        """Staff bound to a person, and those of them no channel can reach
        (every account refused: blocked the bot or never opened it; or no
        account left) or the abuse list holds.  A cadre who blocked the bot
        on Telegram but can be reached on Zalo can act."""
        rows = await self._all(
            "SELECT b.staff_id, NOT EXISTS (SELECT 1 FROM accounts a"
            " WHERE a.person_id = b.person_id AND a.unreachable_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = b.person_id) AS refused"
            " FROM staff_bindings b"
        )
        return Reach(
            bound=frozenset(r["staff_id"] for r in rows),
            refused=frozenset(r["staff_id"] for r in rows if r["refused"]),
        )

    async def open_owner_groups(self) -> list[OwnerGroup]:
        rows = await self._all(
            "SELECT owner, ward, family, concerns_leadership, COUNT(*) FROM complaints"
            " WHERE state = ANY($1::text[]) GROUP BY owner, ward, family, concerns_leadership",
            OPEN_STATES,
        )
        return [OwnerGroup(o, w, FAMILIES[f], lead, n) for o, w, f, lead, n in rows]

    async def open_ids_to_check(self, groups: Sequence[OwnerGroup]) -> list[int]:
        """The open complaints of these groups, and every one a fallback
        holds without having acknowledged it (it may go back)."""
        rows = await self._all(
            "SELECT id FROM complaints WHERE fallback_from IS NOT NULL AND state = $1"
            " UNION SELECT c.id FROM complaints c"
            " JOIN unnest($2::text[], $3::text[], $4::text[], $5::boolean[])"
            " AS g(owner, ward, family, lead)"
            " ON c.owner = g.owner AND c.ward = g.ward AND c.family = g.family"
            " AND c.concerns_leadership = g.lead"
            " WHERE c.state = ANY($6::text[])",
            State.SUBMITTED.value,
            [g.owner for g in groups],
            [g.ward for g in groups],
            [g.family.value for g in groups],
            [g.concerns_leadership for g in groups],
            OPEN_STATES,
        )
        return sorted(int(r[0]) for r in rows)

    async def apply_changes(
        self,
        changes: Sequence[Change],
        notices: Sequence[Notice],
        at: datetime,
        *,
        drop_pending_of: Sequence[str] = (),
        keep_kinds: Sequence[str] = (),
    ) -> bool:
        """Several complaints' changes and the notices about them, at once —
        or nothing, if any of those complaints changed meanwhile."""
        try:
            async with self.db.transaction() as conn:
                await lock_complaints(conn, (c.complaint_id for c in changes))
                await drop_pending(conn, drop_pending_of, keep_kinds, at)
                for change in changes:
                    if not await self._write_change(conn, change):
                        raise Conflict
                await self._insert_notices(conn, notices, at)
        except Conflict:
            return False
        return True
