"""What changes between two org charts, and what that means for open complaints.

A ward office edits its chart by hand and imports it again: before anything
is applied, the operator sees what was added, changed and removed, and which
open complaints must move because their owner is gone.  A chart that would
leave a complaint without an owner (its group or category removed) is
refused as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.domain.complaints import Complaint
from bot.domain.orgchart import OrgChart
from bot.domain.owners import Consequences as Consequences
from bot.domain.owners import Move as Move
from bot.domain.owners import reconcile
from bot.domain.routing import Reach

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class SectionDiff:
    """Keys added, changed and removed in one section of the chart."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass(frozen=True)
class OrgDiff:
    sections: Mapping[str, SectionDiff]

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.sections.values())


def _label(key: object) -> str:
    if isinstance(key, tuple):
        return " × ".join(str(k) for k in key)
    return str(key)


def _section(old: Mapping[K, V], new: Mapping[K, V]) -> SectionDiff:
    return SectionDiff(
        added=tuple(_label(k) for k in new if k not in old),
        changed=tuple(_label(k) for k in new if k in old and old[k] != new[k]),
        removed=tuple(_label(k) for k in old if k not in new),
    )


def diff(old: OrgChart | None, new: OrgChart) -> OrgDiff:
    """Section by section, keyed the way the file is: codes and pairs."""
    empty = OrgChart({}, {}, {})
    before = old or empty
    return OrgDiff(
        {
            "areas": _section(before.areas, new.areas),
            "categories": _section(before.categories, new.categories),
            "staff": _section(before.staff, new.staff),
            "assignments": _section(before.assignments, new.assignments),
            "family_defaults": _section(before.family_defaults, new.family_defaults),
            "wards": _section(before.wards, new.wards),
        }
    )


def consequences(
    new: OrgChart, open_complaints: Iterable[Complaint], reach: Reach | None = None
) -> Consequences:
    """What the new chart means for the open complaints: the same rule the
    running bot keeps (`bot.domain.owners.reconcile`), with who can be
    reached now (everyone active, if not said)."""
    return reconcile(new, reach or Reach.assumed(), open_complaints)


def lines(found: OrgDiff) -> Sequence[tuple[str, str, str]]:
    """(section, sign, key) for printing: + added, ~ changed, - removed."""
    out: list[tuple[str, str, str]] = []
    for name, section in found.sections.items():
        out += [(name, "+", k) for k in section.added]
        out += [(name, "~", k) for k in section.changed]
        out += [(name, "-", k) for k in section.removed]
    return out
