"""`phananh` on the command line: exit codes, one clear line per problem and
no tracebacks, org-chart import all or nothing, and the offline demo.

Most cases call the real entry point ``bot.cli.main`` in-process; a few run
``python -m bot.cli`` as a real subprocess with a controlled environment, as
an operator would."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from bot.cli import _parser, main
from bot.i18n import t
from bot.orgio.reader import load_org_file
from bot.sandbox.telegram import FakeBotApi, HttpFakeBotApi, JSONDict
from tests.catalogue import says

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"

# Two entries share the category code RAC, and an assignment names an area
# that does not exist.  Lines are found by text so they cannot drift.
BROKEN_ORG = """\
areas:
  - code: W
    name: Phường W
    kind: ward
    leader: ld
    children:
      - code: G1
        name: Tổ 1
        kind: group
categories:
  - code: RAC
    name: Rác
    family: sanitation
    resolve_days: 2
  - code: RAC
    name: Rác lần hai
    family: sanitation
    resolve_days: 2
staff:
  - id: ld
    name: Lãnh đạo
    roles: [ward_leader]
    wards: [W]
  - id: cb
    name: Cán bộ
    roles: [cadre]
    wards: [W]
assignments:
  - area: NOWHERE
    category: RAC
    cadre: cb
"""

# A tab used for indentation on line 4: a YAML syntax error.
SYNTAX_ERROR_ORG = "areas:\n  - code: W\n    name: Phường W\n\tkind: ward\n"


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding the n-th occurrence of needle."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return numbers[occurrence - 1]


def _rows(db: Path, table: str) -> int:
    """Rows in ``table``; a database that was never created has none."""
    if not db.exists():
        return 0
    with closing(sqlite3.connect(db)) as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


def _area_codes(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT code FROM areas")}


def _clean_environ(**extra: str) -> dict[str, str]:
    """The current environment without any PHANANH_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    # The package is installed in the venv; this also makes a plain checkout work.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=_clean_environ(**env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process runs see no PHANANH_* variable and cannot touch ./data."""
    for name in list(os.environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------- run


def test_run_without_token_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    result = _run_cli(["run"], cwd=tmp_path, PHANANH_DB=str(tmp_path / "x.db"))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [t("vi", "cli.missing_token")]
    assert "PHANANH_TELEGRAM_TOKEN" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()


def test_run_without_token_speaks_the_configured_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", "en")

    assert main(["run"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("en", "cli.missing_token")]
    assert t("en", "cli.missing_token") != t("vi", "cli.missing_token")


class StopsOnFirstPoll(FakeBotApi):
    """Telegram, which sends the bot SIGTERM as soon as it polls (or sets
    its webhook): the bot ran, and stops cleanly."""

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        answer = await super().call(method, params)
        if method.lower() in ("getupdates", "setwebhook") and answer[0] == 200:
            os.kill(os.getpid(), signal.SIGTERM)
        return answer


@contextmanager
def telegram_in_a_thread(api: FakeBotApi) -> Iterator[str]:
    """The fake Bot API over HTTP, served from a thread of its own so that
    ``main`` can run the bot in this one; yields its base URL."""
    loop = asyncio.new_event_loop()
    server = HttpFakeBotApi(api)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield server.base_url
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture
def charted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A database with the example org chart, configured, and a token."""
    db = tmp_path / "run.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_TELEGRAM_TOKEN", "123456:TEST")
    monkeypatch.setenv("PHANANH_RATE_LIMIT", "false")
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0
    return db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_run_says_running_only_once_telegram_accepted_the_token(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = StopsOnFirstPoll()
    capsys.readouterr()
    with telegram_in_a_thread(api) as url:
        monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", url)
        assert main(["run"]) == 0
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.running")]
    assert [c.method for c in api.calls][:1] == ["getMe"]


def test_run_with_a_token_telegram_refuses_says_so_in_one_line(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = StopsOnFirstPoll()
    api.fail_next("getMe", error_code=401, description="Unauthorized")
    capsys.readouterr()
    with telegram_in_a_thread(api) as url:
        monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", url)
        assert main(["run"]) == 1
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", [t("vi", "cli.bad_token")]), "and not “running”"
    assert "123456:TEST" not in err


def test_run_without_network_says_so_in_one_line(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", f"http://127.0.0.1:{port}/bot")
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", "en")
    capsys.readouterr()
    assert main(["run"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        t("en", "cli.no_network", host=f"127.0.0.1:{port}")
    ]


def test_run_as_a_webhook_on_a_port_in_use_says_so_in_one_line(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = StopsOnFirstPoll()
    capsys.readouterr()
    with telegram_in_a_thread(api) as url, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", url)
        hook = ["run", "--webhook", "https://example.org/hook", "--listen", "127.0.0.1"]
        assert main([*hook, "--port", str(port)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        t("vi", "cli.cannot_listen", port=port, listen="127.0.0.1", error="")[:-2]
    )
    assert api.calls_to("setWebhook") == [], "Telegram is not sent to a server that is not there"


def test_run_as_a_webhook_says_running_once_telegram_took_the_address(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = StopsOnFirstPoll()
    port = _closed_port()
    capsys.readouterr()
    with telegram_in_a_thread(api) as url:
        monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", url)
        hook = ["run", "--webhook", "https://example.org/hook", "--listen", "127.0.0.1"]
        assert main([*hook, "--port", str(port)]) == 0
    running = t("vi", "cli.running_webhook", url="https://example.org/hook", port=port)
    assert capsys.readouterr().err.splitlines() == [running]
    [webhook] = api.calls_to("setWebhook")
    assert webhook.params["url"] == "https://example.org/hook"
    assert len(str(webhook.params["secret_token"])) >= 32


async def test_serve_answers_open311_and_health_without_a_token_or_a_channel(
    tmp_path: Path,
) -> None:
    """`phananh serve` over a charted database, as after `make demo`: no token, no channel;
    it says where it listens, answers Open311's discovery, /readyz (no sweep of its own to
    wait for) and /metrics, and stops cleanly on SIGTERM."""
    db = tmp_path / "serve.db"
    assert (
        _run_cli(["org", "import", str(EXAMPLE_ORG)], tmp_path, PHANANH_DB=str(db)).returncode == 0
    )
    port = _closed_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env=_clean_environ(PHANANH_DB=str(db)),
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        url = f"http://127.0.0.1:{port}"
        said: list[str] = []  # the log lines come first, on the same stream
        async with asyncio.timeout(60):
            while t("vi", "cli.serving", url=url) not in said:
                line = (await proc.stderr.readline()).decode()
                assert line, f"ended without saying where it serves: {said}"
                said.append(line.strip())
        async with httpx.AsyncClient(base_url=url) as client:
            discovery = await client.get("/open311/v2/discovery.json")
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")
            metrics = await client.get("/metrics")
        assert discovery.status_code == 200 and discovery.json()["endpoints"]
        assert ready.status_code == 200, ready.text
        assert "sweep" not in ready.text
        assert alive.status_code == 200
        assert metrics.status_code == 200 and b"phananh_database_up 1.0" in metrics.content
        assert b"phananh_sweep_last_run_timestamp_seconds 0.0" in metrics.content, "no sweep"
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = (await proc.stderr.read()).decode()
            code = await proc.wait()
    assert code == 0, rest
    assert "Traceback" not in rest


class ReachesTheWebhook(StopsOnFirstPoll):
    """Telegram, which connects to the bot's server when it is told the
    webhook's address (before stopping the bot)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.reached = False

    async def call(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        if method.lower() == "setwebhook":
            with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                self.reached = True
        return await super().call(method, params)


def test_run_as_a_webhook_listens_where_the_settings_say(
    charted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --listen and --port, PHANANH_HTTP_HOST and PHANANH_HTTP_PORT."""
    port = _closed_port()
    api = ReachesTheWebhook(port)
    monkeypatch.setenv("PHANANH_HTTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PHANANH_HTTP_PORT", str(port))
    capsys.readouterr()
    with telegram_in_a_thread(api) as url:
        monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", url)
        assert main(["run", "--webhook", "https://example.org/hook"]) == 0
    running = t("vi", "cli.running_webhook", url="https://example.org/hook", port=port)
    assert capsys.readouterr().err.splitlines() == [running]
    assert api.reached


def test_run_with_a_port_out_of_range_says_so_in_one_line(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["run", "--webhook", "https://example.org/hook", "--port", "70000"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert says(line, "config.http_port_range")


def test_run_with_no_database_is_refused_with_a_hint_and_makes_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "empty.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_TELEGRAM_TOKEN", "123456:TEST")
    monkeypatch.setenv("PHANANH_TELEGRAM_API_URL", f"http://127.0.0.1:{_closed_port()}/bot")

    assert main(["run"]) == 1

    out, err = capsys.readouterr()
    full = db.absolute()
    assert (out, err.splitlines()) == ("", [t("vi", "cli.no_database_to_serve", db=db, full=full)])
    assert "phananh org import" in err
    assert not db.exists(), "no empty database made (it was)"


@pytest.mark.parametrize("command", [["run"], ["serve"]], ids=" ".join)
def test_run_and_serve_on_an_empty_database_say_there_is_no_org_chart(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()  # a file, no chart
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_TELEGRAM_TOKEN", "123456:TEST")

    assert main(command) == 1

    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.no_chart", db=db)]


@pytest.mark.parametrize(
    "command",
    [["run"], ["org", "check"], ["org", "export", "x.yaml"], ["backup", "copy.db"]],
    ids=" ".join,
)
def test_a_database_path_that_is_a_folder_is_one_line(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "data.db"
    folder.mkdir()
    monkeypatch.setenv("PHANANH_DB", str(folder))
    monkeypatch.setenv("PHANANH_TELEGRAM_TOKEN", "123456:TEST")

    assert main(command) == 1

    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.db_is_folder", db=folder)]


def test_a_restore_names_the_full_path_of_the_database_it_replaced(tmp_path: Path) -> None:
    """Restored from the home folder, "Đã khôi phục data/phananh.db" read as
    the bot's own database; the full path shows it is not."""
    live = tmp_path / "live.db"
    assert (
        _run_cli(["org", "import", str(EXAMPLE_ORG)], cwd=tmp_path, PHANANH_DB=str(live)).returncode
        == 0
    )
    backup = tmp_path / "copy.db"
    assert _run_cli(["backup", str(backup)], cwd=tmp_path, PHANANH_DB=str(live)).returncode == 0
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()

    result = _run_cli(["restore", str(backup)], cwd=elsewhere)

    assert result.returncode == 0
    full = elsewhere / "data" / "phananh.db"
    assert result.stdout.splitlines() == [t("vi", "cli.restore_done", path=backup, db=full)]


@pytest.mark.parametrize(
    "command",
    [
        ["org", "check"],
        ["org", "export", "current.yaml"],
        ["staff", "deactivate", "tt-hh-12"],
        ["invite", "--role", "cadre", "--staff", "tt-hh-12"],
        ["posters", "--ward", "HONGHAI", "--out", "posters"],
        ["digest", "--ward", "HONGHAI", "--out", "digest"],
        ["web", "link", "--staff", "ld-hh-ct"],
        ["web", "revoke", "--staff", "ld-hh-ct"],
        ["apikey", "create", "city-portal"],
        ["apikey", "revoke", "city-portal"],
        ["apikey", "list"],
        ["people", "block", "--reason", "spam", "telegram:123456"],
        ["people", "unblock", "telegram:123456"],
        ["history"],
        ["history", "PA-000001"],
    ],
    ids=" ".join,
)
def test_a_command_run_in_the_wrong_folder_says_there_is_no_database(
    tmp_path: Path, command: list[str]
) -> None:
    """From the home folder instead of /opt/phananh: an empty
    ./data/phananh.db was made there and the clerk told to import the org
    chart into it ("chưa có sơ đồ tổ chức: chạy phananh org import")."""
    result = _run_cli(command, cwd=tmp_path, PHANANH_BOT_USERNAME="hh_bot")

    assert result.returncode == 1
    db = Path("data/phananh.db")
    assert result.stderr.splitlines() == [t("vi", "cli.no_database", db=db, full=tmp_path / db)]
    assert sorted(tmp_path.iterdir()) == [], "nothing made in the wrong folder"


def test_a_backup_run_in_the_wrong_folder_says_there_is_no_database(tmp_path: Path) -> None:
    """Run from the home folder instead of /opt/phananh, the default
    ./data/phananh.db is not there: it used to be made empty, copied, and
    "Đã sao lưu cơ sở dữ liệu" printed."""
    result = _run_cli(["backup", "phananh-2026-11-23.db"], cwd=tmp_path)

    assert result.returncode == 1
    db = Path("data/phananh.db")
    assert result.stderr.splitlines() == [t("vi", "cli.no_database", db=db, full=tmp_path / db)]
    assert sorted(tmp_path.iterdir()) == [], "no empty database, no backup file"


@pytest.mark.parametrize(
    ("where", "reason"),
    [("no-such-folder/org.yaml", "cli.reason_no_folder"), (".", "cli.reason_is_folder")],
)
def test_an_org_export_to_a_place_it_cannot_write_is_one_line(
    tmp_path: Path, where: str, reason: str
) -> None:
    """A mistyped folder, or a folder with no file name: it was a traceback."""
    db = tmp_path / "ward.db"
    assert (
        _run_cli(["org", "import", str(EXAMPLE_ORG)], cwd=tmp_path, PHANANH_DB=str(db)).returncode
        == 0
    )

    result = _run_cli(["org", "export", where], cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    shown = Path(where)
    because = t("vi", reason, folder=shown.parent, path=shown)
    assert result.stderr.splitlines() == [
        t("vi", "cli.org_export_failed", path=shown, reason=because)
    ]
    assert not (tmp_path / "no-such-folder").exists()


def test_a_dry_run_with_no_database_checks_the_file_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the first import, or in the wrong folder: the file is checked,
    the full path of the missing database is named, and no empty database
    is left behind (it was, and the next command then found "no org chart")."""
    db = tmp_path / "data" / "phananh.db"
    db.parent.mkdir()
    monkeypatch.setenv("PHANANH_DB", str(db))

    assert main(["org", "import", "--dry-run", str(EXAMPLE_ORG)]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert "  + staff: tt-hh-12" in out.splitlines(), "everything in the file, as added"
    assert out.splitlines()[-1:] == [
        t(
            "vi",
            "cli.org_dry_run_no_database",
            db=db,
            full=db.absolute(),
            areas=23,
            groups=18,
            categories=13,
            staff=13,
            assignments=17,
        )
    ]
    assert list(db.parent.iterdir()) == [], "nothing written"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_exported_chart_opens_with_words_in_the_clis_language(
    charted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    """The clerk opening the file to edit it read an English comment."""
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", language)
    exported = tmp_path / "current.yaml"

    assert main(["org", "export", str(exported)]) == 0

    text = exported.read_text(encoding="utf-8")
    opening = [f"# {line}" for line in t(language, "cli.export_header").splitlines()]
    assert text.splitlines()[: len(opening)] == opening
    assert load_org_file(exported).staff.keys() == load_org_file(EXAMPLE_ORG).staff.keys()


def test_an_org_export_over_an_existing_file_keeps_it_unless_forced(
    charted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clerk's copy being edited is not replaced by a second export
    without a word: one line, the file as it was; --force replaces it."""
    edited = tmp_path / "current.yaml"
    edited.write_text("# my edits\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["org", "export", str(edited)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("vi", "cli.org_export_exists", path=edited)]
    assert edited.read_text(encoding="utf-8") == "# my edits\n"

    assert main(["org", "export", str(edited), "--force"]) == 0
    assert says(capsys.readouterr().out, "cli.org_exported", path=edited)
    assert load_org_file(edited).staff.keys() == load_org_file(EXAMPLE_ORG).staff.keys()


@pytest.mark.parametrize("name", ["staff.csv", "chart.txt", "chart"])
def test_an_org_export_to_a_name_that_is_not_yaml_is_refused(
    charted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """`org export x.csv` wrote YAML under a .csv name: Excel opened it as
    garbage, and an import with --staff x.csv refused every line."""
    target = tmp_path / name
    capsys.readouterr()

    assert main(["org", "export", str(target)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        t("vi", "cli.org_export_not_yaml", path=target, suggestion=target.with_suffix(".yaml"))
    ]
    assert not target.exists()
    assert main(["org", "export", str(tmp_path / "chart.YML")]) == 0


@pytest.mark.parametrize("command", [["org", "check"], ["run"]], ids=" ".join)
def test_a_database_file_that_is_not_sqlite_is_one_line_and_never_hangs(
    command: list[str], tmp_path: Path
) -> None:
    """`org check` on such a file printed a traceback and then hung for
    ever: the connection aiosqlite had opened for it (on a thread the
    interpreter waits for at exit) was never closed."""
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))

    result = _run_cli(  # a hang fails here, after 120 s, instead of stalling the suite
        command, cwd=tmp_path, PHANANH_DB=str(junk), PHANANH_TELEGRAM_TOKEN="123456:TEST"
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [t("vi", "cli.db_not_sqlite", db=junk)]
    assert result.stdout == ""


# ------------------------------------------------------------- org import


def test_org_import_loads_the_example_and_can_be_repeated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    chart = load_org_file(EXAMPLE_ORG)

    for attempt in range(2):
        assert main(["org", "import", str(EXAMPLE_ORG)]) == 0

        out, err = capsys.readouterr()
        assert err == ""
        lines = out.splitlines()
        # The diff comes first: everything is new the first time, nothing after.
        changes = len(lines) - 2
        assert (changes > 0) == (attempt == 0)
        assert lines[0].startswith("Thay đổi so với sơ đồ đang dùng")
        assert lines[-1:] == [
            t(
                "vi",
                "cli.org_imported",
                db=db,
                areas=len(chart.areas),
                groups=len(chart.groups()),
                categories=len(chart.categories),
                staff=len(chart.staff),
                assignments=len(chart.assignments),
            )
        ]
        assert f"{len(chart.areas)} khu vực" in out
        assert _rows(db, "areas") == len(chart.areas) == 23
        assert _rows(db, "categories") == len(chart.categories) == 13
        assert _rows(db, "staff") == len(chart.staff) == 13
        assert _area_codes(db) == set(chart.areas)


@pytest.mark.parametrize("encoding", ["cp1258"])
def test_a_staff_csv_saved_by_excel_in_another_encoding_says_how_to_save_it(
    tmp_path: Path, encoding: str
) -> None:
    """Excel's plain "CSV" (the Windows code page): the clerk was told
    "bảng mã UTF-8" and not where to find it.  ("Unicode Text", UTF-16
    with its BOM, is read: the next test.)"""
    db = tmp_path / "ward.db"
    text = (ROOT / "examples" / "staff.csv").read_text(encoding="utf-8-sig")
    # cp1258 lacks most toned letters (Windows writes combining marks): "?".
    (tmp_path / "staff.csv").write_bytes(text.encode(encoding, errors="replace"))

    args = ["org", "import", str(EXAMPLE_ORG), "--staff", "staff.csv"]
    result = _run_cli(args, cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("staff.csv, dòng ")
    assert says(first, "orgcsv.wrong_encoding", path="staff.csv")
    assert _rows(db, "staff") == 0


def test_a_staff_csv_saved_as_excels_unicode_text_is_read(tmp_path: Path) -> None:
    """UTF-16 with its BOM: it was refused as "not UTF-8"."""
    db = tmp_path / "ward.db"
    text = (ROOT / "examples" / "staff.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "staff.csv").write_bytes(text.replace(";", "\t").encode("utf-16"))

    args = ["org", "import", str(EXAMPLE_ORG), "--staff", "staff.csv"]
    result = _run_cli(args, cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 0, result.stderr
    assert _rows(db, "staff") == 13


def test_a_staff_csv_that_starts_with_excels_sep_line_is_read(tmp_path: Path) -> None:
    """`sep=;` on the first line (programs write it so that Excel opens the
    file right): it was taken for the header, "thiếu cột Họ và tên"…"""
    db = tmp_path / "ward.db"
    rows = (ROOT / "examples" / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    rows[3] = rows[3].replace(";cán bộ;", ";cán bộ xã;")
    (tmp_path / "staff.csv").write_text("sep=;\n" + "\n".join(rows) + "\n", encoding="utf-8")
    args = ["org", "import", str(EXAMPLE_ORG), "--staff", "staff.csv"]

    result = _run_cli(args, cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 1
    in_csv = [line for line in result.stderr.splitlines() if line.startswith("staff.csv")]
    assert in_csv == [in_csv[0]] and in_csv[0].startswith("staff.csv, dòng 5: "), (
        "only the row's mistake, on its own line (the sep line counted)"
    )
    rows[3] = rows[3].replace(";cán bộ xã;", ";cán bộ;")
    text = "sep=;\r\n" + "\r\n".join(rows) + "\r\n"
    (tmp_path / "staff.csv").write_text(text, encoding="utf-8")
    imported = _run_cli(args, cwd=tmp_path, PHANANH_DB=str(db))
    assert (imported.returncode, imported.stderr) == (0, "")


def test_a_staff_csv_with_a_duplicate_row_is_named_in_the_summary(tmp_path: Path) -> None:
    """Every mistake was in staff.csv (a row pasted twice in Excel), yet
    the last line said "Tệp org.yaml có 2 lỗi": the clerk went looking in
    the wrong file."""
    db = tmp_path / "ward.db"
    rows = (ROOT / "examples" / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    staff = tmp_path / "staff.csv"
    # Excel: a BOM, Windows line endings, a row pasted twice at the end.
    staff.write_bytes(("\ufeff" + "\r\n".join([*rows, rows[1]]) + "\r\n").encode("utf-8"))

    args = ["org", "import", str(EXAMPLE_ORG), "--staff", "staff.csv"]
    result = _run_cli(args, cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 1
    *mistakes, summary = result.stderr.splitlines()
    assert mistakes and all(
        line.startswith(f"staff.csv, dòng {len(rows) + 1}:") for line in mistakes
    )
    paths = f"{EXAMPLE_ORG}, staff.csv"
    assert summary == t("vi", "cli.org_invalid_files", paths=paths, count=len(mistakes))
    assert _rows(db, "staff") == 0


@pytest.mark.parametrize(
    ("name", "key"), [("org.yml", "org.file_missing"), (".", "org.file_is_folder")]
)
def test_an_org_file_that_is_not_there_is_named_in_vietnamese(
    tmp_path: Path, name: str, key: str
) -> None:
    """A mistyped name or a folder: the system's English ("No such file or
    directory") once stood in the middle of the Vietnamese sentence."""
    db = tmp_path / "ward.db"
    result = _run_cli(["org", "import", name], cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 1
    assert says(result.stderr, key, path=name)
    assert "No such file" not in result.stderr and "directory" not in result.stderr
    assert _rows(db, "areas") == 0


def test_org_import_as_a_subprocess(tmp_path: Path) -> None:
    db = tmp_path / "sub.db"

    result = _run_cli(["org", "import", str(EXAMPLE_ORG)], cwd=tmp_path, PHANANH_DB=str(db))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith(f"Đã nạp sơ đồ tổ chức vào {db}: 23 khu vực")
    assert _rows(db, "areas") == 23


def test_org_check_read_through_a_pipe_closed_early_ends_without_a_traceback(
    tmp_path: Path,
) -> None:
    """`phananh org check | head` (or `| less`, quit early): the reader is
    gone, and the ward office sees no Python traceback."""
    db = tmp_path / "piped.db"
    loaded = _run_cli(["org", "import", str(EXAMPLE_ORG)], cwd=tmp_path, PHANANH_DB=str(db))
    assert loaded.returncode == 0, loaded.stderr
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "org", "check"],
        cwd=tmp_path,
        env=_clean_environ(PHANANH_DB=str(db)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as check:
        assert check.stdout is not None and check.stderr is not None
        check.stdout.close()  # the reader quits before a line is printed
        errors = check.stderr.read().decode()
        assert check.wait(timeout=120) == 1
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


def test_an_area_moved_to_another_ward_is_named_with_both_wards(
    charted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clerk moved a residential group to the next ward: the import said
    only "~ areas: HH-TDP04", not that its reports now go to another office."""
    lines = EXAMPLE_ORG.read_text(encoding="utf-8").split("\n")
    start = lines.index("              - code: HH-TDP04")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" " * 16))
    group = [line[4:] for line in lines[start:end]]  # two levels up: from a zone to a ward
    del lines[start:end]
    at = lines.index("          - code: BD-TDP01")
    lines[at:at] = group
    moved = tmp_path / "moved.yaml"
    moved.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()

    assert main(["org", "import", "--dry-run", str(moved)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "  ~ areas: HH-TDP04" in out
    assert t("vi", "cli.org_area_ward", code="HH-TDP04", old="HONGHAI", new="BACHDANG") in out


def test_org_import_of_a_broken_file_lists_every_mistake_and_loads_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_ORG, encoding="utf-8")
    first_rac = _line(BROKEN_ORG, "code: RAC", 1)
    second_rac = _line(BROKEN_ORG, "code: RAC", 2)
    nowhere = _line(BROKEN_ORG, "area: NOWHERE")

    assert main(["org", "import", str(broken)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    duplicate = t("vi", "org.duplicate_category", code="RAC", first_line=first_rac)
    unknown = t("vi", "org.unknown_area", code="NOWHERE")
    assert err.splitlines() == [
        f"Dòng {second_rac}: {duplicate}",
        f"Dòng {nowhere}: {unknown}",
        f"Tệp {broken} có 2 lỗi; chưa nạp gì vào cơ sở dữ liệu.",
    ]
    assert "“RAC”" in duplicate and f"dòng {first_rac}" in duplicate
    assert "“NOWHERE”" in unknown
    assert _rows(db, "areas") == 0


def test_org_import_reports_a_yaml_syntax_error_with_its_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    bad = tmp_path / "syntax.yaml"
    bad.write_text(SYNTAX_ERROR_ORG, encoding="utf-8")

    assert main(["org", "import", str(bad)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"Dòng 4: Sai cú pháp YAML \(.+\)\. .+", lines[0])
    assert lines[1] == f"Tệp {bad} có 1 lỗi; chưa nạp gì vào cơ sở dữ liệu."
    assert _rows(db, "areas") == 0


def test_a_field_typed_without_its_colon_is_pinned_to_its_own_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resolve_days 5` in the example chart: the mistake was reported on
    the next line, in PyYAML's English ("could not find expected ':'")."""
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "x.db"))
    text = EXAMPLE_ORG.read_text(encoding="utf-8")
    typo = _line(text, "    resolve_days: 5", 2)
    lines = text.splitlines(keepends=True)
    lines[typo - 1] = lines[typo - 1].replace("resolve_days: 5", "resolve_days 5")
    bad = tmp_path / "org.yaml"
    bad.write_text("".join(lines), encoding="utf-8")

    assert main(["org", "import", str(bad)]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"Dòng {typo}: {t('vi', 'org.yaml_missing_colon')}"
    assert err[1] == t("vi", "cli.org_invalid", path=bad, count=1)


def test_a_broken_import_keeps_the_chart_already_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0
    before = _area_codes(db)
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_ORG, encoding="utf-8")
    capsys.readouterr()

    assert main(["org", "import", str(broken)]) == 1

    assert says(capsys.readouterr().err, "cli.org_invalid", count=2)
    assert _area_codes(db) == before
    assert "NOWHERE" not in before and "W" not in before
    assert _rows(db, "categories") == 13


@pytest.mark.parametrize(
    ("name", "key"), [("missing.yaml", "org.file_missing"), ("a-directory", "org.file_is_folder")]
)
def test_org_import_of_an_unreadable_file(
    name: str,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    (tmp_path / "a-directory").mkdir()
    path = tmp_path / name

    assert main(["org", "import", str(path)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0] == t("vi", key, path=path)
    assert lines[1] == f"Tệp {path} có 1 lỗi; chưa nạp gì vào cơ sở dữ liệu."
    assert not db.exists()


def test_org_import_of_a_file_not_in_utf8(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "x.db"))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"areas:\n  - code: W\n    name: Ph\xf4\xf4ng W\n")

    assert main(["org", "import", str(latin1)]) == 1

    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"Dòng 3: {t('vi', 'org.file_not_utf8', path=latin1)}"


def test_org_import_in_english(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "x.db"))
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", "en")
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_ORG, encoding="utf-8")

    assert main(["org", "import", str(broken)]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[1] == f"Line {_line(BROKEN_ORG, 'area: NOWHERE')}: " + t(
        "en", "org.unknown_area", code="NOWHERE"
    )
    assert err[-1] == f"{broken} has 2 mistakes; nothing was loaded into the database."


# ------------------------------------------------------------------- staff


def test_deactivating_a_wards_only_leader_is_refused_and_writes_nothing(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bạch Đằng has one leader: the clerk is told to name another first,
    in one line, and the chart stays as it was (`org import` refuses a file
    saying the same)."""
    capsys.readouterr()
    before = charted.read_bytes()

    assert main(["staff", "deactivate", "ld-bd-ct"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    ward = t("vi", "admin.last_ward_leader", staff="ld-bd-ct", ward="Phường Bạch Đằng")
    assert err.splitlines() == [ward]
    assert charted.read_bytes() == before, "nothing written"


def test_a_ward_with_two_leaders_may_lose_one_but_not_both(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["staff", "deactivate", "ld-hh-ct"]) == 0
    capsys.readouterr()

    assert main(["staff", "deactivate", "ld-hh-bt"]) == 1

    assert says(capsys.readouterr().err, "admin.last_ward_leader", staff="ld-hh-bt")


def test_deactivating_someone_with_no_open_task_says_none_moved(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "0 unresolved tasks moved ... (the ward leader is told)"."""
    capsys.readouterr()

    assert main(["staff", "deactivate", "tt-hh-12"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        t("vi", "cli.deactivated_none", staff="tt-hh-12")
    ]


def test_deactivating_the_last_city_leader_is_refused(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["staff", "deactivate", "ld-tp-bt"]) == 0
    capsys.readouterr()
    before = _rows(charted, "admin_log")

    assert main(["staff", "deactivate", "ld-tp-ct"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("vi", "admin.last_city_leader", staff="ld-tp-ct")]
    assert _rows(charted, "admin_log") == before


def test_revoking_the_dashboard_of_a_mistyped_id_says_there_is_no_such_staff(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "ended 0 sessions of ld-hh-xt": the clerk thought it done."""
    capsys.readouterr()

    assert main(["web", "revoke", "--staff", "ld-hh-xt"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("vi", "admin.unknown_staff", staff="ld-hh-xt")]


def test_revoking_a_leader_with_no_session_says_none_was_open(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    assert main(["web", "revoke", "--staff", "ld-hh-ct"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        t("vi", "cli.web_revoked_none", staff="ld-hh-ct")
    ]


def test_restoring_the_database_in_use_from_itself_is_refused(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "restored w.db from w.db": nothing had been restored."""
    capsys.readouterr()
    before = _rows(charted, "admin_log")

    assert main(["restore", str(charted)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        t("vi", "cli.restore_same_file", path=charted, db=charted.absolute())
    ]
    assert _rows(charted, "admin_log") == before


def test_restoring_from_a_folder_says_it_is_a_folder(
    charted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "there is no file /var/backups"."""
    capsys.readouterr()

    assert main(["restore", str(tmp_path)]) == 1

    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.restore_is_folder", path=tmp_path)]


@pytest.mark.parametrize("limit", ["0", "-3", "ten"])
def test_a_history_limit_below_one_is_a_usage_error(
    charted: Path, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    """--limit 0 printed one line, headed "(1 most recent)"."""
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        main(["history", "--limit", limit])

    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert t("vi", "cli.positive_number", value=limit) in err


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_digest_of_every_ward_says_so_in_the_clis_language(
    charted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    language: str,
) -> None:
    """The line ended "(all)" in Vietnamese too."""
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", language)
    capsys.readouterr()
    out = tmp_path / "giao-ban"

    assert main(["digest", "--all", "--week", "2026-W47", "--out", str(out)]) == 0

    everyone = t(language, "cli.digest_all_wards")
    assert capsys.readouterr().out.splitlines() == [
        t(language, "cli.digest_written", week="2026-W47", scope=everyone, out=out)
    ]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_invite_names_the_role_in_the_clis_language(
    charted: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    language: str,
) -> None:
    """The line read "Đường liên kết mời Ngô Thị Lan (cadre)"."""
    monkeypatch.setenv("PHANANH_BOT_USERNAME", "hh_bot")
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", language)
    capsys.readouterr()

    assert main(["invite", "--role", "cadre", "--staff", "tt-hh-12"]) == 0

    out = capsys.readouterr().out
    role = t(language, "cli.role_cadre")
    assert says(out, "cli.invite", language, name="Ngô Thị Lan", role=role)


# ------------------------------------------------------------------ people


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_blocking_with_an_empty_or_overlong_reason_is_a_usage_error(
    charted: Path, capsys: pytest.CaptureFixture[str], reason: str
) -> None:
    """--reason "" blocked the account and logged the reason as “”."""
    capsys.readouterr()
    before = _rows(charted, "admin_log")

    with pytest.raises(SystemExit) as exit_info:
        main(["people", "block", "--reason", reason, "telegram:55"])

    assert exit_info.value.code == 2
    assert t("vi", "cli.reason_text", limit=300) in capsys.readouterr().err
    assert _rows(charted, "blocked_people") == 0
    assert _rows(charted, "admin_log") == before


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_help_of_people_block_names_every_channel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    """It said "a Telegram account", and a clerk with a Zalo spammer
    thought the command was not for them."""
    from bot.domain.channels import CHANNELS, label

    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", lang)
    with pytest.raises(SystemExit):
        main(["people", "block", "--help"])

    description = capsys.readouterr().out.split("\n\n")[1]
    assert all(label(channel) in description for channel in CHANNELS)


def test_unblocking_an_account_the_bot_never_heard_from_says_it_is_not_blocked(
    charted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`people unblock 12345` for 123456 (a digit lost): it said "Đã bỏ chặn",
    made up a person and logged an unblocking, while 123456 stayed blocked."""
    db = charted
    assert main(["people", "block", "123456", "--reason", "spam"]) == 0
    capsys.readouterr()
    logged = _rows(db, "admin_log")

    assert main(["people", "unblock", "12345"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("vi", "cli.people_not_blocked", channel="Telegram", id="12345")]
    assert _rows(db, "blocked_people") == 1
    assert _rows(db, "admin_log") == logged, "only the blocking"
    with closing(sqlite3.connect(db)) as conn:
        ids = [row[0] for row in conn.execute("SELECT external_id FROM accounts")]
    assert "123456" in ids and "12345" not in ids


# ---------------------------------------------------------- configuration


def test_bad_time_zone_is_a_config_error_line_and_exit_2(tmp_path: Path) -> None:
    result = _run_cli(["run"], cwd=tmp_path, PHANANH_TZ="Mars/Olympus_Mons")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problem = t("vi", "config.tz", value="Mars/Olympus_Mons")
    assert result.stderr.splitlines() == [t("vi", "cli.config_error", error=problem)]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"PHANANH_TZ": "Mars/Olympus_Mons"}, "config.tz"),
        ({"PHANANH_SWEEP_SECONDS": "5"}, "config.sweep_range"),
        ({"PHANANH_WORK_HOURS": "7h30-17h"}, "config.clock_time"),
        ({"PHANANH_DB": "mysql://u:p@h/db"}, "config.pg_scheme"),
    ],
)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_bad_setting_is_said_in_the_command_lines_language(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environ: dict[str, str],
    key: str,
    language: str,
) -> None:
    """A clerk with PHANANH_DEFAULT_LANGUAGE unset (Vietnamese) reads what is
    wrong in Vietnamese after "Cấu hình sai:", not in English; with en, in
    English."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if language == "en":
        monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", "en")

    assert main(["run"]) == 2

    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(t(language, "cli.config_error", error=""))
    assert says(line, key, language)


@pytest.mark.parametrize(
    ("argv", "environ", "name"),
    [
        (["db", "copy", "--from", "w.db", "--to", "mysql://u:p@h/db"], {}, "--to"),
        (["run"], {"PHANANH_DB": "mysql://u:p@h/db"}, "PHANANH_DB"),
    ],
)
def test_a_malformed_postgresql_url_names_where_it_was_given(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    name: str,
) -> None:
    """`db copy --to mysql://…` was blamed on PHANANH_DB, which the clerk
    had not set."""
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)

    assert main(argv) == 2

    problem = t("vi", "config.in_setting", name=name, problem=t("vi", "config.pg_scheme"))
    err = capsys.readouterr().err
    assert err.splitlines() == [t("vi", "cli.config_error", error=problem)]
    assert ":p@" not in err


def test_bad_time_zone_stops_org_import_before_touching_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_TZ", "Nowhere/Else")

    assert main(["org", "import", str(EXAMPLE_ORG)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    problem = t("vi", "config.tz", value="Nowhere/Else")
    assert err.splitlines() == [t("vi", "cli.config_error", error=problem)]
    assert not db.exists()


def test_missing_config_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHANANH_CONFIG", str(tmp_path / "absent.toml"))

    assert main(["run"]) == 2

    problem = t("vi", "config.file_missing", path=tmp_path / "absent.toml")
    assert capsys.readouterr().err.splitlines() == [t("vi", "cli.config_error", error=problem)]


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])

    assert info.value.code == 2
    assert f"{t('vi', 'argparse.usage')}phananh" in capsys.readouterr().err


# ----------------------------------------------------------- help, in the configured language


def _subcommands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every subcommand path of ``phananh`` ("org", "org import"…)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(*prefix, name), *_subcommands(sub, (*prefix, name))]
    return found


SUBCOMMANDS = _subcommands(_parser())
# What argparse says by itself, in English, unless it is told otherwise.
ARGPARSE_ENGLISH = ("usage:", "positional arguments", "options:", "show this help message")


def _help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str, *args: str
) -> str:
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", lang)
    with pytest.raises(SystemExit) as info:
        main([*args, "--help"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return " ".join(out.split())  # argparse wraps lines at the terminal's width


def test_every_subcommand_is_walked() -> None:
    assert len(SUBCOMMANDS) == 27 and ("org", "import") in SUBCOMMANDS
    assert ("db", "copy") in SUBCOMMANDS


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("path", [(), *SUBCOMMANDS], ids=lambda p: " ".join(p) or "phananh")
def test_every_help_speaks_the_configured_language(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lang: str,
    path: tuple[str, ...],
) -> None:
    """`phananh --help` and every subcommand's, argparse's own words too,
    from the catalogue in PHANANH_DEFAULT_LANGUAGE."""
    shown = _help(monkeypatch, capsys, lang, *path)
    assert shown.startswith(f"{t(lang, 'argparse.usage')}phananh {' '.join(path)}".strip())
    assert f"-h, --help {t(lang, 'argparse.help')}" in shown
    assert f"{t(lang, 'argparse.options')}:" in shown
    if lang == "vi":
        assert not [word for word in ARGPARSE_ENGLISH if word in shown]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_main_help_describes_each_command_from_the_catalogue(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    shown = _help(monkeypatch, capsys, lang)
    assert " ".join(t(lang, "cli_help.description").split()) in shown
    for command in (
        "run",
        "org",
        "invite",
        "staff",
        "posters",
        "backup",
        "restore",
        "people",
        "db",
    ):
        assert f"{command} {' '.join(t(lang, f'cli_help.{command}').split())}" in shown
    for command in ("history", "digest", "demo"):
        assert " ".join(t(lang, f"cli_help.{command}").split()) in shown


def test_the_help_is_vietnamese_without_any_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["org", "import", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert shown.startswith(f"{t('vi', 'argparse.usage')}phananh org import")
    assert " ".join(t("vi", "cli_help.dry_run").split()) in shown
    assert t("vi", "cli_help.file") in shown, "the file's placeholder, in Vietnamese"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_usage_mistake_is_told_in_the_configured_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", lang)
    with pytest.raises(SystemExit) as info:
        main(["invite", "--role", "mayor", "--staff", "x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    error = t(lang, "argparse.error") % {"prog": "phananh invite", "message": ""}
    assert error.strip() in err
    assert t(lang, "argparse.invalid_choice").split("%")[0] in err
    with pytest.raises(SystemExit):
        main(["staff", "deactivate", "cb-1", "--by", " "])
    err = capsys.readouterr().err
    assert t(lang, "cli.operator_name", limit=80) in err, "the --by check, in the same language"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_mistyped_flag_is_told_in_the_configured_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    """`--dryrun` for `--dry-run`: argparse reports an unrecognised flag
    after its own parse is over, which once fell back to English."""
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", lang)
    with pytest.raises(SystemExit) as info:
        main(["org", "import", "org.yaml", "--dryrun"])

    assert info.value.code == 2
    err = capsys.readouterr().err
    message = t(lang, "argparse.unrecognized") % "--dryrun"
    assert t(lang, "argparse.error") % {"prog": "phananh", "message": message} in err


def test_a_value_given_to_a_flag_that_takes_none_is_told_in_vietnamese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--dry-run=yes`: argparse's "ignored explicit argument 'yes'"."""
    with pytest.raises(SystemExit) as info:
        main(["org", "import", "org.yaml", "--dry-run=yes"])

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert t("vi", "argparse.ignored_value") % "yes" in err
    assert "ignored" not in err


# -------------------------------------------------------------------- demo

DEMO_CODES = [f"PA-00000{n}" for n in range(1, 8)]
FINAL = "Kết quả / Final state:"


def _final_lines(out: str) -> list[str]:
    return out.rstrip("\n").split(FINAL + "\n", 1)[1].splitlines()


def _final_codes(out: str) -> list[str]:
    return [line.split(" | ")[0].strip() for line in _final_lines(out)]


def test_demo_uses_the_example_org_chart() -> None:
    from bot import demo

    assert demo.EXAMPLE_ORG == EXAMPLE_ORG


def test_demo_in_process_plays_the_story_into_its_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"

    assert main(["demo", "--db", str(db)]) == 0

    assert db.exists()
    assert _rows(db, "areas") == 23
    with closing(sqlite3.connect(db)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM complaints ORDER BY id")]
    assert ids == list(range(1, len(DEMO_CODES) + 1))

    # A second run starts again from an empty database: still exactly as many.
    assert main(["demo", "--db", str(db)]) == 0
    assert _rows(db, "complaints") == len(DEMO_CODES)


@pytest.mark.parametrize("what", ["the ward's database", "a text file", "a folder"])
def test_the_demo_never_empties_a_file_that_is_not_its_own(
    charted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    """`phananh demo --db data/phananh.db` deleted the ward's database and
    played the story in its place (and --db notes.txt, the notes)."""
    target = {
        "the ward's database": charted,
        "a text file": tmp_path / "notes.txt",
        "a folder": tmp_path / "folder",
    }[what]
    if what == "a text file":
        target.write_text("ghi chú quan trọng\n", encoding="utf-8")
    elif what == "a folder":
        target.mkdir()
    before = target.read_bytes() if target.is_file() else None
    capsys.readouterr()

    assert main(["demo", "--db", str(target)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [t("vi", "cli.demo_not_ours_file", db=target)]
    if before is not None:
        assert target.read_bytes() == before, "left as it was"


def test_demo_ends_with_one_line_per_complaint(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"

    result = _run_cli(["demo", "--db", str(db)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _final_codes(result.stdout) == DEMO_CODES
    assert all(line.count(" | ") == 4 for line in _final_lines(result.stdout))
    assert db.exists()
    assert _rows(db, "complaints") == len(DEMO_CODES)


def test_a_full_demo_run_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole story, the office deactivating a cadre included: every
    notice is delivered without an ERROR in the log (a deactivation note
    used to log "names no complaint")."""
    with caplog.at_level(logging.WARNING):
        assert main(["demo", "--db", str(tmp_path / "demo.db")]) == 0
    out = capsys.readouterr().out
    assert "phananh staff deactivate cb-hh-dc2" in out
    assert "Lê Thị Hồng Nhung đã ngừng hoạt động" in out
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_demo_in_process_prints_to_the_current_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--db", str(tmp_path / "demo.db")]) == 0

    assert _final_codes(capsys.readouterr().out) == DEMO_CODES


def test_the_demo_crosses_channels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A resident on Zalo, typing every answer, whose photo reaches the cadre on Telegram
    and who gets the cadre's photo of the fix on Zalo; a cadre who added Zalo works a
    Telegram resident's complaint there, his photo reaching the resident on Telegram."""
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    with closing(sqlite3.connect(db)) as conn:
        reporters = dict(
            conn.execute(
                "SELECT c.id, a.channel FROM complaints c"
                " JOIN complaint_people cp ON cp.complaint_id = c.id AND cp.role = 'reporter'"
                " JOIN accounts a ON a.person_id = cp.person_id"
            ).fetchall()
        )
        states = dict(conn.execute("SELECT id, state FROM complaints").fetchall())
        tuan = {
            row[0]
            for row in conn.execute(
                "SELECT a.channel FROM staff_bindings s"
                " JOIN accounts a ON a.person_id = s.person_id WHERE s.staff_id = 'cb-hh-dc1'"
            )
        }
    assert (reporters[6], reporters[7]) == ("zalo", "telegram")
    assert (states[6], states[7]) == ("confirmed", "confirmed")
    assert tuan == {"telegram", "zalo"}, "the cadre added his Zalo beside his Telegram"
    scene = out.split("— 10.", 1)[1].split("— 13.", 1)[0]
    seen = t("vi", "task.photos_caption", code="PA-000006")
    fixed = [t("vi", "resident.resolution_photos_caption", code=f"PA-00000{n}") for n in (6, 7)]
    assert f"🤖 → CB môi trường Thắng: [ảnh] {seen}" in scene
    assert f"🤖 → Cô Mai (Zalo): [ảnh] {fixed[0]}" in scene
    assert (
        f"🤖 → CB địa chính Tuấn (Zalo): [ảnh] {t('vi', 'task.photos_caption', code='PA-000007')}"
        in scene
    )
    assert f"🤖 → Ông Cường: [ảnh] {fixed[1]}" in scene
    typed = [line for line in scene.splitlines() if "👤 Cô Mai (Zalo):" in line]
    assert all("[" not in line or "[ảnh]" in line for line in typed), "no button on Zalo"
