"""The PostgreSQL engine's own promises: ``PHANANH_DB`` as a URL whose
password never shows, its numbered migrations (one at a time, once, by one
of two processes starting together), a server that cannot be used said in
one line, and `phananh backup` / `phananh restore` through pg_dump and
pg_restore, refusing a file that is not one of ours.  (The repositories'
contract and the flows run on both engines in their own modules.)"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from bot.app.services import Services
from bot.cli import main
from bot.config import ConfigError, PostgresUrl, Secret, Settings, load_settings
from bot.domain import digest as d
from bot.domain.channels import Account
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.ports import DueComplaint, Invite, Notice, StoredMedia, SweepUpdate, SweepWrites
from storage.engines import opened
from storage.errors import DatabaseUnusable
from storage.migrations import Migration
from storage.postgres import db as pg
from storage.postgres.db import Database, available_migrations
from storage.postgres.rows import insert_notices
from tests.engines import PgServer, rows
from tests.factories import (
    ENVIRONMENT_CADRE,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
)
from tests.test_services import file_by_typing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
PASSWORD = "s3cr3t-Pässword/with@signs"
BIN = Path(sys.executable).parent  # where this run's `phananh` is (.venv/bin)
PHOTO = b"\xff\xd8\xff" + bytes(range(256)) * 8  # every byte value, through pg_dump and back
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


# ---- the URL ----------------------------------------------------------------------------------


def test_a_postgresql_url_selects_postgresql_and_a_path_sqlite() -> None:
    url = f"postgresql://bot:{PASSWORD.replace('/', '%2F').replace('@', '%40')}@db.local:5433/ward"
    settings = load_settings({"PHANANH_DB": url})
    assert settings.db_url == PostgresUrl("db.local", 5433, "ward", "bot", Secret(PASSWORD), None)
    assert settings.database == settings.db_url
    file = load_settings({"PHANANH_DB": "data/ward.db"})
    assert (file.db_url, file.database) == (None, Path("data/ward.db"))


def test_the_password_never_shows_in_a_repr_or_a_message() -> None:
    url = PostgresUrl.parse(
        f"postgres://bot:{PASSWORD.replace('/', '%2F').replace('@', '%40')}@h/db"
    )
    settings = Settings(db_url=url)
    for text in (str(url), repr(url), repr(settings), str(settings.database)):
        assert "Pässword" not in text
    assert str(url) == "postgresql://bot:***@h:5432/db"
    assert PostgresUrl.parse(url.reveal()) == url, "revealed only for a child's environment"
    assert t("en", "cli.db_unreachable", db=url, error="x").startswith(
        "Cannot reach the PostgreSQL server of postgresql://bot:***@h:5432/db"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mysql://u:p@h/db", "postgresql://"),
        ("postgresql://u:p@h:port/db", "port"),
        ("postgresql://u:p@h", "names the user, the host and the database"),
        ("postgresql://u:p@h/db?sslmode=sometimes", "sslmode"),
        ("postgresql://u:p@h/db?password=x", "unknown URL parameters password"),
    ],
)
def test_a_malformed_url_is_a_config_error_without_the_password(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as error:
        load_settings({"PHANANH_DB": text})
    assert ":p@" not in str(error.value)


# ---- migrations -------------------------------------------------------------------------------


async def _objects(url: PostgresUrl) -> set[tuple[str, str]]:
    """Every table, column, index, constraint and trigger of the schema."""
    conn = await asyncpg.connect(**pg.connect_arguments(url))
    try:
        rows = await conn.fetch(
            "SELECT 'column', table_name || '.' || column_name || ' ' || data_type"
            " FROM information_schema.columns WHERE table_schema = $1"
            " UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = $1"
            " UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = $1"
            " UNION ALL SELECT 'trigger', pg_get_triggerdef(g.oid) FROM pg_trigger g"
            " JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND NOT g.tgisinternal",
            pg.SCHEMA,
        )
    finally:
        await conn.close()
    return {(str(kind), str(text)) for kind, text in rows}


async def test_migrations_apply_all_at_once_and_one_by_one(postgres: PgServer) -> None:
    migrations = available_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    at_once_url, steps_url = postgres.empty_database(), postgres.empty_database()

    at_once = await Database.open(at_once_url)
    assert await at_once.schema_version() == len(migrations)
    assert await at_once.migrate() == [], "a second run applies nothing"
    await at_once.close()

    stepwise = await Database.open(steps_url, migrate=False)
    assert await stepwise.schema_version() == 0
    for migration in migrations:
        assert await stepwise.migrate(target=migration.version) == [migration.version]
        assert await stepwise.schema_version() == migration.version
    await stepwise.close()
    both = await _objects(at_once_url), await _objects(steps_url)
    assert both[0] == both[1]
    assert ("trigger", "complaint_events_no_delete") in {
        (k, v.split()[2]) for k, v in both[0] if k == "trigger"
    }


ACCOUNTS = next(m.version for m in available_migrations() if m.name == "accounts")

# A database filled at the version before accounts, as a ward's would be.
BEFORE_ACCOUNTS = [
    # An, a resident on the abuse list; Thắng, a cadre Telegram refused;
    # someone forgotten; a Zalo resident writing in English.
    "INSERT INTO people (id, channel, external_id, display_name, language, created_at,"
    " unreachable_at) OVERRIDING SYSTEM VALUE VALUES"
    " (1, 'telegram', '501', 'An', 'vi', '2026-11-01 08:00:00+00', NULL),"
    " (2, 'telegram', '7013', 'Thắng', 'vi', '2026-11-01 08:01:00+00', '2026-11-20 10:00:00+00'),"
    " (3, 'forgotten', 'forgotten:3', NULL, 'vi', '2026-11-01 08:02:00+00', NULL),"
    " (5, 'zalo', 'e4ea5c', 'Lan', 'en', '2026-11-01 08:03:00+00', NULL)",
    "SELECT setval(pg_get_serial_sequence('people', 'id'), 5)",
    "INSERT INTO staff_bindings VALUES ('cb-hh-mt', 2, '2026-11-01 09:00:00+00')",
    "INSERT INTO complaints (category, family, area, ward, state, owner, description,"
    " created_at, due_at) VALUES"
    " ('RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI', 'submitted', 'cb-hh-mt', 'Rác',"
    " '2026-11-02 08:00:00+00', '2026-11-05 08:00:00+00'),"
    " ('RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI', 'submitted', 'cb-hh-mt', 'Rác nữa',"
    " '2026-11-02 09:00:00+00', '2026-11-05 09:00:00+00')",
    "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at) VALUES"
    " (1, 1, 'reporter', '2026-11-02 08:00:00+00'), (2, 3, 'reporter', '2026-11-02 09:00:00+00')",
    # Photos as they were kept: Telegram file ids (the same one twice), one erased.
    "INSERT INTO complaint_photos (complaint_id, kind, channel, file_ref, position) VALUES"
    " (1, 'report', 'telegram', 'AgAC-one', 0), (1, 'report', 'telegram', 'AgAC-two', 1),"
    " (2, 'report', 'telegram', 'AgAC-one', 0), (2, 'dispute', 'telegram', 'forgotten', 1)",
    "INSERT INTO complaint_events (complaint_id, at, action, to_state, actor_person_id)"
    " VALUES (1, '2026-11-02 08:00:00+00', 'file', 'submitted', 1)",
    "INSERT INTO outbox (person_id, staff_id, kind, created_at, next_attempt_at) VALUES"
    " (1, NULL, 'resident_update', '2026-11-02 08:00:00+00', '2026-11-02 08:00:00+00'),"
    " (NULL, 'cb-hh-mt', 'task_assigned', '2026-11-02 08:00:00+00', '2026-11-02 08:00:00+00'),"
    " (5, NULL, 'resident_update', '2026-11-02 08:00:00+00', '2026-11-02 08:00:00+00')",
    "INSERT INTO conversations (person_id, kind, step, data, seq, updated_at, last_update)"
    " VALUES (5, 'report', 'family', '{}', 1, '2026-11-02 08:00:00+00', 900000123)",
    "INSERT INTO processed_updates VALUES"
    " ('telegram', 900000123, '2026-11-02 08:00:00+00', '2026-11-02 08:00:01+00')",
    # Two stored webhook updates across a power of ten: they stay in arrival order.
    "INSERT INTO webhook_updates VALUES"
    " ('telegram', 1000000000, '{}', '2026-11-02 08:00:01+00'),"
    " ('telegram', 999999999, '{}', '2026-11-02 08:00:00+00')",
    "INSERT INTO blocked_people VALUES (1, 'spam', '2026-11-03 08:00:00+00')",
    "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at, created_by,"
    " used_at, used_by) VALUES ('h', 'cb-hh-mt', 'cadre', '2026-11-01 08:00:00+00',"
    " '2026-11-08 08:00:00+00', 'cli', '2026-11-01 09:00:00+00', 2)",
    "INSERT INTO admin_log (at, actor, action, person_id)"
    " VALUES ('2026-11-03 08:00:00+00', 'thu-ky', 'people_block', 1)",
]


async def test_the_accounts_and_media_migrations_keep_every_person_and_photo(
    postgres: PgServer, clock: ManualClock
) -> None:
    """A ward's database at the version before accounts climbs the rest one
    by one: every person keeps their id and gets their one account (the
    forgotten none), each photo's file id becomes a media row of its own (the
    same id twice: one), update ids become strings still in arrival order,
    and the schema ends as a fresh database's."""
    url = postgres.empty_database()
    db = await Database.open(url, migrate=False)
    try:
        await db.migrate(target=ACCOUNTS - 1)
        async with db.transaction() as conn:
            for statement in BEFORE_ACCOUNTS:
                await conn.execute(statement)
        kept = [
            "SELECT * FROM staff_bindings",
            "SELECT complaint_id, person_id, role FROM complaint_people ORDER BY 1",
            "SELECT id, person_id, staff_id, kind FROM outbox ORDER BY id",
            "SELECT * FROM blocked_people",
            "SELECT token_hash, used_by FROM invites",
            "SELECT person_id, action FROM admin_log",
            "SELECT id, display_name, language, created_at FROM people ORDER BY id",
        ]
        before = [[tuple(r) for r in await db.fetch(sql)] for sql in kept]
        for migration in available_migrations()[ACCOUNTS - 1 :]:
            assert await db.migrate(target=migration.version) == [migration.version]
        assert [[tuple(r) for r in await db.fetch(sql)] for sql in kept] == before
        accounts = await db.fetch(
            "SELECT channel, external_id, person_id, unreachable_at IS NOT NULL FROM accounts"
            " ORDER BY person_id"
        )
        assert [tuple(r) for r in accounts] == [
            ("telegram", "501", 1, False),
            ("telegram", "7013", 2, True),
            ("zalo", "e4ea5c", 5, False),
        ], "one account each; the forgotten person none"
        assert await db.fetchval("SELECT last_update FROM conversations") == "900000123"
    finally:
        await db.close()

    async with opened(url) as storage:
        store = storage.store
        an = await store.identify_person("telegram", "501", None, "vi")
        assert (an.person.id, an.person.display_name, an.blocked) == (1, "An", True)
        assert (await store.identify_person("zalo", "e4ea5c", None, "vi")).person.language == "en"
        assert (await store.reach()).refused == {"cb-hh-mt"}, "Telegram refused him: still so"
        assert not await store.claim_update("telegram", "900000123", clock.now()), "done stays"
        backlog = await storage.inbox("telegram").backlog()
        assert [update_id for update_id, _ in backlog] == ["999999999", "1000000000"]
        due = await store.due_outbox(clock.now(), 10)
        assert [(r.kind, r.recipient.id if r.recipient else None, r.account) for r in due] == [
            ("resident_update", 1, Account("telegram", "501")),
            ("task_assigned", 2, Account("telegram", "7013")),
            ("resident_update", 5, Account("zalo", "e4ea5c")),
        ]
        assert [e.accounts for e in await store.admin_log(10)] == [(Account("telegram", "501"),)]
        first, second = (await store.get_complaints([1, 2])).values()
        refs = await store.media_refs([p.media_id for p in first.photos], "telegram")
        assert [refs[p.media_id] for p in first.photos] == ["AgAC-one", "AgAC-two"]
        assert second.photos == first.photos[:1], "the same file id: one media row"
        assert await store.media_content(first.photos[0].media_id) is None, "no bytes yet"
        erased = await rows(storage, "SELECT media_id FROM complaint_photos WHERE kind = 'dispute'")
        assert erased == [(None,)]
        media = await store.adopt_media_ref("telegram", "AgAC-new", "image/jpeg", clock.now())
        assert media > max(p.media_id for p in first.photos), "ids go on after the kept ones"
    fresh = postgres.empty_database()
    await (await Database.open(fresh)).close()
    assert await _objects(url) == await _objects(fresh)


