"""People (one record each, with accounts on channels; never keyed by a
username), the staff record a person is bound to, whether each account can
be reached, and how many complaints someone filed lately."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime

from bot.ports import (
    Account,
    AccountReach,
    Identity,
    Person,
)
from storage.sqlite.accounts import SEEN, new_person, person_by_id, person_from_row
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.inline import InlineConnection
from storage.sqlite.rows import bump_roster

# Who wrote, in one read: the person, this account's own state, the others'
# (is this their latest account? can another be reached?), their staff
# binding and the abuse list.
_IDENTIFY = (
    "SELECT p.*, a.display_name AS account_name, a.unreachable_at,"
    " b.staff_id AS bound_staff,"
    " EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS blocked,"
    " (SELECT COUNT(*) FROM accounts o WHERE o.person_id = p.id) AS accounts,"
    " EXISTS (SELECT 1 FROM accounts o WHERE o.person_id = p.id AND o.rowid <> a.rowid"
    " AND o.unreachable_at IS NULL) AS others_reachable,"
    " (a.last_seen_at IS NULL OR a.last_seen_at < datetime(?, '-1 day')"
    " OR EXISTS (SELECT 1 FROM accounts o WHERE o.person_id = p.id AND o.rowid <> a.rowid"
    " AND o.last_seen_at >= a.last_seen_at)) AS stale"
    " FROM accounts a JOIN people p ON p.id = a.person_id"
    " LEFT JOIN staff_bindings b ON b.person_id = p.id"
    " WHERE a.channel = ? AND a.external_id = ?"
)

# Can any of the person's accounts be reached?
_REACHABLE = "EXISTS (SELECT 1 FROM accounts WHERE person_id = ? AND unreachable_at IS NULL)"


class SqlitePeople(SqliteBase):
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
        now = self.clock.now()
        row = await self._one(_IDENTIFY, (utc_text(now), channel, external_id))
        if row is None:
            async with self.db.transaction() as conn:
                found = await (
                    await conn.execute(
                        "SELECT 1 FROM accounts WHERE channel = ? AND external_id = ?",
                        (channel, external_id),
                    )
                ).fetchone()
                if found is None:
                    await new_person(conn, account, display_name, default_language, now)
            row = await self._one(_IDENTIFY, (utc_text(now), channel, external_id))
            assert row is not None
        returned = row["unreachable_at"] is not None and not row["others_reachable"]
        renamed = bool(display_name) and row["account_name"] != display_name
        if row["unreachable_at"] is not None or renamed or row["stale"]:
            await self._seen(account, display_name if renamed else None, returned, now)
        person = person_from_row(row, (account,))
        if display_name and person.display_name != display_name:
            await self.db.write(
                "UPDATE people SET display_name = ? WHERE id = ?", (display_name, person.id)
            )
            person = replace(person, display_name=display_name)
        if row["accounts"] > 1:
            person = replace(person, accounts=(await self._accounts(person.id)))
        staff = row["bound_staff"]
        return Identity(
            person, str(staff) if staff is not None else None, bool(row["blocked"]), returned
        )

    async def _seen(
        self, account: Account, display_name: str | None, returned: bool, at: datetime
    ) -> None:
        """The account wrote (``at``): it is the person's latest, it can be
        reached, and its name is what the channel says now."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE accounts SET last_seen_at = {SEEN}, unreachable_at = NULL,"
                " display_name = COALESCE(?, display_name)"
                " WHERE channel = ? AND external_id = ?",
                (utc_text(at), display_name, account.channel, account.external_id),
            )
            if returned:
                await bump_roster(conn)

    async def _accounts(self, person_id: int) -> tuple[Account, ...]:
        person = await person_by_id(self.conn, person_id)
        return person.accounts if person else ()

    async def get_person(self, person_id: int) -> Person | None:
        return await person_by_id(self.conn, person_id)

    async def set_language(self, person_id: int, language: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def staff_of_person(self, person_id: int) -> str | None:
        row = await self._one(
            "SELECT staff_id FROM staff_bindings WHERE person_id = ?", (person_id,)
        )
        return str(row["staff_id"]) if row else None

    async def person_of_staff(self, staff_id: str) -> Person | None:
        row = await self._one(
            "SELECT person_id FROM staff_bindings WHERE staff_id = ?",
            (staff_id,),
        )
        return await person_by_id(self.conn, row["person_id"]) if row else None

    async def find_person(self, channel: str, external_id: str) -> Person | None:
        row = await self._one(
            "SELECT person_id FROM accounts WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return await person_by_id(self.conn, row["person_id"]) if row else None

    async def bind_staff(self, staff_id: str, person_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await bump_roster(conn)
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
        self.db.outbox_changes += 1  # rows that waited for this account can go now

    async def reports_since(self, person_id: int, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM complaint_people WHERE person_id = ? AND role = 'reporter'"
            " AND joined_at >= ?",
            (person_id, utc_text(since)),
        )
        return int(row[0]) if row else 0

    async def mark_reachable(self, account: Account) -> AccountReach:
        """The channel can reach this account again (the person unblocked the bot)."""
        return await self._mark(account, None)

    async def mark_unreachable(self, account: Account, at: datetime) -> AccountReach:
        """The channel refuses this account (blocked the bot, never opened it)."""
        return await self._mark(account, at)

    async def _mark(self, account: Account, at: datetime | None) -> AccountReach:
        """Set one account's reachability; the person's (any account
        reachable) before and after.  Who can act changed only when the
        person's did: then the roster's version moves."""
        async with self.db.transaction() as conn:
            row = await _fetch_one(
                conn,
                "SELECT person_id FROM accounts WHERE channel = ? AND external_id = ?",
                (account.channel, account.external_id),
            )
            if row is None:
                return AccountReach(None)
            person_id = int(row[0])
            before = await _reachable(conn, person_id)
            # An account refused twice keeps the time it was first refused.
            await conn.execute(
                "UPDATE accounts SET unreachable_at = ? WHERE channel = ? AND external_id = ?"
                + (" AND unreachable_at IS NULL" if at else ""),
                (at and utc_text(at), account.channel, account.external_id),
            )
            after = await _reachable(conn, person_id)
            if before != after:
                await bump_roster(conn)
        return AccountReach(person_id, before, after)


async def _fetch_one(
    conn: InlineConnection, sql: str, params: tuple[object, ...]
) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def _reachable(conn: InlineConnection, person_id: int) -> bool:
    row = await _fetch_one(conn, f"SELECT {_REACHABLE}", (person_id,))
    return bool(row and row[0])
