"""A throwaway PostgreSQL cluster for one test run (or one benchmark): made
with the machine's own server binaries in a temporary folder, listening on
a free loopback port (and a Unix socket in the folder, for the superuser),
stopped and removed at the end.

PostgreSQL refuses to run as root, and the tests run as root on CI: the
server then runs as ``nobody``, in a folder that account owns.  The bot
connects as a role with a password, over TCP, exactly as it would to a
city's server (``postgresql://user:pass@host:port/db``); the superuser, who
makes a fresh database for each test, connects through the socket.

Where no server binaries are found, `find_binaries` returns None: the tests
that need PostgreSQL skip with one line (or fail, under ``CI=true``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The role the bot connects as, and its password (random per run).
APP_ROLE = "phananh"
# Every test database is a copy of this one, already migrated.
TEMPLATE = "phananh_template"
# Where Debian puts the server binaries, newest version first.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
# The unprivileged account the server runs as when we are root.
SERVER_USER = "nobody"
# In each cluster's folder: the id of the process it was made for.
OWNER_FILE = "owner.pid"


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl, postgres and psql: ``PHANANH_PG_BIN``
    when it is set (and then only there: a folder without them means none),
    else Debian's newest, else wherever ``initdb`` is on the PATH."""
    candidates: list[Path] = []
    if os.environ.get("PHANANH_PG_BIN"):
        candidates.append(Path(os.environ["PHANANH_PG_BIN"]))
        return _holding_the_server(candidates)
    candidates.extend(
        Path(p)
        for p in sorted(
            glob.glob(DEBIAN_BINARIES), key=lambda p: int(Path(p).parent.name), reverse=True
        )
        if Path(p).parent.name.isdigit()
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    return _holding_the_server(candidates)


def _holding_the_server(candidates: list[Path]) -> Path | None:
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "psql")):
            return folder
    return None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    binaries: Path
    port: int
    password: str
    as_user: str | None  # run the server as this account (we are root)
    # The server's own durability (fsync, synchronous_commit, full-page
    # writes: PostgreSQL's defaults), for a benchmark that must pay what a
    # city's server pays; off for the tests, built for speed.
    durable: bool = False

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> str:
        return str(self.folder)

    def url(self, database: str) -> str:
        """What ``PHANANH_DB`` holds for the bot to reach ``database``."""
        return f"postgresql://{APP_ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def _check(self, *argv: str) -> None:
        done = self._run(*argv)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}\n{tail}")

    def start(self) -> None:
        self._check(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        # Built for speed, not for surviving the machine: a test cluster
        # (unless `durable`).
        fast = (
            () if self.durable else ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
        )
        options = " ".join(
            f"-c {o}"
            for o in (
                "listen_addresses=127.0.0.1",
                f"port={self.port}",
                f"unix_socket_directories={self.socket_dir}",
                *fast,
                "max_connections=300",
                "shared_buffers=64MB",
            )
        )
        self._check(
            str(self.binaries / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self.psql(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")
        self.psql(f"CREATE DATABASE {TEMPLATE} OWNER {APP_ROLE}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser, through the socket."""
        done = subprocess.run(
            [
                str(self.binaries / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                self.socket_dir,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(
                str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_user() -> str | None:
    """Root may not run the server: ``nobody`` does, when we are root."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam(SERVER_USER)  # KeyError: no such account
    return SERVER_USER


@contextlib.contextmanager
def throwaway_cluster(binaries: Path, *, durable: bool = False) -> Iterator[Cluster]:
    """A running cluster for the block, removed afterwards (`Cluster.durable`);
    those of earlier runs that were killed go first (`remove_orphans`)."""
    as_user = _server_user()
    remove_orphans(binaries)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (folder / OWNER_FILE).write_text(str(os.getpid()))
    if as_user is not None:
        entry = pwd.getpwnam(as_user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    cluster = Cluster(folder, binaries, _free_port(), secrets.token_hex(12), as_user, durable)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


FOLDER_PREFIX = "phananh-pg-"


def remove_orphans(binaries: Path) -> list[Path]:
    """Stop and remove the clusters whose run is gone: a run killed with
    SIGKILL, or SIGTERM (which skips the ``finally`` above), left its server
    running and its folder behind, on a developer's machine as on CI.  A
    folder names its process (`OWNER_FILE`); one without that file is left
    alone (being made right now, or not ours)."""
    as_user = _server_user()
    removed: list[Path] = []
    for folder in sorted(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*")):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _running(owner):
            continue
        Cluster(folder, binaries, 0, "", as_user).stop()
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's, alive
    return True
