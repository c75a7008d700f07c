"""The throwaway PostgreSQL cluster's own housekeeping (tests/pgserver.py):
what a killed run left behind is removed by the next one, and nothing of a
run still going."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.pgserver import FOLDER_PREFIX, OWNER_FILE, find_binaries, remove_orphans


def _cluster_folder(owner: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (folder / "data").mkdir()
    (folder / OWNER_FILE).write_text(str(owner))
    return folder


def _a_finished_process() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_cluster_left_by_a_killed_run_is_removed_and_a_running_ones_kept(
    tmp_path: Path,
) -> None:
    left = _cluster_folder(_a_finished_process())
    ours = _cluster_folder(os.getpid())
    try:
        # No server runs in these folders: pg_ctl's refusal is not an error
        # here.  (The machine's own binaries, for any real orphan found too.)
        removed = remove_orphans(find_binaries() or tmp_path)
        assert left in removed and not left.exists()
        assert ours not in removed and ours.exists()
    finally:
        for folder in (left, ours):
            shutil.rmtree(folder, ignore_errors=True)
