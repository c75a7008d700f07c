"""Migrations on real SQLite files (PostgreSQL's: tests/test_postgres.py);
the outbox on both engines."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app.services import Services
from bot.config import PostgresUrl
from bot.domain.channels import Account
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, Event, State
from bot.domain.orgchart import OrgChart
from bot.ports import (
    AccountReach,
    AdminAction,
    AdminEntry,
    Change,
    Invite,
    InviteUse,
    Notice,
    Person,
    Store,
    StoredMedia,
)
from storage.engines import Storage, opened, start_afresh
from storage.meta_keys import DEMO_MARK
from storage.sqlite.db import (
    Database,
    DatabaseUnusable,
    available_migrations,
    parse_utc,
    split_statements,
)
from storage.sqlite.inbox import WebhookInbox
from storage.sqlite.store import SqliteStore
from tests.engines import fetch
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


async def test_a_pass_takes_a_few_rows_of_each_person_so_a_long_queue_does_not_fill_it(
    store: Store, clock: ManualClock, chart: OrgChart
) -> None:
    """A cadre's long queue of task cards (to their staff record) and a resident's
    receipt queued after it: a pass capped at 2 rows a person takes the cadre's 2
    oldest and the resident's, in order; the next pass the cadre's next 2."""
    await store.replace_org(chart)
    cadre = await store.upsert_person("telegram", "70001", "Cán bộ", "vi")
    await store.bind_staff("tt-hh-12", cadre.id, clock.now())
    resident = await store.upsert_person("telegram", "70002", "Dân", "vi")
    await store.enqueue(
        [Notice("task_assigned", staff_id="tt-hh-12") for _ in range(6)], clock.now()
    )
    await store.enqueue([Notice("owner_update", person_id=resident.id)], clock.now())
    async with store.claim_outbox(clock.now(), 10, "telegram", per_person=2) as first:
        people = [i.recipient.id for i in first if i.recipient is not None]
        assert people == [cadre.id, cadre.id, resident.id]
        for item in first:
            await store.mark_sent(item.id, clock.now())
    cards = [i.id for i in await store.due_outbox(clock.now(), 10)]
    async with store.claim_outbox(clock.now(), 10, "telegram", per_person=2) as second:
        assert [i.id for i in second] == cards[:2], "the cadre's next two, oldest first"
    assert len(await store.due_outbox(clock.now(), 10)) == 4, "uncapped, every row due"


async def test_a_row_that_must_wait_holds_the_rows_after_it_in_a_pass_or_not(
    store: Store, clock: ManualClock, chart: OrgChart
) -> None:
    """A 429 on a cadre's first card: their later cards — also those the capped pass did
    not take, and a note to their person — wait as long, so none overtakes it; another
    person's rows do not."""
    await store.replace_org(chart)
    cadre = await store.upsert_person("telegram", "70001", "Cán bộ", "vi")
    await store.bind_staff("tt-hh-12", cadre.id, clock.now())
    resident = await store.upsert_person("telegram", "70002", "Dân", "vi")
    await store.enqueue(
        [Notice("task_assigned", staff_id="tt-hh-12") for _ in range(3)], clock.now()
    )
    await store.enqueue([Notice("owner_update", person_id=cadre.id)], clock.now())
    await store.enqueue([Notice("owner_update", person_id=resident.id)], clock.now())
    async with store.claim_outbox(clock.now(), 10, "telegram", per_person=1) as claimed:
        held = claimed[0]
        assert held.recipient == cadre
        wait = timedelta(seconds=30)
        await store.mark_failed(held.id, "RetryAfter", clock.now() + wait)
        await store.hold_later(held.id, clock.now() + wait)
    due = await store.due_outbox(clock.now(), 10)
    assert [i.recipient for i in due] == [resident], "only the other person's row goes on"
    clock.advance(wait)
    due = await store.due_outbox(clock.now(), 10)
    assert due[0].id == held.id and len(due) == 5, "after the wait, in their order"


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
    assert not await store.is_blocked(person.id)
    await store.set_blocked(person.id, "spam", clock.now(), entry)
    assert await store.is_blocked(person.id)
    assert (await store.identify_person("telegram", "666", None, "vi")).blocked
    await store.set_blocked(person.id, None, clock.now())
    assert not await store.is_blocked(person.id)
    assert not (await store.identify_person("telegram", "666", None, "vi")).blocked
    (logged,) = await store.admin_log(10)
    assert (logged.actor, logged.accounts, logged.person_id) == (
        "ops",
        (Account("telegram", "666"),),
        person.id,
    )
    account = Account("telegram", "666")
    refused = await store.mark_unreachable(account, clock.now())
    assert (refused.person_id, refused.before, refused.after) == (person.id, True, False)
    assert not (await store.mark_unreachable(account, clock.now())).changed, "once"
    returned = await store.identify_person("telegram", "666", None, "vi")
    assert returned.returned, "writing again makes them reachable"
    assert not (await store.mark_reachable(account)).changed
    assert await store.mark_reachable(Account("zalo", "nobody")) == AccountReach(None)
    assert await store.roster_version() == roster + 4


