"""Migrations on real SQLite files (PostgreSQL's: tests/test_postgres.py);
the outbox on both engines."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.ports import Notice, Store
from storage.sqlite.db import Database, DatabaseUnusable, available_migrations, split_statements

pytestmark = pytest.mark.both_engines


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


@pytest.mark.sqlite_only
async def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    async with db.conn.execute("PRAGMA journal_mode") as cur:
        row = await cur.fetchone()
        assert row is not None
        assert row[0] == "wal"
    async with db.conn.execute("PRAGMA foreign_keys") as cur:
        row = await cur.fetchone()
        assert row is not None
        assert row[0] == 1


async def test_outbox_row_is_sent_once_and_failures_wait(store: Store, clock: ManualClock) -> None:
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


async def test_notices_to_unbound_staff_wait_for_them(store: Store, clock: ManualClock) -> None:
    await store.enqueue([Notice("task_assigned", staff_id="nobody-yet")], clock.now())
    assert await store.due_outbox(clock.now(), 10) == []
    assert await store.outbox_counts() == (1, 0)
