"""Migrations, the append-only history and the outbox on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.channels import Account
from bot.domain.clock import ManualClock
from bot.ports import Notice
from storage.sqlite.db import Database, DatabaseUnusable, available_migrations, split_statements
from storage.sqlite.inbox import WebhookInbox
from storage.sqlite.store import SqliteStore


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


async def test_migrations_apply_all_at_once_and_one_by_one(tmp_path: Path) -> None:
    migrations = available_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))

    at_once = await Database.open(tmp_path / "all.db")
    assert await at_once.schema_version() == len(migrations)
    assert await at_once.migrate() == [], "a second run applies nothing"
    await at_once.close()

    stepwise = await Database.open(tmp_path / "steps.db", migrate=False)
    assert await stepwise.schema_version() == 0
    for migration in migrations:
        assert await stepwise.migrate(target=migration.version) == [migration.version]
        assert await stepwise.schema_version() == migration.version
    await stepwise.close()
    assert tables(tmp_path / "all.db") == tables(tmp_path / "steps.db")


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db")
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')"
        )
    with pytest.raises(DatabaseUnusable, match="newer"):
        await db.migrate()
    await db.close()


async def test_a_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db", migrate=False)

    async def apply(script: str) -> None:
        async with db.transaction() as conn:
            for statement in split_statements(script):
                await conn.execute(statement)

    with pytest.raises(sqlite3.OperationalError):
        await apply("CREATE TABLE a (x);\nCREATE TABLE oops (;")
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE name = 'a'") as cur:
        assert await cur.fetchone() is None
    await db.close()


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    sql = """
    -- a comment
    CREATE TABLE t (x);
    CREATE TRIGGER t_no_update BEFORE UPDATE ON t
    BEGIN
        SELECT RAISE(ABORT, 'no');
    END;
    """
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[1].endswith("END;")


async def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    async with db.conn.execute("PRAGMA journal_mode") as cur:
        row = await cur.fetchone()
        assert row is not None
        assert row[0] == "wal"
    async with db.conn.execute("PRAGMA foreign_keys") as cur:
        row = await cur.fetchone()
        assert row is not None
        assert row[0] == 1


async def test_outbox_row_is_sent_once_and_failures_wait(db: Database, clock: ManualClock) -> None:
    store = SqliteStore(db)
    person = await store.upsert_person("telegram", "42", "An", "vi")
    await store.enqueue([Notice("owner_update", person_id=person.id)], clock.now())
    due = await store.due_outbox(clock.now(), 10)
    assert [d.recipient for d in due] == [person]

    await store.mark_failed(due[0].id, "NetworkError", clock.now() + timedelta(minutes=1))
    assert await store.due_outbox(clock.now(), 10) == [], "not before its retry time"
    clock.advance(timedelta(minutes=1))
    again = await store.due_outbox(clock.now(), 10)
    assert [(d.id, d.attempts) for d in again] == [(due[0].id, 1)]

    await store.mark_sent(due[0].id, clock.now())
    await store.mark_failed(due[0].id, "late failure", clock.now())
    clock.advance(timedelta(days=1))
    assert await store.due_outbox(clock.now(), 10) == [], "a sent row is never sent again"
    assert await store.outbox_counts() == (0, 1)


async def test_notices_to_unbound_staff_wait_for_them(db: Database, clock: ManualClock) -> None:
    store = SqliteStore(db)
    await store.enqueue([Notice("task_assigned", staff_id="nobody-yet")], clock.now())
    assert await store.due_outbox(clock.now(), 10) == []
    assert await store.outbox_counts() == (1, 0)


# ---- people with accounts on channels (migration 0012) -----------------------------------

ACCOUNTS = next(m.version for m in available_migrations() if m.name == "accounts")

AT_PREVIOUS_VERSION = [
    # An, a resident who is also on the abuse list; Thắng, a cadre Telegram
    # refused; someone who asked to be forgotten; a Zalo resident writing in English.
    "INSERT INTO people (id, channel, external_id, display_name, language, created_at,"
    " unreachable_at) VALUES"
    " (1, 'telegram', '501', 'An', 'vi', '2026-11-01 08:00:00', NULL),"
    " (2, 'telegram', '7013', 'Thắng', 'vi', '2026-11-01 08:01:00', '2026-11-20 10:00:00'),"
    " (3, 'forgotten', 'forgotten:3', NULL, 'vi', '2026-11-01 08:02:00', NULL),"
    " (5, 'zalo', 'e4ea5c', 'Lan', 'en', '2026-11-01 08:03:00', NULL)",
    "INSERT INTO staff_bindings (staff_id, person_id, bound_at)"
    " VALUES ('cb-hh-mt', 2, '2026-11-01 09:00:00')",
    "INSERT INTO complaints (id, category, family, area, ward, state, owner, description,"
    " created_at, due_at) VALUES"
    " (1, 'RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI', 'submitted', 'cb-hh-mt', 'Rác',"
    " '2026-11-02 08:00:00', '2026-11-05 08:00:00'),"
    " (2, 'RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI', 'submitted', 'cb-hh-mt', 'Rác nữa',"
    " '2026-11-02 09:00:00', '2026-11-05 09:00:00')",
    "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at) VALUES"
    " (1, 1, 'reporter', '2026-11-02 08:00:00'), (2, 3, 'reporter', '2026-11-02 09:00:00')",
    "INSERT INTO complaint_events (complaint_id, at, action, to_state, actor_person_id)"
    " VALUES (1, '2026-11-02 08:00:00', 'file', 'submitted', 1)",
    "INSERT INTO outbox (person_id, staff_id, kind, created_at, next_attempt_at) VALUES"
    " (1, NULL, 'resident_update', '2026-11-02 08:00:00', '2026-11-02 08:00:00'),"
    " (NULL, 'cb-hh-mt', 'task_assigned', '2026-11-02 08:00:00', '2026-11-02 08:00:00'),"
    " (5, NULL, 'resident_update', '2026-11-02 08:00:00', '2026-11-02 08:00:00')",
    "INSERT INTO conversations (person_id, kind, step, data, seq, updated_at, last_update)"
    " VALUES (5, 'report', 'family', '{}', 1, '2026-11-02 08:00:00', 900000123)",
    "INSERT INTO processed_updates (channel, update_id, claimed_at, done_at) VALUES"
    " ('telegram', 900000123, '2026-11-02 08:00:00', '2026-11-02 08:00:01')",
    # Two stored webhook updates across a power of ten: they must stay in arrival order.
    "INSERT INTO webhook_updates (channel, update_id, payload, received_at) VALUES"
    " ('telegram', 999999999, '{}', '2026-11-02 08:00:00'),"
    " ('telegram', 1000000000, '{}', '2026-11-02 08:00:01')",
    "INSERT INTO blocked_people (person_id, reason, blocked_at)"
    " VALUES (1, 'spam', '2026-11-03 08:00:00')",
    "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at, created_by,"
    " used_at, used_by) VALUES ('h', 'cb-hh-mt', 'cadre', '2026-11-01 08:00:00',"
    " '2026-11-08 08:00:00', 'cli', '2026-11-01 09:00:00', 2)",
    "INSERT INTO admin_log (at, actor, action, person_id)"
    " VALUES ('2026-11-03 08:00:00', 'thu-ky', 'people_block', 1)",
]


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


async def test_the_accounts_migration_keeps_every_person_binding_and_complaint(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "previous.db"
    db = await Database.open(path, migrate=False)
    await db.migrate(target=ACCOUNTS - 1)
    async with db.transaction() as conn:
        for statement in AT_PREVIOUS_VERSION:
            await conn.execute(statement)
    people_before = _rows(path, "SELECT id, display_name, language, created_at FROM people")
    kept = [
        "SELECT * FROM staff_bindings",
        "SELECT * FROM complaint_people ORDER BY complaint_id",
        "SELECT id, person_id, staff_id, kind FROM outbox ORDER BY id",
        "SELECT * FROM blocked_people",
        "SELECT token_hash, used_by FROM invites",
        "SELECT person_id, action FROM admin_log",
        "SELECT complaint_id, actor_person_id FROM complaint_events",
    ]
    before = [_rows(path, sql) for sql in kept]

    assert await db.migrate(target=ACCOUNTS) == [ACCOUNTS]

    assert _rows(path, "SELECT id, display_name, language, created_at FROM people") == (
        people_before
    ), "every person, with their id"
    assert [_rows(path, sql) for sql in kept] == before
    assert _rows(
        path, "SELECT channel, external_id, person_id, unreachable_at FROM accounts ORDER BY 3"
    ) == [
        ("telegram", "501", 1, None),
        ("telegram", "7013", 2, "2026-11-20 10:00:00"),
        ("zalo", "e4ea5c", 5, None),
    ], "one account each; the forgotten person none"
    assert _rows(path, "PRAGMA foreign_key_check") == []
    assert _rows(path, "SELECT last_update, typeof(last_update) FROM conversations") == [
        ("900000123", "text")
    ]

    await db.migrate()  # the later migrations too: the store reads today's schema
    store = SqliteStore(db)
    an = await store.identify_person("telegram", "501", None, "vi")
    assert (an.person.id, an.person.display_name, an.blocked) == (1, "An", True)
    assert (await store.identify_person("zalo", "e4ea5c", None, "vi")).person.language == "en"
    assert (await store.reach()).refused == {"cb-hh-mt"}, "Telegram refused him: still so"
    assert not await store.claim_update("telegram", "900000123", clock.now()), "done stays done"
    inbox = WebhookInbox(db)
    assert [update_id for update_id, _ in await inbox.backlog()] == ["999999999", "1000000000"]
    rows = await store.due_outbox(clock.now(), 10)
    assert [(r.kind, r.recipient.id if r.recipient else None, r.account) for r in rows] == [
        ("resident_update", 1, Account("telegram", "501")),
        ("task_assigned", 2, Account("telegram", "7013")),
        ("resident_update", 5, Account("zalo", "e4ea5c")),
    ]
    history = await store.admin_log(10)
    assert [e.accounts for e in history] == [(Account("telegram", "501"),)]
    await db.close()

    # And the schema is the one a fresh database gets.
    fresh = await Database.open(tmp_path / "fresh.db")
    await fresh.close()
    assert tables(path) == tables(tmp_path / "fresh.db")
