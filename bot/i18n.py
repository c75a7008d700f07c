"""User-facing text, one catalogue per language (Vietnamese first).

Catalogues are TOML files in ``bot/locales``; a key is the dotted path of a
string in its file (``[resident] greeting = "..."`` is ``resident.greeting``).
Placeholders use ``str.format`` syntax, plus two forms of our own:

- ``{ward!p}`` is a place name as written inside a sentence ("phường Hồng
  Hải", see `bot.placenames.in_sentence`);
- ``{count:# report|# reports}`` is a count with the words that agree with
  it: the form before ``|`` for exactly one, the form after it otherwise,
  ``#`` standing for the number (written as `format_number` writes it).
  English needs it wherever a number is followed by a noun ("1 reports");
  Vietnamese nouns do not change with a number ("1 phản ánh", "2 phản
  ánh"), so its catalogue writes ``{count}`` plainly.  Messages go out as plain text, so
nothing needs escaping and no Vietnamese text can break a parse mode.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from bot.placenames import in_sentence

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


PLURAL = "|"  # in a field's format spec: "one form|other form"
NUMBER = "#"  # in a plural form: the number itself


def counted(lang: str, value: object, forms: str) -> str:
    """``value`` with the words that agree with it, from ``forms`` ("# day|#
    days"): the first form for exactly one, the second otherwise.  A count
    may come as an int, or as a number already written for the reader
    ("2.000"); anything else that is not one takes the second form."""
    one, _, other = forms.partition(PLURAL)
    if isinstance(value, int) and not isinstance(value, bool):
        shown, is_one = format_number(value, lang), abs(value) == 1
    else:
        shown = str(value)
        is_one = shown.strip() in ("1", "-1")
    return (one if is_one else other).replace(NUMBER, shown)


class _Formatter(string.Formatter):
    """``str.format`` with our two forms: ``!p``, a place inside a sentence,
    and ``{n:one|other}``, a count with the words that agree with it."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "p":
            return in_sentence(str(value))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if PLURAL in format_spec:
            return counted(self.lang, value, format_spec)
        text: str = super().format_field(value, format_spec)
        return text


_FORMATTERS = {lang: _Formatter(lang) for lang in LANGUAGES}


def format_field(lang: str, value: object, format_spec: str) -> str:
    """One placeholder's value as `t` writes it (for checks that match
    rendered text against a catalogue entry)."""
    return _FORMATTERS[normalise_language(lang)].format_field(value, format_spec)


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
    return _FORMATTERS[lang].vformat(text, (), params) if params else text


# ---- numbers: Vietnamese writes 17.911 and 97,4%; English 17,911 and 97.4% -----------------


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
    """A share as a percentage: "63,5%" ("63.5%" in English), and a whole
    number without its decimals ("100%", "50%"); a dash when there is none."""
    if ratio is None:
        return "—"
    number = format_decimal(ratio * 100, lang, digits)
    if digits and round(ratio * 100, digits) == round(ratio * 100):
        number = format_decimal(ratio * 100, lang, 0)
    return f"{number}%"
