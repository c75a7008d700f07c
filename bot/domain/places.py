"""How place names read in a sentence, and what the tier above the wards is
called.

The org chart names places as they head a list or a poster: "Phường Hồng
Hải", "Tổ dân phố 3", "Thành phố Hạ Long".  Inside a sentence the state's
document style (Nghị định 30/2020) writes the kind of unit in lower case and
keeps the proper name: "lãnh đạo phường Hồng Hải", "tổ dân phố 3".  The
catalogue marks such places with the ``!p`` conversion (``{ward!p}``), and
`in_sentence` does the lowering.

Since 1/7/2025 the level above a ward or commune may be a province or a
centrally governed city, so the bot never writes "thành phố" for it: it names
the org chart's top area (`upper_tier`).
"""

from __future__ import annotations

import re

from bot.domain.messages import Text, text
from bot.domain.orgchart import AreaKind, OrgChart

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


# How the top area's name may say what it is, and the catalogue key that
# names a tier of that kind in each language.
_TIER_PREFIXES = (
    ("tỉnh ", "tier.province"),
    ("thành phố ", "tier.city"),
    ("tp. ", "tier.city"),
    ("tp ", "tier.city"),
)


def upper_tier(chart: OrgChart) -> Text:
    """The tier above the wards, as the org chart names it: its one top area
    of kind ``city`` ("Tỉnh Quảng Ninh" → "tỉnh Quảng Ninh", in English
    "Quảng Ninh Province").  The kind is read from the name's first words
    ("Tỉnh …", "Thành phố …"); a name that does not say it is shown as it
    is.  Without a single top area above the wards (a single-ward chart, or
    several cities side by side) the catalogue's general words are used."""
    roots = [a for a in chart.areas.values() if a.parent is None]
    if len(roots) != 1 or roots[0].kind is not AreaKind.CITY:
        return text("tier.unnamed")
    name = roots[0].name.strip()
    for prefix, key in _TIER_PREFIXES:
        if name.casefold().startswith(prefix) and name[len(prefix) :].strip():
            return text(key, name=name[len(prefix) :].strip())
    return text("tier.named", name=name)
