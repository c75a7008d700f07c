"""Commands typed as words: Zalo shows no command menu, so a resident types
"mới", "của tôi" or "trạng thái PA-000123" (with or without diacritics, with
or without a slash) where a Telegram user taps /new, /mine or /status.

A command that takes nothing is recognised only when the whole message is
its phrase ("mới"), so a description that happens to begin with "mới sáng
nay …" is never taken for one; a command that takes a complaint code is
recognised only with a code after it ("rút PA-12", not "rút tiền").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from bot.domain.complaints import parse_code
from bot.domain.text import fold


class Takes(Enum):
    """What may follow a command's phrase."""

    NOTHING = "nothing"
    CODE = "code"  # a complaint code: status, withdraw, history, reassign, extend
    ANY = "any"  # free arguments, checked by the command itself (digest, stats, invite…)


@dataclass(frozen=True)
class Command:
    name: str  # the command as Telegram knows it (bot/domain/authz.py COMMAND_ROLES)
    args: tuple[str, ...] = ()


# Each command: what may follow it, and the phrases that call it (folded
# when compared: "mới" and "moi" are the same).  The command's own English
# name works too, with or without a slash.
PHRASES: dict[str, tuple[Takes, tuple[str, ...]]] = {
    "start": (Takes.NOTHING, ("bắt đầu", "xin chào", "chào")),
    "new": (Takes.NOTHING, ("mới", "phản ánh mới", "gửi phản ánh", "báo mới")),
    "mine": (Takes.NOTHING, ("của tôi", "phản ánh của tôi", "của tui")),
    "status": (Takes.CODE, ("trạng thái", "tra cứu", "xem")),
    "withdraw": (Takes.CODE, ("rút", "rút lại", "rút phản ánh")),
    "unfollow": (Takes.CODE, ("bỏ theo dõi", "thôi theo dõi", "ngừng theo dõi")),
    "cancel": (Takes.NOTHING, ("hủy", "huỷ", "hủy bỏ", "thôi")),
    "lang": (Takes.ANY, ("ngôn ngữ", "đổi ngôn ngữ", "language")),
    "whoami": (Takes.NOTHING, ("tôi là ai",)),
    "mydata": (Takes.NOTHING, ("dữ liệu của tôi",)),
    "forget": (Takes.NOTHING, ("xóa dữ liệu", "xoá dữ liệu", "xóa dữ liệu của tôi")),
    "help": (Takes.NOTHING, ("trợ giúp", "hướng dẫn", "giúp")),
    "tasks": (Takes.NOTHING, ("việc", "việc của tôi", "danh sách việc", "nhiệm vụ")),
    "history": (Takes.CODE, ("lịch sử",)),
    "reassign": (Takes.CODE, ("giao lại", "phân công lại")),
    "extend": (Takes.CODE, ("gia hạn",)),
    "invite": (Takes.ANY, ("mời",)),
    "digest": (Takes.ANY, ("báo cáo tuần", "tổng hợp tuần", "tổng hợp")),
    "stats": (Takes.ANY, ("thống kê",)),
    "export": (Takes.ANY, ("xuất", "xuất dữ liệu", "xuất file")),
    "web": (Takes.NOTHING, ("trang web", "mở web", "đăng nhập web")),
}

_SPACES = re.compile(r"\s+")


def _lower(word: str) -> str:
    return unicodedata.normalize("NFC", word).casefold().strip(".,!?;:")


def _same_word(typed: str, phrase: str) -> bool:
    """Typed without diacritics, a word matches any phrase word that folds
    the same ("moi" is "mới"); typed with them, only the same word ("mới"
    is not "mời", invite)."""
    if fold(typed) != fold(phrase):
        return False
    return fold(typed) == _lower(typed) or _lower(typed) == _lower(phrase)


def _all_phrases() -> list[tuple[tuple[str, ...], str]]:
    """Every phrase as words, longest first (so "phản ánh của tôi" wins over
    "của tôi" and "xóa dữ liệu của tôi" over "dữ liệu của tôi")."""
    found: list[tuple[tuple[str, ...], str]] = []
    for name, (_, phrases) in PHRASES.items():
        for phrase in (*phrases, name):
            words = tuple(phrase.split())
            assert fold(phrase), f"a phrase of {name} folds to nothing"
            found.append((words, name))
    return sorted(found, key=lambda item: len(item[0]), reverse=True)


_PHRASES = _all_phrases()


def parse_command(text: str) -> Command | None:
    """The command a message asks for, or None when it is not one (then it
    is an answer, a description, or something to explain)."""
    stripped = _SPACES.sub(" ", text.strip())
    if not stripped:
        return None
    raw_words = stripped.split(" ")
    if raw_words[0].startswith("/"):
        # "/status PA-1", as a Telegram user would type it ("/new@bot" too).
        raw_words[0] = raw_words[0][1:].split("@", 1)[0]
    for phrase, name in _PHRASES:
        head = raw_words[: len(phrase)]
        if len(head) < len(phrase) or not all(map(_same_word, head, phrase)):
            continue
        args = tuple(raw_words[len(phrase) :])
        takes = PHRASES[name][0]
        if takes is Takes.NOTHING and args:
            continue
        if takes is Takes.CODE and (len(args) != 1 or parse_code(args[0]) is None):
            continue
        return Command(name, args)
    if len(raw_words) == 1 and parse_code(raw_words[0]) is not None:
        # A tracking code alone: what its owner most likely wants is its status.
        return Command("status", (raw_words[0],))
    return None
