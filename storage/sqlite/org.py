"""The org chart, replaced as a whole (with the complaints it moves, in the
same transaction) and read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.orgchart import (
    OrgChart,
    StaffMember,
)
from bot.ports import (
    AdminEntry,
    Change,
    Notice,
)
from storage.chart_rows import CHART_READS, CHART_TABLES, chart_from, chart_rows, removed_staff
from storage.sqlite.accounts import (
    add_account,
    channels_of,
    merge_person,
    new_person,
    person_of_account,
)
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.inline import InlineConnection
from storage.sqlite.rows import (
    Conflict,
    bump_roster,
    drop_pending,
    insert_admin_entry,
)


class SqliteOrg(SqliteBase):
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
        same transaction (``reroutes``), nothing more goes to the staff in
        ``drop_pending_of`` (they left), and the admin log records who did it
        (``audit``).  False, and nothing applied, if any of those complaints
        changed meanwhile."""
        try:
            async with self.db.transaction() as conn:
                await bump_roster(conn)
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

                await _write_chart(conn, chart)
                bound_at = at or self.clock.now()
                for member in chart.staff.values():
                    if member.accounts():
                        await self._bind_named(conn, member, bound_at)
        except Conflict:
            return False
        return True

    async def _bind_named(self, conn: InlineConnection, member: StaffMember, at: datetime) -> None:
        """The accounts the chart names for ``member`` (Telegram's, then
        Zalo's) are theirs: each joins the person bound to the record — or,
        where that person has another account on the same channel, the
        account the chart names takes the record over (as when the chart
        names a new Telegram id).  An account someone already used as a
        resident joins with what they filed (`merge_person`)."""
        found = await (
            await conn.execute(
                "SELECT person_id FROM staff_bindings WHERE staff_id = ?", (member.id,)
            )
        ).fetchone()
        holder: int | None = int(found[0]) if found else None
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
                "DELETE FROM staff_bindings WHERE person_id = ? AND staff_id <> ?",
                (owner, member.id),
            )
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at)"
                " VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id",
                (member.id, owner, utc_text(at)),
            )
            holder = owner
        self.db.outbox_changes += 1

    async def load_org(self) -> OrgChart | None:
        tables = {name: await self._all(sql) for name, sql in CHART_READS.items()}
        return chart_from(tables, json.loads)


def _sqlite_value(value: Any) -> Any:
    """A chart value as SQLite keeps it: JSON text for lists and objects, 0/1 for booleans."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value


async def _write_chart(conn: InlineConnection, chart: OrgChart) -> None:
    for table in CHART_TABLES:
        await conn.execute(f"DELETE FROM {table}")
    known = [row[0] for row in await conn.execute_fetchall("SELECT id FROM staff")]
    removed = [(staff_id,) for staff_id in removed_staff(known, chart)]
    await conn.executemany("DELETE FROM staff_bindings WHERE staff_id = ?", removed)
    await conn.executemany("DELETE FROM staff WHERE id = ?", removed)
    for rows in chart_rows(chart):
        await conn.executemany(rows.insert(lambda _: "?"), rows.adapted(_sqlite_value))
