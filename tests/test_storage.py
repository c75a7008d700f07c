"""Migrations on real SQLite files (PostgreSQL's: tests/test_postgres.py);
the outbox on both engines."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.services import Services
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, Event, State
from bot.domain.orgchart import OrgChart
from bot.ports import AdminAction, AdminEntry, Change, Invite, InviteUse, Notice, Store
from storage.sqlite.db import Database, DatabaseUnusable, available_migrations, split_statements
from tests.test_services import file_by_typing

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


# ---- the repositories' contract, on both engines ------------------------------------------


async def test_a_change_at_a_stale_version_writes_nothing(
    services: Services, store: Store, clock: ManualClock
) -> None:
    """One complaint changed by someone else first, or one of several:
    nothing of the change (or of the batch) is applied, no event, no notice."""
    actor = await services.identify("zalo", "r1", "An")
    first = await file_by_typing(services, actor)
    second = await file_by_typing(services, actor)
    assert first.complaint is not None and second.complaint is not None
    a, b = first.complaint, second.complaint
    pending = await store.outbox_counts()

    def change(complaint_id: int, version: int) -> Change:
        event = Event(
            complaint_id, clock.now(), Action.ACKNOWLEDGE, State.SUBMITTED, State.ACKNOWLEDGED
        )
        notice = Notice("resident_update", person_id=actor.person_id)
        return Change(complaint_id, version, {"state": State.ACKNOWLEDGED}, event, (notice,))

    assert not await store.apply_change(change(a.id, a.version + 1))
    assert not await store.apply_changes(
        [change(a.id, a.version), change(b.id, b.version + 1)], [], clock.now()
    )
    assert [e.action for e in await store.events_of(a.id)] == [Action.FILE]
    assert (await store.get_complaints([a.id, b.id]))[a.id].state is State.SUBMITTED
    assert await store.outbox_counts() == pending
    assert await store.apply_changes(
        [change(a.id, a.version), change(b.id, b.version)], [], clock.now()
    )
    assert {c.state for c in (await store.get_complaints([a.id, b.id])).values()} == {
        State.ACKNOWLEDGED
    }
    assert await store.last_note(a.id, Action.FILE) is None


async def test_the_abuse_list_and_who_can_be_reached_move_the_roster(
    store: Store, clock: ManualClock
) -> None:
    person = await store.upsert_person("telegram", "666", "Spam", "vi")
    roster = await store.roster_version()
    entry = AdminEntry(clock.now(), "ops", AdminAction.PEOPLE_BLOCK, person_id=person.id)
    await store.set_blocked(person.id, "spam", clock.now(), entry)
    assert (await store.identify_person("telegram", "666", None, "vi")).blocked
    await store.set_blocked(person.id, None, clock.now())
    assert not (await store.identify_person("telegram", "666", None, "vi")).blocked
    (logged,) = await store.admin_log(10)
    assert (logged.actor, logged.account, logged.person_id) == ("ops", "telegram:666", person.id)
    assert await store.mark_unreachable(person.id, clock.now())
    assert not await store.mark_unreachable(person.id, clock.now()), "once"
    returned = await store.identify_person("telegram", "666", None, "vi")
    assert returned.returned, "writing again makes them reachable"
    assert not await store.mark_reachable(person.id)
    assert await store.roster_version() == roster + 4


async def test_things_done_once_are_done_once(store: Store, clock: ManualClock) -> None:
    person = await store.upsert_person("telegram", "7", "An", "vi")
    notice = Notice("briefing", person_id=person.id)
    assert await store.record_once("briefing", "2026-11-23", [notice], clock.now())
    assert not await store.record_once("briefing", "2026-11-23", [notice], clock.now())
    assert await store.record_once("briefing", "2026-11-24", [notice], clock.now())
    assert await store.get_meta("briefing") == "2026-11-24"
    assert await store.outbox_counts() == (2, 0)

    assert await store.claim_update("telegram", 41, clock.now())
    assert await store.claim_update("telegram", 41, clock.now()), "cut off: handled once more"
    await store.finish_update("telegram", 41, clock.now())
    assert not await store.claim_update("telegram", 41, clock.now()), "done: never again"
    assert await store.claim_update("zalo", 41, clock.now()), "each channel its own ids"
    assert await store.prune_updates(clock.now() + timedelta(seconds=1)) == 2
    assert await store.claim_update("telegram", 41, clock.now()), "forgotten once pruned"


async def test_an_invite_binds_once(store: Store, clock: ManualClock, chart: OrgChart) -> None:
    await store.replace_org(chart)
    invite = Invite(
        "hash", "tt-hh-12", "cadre", clock.now(), clock.now() + timedelta(days=7), "cli"
    )
    await store.create_invite(invite)
    assert await store.get_invite("hash") == invite
    first = await store.upsert_person("telegram", "8801", "Lan", "vi")
    second = await store.upsert_person("telegram", "8802", "Other", "vi")

    def tell(person_id: int) -> Notice:
        return Notice("rebound", person_id=person_id)

    assert await store.use_invite("hash", first.id, clock.now(), tell) is InviteUse.BOUND
    assert await store.use_invite("hash", second.id, clock.now(), tell) is InviteUse.SPENT
    assert await store.staff_of_person(first.id) == "tt-hh-12"
    assert (await store.bound_staff())["tt-hh-12"] == first
