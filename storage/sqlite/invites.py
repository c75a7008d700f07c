"""One-time invites (only their hash is kept) and the staff bindings they
make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.ports import (
    Invite,
    InviteUse,
    Notice,
    Person,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.rows import (
    bump_roster,
    insert_notices,
    maybe_time,
    person_from_row,
)


class SqliteInvites(SqliteBase):
    async def create_invite(self, invite: Invite) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at,"
                " created_by, rebind) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    invite.token_hash,
                    invite.staff_id,
                    invite.role,
                    utc_text(invite.created_at),
                    utc_text(invite.expires_at),
                    invite.created_by,
                    int(invite.rebind),
                ),
            )

    async def get_invite(self, token_hash: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE token_hash = ?", (token_hash,))
        if row is None:
            return None
        return Invite(
            token_hash=row["token_hash"],
            staff_id=row["staff_id"],
            role=row["role"],
            created_at=parse_utc(row["created_at"]),
            expires_at=parse_utc(row["expires_at"]),
            created_by=row["created_by"],
            used_at=maybe_time(row["used_at"]),
            used_by=row["used_by"],
            rebind=bool(row["rebind"]),
        )

    async def use_invite(
        self,
        token_hash: str,
        person_id: int,
        at: datetime,
        tell_previous: Callable[[int], Notice],
    ) -> InviteUse:
        """Spend the invite and bind its staff record to the person, in one
        transaction.  A record another account holds is taken over only by
        an invite minted to rebind it, and then ``tell_previous`` names the
        notice the previous account gets (an outbox row, written with the
        binding)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT i.staff_id, i.rebind, b.person_id FROM invites i"
                " LEFT JOIN staff_bindings b ON b.staff_id = i.staff_id"
                " WHERE i.token_hash = ? AND i.used_at IS NULL",
                (token_hash,),
            ) as found:
                row = await found.fetchone()
            if row is None:
                return InviteUse.SPENT
            staff_id, rebind, previous = str(row[0]), bool(row[1]), row[2]
            taking_over = previous is not None and previous != person_id
            if taking_over and not rebind:
                return InviteUse.TAKEN
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE token_hash = ?",
                (utc_text(at), person_id, token_hash),
            )
            await bump_roster(conn)
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
            if taking_over:
                await insert_notices(conn, [tell_previous(int(previous))], at)
        self.db.outbox_changes += 1  # rows that waited for this account can go now
        return InviteUse.BOUND

    async def bound_staff(self) -> dict[str, Person]:
        rows = await self._all(
            "SELECT b.staff_id, p.* FROM staff_bindings b JOIN people p ON p.id = b.person_id"
        )
        return {r["staff_id"]: person_from_row(r) for r in rows}
