"""`phananh restore` (storage/sqlite/restore.py): a backup replaces the live
database only when it is sound and exactly a Phản Ánh database, the live
file is never touched otherwise, and nothing waits without a bound.

The damaged, foreign and version-less files are the ones the hardening
round used against the landed restore: it took them all, and the live data
became unreadable or was rerouted."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import t
from storage.sqlite.db import BUSY_TIMEOUT_MS, Database, available_migrations
from storage.sqlite.restore import ASIDE_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
PAGE = 4096


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The live database: the example chart and one probe row."""
    path = tmp_path / "live.db"
    monkeypatch.setenv("PHANANH_DB", str(path))
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'live')")
        conn.commit()
    return path


@pytest.fixture
def backup(live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A sound backup of the live database, taken before its probe changed."""
    path = tmp_path / "backup.db"
    assert main(["backup", str(path)]) == 0
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE meta SET value = 'backup' WHERE key = 'probe'")
        conn.commit()
    capsys.readouterr()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def probe(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0])


def altered(source: Path, target: Path, *statements: str) -> Path:
    """A copy of ``source`` with some SQL run on it (foreign keys off)."""
    target.write_bytes(source.read_bytes())
    with closing(sqlite3.connect(target, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            conn.execute(statement)
    return target


@contextmanager
def untouched(live: Path) -> Iterator[None]:
    """The live database, byte for byte, as before the block; and it opens."""
    before = digest(live)
    yield
    assert digest(live) == before
    assert probe(live) == "live"
    assert not list(live.parent.glob(f"*{ASIDE_SUFFIX}*"))
    assert not list(live.parent.glob(".restore-*"))


def refused(capsys: pytest.CaptureFixture[str], source: Path, key: str, **params: object) -> None:
    assert main(["restore", str(source)]) == 1
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", [t("vi", key, path=source, **params)])


def test_a_backup_is_readable_by_its_owner_only_and_a_missing_folder_is_one_line(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup holds every resident's reports and contacts: in a folder
    every account may read (/var/backups), it must not be readable by them,
    whatever the umask.  A folder that does not exist is one line, and
    leaves nothing behind (it was a traceback)."""
    copy = tmp_path / "phananh-2026-11-23.db"
    umask = os.umask(0o022)
    try:
        assert main(["backup", str(copy)]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert probe(copy) == "live"
    missing = tmp_path / "no-such-folder" / "phananh.db"
    capsys.readouterr()
    assert main(["backup", str(missing)]) == 1
    out, err = capsys.readouterr()
    error = t("vi", "cli.reason_no_folder", folder=missing.parent)
    assert (out, err.splitlines()) == ("", [t("vi", "cli.backup_failed", db=live, error=error)])


def test_a_backup_into_a_folder_is_not_said_to_exist_already(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`phananh backup /var/backups/phananh` (the folder, no file name) was
    told "the file already exists; choose another name"."""
    folder = tmp_path / "backups"
    folder.mkdir()
    capsys.readouterr()

    assert main(["backup", str(folder)]) == 1

    out, err = capsys.readouterr()
    error = t("vi", "cli.reason_is_folder", path=folder)
    assert (out, err.splitlines()) == ("", [t("vi", "cli.backup_failed", db=live, error=error)])
    assert list(folder.iterdir()) == []


def test_a_sound_backup_replaces_the_live_database(
    live: Path, backup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = digest(backup)
    assert main(["restore", str(backup)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        t("vi", "cli.restore_done", path=backup, db=live)
    ]
    assert probe(live) == "backup"
    assert digest(backup) == kept, "the backup file itself is only read"
    assert not list(live.parent.glob(f"*{ASIDE_SUFFIX}*")), "the copy aside is gone once it opened"
    assert not list(live.parent.glob(".restore-*"))


async def _at_version(path: Path, version: int) -> None:
    db = await Database.open(path, migrate=False)
    await db.migrate(target=version)
    await db.close()


def test_an_older_backup_is_brought_to_this_schema(live: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    asyncio.run(_at_version(older, len(available_migrations()) - 1))
    assert main(["restore", str(older)]) == 0
    with closing(sqlite3.connect(live)) as conn:
        (version,) = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    assert version == len(available_migrations())


def test_a_backup_with_damaged_pages_is_refused_and_the_live_database_untouched(
    live: Path, backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four pages overwritten with noise: the landed restore copied it over
    the live database, whose data then could not be read."""
    damaged = tmp_path / "damaged.db"
    data = bytearray(backup.read_bytes())
    pages = len(data) // PAGE
    rng = random.Random(20261123)
    for page in rng.sample(range(2, pages), 4):  # page 1 is the header and the schema
        data[page * PAGE : (page + 1) * PAGE] = rng.randbytes(PAGE)
    damaged.write_bytes(bytes(data))
    with untouched(live):
        assert main(["restore", str(damaged)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    prefix = t("vi", "cli.restore_damaged", path=damaged, detail="").split("()")[0]
    assert line.startswith(prefix), line


def test_a_backup_that_breaks_its_foreign_keys_is_refused(
    live: Path, backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphaned = altered(
        backup,
        tmp_path / "orphaned.db",
        "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES ('x', 99999, '')",
    )
    with untouched(live):
        assert main(["restore", str(orphaned)]) == 1
    assert "foreign_key_check" in capsys.readouterr().err


REROUTE = (
    "CREATE TRIGGER reroute AFTER INSERT ON complaints BEGIN"
    " UPDATE complaints SET owner = 'ld-bd-ct' WHERE id = new.id; END"
)
FOREIGN = {
    "a trigger rerouting every new complaint": ([REROUTE], "reroute"),
    "a view": (["CREATE VIEW everyone AS SELECT * FROM people"], "everyone"),
    "an index": (["CREATE INDEX people_names ON people (display_name)"], "people_names"),
    "a table": (["CREATE TABLE loot (x)"], "loot"),
    "one of ours, redefined": (
        [
            "DROP TRIGGER complaint_events_no_delete",
            "CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events"
            " BEGIN SELECT 1; END",
        ],
        "complaint_events_no_delete",
    ),
}


@pytest.mark.parametrize(("statements", "name"), FOREIGN.values(), ids=FOREIGN.keys())
def test_a_backup_with_schema_objects_of_its_own_is_refused(
    statements: list[str],
    name: str,
    live: Path,
    backup: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    planted = altered(backup, tmp_path / "planted.db", *statements)
    with untouched(live):
        refused(capsys, planted, "cli.restore_foreign", objects=name)


def _versions_as(kind: str) -> list[str]:
    """schema_migrations rebuilt without INTEGER PRIMARY KEY, so that a
    version can be stored as NULL or text."""
    value = "NULL" if kind == "null" else "'bảy'"
    return [
        "ALTER TABLE schema_migrations RENAME TO old_versions",
        "CREATE TABLE schema_migrations (version, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        "INSERT INTO schema_migrations SELECT * FROM old_versions",
        "DROP TABLE old_versions",
        f"UPDATE schema_migrations SET version = {value} WHERE version = 1",
    ]


@pytest.mark.parametrize("kind", ["null", "text"])
def test_a_schema_version_stored_as_null_or_text_is_one_line(
    kind: str, live: Path, backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = altered(backup, tmp_path / f"{kind}.db", *_versions_as(kind))
    with untouched(live):
        refused(capsys, odd, "cli.restore_bad_version")
    # The same file as the live database: one line from every command too.
    os.environ["PHANANH_DB"] = str(odd)
    assert main(["org", "check"]) == 1
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.db_bad_version", db=odd)]


ENDLESS = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x"
VIEWS = {
    "complaints": (
        [
            "DROP TABLE complaints",
            f"CREATE VIEW complaints AS {ENDLESS} AS id FROM r",
        ],
        "cli.restore_foreign",
    ),
    "schema_migrations": (
        [
            "DROP TABLE schema_migrations",
            f"CREATE VIEW schema_migrations AS {ENDLESS} AS version FROM r",
        ],
        "cli.restore_not_ours",
    ),
}


@pytest.mark.parametrize(("statements", "key"), VIEWS.values(), ids=VIEWS.keys())
def test_a_core_table_replaced_by_a_view_is_one_line_and_never_hangs(
    statements: list[str], key: str, live: Path, backup: Path, tmp_path: Path
) -> None:
    """A view that never ends, in place of a core table: the landed
    restore hung on it (killed after 60 s).  The schema is compared before
    any view could be run, in a subprocess here so that a hang fails."""
    viewed = altered(backup, tmp_path / "viewed.db", *statements)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    env["PHANANH_DB"] = str(live)
    with untouched(live):
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "restore", str(viewed)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    expected = t("vi", key, path=viewed, objects="")
    assert line.startswith(expected.split("(")[0]), line


def _holding(live: Path) -> Callable[[], None]:
    """Another program with the live database open, as the running bot has."""
    holder = sqlite3.connect(live)
    holder.execute("PRAGMA journal_mode").fetchone()
    holder.execute("SELECT COUNT(*) FROM complaints").fetchone()
    return holder.close


def test_restoring_while_the_bot_has_the_database_open_is_refused_within_a_bound(
    live: Path, backup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = _holding(live)
    try:
        began = time.monotonic()
        with untouched(live):
            assert main(["restore", str(backup)]) == 1
        waited = time.monotonic() - began
    finally:
        release()
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.restore_in_use", db=live)]
    assert waited < BUSY_TIMEOUT_MS / 1000 + 10, "waits the busy timeout, never for ever"
    assert main(["restore", str(backup)]) == 0, "once the bot is stopped, it goes through"
    assert probe(live) == "backup"


def test_restore_of_a_missing_file_or_junk(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with untouched(live):
        refused(capsys, tmp_path / "absent.db", "cli.restore_missing")
        junk = tmp_path / "junk.db"
        junk.write_bytes(os.urandom(3 * PAGE))
        refused(capsys, junk, "cli.restore_not_ours")
