"""A reference to user-facing text: a catalogue key and its parameters.

The domain says *what* to tell someone; each channel renders it in the
person's language.  A plain ``str`` label is data (an area or category name
from the org chart) and is shown as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


Label = Text | str


@dataclass(frozen=True)
class Lines:
    """A parameter that is several texts, each on a line of its own (the
    reports shown at a review)."""

    items: tuple[Text, ...]


def text(key: str, **params: Any) -> Text:
    return Text(key, params)