async def test_two_processes_starting_together_migrate_once(postgres: PgServer) -> None:
    url = postgres.empty_database()
    first, second = await asyncio.gather(Database.open(url), Database.open(url))
    try:
        versions = await first.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in versions] == list(range(1, len(available_migrations()) + 1))
    finally:
        await first.close()
        await second.close()


async def test_a_newer_schema_is_refused(where: PostgresUrl) -> None:
    db = await Database.open(where)
    await db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', now())"
    )
    await db.close()
    with pytest.raises(DatabaseUnusable) as refused:
        await Database.open(where)
    assert refused.value.key == "cli.db_newer"
    assert refused.value.params["version"] == 999


async def test_a_queued_notice_commits_as_the_server_says_and_other_writes_do_not_wait(
    where: PostgresUrl,
) -> None:
    """README, Durability on PostgreSQL: the bot's sessions commit without
    waiting for the server's disk, but a transaction that queues a notice
    commits as the server is configured to (so nothing the outbox sends
    announces a row a crash of the server could take back)."""
    setting = "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"
    db = await Database.open(where)
    try:
        assert await db.fetchval("SHOW synchronous_commit") == "off"
        assert await db.fetchval(setting) == "session"
        person = await db.fetchval(
            "INSERT INTO people (display_name, language) VALUES ('Lan', 'vi') RETURNING id"
        )
        async with db.transaction() as conn:
            assert await conn.fetchval(setting) == "session"
            await insert_notices(conn, [Notice("welcome", person_id=person)], datetime.now(UTC))
            assert await conn.fetchval(setting) != "session"  # the server's own
        assert await db.fetchval(setting) == "session"  # for that transaction only
        # What someone is told of at once (an erasure, an invite, a key) commits so too.
        async with db.durable_transaction() as conn:
            assert await conn.fetchval(setting) != "session"  # the server's own
        assert await db.fetchval(setting) == "session"
        assert await db.fetchval("SHOW synchronous_commit") == "off"
    finally:
        await db.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.empty_database()
    shipped = available_migrations()
    broken = Migration(
        len(shipped) + 1, "broken", "CREATE TABLE half (x int); CREATE TABLE oops (;"
    )
    monkeypatch.setattr(pg, "available_migrations", lambda: [*shipped, broken])
    with pytest.raises(DatabaseUnusable):
        await Database.open(url)
    monkeypatch.undo()
    db = await Database.open(url, migrate=False)
    try:
        assert await db.schema_version() == len(shipped)
        assert await db.fetchval("SELECT to_regclass('half')") is None
    finally:
        await db.close()


