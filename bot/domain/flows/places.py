"""Finding the place a person types: a residential group's number or name,
matched against the org chart's areas (the report, a transfer, and
Open311's free-text address)."""

from __future__ import annotations

from bot.domain.orgchart import Area, AreaKind, OrgChart
from bot.domain.text import (
    Option,
    fold,
    match_typed,
    numbers,
    rank_words,
    words,
)

# Words that only say "residential group", in Vietnamese or English: typed
# with a number ("tổ 11", "TDP 11", "group 11") they leave the number to decide.
GROUP_WORDS = frozenset({"to", "dan", "pho", "tdp", "group", "grp", "residential", "so", "no"})

# Short answers that are never an address, whatever step they are typed at.
NOT_A_PLACE = frozenset(
    {"ok", "oke", "okay", "vang", "da", "co", "khong", "xong", "roi", "cam on", "thanks"}
    | {"thank you", "yes", "no", "hi", "alo", "chao", "xin chao", "hello", "test"}
)


def match_areas(chart: OrgChart, typed: str, areas: list[Area]) -> list[str]:
    """Codes of the areas a typed place names, best first.

    A name or code matches as any choice does ("to dan pho 3", "HH-TDP03",
    "tổ 3" — and "tổ 3" is not "Tổ 13").  Failing that, a number with only
    words that say "group" ("group 4", "TDP 4") picks the groups with that
    very number, and other words may name the ward ("Hồng Hải tổ 3").
    """
    hits = match_typed(typed, [Option(a.code, [a.name, a.code]) for a in areas])
    wanted = numbers(typed)
    if hits or not wanted:
        return hits
    rest = [w for w in words(typed) if not w.isdecimal() and w not in GROUP_WORDS]
    found = []
    for area in areas:
        if area.kind is not AreaKind.GROUP or not set(wanted) <= set(numbers(area.name)):
            continue
        ward = chart.areas.get(chart.ward_of(area.code) or "")
        if not rest or rank_words(rest, f"{area.name} {ward.name if ward else ''}") is not None:
            found.append(area.code)
    return found


def looks_like_a_place(value: str) -> bool:
    """A landmark is a few words ("ngõ 12 Lê Lợi", "cạnh chợ"), not a stray
    "ok" or a lone word or number typed at the place question."""
    typed = words(value)
    has_letters = any(not w.isdecimal() for w in typed)
    return has_letters and len(typed) >= 2 and fold(value) not in NOT_A_PLACE
