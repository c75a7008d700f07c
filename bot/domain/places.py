"""What the tier above the wards is called.

Since 1/7/2025 the level above a ward or commune may be a province or a
centrally governed city, so the bot never writes "thành phố" for it: it names
the org chart's top area (`upper_tier`).  How a place's own name reads inside a
sentence ("phường Hồng Hải") is `bot.placenames.in_sentence`.
"""

from __future__ import annotations

from bot.domain.messages import Text, text
from bot.domain.orgchart import AreaKind, OrgChart

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
