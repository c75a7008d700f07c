"""Matching what people type against names, with or without diacritics, and
cleaning what people write before anyone else reads it.

Many residents type "rac thai" for "Rác thải".  Both sides are normalised to
NFC, decomposed, stripped of combining marks, and đ/Đ are folded by hand
(they are letters of their own, not a d with a mark, so NFD leaves them).

Names and free text come from outside and are shown to staff on cards whose
lines mean something ("🆕 Việc mới — PA-000123", "Người phản ánh: …").
Control characters, bidirectional overrides and invisible characters could
forge or reorder such lines, so `clean_name` and `clean_text` remove them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
# A letter next to a digit starts a new word when matching: "tdp3", "to11".
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d])(?=\d)|(?<=\d)(?=[^\W\d])")

# Characters that end a line, whatever the platform or the paste.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Format characters are dropped, except the zero-width joiner that emoji
# sequences (👨‍👩‍👧) are made of.
_KEPT_FORMAT = frozenset("\u200d")
# Letters and symbols that draw nothing (Hangul fillers, the blank braille
# cell): text made only of them is as empty as text made only of spaces.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})
_BLANK_LINES = re.compile(r"\n{3,}")
_RUNS_OF_SPACE = re.compile(r"[^\S\n]+")


def fold(text: str) -> str:
    """Lower-case, diacritic-free, single-spaced form used only for comparing."""
    text = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = _PUNCT.sub(" ", bare.casefold())
    return _SPACES.sub(" ", bare).strip()


@dataclass(frozen=True)
class Option:
    """One answer a prompt accepts: a stable key and the names that match it."""

    key: str
    names: Sequence[str]


def words(text: str) -> list[str]:
    """The folded words of ``text``, a number apart from the letters it
    touches ("tdp3" is "tdp" and "3")."""
    return _LETTER_DIGIT.sub(" ", fold(text)).split()


def marked_words(text: str) -> list[str]:
    """The words of ``text`` as written: lower case with their diacritics,
    split like `words` ("Đổ rác" is "đổ" and "rác")."""
    lowered = _PUNCT.sub(" ", unicodedata.normalize("NFC", text).casefold())
    return _LETTER_DIGIT.sub(" ", lowered).split()


def same_word(typed: str, written: str) -> bool:
    """Whether a typed word is a written one: exactly when typed with
    diacritics ("thải" is not "thái", "đổ" not "đỗ"), by their bare form
    when typed without ("thai" is both)."""
    if typed == written:
        return True
    return fold(typed) == typed and fold(written) == typed


def numbers(text: str) -> list[int]:
    """The whole numbers written in ``text`` ("Tổ dân phố 03" has 3)."""
    return [int(w) for w in words(text) if w.isdecimal()]


EXACT = 2  # every typed word is a word of the name (a number: the same number)
PARTIAL = 1  # some typed word is only a piece of the name


def _initials(name_words: Sequence[str]) -> set[str]:
    """ "tdp" for "to dan pho": the first letters of two or more words in a row."""
    letters = [w for w in name_words if not w.isdecimal()]
    return {
        "".join(w[0] for w in letters[i:j])
        for i in range(len(letters))
        for j in range(i + 2, len(letters) + 1)
    }


def rank_words(typed: Sequence[str], name: str, pieces: bool = True) -> int | None:
    """How well the typed words match one name: EXACT, PARTIAL or None.

    A typed number matches only the same whole number, so "3" is not in
    "Tổ dân phố 13"; a typed word matches a word of the name, the initials
    of words in a row ("tdp"), or, less well (unless ``pieces`` is off), a
    piece of the name of two letters or more ("other" in "Another reason").
    """
    name_words = words(name)
    joined = " ".join(name_words)
    name_numbers = {int(w) for w in name_words if w.isdecimal()}
    initials = _initials(name_words)
    rank = EXACT
    for word in typed:
        if word.isdecimal():
            if int(word) not in name_numbers:
                return None
        elif word in name_words or word in initials:
            continue
        elif pieces and len(word) > 1 and word in joined:
            # One letter is a piece of nearly any name: "ừ" must not send a report.
            rank = PARTIAL
        else:
            return None
    return rank


def match_typed(text: str, options: Sequence[Option], *, pieces: bool = True) -> list[str]:
    """Keys of the options a typed answer picks, best first.

    An exact folded match of any name wins outright.  Otherwise an option
    matches when every typed word is in one of its names (see `rank_words`),
    and only the best-matching options are kept: "to 3" picks "Tổ dân phố 3"
    and not "Tổ dân phố 13".  The caller decides what to do with none or
    several.

    With ``pieces`` off, typed words must be whole words of a name: a
    person's name, where a piece of a Vietnamese syllable is another name
    ("hoa" is not "Hoàng").
    """
    wanted = fold(text)
    if not wanted:
        return []
    exact = [o.key for o in options if any(fold(n) == wanted for n in o.names)]
    if exact:
        return exact
    typed = words(text)
    ranked: list[tuple[int, str]] = []
    for option in options:
        ranks = [r for r in (rank_words(typed, n, pieces) for n in option.names) if r is not None]
        if ranks:
            ranked.append((max(ranks), option.key))
    best = max((r for r, _ in ranked), default=None)
    return [key for r, key in ranked if r == best]


def _scrub(text: str, line_break: str) -> str:
    """NFC, with line breaks as ``line_break`` and every other control or
    format character (bidi overrides and isolates, zero-width spaces, the
    BOM, soft hyphens) removed."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text.replace("\r\n", "\n")):
        if ch in _LINE_BREAKS:
            out.append(line_break)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in _KEPT_FORMAT:
            continue
        else:
            out.append(ch)
    return "".join(out)


