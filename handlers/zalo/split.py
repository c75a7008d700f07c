"""Cut a long text into parts Zalo will accept, where a reader would expect the breaks.

Zalo refuses a `sendMessage` over 2,000 characters, and the weekly digest alone is longer.  A
cut in the middle of a sentence, or worse of a word, makes a list hard to read on a phone, so a
cut goes at the last paragraph break that fits, else the last line break, else the last space;
only a single word longer than the whole limit (a pasted link) is cut inside.

The whitespace at a cut is dropped: each part starts and ends with a visible character, since
Zalo would show a leading blank line as a gap and refuses an empty text.  Zalo counts characters
(code points), which is what `len` counts.  A cut never separates a letter from the combining
accent after it, so Vietnamese typed in decomposed form (NFD) keeps its diacritics in one part.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["ZALO_TEXT_LIMIT", "split_text"]

ZALO_TEXT_LIMIT: Final = 2000

# A paragraph break is a line that holds nothing but whitespace; the cut goes where it starts.
_PARAGRAPH_BREAK: Final = re.compile(r"\n\s*\n")
_LINE_BREAK: Final = re.compile(r"\n")
_SPACE: Final = re.compile(r"\s")


def split_text(text: str, limit: int = ZALO_TEXT_LIMIT) -> list[str]:
    """The parts to send, in order: none longer than `limit`, none empty or blank.

    A text with no visible character gives no parts at all (there is nothing to send).
    """
    if limit < 1:
        raise ValueError("a part must be allowed at least one character")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    """Where to end the first part of `text` (which starts with a visible character).

    The window is one character longer than the limit: a break that starts right after a full
    part still counts, since the whitespace at the cut is dropped.
    """
    window = text[: limit + 1]
    for boundary in (_PARAGRAPH_BREAK, _LINE_BREAK, _SPACE):
        starts = [m.start() for m in boundary.finditer(window) if m.start() > 0]
        if starts:
            return starts[-1]
    return _hard_cut(text, limit)


def _hard_cut(text: str, limit: int) -> int:
    """Cut one over-long word at the limit, moved back so no accent starts the next part."""
    cut = limit
    while cut > 1 and unicodedata.combining(text[cut]):
        cut -= 1
    # A "word" made only of combining marks cannot be kept whole: cut it at the limit.
    return cut if not unicodedata.combining(text[cut]) else limit
