"""Zalo's side of a sentence typed at "Sự việc đã được khắc phục chưa?"
(the list a resident gets when the officer reports their complaint fixed):
the weighing and the choices are every channel's (bot/domain/verdicts.py);
here the choices are numbered, in the order the first list had them (1
fixed, 2 not fixed, then a new report), and kept in the person's remembered
list (bot/ports.py `Menu`; "xóa dữ liệu" deletes it).  A held photo never
chosen stays in the media table, as a cancelled draft's photos do.
"""

from __future__ import annotations

from bot.app.outgoing import CommandChoice, TextOut
from bot.domain.complaints import Action
from bot.domain.verdicts import (
    ACTION_OF,
    ORDER,
    VERDICT_OF,
    FixedOrNot,
    Held,
    choices,
    joined,
    leaning,
    says_no,
    says_yes,
)
from bot.report.present import Presenter
from handlers.zalo.render import COMMAND, MenuItem

__all__ = [
    "ACTION_OF",
    "HELD",
    "ORDER",
    "VERDICT_OF",
    "FixedOrNot",
    "Held",
    "choices",
    "held_of",
    "joined",
    "leaning",
    "question",
    "says_no",
    "says_yes",
]

# The remembered choices' command: never typed, never a command of the desk.
HELD = "zalo-verdict"


def held_of(item: MenuItem) -> Held | None:
    """A remembered choice of the question, if ``item`` is one."""
    if item[:2] != (COMMAND, HELD):
        return None
    return Held.of_args(item[2:])


def question(present: Presenter, language: str, code: str, held: list[Held]) -> TextOut:
    """The question, worded by the way the sentence leans, and its choices."""
    guess = next((h.verdict for h in held if h.guessed), None)
    key = {
        FixedOrNot.FIXED: "verdict.fixed_zalo",
        FixedOrNot.NOT_FIXED: "verdict.not_fixed_zalo",
        None: "verdict.unclear_zalo",
    }[guess]
    labels = {
        FixedOrNot.FIXED: present.action(language, Action.CONFIRM),
        FixedOrNot.NOT_FIXED: present.action(language, Action.DISPUTE),
        FixedOrNot.NEW_REPORT: present.t(language, "commands.new"),
    }
    rows = tuple((CommandChoice(labels[h.verdict], HELD, h.args()),) for h in held)
    return TextOut("text", present.t(language, key, code=code), rows)
