"""How the bot's log lines are written: for a person reading a terminal
(``text``, the default) or, with ``PHANANH_LOG_FORMAT=json``, one JSON
object a line for a log system (Loki, Elasticsearch, journald's JSON).

The log lines themselves carry no personal data: the modules log ids,
kinds and counts, never a name, a text, a place or a token (the tests run
the demo with JSON logs and look).  An error is written as its type and
where it happened — not its message, which may quote what a person typed
or what the database held.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that say too much at INFO: httpx logs every request's URL, and a
# Bot API URL carries the token.
QUIET_LOGGERS = ("httpx",)


class JsonLines(logging.Formatter):
    """A record as one JSON object: when, how bad, where from, what."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            error, _, trace = record.exc_info
            line["error"] = error.__name__
            line["where"] = [
                f"{frame.filename}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(trace)
            ]
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """The root logger writes to stderr in ``log_format`` (``text`` or ``json``),
    unless something configured it already (a test runner)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
