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
from storage.sqlite.accounts import merge_person, people_by_id
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.rows import (
    bump_roster,
    insert_notices,
    maybe_time,
)


class SqliteInvites(SqliteBase):
    async def create_invite(self, invite: Invite) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at,"
                " created_by, rebind, adds_account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    invite.token_hash,
                    invite.staff_id,
                    invite.role,
                    utc_text(invite.created_at),
                    utc_text(invite.expires_at),
                    invite.created_by,
                    int(invite.rebind),
                    int(invite.adds_account),
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
            adds_account=bool(row["adds_account"]),
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
        person who opened it one with the holder (`merge_person`): their
        accounts, and whatever they filed as a resident, join the holder."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT i.staff_id, i.rebind, i.adds_account, b.person_id FROM invites i"
                " LEFT JOIN staff_bindings b ON b.staff_id = i.staff_id"
                " WHERE i.token_hash = ? AND i.used_at IS NULL",
                (token_hash,),
            ) as found:
                row = await found.fetchone()
            if row is None:
                return InviteUse.SPENT
            staff_id, rebind, adds, previous = str(row[0]), bool(row[1]), bool(row[2]), row[3]
            held = previous is not None and previous != person_id
            if held and not (rebind or adds):
                return InviteUse.TAKEN
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE token_hash = ?",
                (utc_text(at), person_id, token_hash),
            )
            await bump_roster(conn)
            self.db.outbox_changes += 1  # rows that waited for this account can go now
            if held and adds:
                await merge_person(conn, person_id, int(previous))
                return InviteUse.ADDED
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
            if held:
                await insert_notices(conn, [tell_previous(int(previous))], at)
        return InviteUse.BOUND

    async def bound_staff(self) -> dict[str, Person]:
        rows = await self._all("SELECT staff_id, person_id FROM staff_bindings")
        people = await people_by_id(self.conn, (r["person_id"] for r in rows))
        return {r["staff_id"]: people[r["person_id"]] for r in rows if r["person_id"] in people}
