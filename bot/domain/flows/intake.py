"""Whether a free text reads like a report: the opening message a resident
types without /new is taken as one only when it names a problem, not when
it is small talk."""

from __future__ import annotations

from bot.domain.orgchart import OrgChart
from bot.domain.suggest import tokens as suggest_tokens
from bot.domain.text import (
    words,
)

# A message that opens with these words is small talk, not a report.
SMALL_TALK = frozenset(
    {"xin chao", "chao", "cam on", "thank", "thanks", "hello", "hi", "alo", "ok", "oke"}
)

# Words too common to say what a message is about: Vietnamese particles and
# the general words of category names, then English ones.
NOT_A_TOPIC = frozenset(
    {"co", "nguoi", "khong", "duoc", "dung", "noi", "quy", "dinh", "cua", "va", "la", "o"}
    | {"tai", "thi", "nay", "cac", "nhung", "mot", "rat", "da", "dang", "se", "bi", "cho"}
    | {"voi", "tren", "duoi", "trong", "ngoai", "ra", "vao", "len", "xuong", "khac", "van"}
    | {"de", "roi", "nua", "day", "kia", "ay", "ai", "gi", "sao", "nhieu", "lam", "qua"}
    | {"phep", "trai", "sai", "tu", "phat", "muc"}
    | {"the", "and", "or", "a", "an", "in", "on", "of", "to", "by", "not", "without"}
    | {"against", "wrong", "place", "rules", "other", "problem", "is", "are", "there"}
    | {"someone", "people", "it", "at", "my", "our", "this", "that"}
)


# Who a greeting or a thank-you is addressed to ("chào anh", "cảm ơn các chị ạ").
ADDRESSED = frozenset(
    {"anh", "chi", "em", "a", "cac", "ban", "chu", "bac", "co", "nhe", "nha", "can", "bo"}
)


def reads_like_a_report(typed: str, chart: OrgChart | None = None) -> bool:
    """Whether a message no question asked for reads like a report ("có
    người đổ rác ra vỉa hè đầu ngõ 12"): a few words, not small talk.  Such
    a message opens a report and becomes its description.  One that opens
    with a greeting or thanks ("Chào anh, ngõ 7 có người đổ xà bần") is one
    when what follows reads like a report and names a problem of ``chart``
    (so "cảm ơn cán bộ nhiệt tình" stays a thank-you)."""
    said = [w for w in words(typed) if not w.isdecimal()]
    if not _reads_like(said):
        return False
    if not _small_talk(said):
        return True
    rest = _after_small_talk(said)
    return chart is not None and _reads_like(rest) and _names(chart, " ".join(rest))


def _reads_like(said: list[str]) -> bool:
    telling = [w for w in said if w not in NOT_A_TOPIC]
    return len(said) >= 3 and len(telling) >= 2


def _small_talk(said: list[str]) -> bool:
    return " ".join(said[:2]) in SMALL_TALK or said[0] in SMALL_TALK


def _after_small_talk(said: list[str]) -> list[str]:
    """The words after the greetings and thanks a message opens with, and
    whom they address."""
    rest = list(said)
    while rest:
        if " ".join(rest[:2]) in SMALL_TALK:
            rest = rest[2:]
        elif rest[0] in SMALL_TALK or rest[0] in ADDRESSED:
            rest = rest[1:]
        else:
            break
    return rest


def names_a_problem(chart: OrgChart, typed: str) -> bool:
    """Whether a word or two ("rác", "ngập", "xà bần") name a problem of
    the chart: a word of a category's name, or one of the ward's own words
    for it.  Too short to be a description, they still open a report, and
    the problems they name are offered."""
    said = [w for w in words(typed) if not w.isdecimal()]
    if not 1 <= len(said) <= 2 or _small_talk(said):
        return False
    return _names(chart, typed)


def _names(chart: OrgChart, typed: str) -> bool:
    """Whether ``typed`` has a word of a problem of the chart."""
    named: set[str] = set()
    for category in chart.categories.values():
        for name in (category.name, category.name_en, *category.words):
            named.update(suggest_tokens(name))
    return bool((set(suggest_tokens(typed)) - NOT_A_TOPIC) & named)
