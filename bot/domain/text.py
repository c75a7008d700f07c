"""Matching what people type against names, with or without diacritics.

Many residents type "rac thai" for "Rác thải".  Both sides are normalised to
NFC, decomposed, stripped of combining marks, and đ/Đ are folded by hand
(they are letters of their own, not a d with a mark, so NFD leaves them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


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


def match_typed(text: str, options: Sequence[Option]) -> list[str]:
    """Keys of the options a typed answer picks, best first.

    An exact folded match of any name wins outright; otherwise every option
    whose folded name contains all the typed words matches.  The caller decides
    what to do with none or several.
    """
    wanted = fold(text)
    if not wanted:
        return []
    exact = [o.key for o in options if any(fold(n) == wanted for n in o.names)]
    if exact:
        return exact[:1] if len(exact) == 1 else exact
    words = wanted.split()
    hits: list[str] = []
    for option in options:
        for name in option.names:
            folded = fold(name)
            if all(w in folded.split() or w in folded for w in words):
                hits.append(option.key)
                break
    return hits


def normalise_text(text: str) -> str:
    """Store what people write in NFC so searches and lengths are consistent."""
    return unicodedata.normalize("NFC", text).strip()


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