async def test_things_done_once_are_done_once(store: Store, clock: ManualClock) -> None:
    person = await store.upsert_person("telegram", "7", "An", "vi")
    notice = Notice("briefing", person_id=person.id)
    assert await store.record_once("briefing", "2026-11-23", [notice], clock.now())
    assert not await store.record_once("briefing", "2026-11-23", [notice], clock.now())
    assert await store.record_once("briefing", "2026-11-24", [notice], clock.now())
    assert await store.get_meta("briefing") == "2026-11-24"
    assert await store.outbox_counts() == (2, 0)

    assert await store.claim_update("telegram", "41", clock.now())
    assert await store.claim_update("telegram", "41", clock.now()), "cut off: handled once more"
    await store.finish_update("telegram", "41", clock.now())
    assert not await store.claim_update("telegram", "41", clock.now()), "done: never again"
    assert await store.claim_update("zalo", "41", clock.now()), "each channel its own ids"
    assert await store.claim_update("zalo", "c0ffee.41", clock.now()), "ids are strings"
    assert await store.prune_updates(clock.now() + timedelta(seconds=1)) == 3
    assert await store.claim_update("telegram", "41", clock.now()), "forgotten once pruned"


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


async def test_an_account_added_by_code_joins_its_person_with_what_it_filed(
    services: Services, store: Store, clock: ManualClock
) -> None:
    """A cadre bound on Telegram who wrote first as a resident from Zalo: the
    code minted to add an account makes the two one person — her Zalo
    account, her complaint and her draft-free record join the cadre's; the
    old record stays, marked, and reads as hers."""
    lan = await store.upsert_person("telegram", "8801", "Lan", "vi")
    await store.bind_staff("tt-hh-12", lan.id, clock.now())
    on_zalo = await services.identify("zalo", "e4ea5c", "Lan Zalo")
    filed = await file_by_typing(services, on_zalo)
    assert filed.complaint is not None
    zalo_record = on_zalo.person_id
    invite = Invite(
        "add",
        "tt-hh-12",
        "cadre",
        clock.now(),
        clock.now() + timedelta(days=7),
        "cli",
        adds_account=True,
    )
    await store.create_invite(invite)
    assert (await store.get_invite("add")) == invite

    def tell(person_id: int) -> Notice:
        return Notice("rebound", person_id=person_id)

    assert await store.use_invite("add", zalo_record, clock.now(), tell) is InviteUse.ADDED
    person = await store.find_person("zalo", "e4ea5c")
    assert person is not None and person.id == lan.id
    assert set(person.accounts) == {Account("telegram", "8801"), Account("zalo", "e4ea5c")}
    assert await store.reporter_of(filed.complaint.id) == lan.id
    assert [c.id for c in await store.complaints_of_reporter(lan.id)] == [filed.complaint.id]
    assert await store.staff_of_person(lan.id) == "tt-hh-12"
    assert (await store.bound_staff())["tt-hh-12"].id == lan.id
    data = await store.person_data(lan.id)
    assert {(a["channel"], a["external_id"]) for a in data["accounts"]} == {
        ("telegram", "8801"),
        ("zalo", "e4ea5c"),
    }
    assert [a["action"] for a in data["actions"]] == ["file"], "what the old record did"
    assert (await store.get_person(zalo_record)) == replace(
        person, id=zalo_record, display_name="Lan Zalo", accounts=()
    )


