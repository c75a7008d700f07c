"""What `phananh demo` may delete to start afresh on SQLite: nothing there,
an empty file, or a database of ours marked as a demo's own or holding no
one and nothing — as PostgreSQL's `storage.postgres.db.wipe_for_demo` allows.
The ward's database named by mistake, or any other file, is refused and
left as it is."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage.errors import DatabaseUnusable
from storage.meta_keys import DEMO_MARK

# Tables that hold someone's work: a database with a row in any is not the demo's.
_WORK = ("people", "complaints", "areas")


def demo_may_empty(path: Path) -> bool:
    """Whether the demo may delete ``path`` (read only, never changed here)."""
    if not path.exists():
        return True
    if not path.is_file():
        return False
    if path.stat().st_size == 0:
        return True
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone():
                return True
            return not any(
                conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
                for table in _WORK
            )
    except sqlite3.Error:  # not SQLite, or not ours: not the demo's to delete
        return False


def wipe_for_demo(path: Path) -> None:
    """Delete the file (and its WAL) for the demo, only where
    `demo_may_empty` says so; else `DatabaseUnusable`, nothing touched."""
    if not demo_may_empty(path):
        raise DatabaseUnusable("cli.demo_not_ours_file", db=path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
