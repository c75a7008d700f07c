"""Actions on a complaint typed as words: "tiếp nhận PA-000123", "đã khắc
phục", "chuyen" — what a Telegram user presses a button for.

A message is an action only when it is nothing but the action's words
(its label in either language, or one of a few everyday phrasings), with
or without diacritics, and at most a complaint's code: "đã xử lý xong rác
ở ngõ 5" is a note, not an action.  Which complaint an action without a
code is about is decided by the intake (handlers/zalo/intake.py).
"""

from __future__ import annotations

import re

from bot import i18n
from bot.domain.complaints import Action, parse_code
from bot.domain.flows.resident import COURTESY
from bot.domain.text import fold
from bot.report.present import ACTION_KEYS

# Besides each action's label in both languages, what people type for it.
EVERYDAY: dict[Action, tuple[str, ...]] = {
    Action.ACKNOWLEDGE: ("tiếp nhận", "nhận việc", "accept"),
    Action.RESOLVE: ("đã xử lý", "xử lý xong", "báo xử lý", "resolved", "resolve"),
    Action.TRANSFER: ("chuyển", "chuyển việc", "transfer"),
    Action.REJECT: ("từ chối", "không tiếp nhận", "reject"),
    Action.ASK_INFO: ("hỏi người dân", "hỏi thêm", "ask"),
    Action.REASSIGN: ("giao lại", "reassign"),
    Action.EXTEND: ("gia hạn", "extend"),
    Action.CONFIRM: ("đã khắc phục", "đã sửa", "đã sửa xong", "fixed"),
    Action.DISPUTE: ("chưa khắc phục", "chưa sửa", "chưa xong", "not fixed"),
    Action.ANSWER_INFO: ("trả lời", "answer"),
}


def _phrases() -> dict[str, Action]:
    found: dict[str, Action] = {}
    for action, key in ACTION_KEYS.items():
        names = [i18n.t(lang, key) for lang in i18n.LANGUAGES] + list(EVERYDAY.get(action, ()))
        for name in names:
            folded = fold(name)
            if folded:
                found[folded] = action
    return found


_PHRASES = _phrases()


def typed_action(text: str) -> tuple[Action, str | None] | None:
    """The action a message names and the complaint code typed with it
    (None: no code), or None when the message is not an action."""
    words = text.split()
    codes = [w for w in words if parse_code(w) is not None]
    if len(codes) > 1:
        return None
    rest = fold(" ".join(w for w in words if w not in codes))
    action = _PHRASES.get(rest)
    if action is None:
        return None
    return action, (codes[0] if codes else None)


# "Sự việc đã được khắc phục chưa?" is answered "rồi" (yes) or "chưa" (not
# yet).  Words this short are a verdict only on the list that asks for one
# (see the intake): typed anywhere else they mean too little.
SHORT_ANSWERS: dict[Action, tuple[str, ...]] = {
    Action.CONFIRM: ("rồi", "xong rồi", "sửa rồi", "khắc phục rồi"),
    Action.DISPUTE: (
        *("chưa", "vẫn chưa", "chưa được", "vẫn còn", "còn", "chưa ai làm"),
        *("không", "ko", "vẫn không", "không được"),
    ),
}
# The courtesy words around a short answer to an office ("dạ rồi ạ", "vâng,
# chưa ạ") are the ratings' (bot/domain/flows/resident.py); folded, "đã" is
# one of them as "dạ" is ("đã sửa rồi" is "sửa rồi").


def _short_answers() -> dict[str, Action]:
    return {fold(phrase): action for action, ps in SHORT_ANSWERS.items() for phrase in ps}


_SHORT = _short_answers()


def short_answer(text: str) -> Action | None:
    """The verdict a short answer gives ("rồi", "dạ chưa ạ"), or None."""
    words = [w for w in fold(text).split() if w not in COURTESY]
    return _SHORT.get(" ".join(words))


# A list's line typed or copied whole: its number ("2.", "2)", "số 2", "chọn
# 2"), then perhaps its words ("2. ✋ Tiếp nhận PA-000002").
_LIST_LINE = re.compile(
    r"(?:(?:số|so|chọn|chon)\s+)?(\d{1,4})(?:[.)]|(?=\s)|$)\s*(.*)", re.I | re.S
)


def list_line(text: str) -> tuple[int, str] | None:
    """The number a message starts with as a list's line does, and the rest
    of it ("" for a bare number), or None."""
    found = _LIST_LINE.fullmatch(text.strip())
    return (int(found[1]), found[2].strip()) if found is not None else None
