"""The org chart: places, kinds of problem, people, and who answers for what.

It is loaded from YAML (``bot/orgio/reader.py``) or from the database, and is a
read-only value the routing rules work on.  Codes are the stable keys; names
are for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.channels import TELEGRAM, ZALO, Account

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Family(StrEnum):
    """The families of problems the seeds name."""

    URBAN_ORDER = "urban_order"  # trật tự đô thị
    SANITATION = "sanitation"  # vệ sinh môi trường
    OFFICIAL_CONDUCT = "official_conduct"  # thái độ, nhũng nhiễu của cán bộ
    OTHER = "other"


class Role(StrEnum):
    CADRE = "cadre"
    WARD_LEADER = "ward_leader"
    CITY_LEADER = "city_leader"


class AreaKind(StrEnum):
    """Levels of the area tree.  ``city`` is anything above a ward (a city or
    a province); ``zone`` is anything between a ward and its residential
    groups; complaints land on ``group`` areas."""

    CITY = "city"
    WARD = "ward"
    ZONE = "zone"
    GROUP = "group"


@dataclass(frozen=True)
class GeoPoint:
    """A point in GeoJSON order: longitude first."""

    lon: float
    lat: float


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    kind: AreaKind
    parent: str | None
    polygon: tuple[GeoPoint, ...] | None = None
    centre: GeoPoint | None = None


class EscalationTarget(StrEnum):
    WARD_LEADER = "ward_leader"
    CITY_LEADERS = "city_leaders"


@dataclass(frozen=True)
class EscalationLevel:
    """Who is told, and how long after the resolve deadline (in days of the
    complaint's clock: working days, or calendar days when urgent)."""

    after_days: float
    target: EscalationTarget


DEFAULT_ACKNOWLEDGE_HOURS = 8.0  # iHanoi: every report accepted within 8 working hours
DEFAULT_ESCALATION = (
    EscalationLevel(0.0, EscalationTarget.WARD_LEADER),
    EscalationLevel(2.0, EscalationTarget.CITY_LEADERS),
)


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str
    family: Family
    resolve_days: float
    acknowledge_hours: float = DEFAULT_ACKNOWLEDGE_HOURS
    urgent: bool = False
    escalation: tuple[EscalationLevel, ...] = DEFAULT_ESCALATION
    # How many more times the whole escalation runs after its last level.
    repeat: int = 0
    # Short replies a cadre can pick instead of typing (empty: the catalogue's).
    acknowledge_templates: tuple[str, ...] = ()
    resolve_templates: tuple[str, ...] = ()
    # The ward's own words for this problem ("xà bần"): a text that holds
    # one is suggested this category first (bot/domain/suggest.py).
    words: tuple[str, ...] = ()

    def display_name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class StaffMember:
    """A cadre or leader as the ward office lists them.  The record exists
    before anyone binds a chat account to it; ``telegram_id`` and
    ``zalo_id`` are only a convenience for the import (a Zalo id is rarely
    known in advance: staff bind that account with their one-time code)."""

    id: str
    name: str
    roles: frozenset[Role]
    wards: tuple[str, ...] = ()
    telegram_id: int | None = None
    # A deactivated member keeps their history but gets no new tasks.
    active: bool = True
    zalo_id: str | None = None

    def has_role(self, role: Role) -> bool:
        return self.active and role in self.roles

    def accounts(self) -> tuple[Account, ...]:
        """The accounts the chart names for them, Telegram's first."""
        named = ((TELEGRAM, self.telegram_id), (ZALO, self.zalo_id))
        return tuple(Account(channel, str(id_)) for channel, id_ in named if id_ is not None)


@dataclass(frozen=True)
class WardPolicy:
    """Per-ward leadership: who receives escalations and complaints nobody is
    assigned to (``leader``), and who receives official-conduct complaints;
    and where a resident may turn with what is not the ward's to handle
    (``refer_to``; empty: the catalogue's general advice)."""

    ward: str
    leader: str
    conduct_leader: str
    refer_to: str = ""


@dataclass(frozen=True)
class OrgChart:
    areas: Mapping[str, Area]
    categories: Mapping[str, Category]
    staff: Mapping[str, StaffMember]
    # (area code, category code) -> cadre id; an assignment covers the subtree.
    assignments: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # (ward code, family) -> cadre id.
    family_defaults: Mapping[tuple[str, Family], str] = field(default_factory=dict)
    wards: Mapping[str, WardPolicy] = field(default_factory=dict)

    def ancestors(self, code: str) -> Iterator[Area]:
        """The area itself, then its parent, up to the root."""
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current not in seen:
            seen.add(current)
            area = self.areas.get(current)
            if area is None:
                return
            yield area
            current = area.parent

    def ward_of(self, code: str) -> str | None:
        for area in self.ancestors(code):
            if area.kind is AreaKind.WARD:
                return area.code
        return None

    def groups(self, ward: str | None = None) -> list[Area]:
        """Residential groups in file order, optionally of one ward."""
        return [
            a
            for a in self.areas.values()
            if a.kind is AreaKind.GROUP and (ward is None or self.ward_of(a.code) == ward)
        ]

    def ward_codes(self) -> list[str]:
        return [a.code for a in self.areas.values() if a.kind is AreaKind.WARD]

    def city_leaders(self) -> list[StaffMember]:
        return [s for s in self.staff.values() if s.has_role(Role.CITY_LEADER)]

    def categories_of(self, family: Family) -> list[Category]:
        return [c for c in self.categories.values() if c.family is family]

    def families(self) -> list[Family]:
        """Families that have at least one category, in the canonical order."""
        present = {c.family for c in self.categories.values()}
        return [f for f in Family if f in present]
