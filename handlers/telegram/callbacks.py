"""Callback data: short, self-contained, and checked on the server.

A button carries an action code and a number, e.g. ``a:123`` (acknowledge
complaint 123) or ``q:7:HH-TDP05`` (answer choice ``HH-TDP05`` of prompt 7).
Nothing relies on python-telegram-bot's in-memory callback cache, so buttons
survive a restart.  Clients can forge callback data: decoding only checks the
shape; the services check who may do what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.complaints import Action

MAX_BYTES = 64

TASK_CODES: dict[Action, str] = {
    Action.ACKNOWLEDGE: "a",
    Action.RESOLVE: "r",
    Action.TRANSFER: "t",
    Action.REJECT: "j",
    Action.CONFIRM: "f",
    Action.DISPUTE: "n",
    Action.ASK_INFO: "h",
    Action.ANSWER_INFO: "i",
    Action.REASSIGN: "g",
    Action.EXTEND: "e",
}
_ACTIONS = {code: action for action, code in TASK_CODES.items()}

_TASK = re.compile(r"^([a-z]):([1-9][0-9]{0,11})$")
_PROMPT = re.compile(r"^q:([1-9][0-9]{0,8}):([A-Za-z0-9_<>^-]{1,40})$")
LANGUAGE_PATTERN = r"^l:(vi|en)$"
_LANG = re.compile(LANGUAGE_PATTERN)
_VIEW = re.compile(r"^v:([1-9][0-9]{0,11})$")
HELD_PATTERN = r"^w:[1-9][0-9]{0,11}$"
_HELD = re.compile(r"^w:([1-9][0-9]{0,11})$")
# The command of the "new report" choice under the fixed question's check
# (handlers/telegram/verdicts.py): its button names the complaint asked about.
HELD_REPORT = "held-report"
NEW_REPORT = "new"
FORGET = "forget"  # "yes, erase my data", under /forget's warning
TASKS = "tasks"  # a staff member's tasks, under their greeting


@dataclass(frozen=True)
class TaskPress:
    action: Action
    complaint_id: int


@dataclass(frozen=True)
class PromptPress:
    seq: int
    key: str


@dataclass(frozen=True)
class LanguagePress:
    language: str


@dataclass(frozen=True)
class NewReportPress:
    pass


@dataclass(frozen=True)
class TasksPress:
    """A staff member's list of tasks (/tasks)."""


@dataclass(frozen=True)
class ViewPress:
    """One complaint in detail, with what the person may do about it (/status)."""

    complaint_id: int


@dataclass(frozen=True)
class HeldReportPress:
    """ "Gửi phản ánh mới" under the check of a sentence typed at the fixed
    question about ``complaint_id``: a new report with that sentence."""

    complaint_id: int


Press = (
    HeldReportPress
    | TaskPress
    | PromptPress
    | LanguagePress
    | NewReportPress
    | TasksPress
    | ViewPress
)


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def encode_task(action: Action, complaint_id: int) -> str:
    return _checked(f"{TASK_CODES[action]}:{complaint_id}")


def encode_prompt(seq: int, key: str) -> str:
    return _checked(f"q:{seq}:{key}")


def encode_language(language: str) -> str:
    return _checked(f"l:{language}")


def encode_view(complaint_id: int) -> str:
    return _checked(f"v:{complaint_id}")


def encode_held_report(complaint_id: int) -> str:
    return _checked(f"w:{complaint_id}")


def decode(data: str | None) -> Press | None:
    """The press a button stands for, or None for anything malformed."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    if data == NEW_REPORT:
        return NewReportPress()
    if data == TASKS:
        return TasksPress()
    if match := _VIEW.match(data):
        return ViewPress(int(match.group(1)))
    if match := _PROMPT.match(data):
        return PromptPress(int(match.group(1)), match.group(2))
    if match := _HELD.match(data):
        return HeldReportPress(int(match.group(1)))
    if match := _LANG.match(data):
        return LanguagePress(match.group(1))
    if (match := _TASK.match(data)) and match.group(1) in _ACTIONS:
        return TaskPress(_ACTIONS[match.group(1)], int(match.group(2)))
    return None
