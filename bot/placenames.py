"""How place names read inside a sentence.

The org chart names places as they head a list or a poster: "Phường Hồng
Hải", "Tổ dân phố 3".  Inside a sentence the state's document style (Nghị
định 30/2020) writes the kind of unit in lower case and keeps the proper name:
"lãnh đạo phường Hồng Hải", "tổ dân phố 3".  The catalogue marks such places
with the ``!p`` conversion (``{ward!p}``, see `bot.i18n`).

A module of plain text at the bottom of the house: the catalogue lookup needs
it, and the domain uses the catalogue lookup.
"""

from __future__ import annotations

import re

# Kinds of administrative unit (and the roles written before a place in a
# handler's label) that start a name; longest first, so "Tổ dân phố" wins
# over "Tổ" and "Thành phố" over nothing.
_LEADING_WORDS = sorted(
    (
        "Thành phố",
        "Tỉnh",
        "Đặc khu",
        "Thị xã",
        "Thị trấn",
        "Quận",
        "Huyện",
        "Phường",
        "Xã",
        "Tổ dân phố",
        "Khu phố",
        "Khu",
        "Thôn",
        "Ấp",
        "Bản",
        "Xóm",
        "Tổ",
        "Cán bộ",
        "Lãnh đạo",
    ),
    key=len,
    reverse=True,
)
# A leading word opens the text, or a name in a list ("…, Phường Bạch Đằng")
# or in brackets ("Tổ dân phố 3 (Phường Hồng Hải)"), and is a whole word.
_LEADING = re.compile(r"(^|, |\()(" + "|".join(re.escape(w) for w in _LEADING_WORDS) + r")(?=\s|$)")


def in_sentence(name: str) -> str:
    """``name`` as written inside a sentence: the kind of unit (or a role
    before a place) in lower case, the proper name untouched.
    "Tổ dân phố 3, Phường Hồng Hải" → "tổ dân phố 3, phường Hồng Hải";
    a name that does not start with such a word is returned as it is."""
    return _LEADING.sub(lambda m: m.group(1) + m.group(2).lower(), name)
