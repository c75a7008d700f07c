"""Log lines as JSON on request (``PHANANH_LOG_FORMAT=json``, bot/logs.py),
with nothing in them that names a person or repeats what they wrote: the
real `phananh demo` run as a subprocess, every line of its log read back."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import JsonLines

ROOT = Path(__file__).resolve().parent.parent
DEMO_TIMEOUT = 300  # seconds: a cold interpreter and the whole story on a busy machine

# What the demo's people are called, wrote and pointed at (bot/demo.py), and its tokens.
NAMES = (
    "Chị Lan",
    "Anh Bình",
    "Ông Cường",
    "Cô Mai",
    "CB môi trường Thắng",
    "Tổ trưởng Toàn",
    "CB địa chính Tuấn",
    "Bí thư Thu Hà",
)
TEXTS = (
    "ba ngày nay không ai thu gom",
    "Quán nước bày bàn ghế",
    "đang đổ thêm tầng 4",
    "Rác không được thu gom ở ngõ 12",
    "bồi dưỡng",
    "rửa lại đầu ngõ 12",
    "trả lại vỉa hè",
    "Chiều nay quán lại bày ra",
    "Thùng rác đầu ngõ 45",
    "Biển quảng cáo lớn",
    "lối thoát hiểm",
    "trat tu do thi",
    "lan chiem via he",
    "xay dung khong phep",
)
PLACES = ("ngõ 12", "ngõ 45", "số 25", "Nhà số 8", "nhà số 12", "to dan pho")
TOKENS = ("123456:DEMO", "2718281828:DEMO", ":DEMO")


def test_the_log_format_is_text_unless_json_is_asked_for() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"PHANANH_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="log_format"):
        load_settings({"PHANANH_LOG_FORMAT": "xml"})


def test_the_port_given_is_remembered_for_the_metrics() -> None:
    assert not load_settings({}).http_port_given
    assert load_settings({"PHANANH_HTTP_PORT": "9100"}).http_port_given


def test_an_error_is_logged_by_its_type_and_place_not_its_message() -> None:
    """An exception's text may quote what a person typed: only its type
    and the lines of code it passed through are written."""
    record: logging.LogRecord | None = None
    try:
        raise ValueError("Chị Lan: Rác tràn ngõ 12")
    except ValueError:
        record = logging.LogRecord(
            "bot.app.inbox", logging.ERROR, __file__, 1, "update %s failed", ("42",), sys.exc_info()
        )
    line = JsonLines().format(record)
    parsed = json.loads(line)
    assert parsed["message"] == "update 42 failed"
    assert parsed["level"] == "error"
    assert parsed["error"] == "ValueError"
    assert any("test_logs.py" in frame for frame in parsed["where"])
    assert "Lan" not in line and "ngõ" not in line


def test_the_demo_logs_json_lines_without_names_texts_places_or_tokens(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PHANANH_")}
    environ["PHANANH_LOG_FORMAT"] = "json"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--db", str(tmp_path / "demo.db")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The story itself (stdout) names everyone: that is what the demo shows.
    assert "Chị Lan" in done.stdout
    lines = done.stderr.splitlines()
    assert lines, "the demo logs something (the web server, the Zalo bot)"
    loggers = set()
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), line
        loggers.add(entry["logger"])
        for secret in (*NAMES, *TEXTS, *PLACES, *TOKENS):
            assert secret not in line, (secret, line)
    assert "bot.http" in loggers
