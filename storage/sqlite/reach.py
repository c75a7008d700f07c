"""Who can act: the chart's version stamp every process watches, who the
channel can reach, and the open complaints grouped by owner for the check
that each has an owner who can act."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.complaints import State
from bot.domain.routing import Reach
from bot.ports import (
    Change,
    Notice,
    OwnerGroup,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.rows import (
    FAMILIES,
    ROSTER_VERSION,
    Conflict,
    drop_pending,
)


class SqliteReach(SqliteBase):
    async def roster_version(self) -> int:
        """Grows with every change to the chart or to who can be reached, in
        whichever process made it: each bot process compares it with the one
        it last saw, at every sweep."""
        row = await self._one("SELECT value FROM meta WHERE key = ?", (ROSTER_VERSION,))
        return int(row["value"]) if row else 0

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
            bound=frozenset(str(r["staff_id"]) for r in rows),
            refused=frozenset(str(r["staff_id"]) for r in rows if r["refused"]),
        )

    async def open_owner_groups(self) -> list[OwnerGroup]:
        """On a reader of its own: the grouping reads every open complaint,
        and through the write connection's big page cache that would stay
        in memory (26 MB at 100,000 open complaints)."""
        open_states = [s.value for s in State if s.is_open]
        async with (
            self.db.reading() as conn,
            conn.execute(
                "SELECT owner, ward, family, concerns_leadership, COUNT(*) FROM complaints"
                f" WHERE state IN ({','.join('?' * len(open_states))})"
                " GROUP BY owner, ward, family, concerns_leadership",
                open_states,
            ) as cur,
        ):
            cur.row_factory = None
            rows = await cur.fetchall()
        return [OwnerGroup(o, w, FAMILIES[f], bool(lead), n) for o, w, f, lead, n in rows]

    async def open_ids_to_check(self, groups: Sequence[OwnerGroup]) -> list[int]:
        """The open complaints of these groups, and every one a fallback
        holds without having acknowledged it (it may go back)."""
        open_states = [s.value for s in State if s.is_open]
        states = ",".join("?" * len(open_states))
        found = {
            int(r[0])
            for r in await self._all(
                "SELECT id FROM complaints WHERE fallback_from IS NOT NULL AND state = ?",
                (State.SUBMITTED.value,),
            )
        }
        for start in range(0, len(groups), 200):
            chunk = groups[start : start + 200]
            pairs = ", ".join("(?, ?, ?, ?)" for _ in chunk)
            found |= {
                int(r[0])
                for r in await self._all(
                    f"SELECT id FROM complaints WHERE state IN ({states})"
                    f" AND (owner, ward, family, concerns_leadership) IN (VALUES {pairs})",
                    [
                        *open_states,
                        *(
                            v
                            for g in chunk
                            for v in (g.owner, g.ward, g.family.value, int(g.concerns_leadership))
                        ),
                    ],
                )
            }
        return sorted(found)

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
        or nothing, if any of those complaints changed meanwhile.  First the
        rows still waiting for the staff in ``drop_pending_of`` are given up
        (but those of ``keep_kinds``): what they would say is stale now."""
        try:
            async with self.db.transaction() as conn:
                await drop_pending(conn, drop_pending_of, keep_kinds, at)
                for change in changes:
                    if not await self._write_change(conn, change):
                        raise Conflict
                await self._insert_notices(conn, notices, at)
        except Conflict:
            return False
        return True
