"""One-time invites (only their hash is kept) and the staff bindings they
make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.ports import Invite, InviteUse, Notice, Person
from storage.postgres.accounts import merge_person, people_by_id
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant
from storage.postgres.rows import bind, bump_roster, insert_notices


class PostgresInvites(PostgresBase):
    async def create_invite(self, invite: Invite) -> None:
        async with self.db.durable_transaction() as conn:  # the link is printed at once
            await conn.execute(
                "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at,"
                " created_by, rebind, adds_account) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                invite.token_hash,
                invite.staff_id,
                invite.role,
                instant(invite.created_at),
                instant(invite.expires_at),
                invite.created_by,
                invite.rebind,
                invite.adds_account,
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
            adds_account=row["adds_account"],
        )

    async def use_invite(
        self,
        token_hash: str,
        person_id: int,
        at: datetime,
        tell_previous: Callable[[int], Notice],
    ) -> InviteUse:
        """Spend the invite and bind its staff record to the person, in one
        transaction.  A record another person holds is taken over only by
        an invite minted to rebind it, and then ``tell_previous`` names the
        notice the previous person gets (an outbox row, written with the
        binding).  An invite minted to add an account instead makes the
        person who opened it one with the holder (`merge_person`).  The
        invite's row is locked as it is read: two people opening the same
        code at once (in two processes, say) are served one after the
        other, and the second finds it spent."""
        async with self.db.durable_transaction() as conn:
            row = await conn.fetchrow(
                "SELECT i.staff_id, i.rebind, i.adds_account, b.person_id FROM invites i"
                " LEFT JOIN staff_bindings b ON b.staff_id = i.staff_id"
                " WHERE i.token_hash = $1 AND i.used_at IS NULL FOR UPDATE OF i",
                token_hash,
            )
            if row is None:
                return InviteUse.SPENT
            staff_id, previous = row["staff_id"], row["person_id"]
            held = previous is not None and previous != person_id
            if held and not (row["rebind"] or row["adds_account"]):
                return InviteUse.TAKEN
            await conn.execute(
                "UPDATE invites SET used_at = $1, used_by = $2 WHERE token_hash = $3",
                instant(at),
                person_id,
                token_hash,
            )
            await bump_roster(conn)
            self.db.outbox_changes += 1  # rows that waited for this account can go now
            if held and row["adds_account"]:
                await merge_person(conn, person_id, previous)
                return InviteUse.ADDED
            await bind(conn, staff_id, person_id, at)
            if held:
                await insert_notices(conn, [tell_previous(previous)], at)
        return InviteUse.BOUND

    async def bound_staff(self) -> dict[str, Person]:
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch("SELECT staff_id, person_id FROM staff_bindings")
            people = await people_by_id(conn, (r["person_id"] for r in rows))
        return {r["staff_id"]: people[r["person_id"]] for r in rows if r["person_id"] in people}
