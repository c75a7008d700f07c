"""Matching what people type against names, with or without diacritics.

Many residents type "rac thai" for "Rác thải".  Both sides are normalised to
NFC, decomposed, stripped of combining marks, and đ/Đ are folded by hand
(they are letters of their own, not a d with a mark, so NFD leaves them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
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
