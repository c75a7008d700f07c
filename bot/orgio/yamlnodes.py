"""The YAML underneath: a loader that refuses aliases, each node's line,
the tags that mean null or numbers, and the drafts the reader fills in."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode

from bot.domain.orgchart import (
    AreaKind,
    EscalationLevel,
    EscalationTarget,
    Family,
    GeoPoint,
    Role,
)

NULL_TAG = "tag:yaml.org,2002:null"


INT_TAG = "tag:yaml.org,2002:int"


FLOAT_TAG = "tag:yaml.org,2002:float"


BOOL_TAG = "tag:yaml.org,2002:bool"


TOP_KEYS = ("areas", "categories", "staff", "assignments", "family_defaults", "defaults")


AREA_KEYS = (
    "code",
    "name",
    "kind",
    "children",
    "leader",
    "conduct_leader",
    "refer_to",
    "polygon",
    "centre",
)
# The most a ward's `refer_to:` may say: it closes a message to the resident.
REFER_TO_MAX = 500


# The knobs of the complaint's clocks: set in ``defaults:`` or per category.
POLICY_KEYS = ("acknowledge_hours", "escalation", "repeat")


CATEGORY_KEYS = (
    "code",
    "name",
    "name_en",
    "family",
    "resolve_days",
    "urgent",
    "templates",
    "words",
    *POLICY_KEYS,
)


TEMPLATE_KEYS = ("acknowledge", "resolve")


TEMPLATE_MAX = 8


TEMPLATE_LENGTH = 200


# A ward's own word for a category (``words:``): a word or a short phrase,
# two letters at least (one letter would match half of every complaint).
WORD_LETTERS_MIN = 2
WORD_LENGTH = 60


LEVEL_KEYS = ("after_days", "to")


STAFF_KEYS = ("id", "name", "roles", "wards", "telegram_id", "zalo_id", "active")


ASSIGNMENT_KEYS = ("area", "category", "categories", "cadre")


FAMILY_DEFAULT_KEYS = ("ward", "family", "cadre")


# Roles that only make sense with at least one ward to serve.
WARD_BOUND_ROLES = frozenset({Role.CADRE, Role.WARD_LEADER})


EnumT = TypeVar("EnumT", AreaKind, Family, Role, EscalationTarget)


class AliasRefused(ComposerError):
    pass


class Loader(yaml.SafeLoader):
    """A safe loader that refuses aliases, so every node has exactly one place."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            # check_event has just parsed the alias into current_event.
            mark = self.current_event.start_mark
            raise AliasRefused(None, None, "aliases are not allowed", mark)
        return super().compose_node(parent, index)


def line_of(node: Node) -> int:
    mark = node.start_mark
    return mark.line + 1 if mark is not None else 0


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def suggest(word: str, allowed: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return matches[0] if matches else None


@dataclass(frozen=True)
class Ref:
    """A code as written somewhere, with its line (and file, when not the
    YAML), to be resolved later."""

    code: str
    line: int
    source: str = ""


@dataclass(frozen=True)
class AreaDraft:
    """An area as read, kept even when incomplete so that the rest of the
    file can still be checked against it."""

    code: str
    line: int
    name: str | None
    kind: AreaKind | None
    parent: str | None
    ward: str | None  # the nearest ward at or above this area, if known
    polygon: tuple[GeoPoint, ...] | None
    centre: GeoPoint | None
    leader: Ref | None
    conduct_leader: Ref | None
    refer_to: str | None = None


@dataclass(frozen=True)
class StaffDraft:
    id: str
    line: int
    name: str | None
    roles: frozenset[Role]
    wards: list[Ref]
    telegram_id: int | None
    active: bool = True
    zalo_id: str | None = None


@dataclass(frozen=True)
class PolicyDraft:
    """The clock knobs one ``defaults:`` block or one category writes.

    ``written`` names the keys that have a value, valid or not: a key written
    with a mistake is not inherited from the defaults (the mistake is already
    an issue), and the values of such keys are None.
    """

    written: frozenset[str] = frozenset()
    acknowledge_hours: float | None = None
    escalation: tuple[EscalationLevel, ...] | None = None
    repeat: int | None = None


class Fields:
    """The entries of one YAML mapping, checked against the keys it may hold."""

    def __init__(self, node: MappingNode, entries: dict[str, tuple[ScalarNode, Node]]) -> None:
        self.node = node
        self.line = line_of(node)
        self._entries = entries

    def get(self, key: str) -> Node | None:
        """The value node; an empty value (``name:``) counts as absent, since
        that is how clerks leave a field they have not filled in yet."""
        entry = self._entries.get(key)
        if entry is None or is_null(entry[1]):
            return None
        return entry[1]

    def key_line(self, key: str) -> int:
        entry = self._entries.get(key)
        return line_of(entry[0]) if entry is not None else self.line

    def __contains__(self, key: str) -> bool:
        return key in self._entries
