"""User-facing text, one catalogue per language (Vietnamese first).

Catalogues are TOML files in ``bot/locales``; a key is the dotted path of a
string in its file (``[resident] greeting = "..."`` is ``resident.greeting``).
Placeholders use ``str.format`` syntax.  Messages go out as plain text, so
nothing needs escaping and no Vietnamese text can break a parse mode.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(full, value, out)
        elif isinstance(value, str):
            out[full] = value
        else:
            raise TypeError(f"catalogue entry {full} is not a string")


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """All strings of one language, keyed by dotted path."""
    if lang not in LANGUAGES:
        raise KeyError(f"no catalogue for language {lang!r}")
    text = resources.files("bot").joinpath("locales", f"{lang}.toml").read_text("utf-8")
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(text), out)
    return out


def normalise_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str, key: str, /, **params: Any) -> str:
    """The text for ``key`` in ``lang``, falling back to Vietnamese.

    A key missing from every catalogue is a programming error and raises, so
    tests catch it; the docs test also checks both catalogues have the same keys.
    """
    lang = normalise_language(lang)
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE)[key]
    return text.format(**params) if params else text


# ---- numbers: Vietnamese writes 17.911 and 97,4 %; English 17,911 and 97.4% -----------------


def format_number(value: int, lang: str) -> str:
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if normalise_language(lang) == "vi" else grouped


def format_decimal(value: float, lang: str, digits: int = 1) -> str:
    """A decimal with ``digits`` places: 4,3 in Vietnamese, 4.3 in English
    (thousands grouped the same way as whole numbers)."""
    grouped = f"{value:,.{digits}f}"
    if normalise_language(lang) != "vi":
        return grouped
    return grouped.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_percent(ratio: float | None, lang: str, digits: int = 1) -> str:
    """A share as a percentage (97,4 % / 97.4%); a dash when there is none."""
    if ratio is None:
        return "—"
    number = format_decimal(ratio * 100, lang, digits)
    return f"{number} %" if normalise_language(lang) == "vi" else f"{number}%"
