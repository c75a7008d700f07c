"""Who owns a complaint: "rõ người, rõ việc, rõ địa bàn".

Every complaint gets exactly one owner.  The search walks from the chosen area
up the tree looking for an assignment of that category, then the ward's
default cadre for the family, then the ward leader, skipping anyone
deactivated.  Official-conduct
complaints never go to a cadre: they go to the ward's conduct leader, or to
the city leaders when they concern the ward's leadership itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.orgchart import AreaKind, Family, OrgChart


class RouteReason(StrEnum):
    ASSIGNED = "assigned"
    FAMILY_DEFAULT = "family_default"
    WARD_LEADER = "ward_leader"
    CONDUCT_LEADER = "conduct_leader"
    CITY_LEADER = "city_leader"


@dataclass(frozen=True)
class Route:
    owner: str
    ward: str
    reason: RouteReason


class RoutingError(Exception):
    """The area or category is not in the org chart (a bug or a stale draft)."""


def route(chart: OrgChart, area: str, category: str, *, concerns_leadership: bool = False) -> Route:
    if area not in chart.areas:
        raise RoutingError(f"unknown area {area!r}")
    if category not in chart.categories:
        raise RoutingError(f"unknown category {category!r}")
    ward = chart.ward_of(area)
    if ward is None or ward not in chart.wards:
        raise RoutingError(f"area {area!r} is not inside a ward")
    policy = chart.wards[ward]
    family = chart.categories[category].family

    def active(staff_id: str | None) -> bool:
        member = chart.staff.get(staff_id) if staff_id else None
        return member is not None and member.active

    if family is Family.OFFICIAL_CONDUCT:
        if concerns_leadership:
            leaders = chart.city_leaders()
            if leaders:
                return Route(leaders[0].id, ward, RouteReason.CITY_LEADER)
        if active(policy.conduct_leader) or not active(policy.leader):
            return Route(policy.conduct_leader, ward, RouteReason.CONDUCT_LEADER)
        return Route(policy.leader, ward, RouteReason.WARD_LEADER)

    for node in chart.ancestors(area):
        owner = chart.assignments.get((node.code, category))
        if active(owner):
            assert owner is not None
            return Route(owner, ward, RouteReason.ASSIGNED)
        if node.kind is AreaKind.WARD:
            break
    default = chart.family_defaults.get((ward, family))
    if active(default):
        assert default is not None
        return Route(default, ward, RouteReason.FAMILY_DEFAULT)
    if not active(policy.leader):
        # Even a deactivated ward leader is better than nobody: the complaint
        # is never left unowned, and the city leaders see the gap.
        leaders = chart.city_leaders()
        if leaders:
            return Route(leaders[0].id, ward, RouteReason.CITY_LEADER)
    return Route(policy.leader, ward, RouteReason.WARD_LEADER)