async def test_messages_go_to_the_account_used_last_that_can_be_reached(
    store: Store, clock: ManualClock
) -> None:
    """The outbox sends to the person's latest reachable account, per
    channel when asked; refused on one channel, reachable on another, the
    person can still act; with no account left, a row waits."""
    lan = await store.upsert_person("telegram", "8801", "Lan", "vi")
    invite = Invite("add", "tt-hh-12", "cadre", clock.now(), clock.now(), "cli", adds_account=True)
    await store.create_invite(invite)
    await store.bind_staff("tt-hh-12", lan.id, clock.now())
    zalo = await store.upsert_person("zalo", "e4ea5c", "Lan", "vi")

    def tell(person_id: int) -> Notice:
        return Notice("rebound", person_id=person_id)

    assert await store.use_invite("add", zalo.id, clock.now(), tell) is InviteUse.ADDED
    await store.identify_person("zalo", "e4ea5c", None, "vi")  # she writes from Zalo
    await store.enqueue([Notice("task_assigned", staff_id="tt-hh-12")], clock.now())
    (row,) = await store.due_outbox(clock.now(), 10)
    assert row.account == Account("zalo", "e4ea5c") and row.recipient is not None
    assert row.recipient.id == lan.id and row.recipient.account == row.account
    assert await store.due_outbox(clock.now(), 10, channel="telegram") == []

    telegram, on_zalo = Account("telegram", "8801"), Account("zalo", "e4ea5c")
    assert not (await store.mark_unreachable(on_zalo, clock.now())).changed, "Telegram still"
    (row,) = await store.due_outbox(clock.now(), 10, channel="telegram")
    assert row.account == telegram
    assert (await store.reach()).refused == frozenset()
    cut_off = await store.mark_unreachable(telegram, clock.now())
    assert (cut_off.person_id, cut_off.before, cut_off.after) == (lan.id, True, False)
    assert (await store.reach()).refused == {"tt-hh-12"}
    (row,) = await store.due_outbox(clock.now(), 10)
    assert row.account == on_zalo, "none reachable: the latest"
    back = await store.identify_person("telegram", "8801", None, "vi")
    assert back.returned and back.staff_id == "tt-hh-12"
    assert (await store.reach()).refused == frozenset()
    (row,) = await store.due_outbox(clock.now(), 10)
    assert row.account == telegram, "she wrote from Telegram last"

    await store.forget_person(lan.id, clock.now())
    assert await store.find_person("telegram", "8801") is None
    assert (await store.get_person(lan.id)) == Person(lan.id, None, "vi", ())
    assert await store.due_outbox(clock.now(), 10) == []
    await store.enqueue([Notice("task_assigned", staff_id="tt-hh-12")], clock.now())
    assert await store.due_outbox(clock.now(), 10) == [], "no account: the row waits"


async def test_media_are_kept_once_with_each_channels_handles(
    store: Store, clock: ManualClock
) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # every byte value, as bytea must
    sha = hashlib.sha256(photo).hexdigest()
    first = await store.put_media(sha, photo, "image/jpeg", clock.now())
    assert await store.put_media(sha, photo, "image/jpeg", clock.now()) == first, "once"
    assert await store.media_content(first) == StoredMedia(photo, "image/jpeg")
    await store.remember_media_ref(first, "telegram", "AgAC-1", clock.now())
    await store.remember_media_ref(first, "telegram", "AgAC-2", clock.now())
    await store.remember_media_ref(first, "telegram", "AgAC-1", clock.now())  # known: nothing
    await store.remember_media_ref(first, "zalo", "https://zalo/1.jpg", clock.now())
    assert await store.media_refs([first, first], "telegram") == {first: "AgAC-2"}, "newest"
    assert await store.media_refs([first], "zalo") == {first: "https://zalo/1.jpg"}
    assert await store.media_refs([], "zalo") == {}
    assert await store.media_of_ref("telegram", "AgAC-1") == first

    old = await store.adopt_media_ref("telegram", "AgAC-old", "image/jpeg", clock.now())
    assert old != first
    assert await store.adopt_media_ref("telegram", "AgAC-old", "image/jpeg", clock.now()) == old
    assert await store.media_content(old) is None, "a handle alone: no bytes"
    assert await store.media_refs([old, first], "telegram") == {old: "AgAC-old", first: "AgAC-2"}
    assert await store.media_of_ref("telegram", "AgAC-unknown") is None
    assert await store.media_content(10_000) is None


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


