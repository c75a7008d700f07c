"""The org chart, replaced as a whole (with the complaints it moves, in the
same transaction) and read back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.orgchart import (
    OrgChart,
    StaffMember,
)
from bot.ports import AdminEntry, Change, Notice
from storage.chart_rows import CHART_READS, CHART_TABLES, chart_from, chart_rows, removed_staff
from storage.postgres.accounts import (
    add_account,
    channels_of,
    merge_person,
    new_person,
    person_of_account,
)
from storage.postgres.base import PostgresBase
from storage.postgres.db import ORG_LOCK, Conn, instant
from storage.postgres.rows import (
    Conflict,
    bump_roster,
    drop_pending,
    insert_admin_entry,
    lock_complaints,
)


class PostgresOrg(PostgresBase):
    async def replace_org(
        self,
        chart: OrgChart,
        reroutes: Sequence[Change] = (),
        notices: Sequence[Notice] = (),
        at: datetime | None = None,
        audit: AdminEntry | None = None,
        *,
        drop_pending_of: Sequence[str] = (),
    ) -> bool:
        """Replace the whole chart in one transaction and bind the accounts
        the chart names (`_bind_named`); complaints whose owner is gone move in the
        same transaction, nothing more goes to the staff in
        ``drop_pending_of``, and the admin log records who did it.  False,
        and nothing applied, if any of those complaints changed meanwhile.
        Two imports at once (two operators) run one after the other."""
        try:
            async with self.db.durable_transaction() as conn:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", ORG_LOCK)
                await bump_roster(conn)
                await lock_complaints(conn, (c.complaint_id for c in reroutes))
                if drop_pending_of:
                    assert at is not None, "giving rows up needs the time"
                    await drop_pending(conn, drop_pending_of, (), at)
                for change in reroutes:
                    if not await self._write_change(conn, change):
                        raise Conflict
                if audit is not None:
                    await insert_admin_entry(conn, audit)
                if notices:
                    assert at is not None, "notices need the time they were written"
                    await self._insert_notices(conn, notices, at)
                await self._write_chart(conn, chart)
                bound_at = at or self.clock.now()
                for member in chart.staff.values():
                    if member.accounts():
                        await self._bind_named(conn, member, bound_at)
        except Conflict:
            return False
        return True

    async def _write_chart(self, conn: Conn, chart: OrgChart) -> None:
        for table in CHART_TABLES:
            await conn.execute(f"DELETE FROM {table}")
        known = [row[0] for row in await conn.fetch("SELECT id FROM staff")]
        removed = removed_staff(known, chart)
        await conn.execute("DELETE FROM staff_bindings WHERE staff_id = ANY($1::text[])", removed)
        await conn.execute("DELETE FROM staff WHERE id = ANY($1::text[])", removed)
        for rows in chart_rows(chart):  # asyncpg's codecs take JSON values and booleans as they are
            await conn.executemany(rows.insert(lambda n: f"${n}"), rows.rows)

    async def _bind_named(self, conn: Conn, member: StaffMember, at: datetime) -> None:
        """The accounts the chart names for ``member`` (Telegram's, then
        Zalo's) are theirs: each joins the person bound to the record — or,
        where that person has another account on the same channel, the
        account the chart names takes the record over (as when the chart
        names a new Telegram id).  An account someone already used as a
        resident joins with what they filed (`merge_person`).  As
        storage/sqlite/org.py's, step for step."""
        holder: int | None = await conn.fetchval(
            "SELECT person_id FROM staff_bindings WHERE staff_id = $1", member.id
        )
        for account in member.accounts():
            owner = await person_of_account(conn, account)
            if owner is not None and owner == holder:
                continue
            if holder is not None and account.channel not in await channels_of(conn, holder):
                if owner is None:
                    await add_account(conn, holder, account, at)
                else:
                    await merge_person(conn, owner, holder)
                continue
            if owner is None:
                owner = await new_person(conn, account, member.name, "vi", at, seen=False)
            await conn.execute(
                "DELETE FROM staff_bindings WHERE person_id = $1 AND staff_id <> $2",
                owner,
                member.id,
            )
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at)"
                " VALUES ($1, $2, $3)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id",
                member.id,
                owner,
                instant(at),
            )
            holder = owner
        self.db.outbox_changes += 1

    async def load_org(self) -> OrgChart | None:
        tables = {name: await self._all(sql) for name, sql in CHART_READS.items()}
        return chart_from(tables, lambda value: value)  # asyncpg's codec decodes the JSON
