"""People (one record each, with accounts on channels; never keyed by a
username), the staff record a person is bound to, whether each account can
be reached, and how many complaints someone filed lately."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.ports import Account, AccountReach, Identity, Person
from storage.postgres.accounts import new_person, person_by_id, person_from_row, seen
from storage.postgres.base import PostgresBase
from storage.postgres.db import Conn, instant
from storage.postgres.rows import bind, bump_roster

# Who wrote, in one read: the person, this account's own state, the others'
# (is this their latest account? can another be reached?), their staff
# binding and the abuse list.
IDENTIFY = (
    "SELECT p.id, p.display_name, p.language, a.display_name AS account_name,"
    " a.unreachable_at, b.staff_id AS bound_staff,"
    " EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS blocked,"
    " (SELECT COUNT(*) FROM accounts o WHERE o.person_id = p.id) AS accounts,"
    " EXISTS (SELECT 1 FROM accounts o WHERE o.person_id = p.id AND o.ordinal <> a.ordinal"
    " AND o.unreachable_at IS NULL) AS others_reachable,"
    " (a.last_seen_at IS NULL OR a.last_seen_at < $3::timestamptz - interval '1 day'"
    " OR EXISTS (SELECT 1 FROM accounts o WHERE o.person_id = p.id AND o.ordinal <> a.ordinal"
    " AND o.last_seen_at >= a.last_seen_at)) AS stale"
    " FROM accounts a JOIN people p ON p.id = a.person_id"
    " LEFT JOIN staff_bindings b ON b.person_id = p.id"
    " WHERE a.channel = $1 AND a.external_id = $2"
)

# Can any of the person's accounts be reached?
REACHABLE = "EXISTS (SELECT 1 FROM accounts WHERE person_id = $1 AND unreachable_at IS NULL)"


class PostgresPeople(PostgresBase):
    async def upsert_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Person:
        identity = await self.identify_person(channel, external_id, display_name, default_language)
        return identity.person

    async def identify_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Identity:
        """Every update starts here, so it is one read in the usual case —
        the person, their staff binding and the abuse list together — and
        one write only for a newcomer, a changed name, an account that could
        not be reached and has written again, or one the person turns to
        from another (messages follow them there; once a day otherwise)."""
        account = Account(channel, external_id)
        now = instant(self.clock.now())
        row = await self._one(IDENTIFY, channel, external_id, now)
        if row is None:
            async with self.db.transaction() as conn:
                # Two first messages at once (two processes, say): the
                # second waits for the first's account, then finds it.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    f"{channel}:{external_id}",
                )
                if (
                    await conn.fetchval(
                        "SELECT 1 FROM accounts WHERE channel = $1 AND external_id = $2",
                        channel,
                        external_id,
                    )
                    is None
                ):
                    await new_person(conn, account, display_name, default_language, now)
            row = await self._one(IDENTIFY, channel, external_id, now)
            assert row is not None
        returned = row["unreachable_at"] is not None and not row["others_reachable"]
        renamed = bool(display_name) and row["account_name"] != display_name
        if row["unreachable_at"] is not None or renamed or row["stale"]:
            await self._seen(account, display_name if renamed else None, returned, now)
        person = person_from_row(row, (account,))
        if display_name and person.display_name != display_name:
            await self.db.execute(
                "UPDATE people SET display_name = $1 WHERE id = $2", display_name, person.id
            )
            person = replace(person, display_name=display_name)
        if row["accounts"] > 1:
            person = replace(person, accounts=await self._accounts(person.id))
        return Identity(person, row["bound_staff"], row["blocked"], returned)

    async def _seen(
        self, account: Account, display_name: str | None, returned: bool, at: datetime
    ) -> None:
        """The account wrote (``at``): it is the person's latest, it can be
        reached, and its name is what the channel says now."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE accounts SET last_seen_at = {seen('$4')}, unreachable_at = NULL,"
                " display_name = COALESCE($1, display_name)"
                " WHERE channel = $2 AND external_id = $3",
                display_name,
                account.channel,
                account.external_id,
                at,
            )
            if returned:
                await bump_roster(conn)

    async def _accounts(self, person_id: int) -> tuple[Account, ...]:
        person = await self.get_person(person_id)
        return person.accounts if person else ()

    async def get_person(self, person_id: int) -> Person | None:
        async with self.db.pool.acquire() as conn:
            return await person_by_id(conn, person_id)

    async def set_language(self, person_id: int, language: str) -> None:
        await self.db.execute("UPDATE people SET language = $1 WHERE id = $2", language, person_id)

    async def staff_of_person(self, person_id: int) -> str | None:
        staff: str | None = await self.db.fetchval(
            "SELECT staff_id FROM staff_bindings WHERE person_id = $1", person_id
        )
        return staff

    async def person_of_staff(self, staff_id: str) -> Person | None:
        person_id = await self.db.fetchval(
            "SELECT person_id FROM staff_bindings WHERE staff_id = $1", staff_id
        )
        return await self.get_person(person_id) if person_id is not None else None

    async def find_person(self, channel: str, external_id: str) -> Person | None:
        person_id = await self.db.fetchval(
            "SELECT person_id FROM accounts WHERE channel = $1 AND external_id = $2",
            channel,
            external_id,
        )
        return await self.get_person(person_id) if person_id is not None else None

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

    async def mark_reachable(self, account: Account) -> AccountReach:
        """The channel can reach this account again (the person unblocked the bot)."""
        return await self._mark(account, None)

    async def mark_unreachable(self, account: Account, at: datetime) -> AccountReach:
        """The channel refuses this account (blocked the bot, never opened it)."""
        return await self._mark(account, at)

    async def _mark(self, account: Account, at: datetime | None) -> AccountReach:
        """Set one account's reachability; the person's (any account
        reachable) before and after.  Who can act changed only when the
        person's did: then the roster's version moves.  The account's row is
        locked first: two processes marking one person's accounts at once
        see each other's."""
        async with self.db.transaction() as conn:
            person_id = await conn.fetchval(
                "SELECT person_id FROM accounts WHERE channel = $1 AND external_id = $2 FOR UPDATE",
                account.channel,
                account.external_id,
            )
            if person_id is None:
                return AccountReach(None)
            before = await _reachable(conn, person_id)
            # An account refused twice keeps the time it was first refused.
            await conn.execute(
                "UPDATE accounts SET unreachable_at = $1 WHERE channel = $2 AND external_id = $3"
                + (" AND unreachable_at IS NULL" if at else ""),
                None if at is None else instant(at),
                account.channel,
                account.external_id,
            )
            after = await _reachable(conn, person_id)
            if before != after:
                await bump_roster(conn)
        return AccountReach(person_id, before, after)


async def _reachable(conn: Conn, person_id: int) -> bool:
    return bool(await conn.fetchval(f"SELECT {REACHABLE}", person_id))
