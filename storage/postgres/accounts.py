"""People and their accounts on channels, as the PostgreSQL repositories read
and join them (storage/sqlite/accounts.py is the same on SQLite): a person
with their accounts in the order messages try them, and one person's
accounts joining another's (a staff member binding an account that had
written as a resident) without losing what that account had.

Functions here run on the connection they are given, inside the caller's
transaction when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from bot.ports import Account, Person
from storage.postgres.db import Conn, instant

# A person's accounts in the order a message tries them: those the channel
# can reach first, then the one used last.  ``last_seen_at`` grows strictly
# across one person's accounts (see `seen`); accounts never used (named by
# the org chart) tie on it, and the one added last comes first, as SQLite's
# rowid orders them there.
ACCOUNT_ORDER = "unreachable_at IS NOT NULL, last_seen_at DESC NULLS LAST, ordinal DESC"

# The account the person turned to becomes their latest: now, or a second
# after their latest other account if the clock says no later (two messages
# within one second from two channels still order).  GREATEST skips the
# NULL of a person with no other account.


def seen(now: str) -> str:
    """The time an account that wrote is last seen: ``now`` (a placeholder
    for the project's clock, "$4"), or a second after the person's latest
    other account if the clock says no later."""
    return (
        f"GREATEST(date_trunc('second', {now}::timestamptz),"
        " (SELECT MAX(o.last_seen_at) + interval '1 second'"
        " FROM accounts o WHERE o.person_id = accounts.person_id"
        " AND o.ordinal <> accounts.ordinal))"
    )


# Every record that is this person: the person and those merged into them.
SAME_PERSON = "(SELECT id FROM people WHERE id = $1 OR merged_into = $1)"


async def accounts_of(conn: Conn, person_ids: Iterable[int]) -> dict[int, tuple[Account, ...]]:
    """Each person's accounts, in `ACCOUNT_ORDER`."""
    rows = await conn.fetch(
        "SELECT person_id, channel, external_id FROM accounts"
        f" WHERE person_id = ANY($1::bigint[]) ORDER BY person_id, {ACCOUNT_ORDER}",
        sorted(set(person_ids)),
    )
    found: dict[int, list[Account]] = {}
    for person_id, channel, external_id in rows:
        found.setdefault(person_id, []).append(Account(channel, external_id))
    return {person_id: tuple(accounts) for person_id, accounts in found.items()}


def person_from_row(row: asyncpg.Record, accounts: tuple[Account, ...]) -> Person:
    return Person(
        id=row["id"],
        display_name=row["display_name"],
        language=row["language"],
        accounts=accounts,
    )


async def people_by_id(conn: Conn, person_ids: Iterable[int]) -> dict[int, Person]:
    """These people with their accounts, in two reads."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    accounts = await accounts_of(conn, ids)
    rows = await conn.fetch(
        "SELECT id, display_name, language FROM people WHERE id = ANY($1::bigint[])", ids
    )
    return {r["id"]: person_from_row(r, accounts.get(r["id"], ())) for r in rows}


async def person_by_id(conn: Conn, person_id: int) -> Person | None:
    return (await people_by_id(conn, [person_id])).get(person_id)


async def person_of_account(conn: Conn, account: Account) -> int | None:
    found: int | None = await conn.fetchval(
        "SELECT person_id FROM accounts WHERE channel = $1 AND external_id = $2",
        account.channel,
        account.external_id,
    )
    return found


async def channels_of(conn: Conn, person_id: int) -> set[str]:
    rows = await conn.fetch("SELECT channel FROM accounts WHERE person_id = $1", person_id)
    return {r[0] for r in rows}


async def new_person(
    conn: Conn,
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
    now = instant(at)
    person_id: int = await conn.fetchval(
        "INSERT INTO people (display_name, language, created_at) VALUES ($1, $2, $3) RETURNING id",
        display_name,
        language,
        now,
    )
    await conn.execute(
        "INSERT INTO accounts (channel, external_id, person_id, display_name, created_at,"
        " last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
        account.channel,
        account.external_id,
        person_id,
        display_name,
        now,
        now if seen else None,
    )
    return person_id


async def add_account(conn: Conn, person_id: int, account: Account, at: datetime) -> None:
    """Give ``person_id`` an account nobody has yet (the org chart named it)."""
    await conn.execute(
        "INSERT INTO accounts (channel, external_id, person_id, created_at)"
        " VALUES ($1, $2, $3, $4)",
        account.channel,
        account.external_id,
        person_id,
        instant(at),
    )


async def merge_person(conn: Conn, absorbed: int, into: int) -> None:
    """``absorbed`` turns out to be ``into`` on another account: every
    account of theirs joins ``into``, and what was theirs goes with them —
    the complaints they filed, the messages waiting for them, a draft
    (unless ``into`` has one under way).  The record stays, with no
    account, marked ``merged_into``: the append-only history still names
    it, and reads (their data, /forget) follow the mark.  A staff record it
    was bound to is let go (only ``into``'s binding counts).  As
    storage/sqlite/accounts.py's `merge_person`, statement for statement."""
    if absorbed == into:
        return
    # Where both were on one complaint, ``into`` takes the reporter's place.
    await conn.execute(
        "UPDATE complaint_people c SET role = 'reporter', show_name = a.show_name"
        " FROM complaint_people a WHERE a.complaint_id = c.complaint_id"
        " AND a.person_id = $1 AND a.role = 'reporter' AND c.person_id = $2",
        absorbed,
        into,
    )
    # What ``into`` has already (a row for the same complaint, a draft) wins.
    await conn.execute(
        "UPDATE complaint_people c SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM complaint_people o WHERE o.complaint_id = c.complaint_id"
        " AND o.person_id = $2)",
        absorbed,
        into,
    )
    await conn.execute(
        "UPDATE conversations SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM conversations o WHERE o.person_id = $2)",
        absorbed,
        into,
    )
    for table in ("complaint_people", "conversations"):
        await conn.execute(f"DELETE FROM {table} WHERE person_id = $1", absorbed)
    for table in ("accounts", "outbox", "button_messages"):
        await conn.execute(
            f"UPDATE {table} SET person_id = $2 WHERE person_id = $1", absorbed, into
        )
    await conn.execute("DELETE FROM staff_bindings WHERE person_id = $1", absorbed)
    await conn.execute(
        "UPDATE people SET merged_into = $2 WHERE id = $1 OR merged_into = $1", absorbed, into
    )
