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