def has_words(text: str) -> bool:
    """Whether ``text`` holds a letter or a digit: "." or "👍" alone tells a
    cadre nothing of what happened where."""
    return any(ch.isalnum() for ch in text)


def has_visible(text: str) -> bool:
    """Whether anything in ``text`` draws on the screen."""
    return any(
        unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_GLYPHS
        for ch in text
    )


def clean_name(text: str | None) -> str:
    """A name on one line: no line breaks, no control, bidi or invisible
    characters, single spaces; "" when nothing visible is left."""
    if text is None:
        return ""
    value = _SPACES.sub(" ", _scrub(text, " ")).strip()
    return value if has_visible(value) else ""


def clean_text(text: str) -> str:
    """Free text as it may be shown to someone else: the writer's line
    breaks are kept (at most one blank line in a row), everything else
    `clean_name` removes is removed; "" when nothing visible is left."""
    lines = [_RUNS_OF_SPACE.sub(" ", line).strip() for line in _scrub(text, "\n").split("\n")]
    value = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return value if has_visible(value) else ""


CONTINUATION = "    "


def inset(text: str) -> str:
    """Free text for a field of a card ("Mô tả: …"): clean, and every line
    after the first indented, so no line of it can pass for a line of the
    card itself ("🆕 Việc mới — …", "Người phản ánh: …")."""
    first, *rest = clean_text(text).split("\n")
    return "\n".join([first, *(CONTINUATION + line if line else "" for line in rest)])


def normalise_text(text: str) -> str:
    """Store what people write clean (see `clean_text`) and in NFC, so
    searches and lengths are consistent and no card can be forged with it."""
    return clean_text(text)


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """``text`` in pieces of at most ``limit`` as ``measure`` counts (each
    channel counts its own way: Telegram in UTF-16 code units), so a long
    message is delivered whole in several messages instead of refused.

    Pieces end at a line end where one fits, else at the last space that
    fits, else between two characters; joined with line ends they give the
    text back (less the spaces a cut fell on).  Blank pieces are dropped:
    a channel refuses an empty message.
    """
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if measure(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while measure(line) > limit:
            cut = _cut_at(line, limit, measure)
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        current = line
    pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _cut_at(line: str, limit: int, measure: Callable[[str], int]) -> int:
    """Where to cut a line too long for one piece: after the last space that
    fits, if that keeps at least half of what fits, else as much as fits."""
    low, high = 1, len(line)  # the longest prefix that fits: found by halving
    while low < high:
        middle = (low + high + 1) // 2
        if measure(line[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    space = line.rfind(" ", 0, low + 1)
    return space if space > low // 2 else low