@pytest.fixture
def where(postgres: PgServer) -> Iterator[PostgresUrl]:
    """This module's database is always PostgreSQL's."""
    url = postgres.new_database()
    yield url
    postgres.release(url)


# ---- a server that cannot be used -------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_server_is_one_line(postgres: PgServer) -> None:
    del postgres
    url = PostgresUrl("127.0.0.1", _closed_port(), "ward", "bot", Secret(PASSWORD))
    with pytest.raises(DatabaseUnusable) as refused:
        await Database.open(url)
    assert refused.value.key == "cli.db_unreachable"
    assert PASSWORD not in str(refused.value.params)


async def test_a_wrong_password_is_one_line_without_it(where: PostgresUrl) -> None:
    wrong = PostgresUrl(where.host, where.port, where.database, where.user, Secret(PASSWORD))
    with pytest.raises(DatabaseUnusable) as refused:
        await Database.open(wrong)
    assert refused.value.key == "cli.db_login_refused"
    line = t("en", refused.value.key, **refused.value.params)
    assert "password authentication failed" in line
    assert PASSWORD not in line


def test_the_command_line_says_a_wrong_password_in_one_line(
    where: PostgresUrl, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = PostgresUrl(where.host, where.port, where.database, where.user, Secret(PASSWORD))
    monkeypatch.setenv("PHANANH_DB", wrong.reveal())
    assert main(["org", "check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "từ chối" in err
    assert "Pässword" not in err and PASSWORD not in err


async def test_no_log_line_of_a_whole_flow_shows_the_password(
    where: PostgresUrl, clock: ManualClock, chart: OrgChart, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot on PostgreSQL, logging everything: started without a chart
    (the warning names the database), then with one, through a report to
    the cadre.  The URL is logged, the password never."""
    caplog.set_level(logging.DEBUG)
    async with started_bot(where, clock):
        pass
    await load_chart(where, chart)
    async with started_bot(where, clock) as bot:
        sent = await file_sanitation_report(bot, bot.user(501, "An"))
        assert "PA-000001" in joined(sent)
        assert ENVIRONMENT_CADRE in {m.chat_id for m in bot.api.sent}
    messages = [record.getMessage() for record in caplog.records]
    assert any(str(where) in m for m in messages), "the database is named: the check can fail"
    password = where.password.reveal()
    assert password
    assert [m for m in messages if password in m] == []


# ---- two processes on one database ----------------------------------------------------------


async def test_two_sweeps_at_once_take_different_complaints_and_neither_waits(
    where: PostgresUrl, clock: ManualClock, services: Services
) -> None:
    """Process A has claimed a batch and is still deciding about it; process
    B's sweep meanwhile takes the next complaints (FOR UPDATE SKIP LOCKED),
    without waiting for A and without touching A's."""
    actor = await services.identify("zalo", "r1", "An")
    for _ in range(6):
        await file_by_typing(services, actor)
    later = clock.now() + timedelta(days=30)
    claimed: dict[str, list[int]] = {}
    deciding, release = threading.Event(), threading.Event()

    def decide(name: str, wait: bool) -> Callable[[Sequence[DueComplaint]], SweepWrites]:
        def writes(due: Sequence[DueComplaint]) -> SweepWrites:
            claimed[name] = [c.id for c in due]
            if wait:
                deciding.set()
                release.wait(10)
            return SweepWrites([SweepUpdate(c.id, {"next_action_at": later}) for c in due], [])

        return writes

    async def sweep(name: str, wait: bool) -> None:
        async with opened(where) as storage:
            await storage.store.sweep(later, 3, decide(name, wait))

    a = threading.Thread(target=asyncio.run, args=(sweep("a", True),))
    a.start()
    try:
        assert await asyncio.to_thread(deciding.wait, 10), "A holds its batch"
        async with asyncio.timeout(10):
            await sweep("b", False)
    finally:
        release.set()
        await asyncio.to_thread(a.join, 10)
    assert len(claimed["a"]) == len(claimed["b"]) == 3
    assert set(claimed["a"]).isdisjoint(claimed["b"])


# ---- backup and restore -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


Cli = Callable[..., Awaitable[Ran]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`phananh …` with ``PHANANH_DB`` the URL, in a thread of its own (the
    command line runs its own event loop), its output captured."""

    async def run(url: PostgresUrl, *args: str) -> Ran:
        for name in list(os.environ):
            if name.startswith("PHANANH_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("PHANANH_DB", url.reveal())
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


async def _probe(url: PostgresUrl) -> str | None:
    async with opened(url) as storage:
        return await storage.store.get_meta("probe")


async def _set_probe(url: PostgresUrl, value: str) -> None:
    async with opened(url) as storage:
        await storage.store.set_meta("probe", value)


@pytest.fixture
async def live(where: PostgresUrl, chart: OrgChart, clock: ManualClock) -> PostgresUrl:
    """The live database: the example chart, a person with accounts on two
    channels, a photo's bytes, an outbox row, a probe."""
    async with opened(where) as storage:
        await storage.store.replace_org(chart)
        person = await storage.store.upsert_person("telegram", "501", "An", "vi")
        zalo = await storage.store.upsert_person("zalo", "e4ea5c", "An", "vi")
        await storage.store.create_invite(
            Invite("add", "tt-hh-12", "cadre", clock.now(), clock.now(), "cli", adds_account=True)
        )
        await storage.store.bind_staff("tt-hh-12", person.id, clock.now())
        await storage.store.use_invite("add", zalo.id, clock.now(), lambda p: Notice("x"))
        await storage.store.put_media("0" * 64, PHOTO, "image/jpeg", clock.now())
        await storage.store.enqueue([Notice("resident_update", person_id=person.id)], clock.now())
        await storage.store.set_meta("probe", "backup")
    return where


async def test_a_backup_restores_every_row_and_the_sequences(
    live: PostgresUrl, tmp_path: Path, clock: ManualClock, cli: Cli
) -> None:
    backup = tmp_path / "ward.dump"
    done = await cli(live, "backup", str(backup))
    assert (done.code, done.err) == (0, ""), "pg_dump's warnings stay with it"
    assert done.out.splitlines() == [t("vi", "cli.backup_done", path=backup)]
    await _set_probe(live, "changed")
    async with opened(live) as storage:
        before = await storage.store.due_outbox(clock.now(), 10)
        await storage.store.mark_sent(before[0].id, clock.now())

    done = await cli(live, "restore", str(backup))
    assert done.code == 0, done.err
    assert done.out.splitlines() == [t("vi", "cli.restore_done", path=backup, db=live)]
    assert await _probe(live) == "backup"
    async with opened(live) as storage:
        assert [i.id for i in await storage.store.due_outbox(clock.now(), 10)] == [before[0].id]
        assert (await storage.store.load_org()) is not None
        an = await storage.store.find_person("zalo", "e4ea5c")
        assert an is not None and an.on("telegram") == (Account("telegram", "501"),)
        assert await storage.store.media_content(1) == StoredMedia(PHOTO, "image/jpeg")
        # The ids go on after the restored ones: a tracking code is never reused.
        await storage.store.enqueue([Notice("resident_update", person_id=1)], clock.now())
        ids = [i.id for i in await storage.store.due_outbox(clock.now(), 10)]
        assert ids == [before[0].id, before[0].id + 1]


async def test_a_postgresql_backup_is_readable_by_its_owner_only(
    live: PostgresUrl, tmp_path: Path, cli: Cli
) -> None:
    """pg_dump makes its file as the umask says (0644: every account could
    read the residents' reports in /var/backups); the backup is 0600."""
    backup = tmp_path / "phananh-2026-11-23.dump"
    umask = os.umask(0o022)
    try:
        assert (await cli(live, "backup", str(backup))).code == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes().startswith(b"PGDMP")


async def _refused(cli: Cli, url: PostgresUrl, source: Path, key: str, **params: object) -> None:
    done = await cli(url, "restore", str(source))
    assert done.code == 1
    assert (done.out, done.err.splitlines()) == ("", [t("vi", key, path=source, **params)])


async def test_a_file_that_is_not_a_dump_is_refused(
    live: PostgresUrl, tmp_path: Path, cli: Cli
) -> None:
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"PGDMP? no")
    await _refused(cli, live, junk, "cli.restore_not_ours")
    await _refused(cli, live, tmp_path / "none.dump", "cli.restore_missing")
    assert await _probe(live) == "backup"


async def test_a_backup_of_the_other_engine_is_refused_with_what_to_do_instead(
    live: PostgresUrl,
    tmp_path: Path,
    chart: OrgChart,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A ward that moved to the city's PostgreSQL still has its SQLite
    backups, and a city may try its pg_dump on a SQLite file: each is told
    which engine the file is from and what takes it (`phananh db copy`, or
    the PostgreSQL URL), not that it is no Phản Ánh database; nothing changes."""
    ward = tmp_path / "ward.db"
    ward_backup = tmp_path / "ward-2026-11-23.db"
    async with opened(ward) as storage:
        await storage.store.replace_org(chart)
        await storage.backup_to(ward_backup)
    await _refused(cli, live, ward_backup, "cli.restore_sqlite_into_postgres", db=live)
    assert await _probe(live) == "backup"

    city_backup = tmp_path / "city.dump"
    assert (await cli(live, "backup", str(city_backup))).code == 0
    monkeypatch.setenv("PHANANH_DB", str(ward))
    before = ward.read_bytes()
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["restore", str(city_backup)]) == 1
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == (
        "",
        [t("vi", "cli.restore_postgres_into_sqlite", path=city_backup, db=ward)],
    )
    assert ward.read_bytes() == before


async def test_a_full_dump_with_objects_of_its_own_is_refused(
    live: PostgresUrl, tmp_path: Path, postgres: PgServer, cli: Cli
) -> None:
    """A dump carrying a trigger of its own (one that would reroute every
    new complaint) is never restored: only rows are."""
    postgres.cluster.psql(
        "CREATE FUNCTION phananh.reroute() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN NEW.owner := 'someone'; RETURN NEW; END $$;"
        " CREATE TRIGGER reroute BEFORE INSERT ON phananh.complaints"
        " FOR EACH ROW EXECUTE FUNCTION phananh.reroute();",
        database=live.database,
    )
    hostile = tmp_path / "hostile.dump"
    from storage.postgres.backup import _environment, tool

    done = await asyncio.to_thread(
        subprocess.run,
        [tool("pg_dump"), "--format=custom", "--schema=phananh", f"--file={hostile}"],
        env=_environment(live),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    postgres.cluster.psql("DROP FUNCTION phananh.reroute() CASCADE", database=live.database)
    await _set_probe(live, "live")
    done = await cli(live, "restore", str(hostile))
    assert done.code == 1
    (line,) = done.err.splitlines()
    before_objects = t("vi", "cli.restore_not_rows", path=hostile, objects="|").split("|")[0]
    assert line.startswith(before_objects)
    assert "FUNCTION phananh reroute" in line, "what would run comes first"
    assert await _probe(live) == "live"


async def test_a_backup_with_rows_of_a_table_not_ours_is_refused(
    live: PostgresUrl, tmp_path: Path, postgres: PgServer, cli: Cli
) -> None:
    """Someone added a table to the schema: first the bot's role may not
    read it (the backup fails in one line and leaves no file), then it may
    (the backup holds its rows, and a restore refuses them)."""
    postgres.cluster.psql(
        "CREATE TABLE phananh.spy (x text); INSERT INTO phananh.spy VALUES ('x')",
        database=live.database,
    )
    backup = tmp_path / "spy.dump"
    failed = await cli(live, "backup", str(backup))
    assert failed.code == 1
    (line,) = failed.err.splitlines()
    assert line == t("vi", "cli.backup_failed", db=live, error=line.split(": ", 1)[1][:-1])
    assert "permission denied for table spy" in line
    assert not backup.exists()
    postgres.cluster.psql("ALTER TABLE phananh.spy OWNER TO phananh", database=live.database)
    assert (await cli(live, "backup", str(backup))).code == 0
    postgres.cluster.psql("DROP TABLE phananh.spy", database=live.database)
    await _set_probe(live, "live")
    await _refused(cli, live, backup, "cli.restore_foreign", objects="spy")
    assert await _probe(live) == "live"


async def test_a_backup_from_a_newer_program_is_refused(
    live: PostgresUrl, tmp_path: Path, cli: Cli
) -> None:
    async with opened(live) as storage:
        assert isinstance(storage.database, Database)
        await storage.database.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'x', now())"
        )
        backup = tmp_path / "newer.dump"
        from storage.postgres.backup import dump

        await dump(live, backup)
        await storage.database.execute("DELETE FROM schema_migrations WHERE version = 99")
    await _set_probe(live, "live")
    known = len(available_migrations())
    await _refused(cli, live, backup, "cli.restore_newer", version=99, known=known)
    assert await _probe(live) == "live"


async def test_a_restore_while_the_bot_is_connected_is_refused(
    live: PostgresUrl, tmp_path: Path, cli: Cli
) -> None:
    backup = tmp_path / "ward.dump"
    assert (await cli(live, "backup", str(backup))).code == 0
    await _set_probe(live, "live")
    async with opened(live):  # the running bot
        done = await cli(live, "restore", str(backup))
    assert done.code == 1
    assert done.err.splitlines() == [t("vi", "cli.restore_in_use", db=live)]
    assert await _probe(live) == "live"


# ---- a ward's SQLite history into PostgreSQL ---------------------------------------------------


async def _everything(url: Path | PostgresUrl) -> dict[str, object]:
    """What the store reads back: the chart, every complaint with its events,
    every person's own data (their accounts too), the photos' bytes and
    handles, the staff bindings, the outbox, the admin log, the digest's
    counts of the demo's week."""
    async with opened(url) as storage:
        store = storage.store
        complaints = await store.all_complaints()
        people = [r[0] for r in await rows(storage, "SELECT id FROM people ORDER BY id")]
        media = [r[0] for r in await rows(storage, "SELECT id FROM media ORDER BY id")]
        week = d.iso_week(2026, 48, TZ)
        return {
            "chart": await store.load_org(),
            "complaints": complaints,
            "events": {c.id: await store.events_of(c.id) for c in complaints},
            "people": {p: _plain(await store.person_data(p)) for p in people},
            "media": {m: await store.media_content(m) for m in media},
            "media_refs": await store.media_refs(media, "telegram"),
            "bound": await store.bound_staff(),
            "outbox": await store.outbox_counts(),
            "due": await store.due_outbox(week.end + timedelta(days=30), 1000),
            "admin": await store.admin_log(100),
            "roster": await store.roster_version(),
            "tally": await storage.digests.tally(week, ["HONGHAI", "BACHDANG"], list(d.Dimension)),
            "digest_run": await storage.digests.has_run(),
        }


def _plain(value: object) -> object:
    """Booleans as SQLite stores them (0/1), for comparing /mydata's files."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _plain(json.loads(value))
        except ValueError:
            return value
    return value


async def test_db_copy_moves_a_wards_whole_history(
    postgres: PgServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.demo import run_demo

    ward = tmp_path / "ward.db"
    await run_demo(ward, io.StringIO())
    target = postgres.empty_database()
    for name in list(os.environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHANANH_DB", target.reveal())
    assert await asyncio.to_thread(main, ["db", "copy", "--from", str(ward)]) == 0
    out = capsys.readouterr().out
    assert "ward.db" in out and "postgresql://phananh:***@" in out
    assert target.password.reveal() not in out

    sqlite_side, postgres_side = await _everything(ward), await _everything(target)
    assert sqlite_side["complaints"], "the demo filed complaints"
    assert sqlite_side["media"] and all(sqlite_side["media"].values()), "photos, with bytes"
    for key, value in sqlite_side.items():
        assert postgres_side[key] == value, key

    # Every table came over, row for row.
    with closing(sqlite3.connect(ward)) as lite:
        names = [
            r[0]
            for r in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
            )
        ]
        counts = {n: lite.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names}
    db = await Database.open(target)
    try:
        for name, count in counts.items():
            assert await db.fetchval(f"SELECT COUNT(*) FROM {name}") == count, name
    finally:
        await db.close()
    assert sum(1 for c in counts.values() if c) >= 12, "the demo filled most tables"

    # The bot runs on the copy: the next complaint's code follows the last.
    clock = ManualClock(max(c.created_at for c in sqlite_side["complaints"]))  # type: ignore[union-attr]
    async with started_bot(target, clock) as bot:
        sent = await file_sanitation_report(bot, bot.user(9501, "Mới"))
        last = max(c.id for c in sqlite_side["complaints"])  # type: ignore[union-attr]
        assert f"PA-{last + 1:06d}" in joined(sent)

    # A second copy into the same (now full) database is refused.
    assert await asyncio.to_thread(main, ["db", "copy", "--from", str(ward)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        t("vi", "cli.copy_not_empty", db=target, table="areas")
    ]


@pytest.mark.parametrize(
    ("damage", "table"),
    [
        ("UPDATE people SET created_at = 'yesterday' WHERE id = 1", "people"),
        (
            "INSERT INTO blocked_people VALUES (999, 'spam', '2026-11-23 00:00:00')",
            "blocked_people",
        ),
    ],
)
async def test_db_copy_of_a_row_postgresql_cannot_take_copies_nothing(
    postgres: PgServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    chart: OrgChart,
    damage: str,
    table: str,
) -> None:
    """A malformed instant, or a row whose parent is missing (a file once
    written with foreign keys off): the copy stops, naming the table, and
    the target stays empty."""
    ward = tmp_path / "ward.db"
    await load_chart(ward, chart)
    async with opened(ward) as storage:
        await storage.store.upsert_person("telegram", "501", "An", "vi")
    with closing(sqlite3.connect(ward)) as lite:
        lite.execute("PRAGMA foreign_keys = OFF")
        lite.execute(damage)
        lite.commit()
    target = postgres.empty_database()
    code = await asyncio.to_thread(
        main, ["db", "copy", "--from", str(ward), "--to", target.reveal()]
    )
    assert code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(t("vi", "cli.copy_bad_row", table=table, error="X").split("(")[0])
    async with opened(target) as storage:
        assert await rows(storage, "SELECT COUNT(*) FROM areas") == [(0,)]


def test_db_copy_needs_a_postgresql_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "x.db"))
    assert main(["db", "copy", "--from", str(tmp_path / "x.db")]) == 2
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.copy_needs_postgres")]
    assert main(["db", "copy", "--from", "x.db", "--to", "postgresql://u:p@h/db?x=1"]) == 2
    assert (
        main(
            [
                "db",
                "copy",
                "--from",
                str(tmp_path / "none.db"),
                "--to",
                "postgresql://u:p@127.0.0.1:1/db",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.splitlines()[-1] == t(
        "vi", "cli.copy_missing", path=tmp_path / "none.db"
    )


# ---- the webhook inbox and /forget --------------------------------------------------------------


async def test_the_webhook_inbox_stores_an_update_once_and_says_when_it_cannot(
    where: PostgresUrl, clock: ManualClock
) -> None:
    async with opened(where) as storage:
        inbox = storage.inbox("telegram")
        assert await inbox.put("999999999", '{"update_id": 999999999}', clock.now())
        assert not await inbox.put("999999999", "{}", clock.now()), "sent again: stored"
        assert await inbox.put("1000000000", '{"update_id": 1000000000, "x": "Rác"}', clock.now())
        assert await storage.inbox("zalo").backlog() == []
        assert await inbox.backlog() == [
            ("999999999", '{"update_id": 999999999}'),
            ("1000000000", '{"update_id": 1000000000, "x": "Rác"}'),
        ], "in the order they came, which the strings do not sort in"
        await inbox.done("999999999")
        assert [u for u, _ in await inbox.backlog()] == ["1000000000"]
        await storage.database.close()  # the server is gone: the platform hears 500
        with pytest.raises(DatabaseUnusable):
            await inbox.put("42", "{}", clock.now())


async def test_forget_masks_what_they_wrote_and_detaches_them(
    where: PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """/forget on PostgreSQL: the phone number in the description, in the
    answer to the cadre (its event note and the outbox payload relayed to the
    cadre) is masked; the cadre's own words and the complaint stay."""
    from bot.domain.redact import MASK

    phone = "0987.654.321"
    await load_chart(where, chart)
    async with started_bot(where, clock) as bot:
        xuyen = bot.user(501, "Xuyến", last_name="Đặng")
        cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
        await file_sanitation_report(bot, xuyen, description=f"Rác tràn, gọi {phone}")
        await bot.press(cadre, "h:1")
        await bot.send(cadre.text("Chị cho xin số để tổ liên hệ?"))
        await bot.press(xuyen, "i:1")
        await bot.send(xuyen.text(f"Gọi em {phone}"))
        async with opened(where) as storage:
            payloads = [r[0] for r in await rows(storage, "SELECT payload::text FROM outbox")]
        assert any(phone in p for p in payloads), "stored before: the check can fail"

        await bot.send(xuyen.command("forget"))
        await bot.press(xuyen, "forget")
        complaint = await bot.services.complaint(1)
        assert complaint is not None
        assert complaint.description == f"Rác tràn, gọi {MASK}"
        notes = [e.note for e in await bot.services.store.events_of(1) if e.note]
        assert f"Gọi em {MASK}" in notes
        assert "Chị cho xin số để tổ liên hệ?" in notes
        async with opened(where) as storage:
            texts = await rows(
                storage,
                "SELECT payload::text FROM outbox UNION ALL SELECT description FROM complaints"
                " UNION ALL SELECT COALESCE(note, '') FROM complaint_events"
                " UNION ALL SELECT COALESCE(display_name, '') FROM people"
                " UNION ALL SELECT COALESCE(display_name, '') || external_id FROM accounts",
            )
        assert [t for (t,) in texts if phone in t or "Xuyến" in t] == []


# ---- the demo ------------------------------------------------------------------------------------


async def test_the_demo_plays_on_postgresql_again_and_again_but_never_over_a_wards_data(
    live: PostgresUrl, postgres: PgServer, cli: Cli
) -> None:
    """`phananh demo --db postgresql://…`: the story in an empty database,
    played again over its own; a ward's database is refused, untouched."""
    demo = postgres.empty_database()
    for _ in range(2):
        done = await cli(live, "demo", "--db", demo.reveal())
        assert (done.code, done.err) == (0, "")
        assert str(demo) in done.out and demo.password.reveal() not in done.out
        async with opened(demo) as storage:
            codes = [c.code for c in await storage.store.all_complaints()]
        assert codes == [f"PA-{n:06d}" for n in range(1, len(codes) + 1)] and codes
    done = await cli(live, "demo", "--db", live.reveal())
    assert (done.code, done.out) == (1, "")
    assert done.err.splitlines() == [t("vi", "cli.demo_not_ours", db=live)]
    assert await _probe(live) == "backup", "the ward's data is as it was"


async def test_the_demos_printed_commands_work_on_postgresql_once_the_password_is_put_in(
    live: PostgresUrl, postgres: PgServer, cli: Cli
) -> None:
    """The demo ends with commands to copy (the web server, a leader's
    sign-in link) naming its database: on PostgreSQL they carry the word
    PASSWORD where the password goes — never the password, and not ``***``,
    which a copied command would send as the password and be refused."""
    demo = postgres.empty_database()
    done = await cli(live, "demo", "--db", demo.reveal())
    assert done.code == 0, done.err
    assert demo.password.reveal() not in done.out
    (link,) = [line for line in done.out.splitlines() if "web link --staff" in line]
    assert "***" not in link and "PASSWORD" in link
    typed = quote(demo.password.reveal(), safe="")  # as the operator wrote it in --db
    ran = await asyncio.to_thread(
        subprocess.run,
        ["sh", "-c", link.strip().replace("PASSWORD", typed).replace(".venv/bin/", f"{BIN}/")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")},
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "http://127.0.0.1:8080/web/signin/" in ran.stdout


# ---- a machine without PostgreSQL ---------------------------------------------------------------


def test_without_postgresql_its_tests_skip_in_one_line_but_fail_on_ci(tmp_path: Path) -> None:
    """A run where no PostgreSQL server can be found (PHANANH_PG_BIN names a
    folder without one): the PostgreSQL half of the tests is skipped, said
    in one line of the summary; under CI=true the run fails instead."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PHANANH_PG_BIN"] = str(tmp_path)
    run = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_storage.py",
        "-k",
        "things_done_once",
    ]

    def pytest_run(name: str, **extra: str) -> subprocess.CompletedProcess[str]:
        basetemp = ["--basetemp", str(tmp_path / name)]
        return subprocess.run(
            run + basetemp, cwd=ROOT, env=env | extra, capture_output=True, text=True, timeout=300
        )

    skipped = pytest_run("skipped")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    said = [line for line in skipped.stdout.splitlines() if "server binaries not found" in line]
    assert len(said) == 1 and said[0].startswith("SKIPPED [1] "), skipped.stdout
    assert "1 passed, 1 skipped" in skipped.stdout, "SQLite's half ran"

    failed = pytest_run("on-ci", CI="true")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "CI=true and PostgreSQL server binaries not found" in failed.stdout
