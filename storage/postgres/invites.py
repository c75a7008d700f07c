"""One-time invites (only their hash is kept) and the staff bindings they
make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.ports import Invite, InviteUse, Notice, Person
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant
from storage.postgres.rows import bind, bump_roster, insert_notices, person_from_row


class PostgresInvites(PostgresBase):
    async def create_invite(self, invite: Invite) -> None:
        await self.db.execute(
            "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at,"
            " created_by, rebind) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            invite.token_hash,
            invite.staff_id,
            invite.role,
            instant(invite.created_at),
            instant(invite.expires_at),
            invite.created_by,
            invite.rebind,
        )

    async def get_invite(self, token_hash: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE token_hash = $1", token_hash)
        if row is None:
            return None
        return Invite(
            token_hash=row["token_hash"],
            staff_id=row["staff_id"],
            role=row["role"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            created_by=row["created_by"],
            used_at=row["used_at"],
            used_by=row["used_by"],
            rebind=row["rebind"],
        )

    async def use_invite(
        self,
        token_hash: str,
        person_id: int,
        at: datetime,
        tell_previous: Callable[[int], Notice],
    ) -> InviteUse:
        """Spend the invite and bind its staff record to the person, in one
        transaction.  The invite's row is locked as it is read: two people
        opening the same link at once (in two processes, say) are served one
        after the other, and the second finds it spent."""
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "SELECT i.staff_id, i.rebind, b.person_id FROM invites i"
                " LEFT JOIN staff_bindings b ON b.staff_id = i.staff_id"
                " WHERE i.token_hash = $1 AND i.used_at IS NULL FOR UPDATE OF i",
                token_hash,
            )
            if row is None:
                return InviteUse.SPENT
            staff_id, rebind, previous = row["staff_id"], row["rebind"], row["person_id"]
            taking_over = previous is not None and previous != person_id
            if taking_over and not rebind:
                return InviteUse.TAKEN
            await conn.execute(
                "UPDATE invites SET used_at = $1, used_by = $2 WHERE token_hash = $3",
                instant(at),
                person_id,
                token_hash,
            )
            await bump_roster(conn)
            await bind(conn, staff_id, person_id, at)
            if taking_over:
                await insert_notices(conn, [tell_previous(int(previous))], at)
        self.db.outbox_changes += 1  # rows that waited for this account can go now
        return InviteUse.BOUND

    async def bound_staff(self) -> dict[str, Person]:
        rows = await self._all(
            "SELECT b.staff_id, p.* FROM staff_bindings b JOIN people p ON p.id = b.person_id"
        )
        return {r["staff_id"]: person_from_row(r) for r in rows}