async def test_the_ward_s_own_words_are_kept_with_the_chart(store: Store, chart: OrgChart) -> None:
    """`words:` of the org file (issue 17) are stored with the chart, on both
    engines, and a new set of them moves the roster version like any other
    chart change, so every running process loads them."""
    await store.replace_org(chart)
    assert (await store.load_org()) == chart
    roster = await store.roster_version()
    parking = replace(chart.categories["DXTT"], words=("xe tải", "đỗ chắn cổng"))
    worded = replace(chart, categories={**chart.categories, "DXTT": parking})
    await store.replace_org(worded)
    loaded = await store.load_org()
    assert loaded is not None
    assert loaded.categories["DXTT"].words == ("xe tải", "đỗ chắn cổng")
    assert loaded.categories["RTPT"].words == ("xà bần", "phế thải xây dựng")
    assert loaded == worded
    assert await store.roster_version() > roster


async def test_start_afresh_never_empties_a_database_that_is_not_a_demos_own(
    where: Path | PostgresUrl,
) -> None:
    """`start_afresh` (the demo's first step) deleted any SQLite file it was
    given, the ward's database too; PostgreSQL's already refused one holding
    someone's work.  Both refuse it now, and leave it as it was."""
    async with opened(where) as storage:
        await storage.store.upsert_person("telegram", "42", "An", "vi")
    with pytest.raises(DatabaseUnusable):
        await start_afresh(where)
    async with opened(where) as storage:
        assert await storage.store.find_person("telegram", "42") is not None
        await storage.store.set_meta(DEMO_MARK, "1")
    await start_afresh(where)  # the demo's own: emptied
    async with opened(where) as storage:
        assert await storage.store.find_person("telegram", "42") is None


def _instant(value: object) -> datetime:
    """A stored time as either engine reads it back (SQLite's text, PostgreSQL's timestamptz)."""
    return value if isinstance(value, datetime) else parse_utc(str(value))


async def test_people_and_accounts_are_dated_by_the_projects_clock(
    storage: Storage, clock: ManualClock, chart: OrgChart
) -> None:
    """`people.created_at` and the accounts' times came from the database's
    own clock (`datetime('now')`, `now()`): a test's week, or a resident's
    /mydata, showed the day the machine ran instead of when they wrote."""
    store = storage.store
    first = clock.now()
    person = await store.upsert_person("telegram", "42", "An", "vi")
    clock.advance(timedelta(days=2))
    await store.identify_person("telegram", "42", None, "vi")  # seen again, two days on
    (created,) = await fetch(
        storage.database, "SELECT created_at FROM people WHERE id = ?", person.id
    )
    assert _instant(created[0]) == first
    (account,) = await fetch(
        storage.database,
        "SELECT created_at, last_seen_at FROM accounts WHERE external_id = ?",
        "42",
    )
    assert [_instant(v) for v in account] == [first, clock.now()]

    await store.replace_org(chart)  # the chart names staff accounts: dated now too
    named = await fetch(
        storage.database,
        "SELECT p.created_at, a.created_at, b.bound_at FROM accounts a"
        " JOIN people p ON p.id = a.person_id JOIN staff_bindings b ON b.person_id = p.id",
    )
    assert named
    assert {_instant(v) for row in named for v in row} == {clock.now()}
