"""Several bot processes on one database (issue 15, second section).

On PostgreSQL any number of bot processes share the work through the database: each stored
update is handled once and each chat's in order, whichever process got it (a per-chat turn);
the outbox is claimed person by person, so no message goes out twice; the platforms' rates are
one bucket for all; one process polls at a time.  The processes here are real bot runtimes
side by side, each with its own connection pool, on one PostgreSQL database (the end-to-end
run of real `phananh run` processes behind nginx is tests/test_scaleout.py).

SQLite serves one process: a second `phananh run` on the same file is refused in one line.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.sandbox.telegram import FakeBotApi, HttpFakeBotApi
from tests.catalogue import says
from tests.crashkit import STOP_TIMEOUT, bot_env, prepare_db, start_bot

TOKEN = "626262:processes"


async def test_a_second_bot_process_on_one_sqlite_file_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """Two `phananh run` on one SQLite file would both sweep and both send every reminder:
    the second says why it will not run, in one line, and exits 1; the first runs on."""
    db_path = tmp_path / "ward.db"
    await prepare_db(db_path)
    api = FakeBotApi()
    async with HttpFakeBotApi(api) as server:
        env = bot_env(
            PHANANH_TELEGRAM_API_URL=server.base_url,
            PHANANH_TELEGRAM_TOKEN=TOKEN,
            PHANANH_DB=str(db_path),
        )
        first = await start_bot(api, env, tmp_path)
        try:
            second = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=tmp_path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            async with asyncio.timeout(60):
                out, err = await second.communicate()
            assert second.returncode == 1
            lines = (out + err).decode().strip().splitlines()
            assert len(lines) == 1, lines
            assert says(lines[0], "cli.db_one_process", db=db_path)
            assert first.proc.returncode is None, "the first one runs on"
        finally:
            first.proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STOP_TIMEOUT):
                await first.collect()
    assert first.proc.returncode == 0
