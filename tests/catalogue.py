"""Asserting what people see through the catalogue, not copies of its
sentences: a catalogue entry becomes a pattern, its known parameters filled
in (as `bot.i18n.t` would), the others matching anything.  A test then says
"the receipt gives this deadline" and survives the wording changing."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from bot import i18n
from bot.placenames import in_sentence

ANYTHING = r"[\s\S]*?"
# How a channel words an entry before it fills it in (Zalo names what to type
# where a text names a /command): the entry's template in, the channel's out.
Wording = Callable[[str], str]


def _template(key: str, lang: str, wording: Wording | None) -> str:
    template = i18n.catalogue(lang)[key]
    return wording(template) if wording is not None else template


def pattern(
    key: str, lang: str = "vi", /, *, wording: Wording | None = None, **known: Any
) -> re.Pattern[str]:
    """The catalogue entry ``key`` as a regular expression: its words as
    they are (as the channel words them, with ``wording``), each ``known``
    parameter as it would be rendered, any other parameter as any text
    (line breaks included)."""
    parts: list[str] = []
    for literal, field, spec, conversion in string.Formatter().parse(_template(key, lang, wording)):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in known:
            value = known[field]
            if conversion == "p":
                value = in_sentence(str(value))
            parts.append(re.escape(i18n.format_field(lang, value, spec or "")))
        else:
            parts.append(ANYTHING)
    return re.compile("".join(parts))


def says(
    shown: str | None,
    key: str,
    lang: str = "vi",
    /,
    *,
    wording: Wording | None = None,
    **known: Any,
) -> bool:
    """Whether ``shown`` holds the catalogue entry ``key`` with ``known``."""
    return pattern(key, lang, wording=wording, **known).search(shown or "") is not None


def first_line(key: str, lang: str = "vi", /, **params: Any) -> str:
    """The first line of an entry, rendered (for a message that begins with it)."""
    return i18n.t(lang, key, **params).split("\n", 1)[0]


def digest_part(text: str | None) -> str | None:
    """Which message of a weekly digest ``text`` is, in either language:
    "summary" (the first, for the Monday meeting), "details", or None."""
    for lang in i18n.LANGUAGES:
        if (text or "").startswith(first_line_of("digest.title", lang)):
            return "summary"
        if (text or "").startswith(first_line_of("digest.details_title", lang)):
            return "details"
    return None


def first_line_of(key: str, lang: str) -> str:
    """The words an entry starts with, up to its first parameter."""
    literal, *_ = next(iter(string.Formatter().parse(i18n.catalogue(lang)[key])))
    return literal


def opens_with(shown: str | None, key: str, lang: str = "vi", /, **known: Any) -> bool:
    """Whether ``shown`` begins with the catalogue entry ``key``."""
    return pattern(key, lang, **known).match(shown or "") is not None


def capture(
    key: str,
    lang: str = "vi",
    /,
    *,
    groups: dict[str, str],
    wording: Wording | None = None,
    **known: Any,
) -> re.Pattern[str]:
    """`pattern`, with some parameters captured: ``groups`` maps a parameter
    to the regular expression its value matches (``code=r"PA-\\d{6,}"``)."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, field, spec, conversion in string.Formatter().parse(_template(key, lang, wording)):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in groups:
            # The same value again where the entry says it twice.
            parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>{groups[field]})")
            seen.add(field)
        elif field in known:
            value = known[field]
            if conversion == "p":
                value = in_sentence(str(value))
            parts.append(re.escape(i18n.format_field(lang, value, spec or "")))
        else:
            parts.append(ANYTHING)
    return re.compile("".join(parts))
