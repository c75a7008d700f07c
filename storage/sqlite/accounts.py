"""People and their accounts on channels, as the SQLite repositories read and
join them: a person with their accounts in the order messages try them, and
one person's accounts joining another's (a staff member binding an account
that had written as a resident) without losing what that account had.

Functions here run on the connection they are given, inside the caller's
transaction when there is one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.ports import Account, Person
from storage.sqlite.db import utc_text
from storage.sqlite.inline import InlineConnection

# A person's accounts in the order a message tries them: those the channel
# can reach first, then the one used last.  ``last_seen_at`` grows strictly
# across one person's accounts (see `SEEN`), so the order has no ties.
ACCOUNT_ORDER = "unreachable_at IS NOT NULL, last_seen_at DESC, rowid DESC"

# The account the person turned to becomes their latest: now (the one
# parameter, the project's clock), or a second after their latest other
# account if the clock says no later (two messages within one second from
# two channels still order).
SEEN = (
    "MAX(?, COALESCE((SELECT datetime(MAX(o.last_seen_at), '+1 second')"
    " FROM accounts o WHERE o.person_id = accounts.person_id AND o.rowid <> accounts.rowid), ''))"
)


async def _rows(conn: InlineConnection, sql: str, params: Sequence[Any]) -> list[Any]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def accounts_of(
    conn: InlineConnection, person_ids: Iterable[int]
) -> dict[int, tuple[Account, ...]]:
    """Each person's accounts, in `ACCOUNT_ORDER`."""
    ids = sorted(set(person_ids))
    found: dict[int, list[Account]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await _rows(
            conn,
            "SELECT person_id, channel, external_id FROM accounts"
            f" WHERE person_id IN ({','.join('?' * len(chunk))})"
            f" ORDER BY person_id, {ACCOUNT_ORDER}",
            chunk,
        )
        for person_id, channel, external_id in rows:
            found.setdefault(int(person_id), []).append(Account(channel, external_id))
    return {person_id: tuple(accounts) for person_id, accounts in found.items()}


def person_from_row(row: sqlite3.Row, accounts: tuple[Account, ...]) -> Person:
    return Person(
        id=row["id"],
        display_name=row["display_name"],
        language=row["language"],
        accounts=accounts,
    )


async def people_by_id(conn: InlineConnection, person_ids: Iterable[int]) -> dict[int, Person]:
    """These people with their accounts, in two reads."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    accounts = await accounts_of(conn, ids)
    people: dict[int, Person] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in await _rows(
            conn, f"SELECT * FROM people WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            people[row["id"]] = person_from_row(row, accounts.get(row["id"], ()))
    return people


async def person_by_id(conn: InlineConnection, person_id: int) -> Person | None:
    return (await people_by_id(conn, [person_id])).get(person_id)


async def person_of_account(conn: InlineConnection, account: Account) -> int | None:
    rows = await _rows(
        conn,
        "SELECT person_id FROM accounts WHERE channel = ? AND external_id = ?",
        (account.channel, account.external_id),
    )
    return int(rows[0][0]) if rows else None


async def channels_of(conn: InlineConnection, person_id: int) -> set[str]:
    rows = await _rows(conn, "SELECT channel FROM accounts WHERE person_id = ?", (person_id,))
    return {str(r[0]) for r in rows}


async def new_person(
    conn: InlineConnection,
    account: Account,
    display_name: str | None,
    language: str,
    at: datetime,
    *,
    seen: bool = True,
) -> int:
    """A person with this one account (which must not exist yet), created
    ``at`` (the project's clock); their id.  ``seen``: the account is in use
    now (not only named by the org chart)."""
    now = utc_text(at)
    cursor = await conn.execute(
        "INSERT INTO people (display_name, language, created_at) VALUES (?, ?, ?)",
        (display_name, language, now),
    )
    person_id = cursor.lastrowid
    assert person_id is not None
    await conn.execute(
        "INSERT INTO accounts (channel, external_id, person_id, display_name, created_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
        (account.channel, account.external_id, person_id, display_name, now, now if seen else None),
    )
    return person_id


async def add_account(
    conn: InlineConnection, person_id: int, account: Account, at: datetime
) -> None:
    """Give ``person_id`` an account nobody has yet (the org chart named it)."""
    await conn.execute(
        "INSERT INTO accounts (channel, external_id, person_id, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, NULL)",
        (account.channel, account.external_id, person_id, utc_text(at)),
    )


async def merge_person(conn: InlineConnection, absorbed: int, into: int) -> None:
    """``absorbed`` turns out to be ``into`` on another account: every
    account of theirs joins ``into``, and what was theirs goes with them —
    the complaints they filed (they keep hearing of them and may confirm
    or dispute them), the messages waiting for them, a draft (unless
    ``into`` has one under way).  The record stays, with no account, marked
    ``merged_into``: the append-only history still names it, and reads
    (their data, /forget) follow the mark.  A staff record it was bound to
    is let go (only ``into``'s binding counts)."""
    if absorbed == into:
        return
    # Where both were on one complaint, ``into`` takes the reporter's place.
    await conn.execute(
        "UPDATE complaint_people SET role = 'reporter', show_name = (SELECT a.show_name"
        " FROM complaint_people a WHERE a.complaint_id = complaint_people.complaint_id"
        " AND a.person_id = ?) WHERE person_id = ? AND complaint_id IN (SELECT complaint_id"
        " FROM complaint_people WHERE person_id = ? AND role = 'reporter')",
        (absorbed, into, absorbed),
    )
    for table in ("complaint_people", "conversations"):
        await conn.execute(
            f"UPDATE OR IGNORE {table} SET person_id = ? WHERE person_id = ?", (into, absorbed)
        )
        await conn.execute(f"DELETE FROM {table} WHERE person_id = ?", (absorbed,))
    for table in ("accounts", "outbox", "button_messages"):
        await conn.execute(
            f"UPDATE {table} SET person_id = ? WHERE person_id = ?", (into, absorbed)
        )
    await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (absorbed,))
    await conn.execute(
        "UPDATE people SET merged_into = ? WHERE id = ? OR merged_into = ?",
        (into, absorbed, absorbed),
    )


# Every record that is this person: the person and those merged into them.
SAME_PERSON = "(SELECT id FROM people WHERE id = ? OR merged_into = ?)"
