"""Who owns a complaint: "rõ người, rõ việc, rõ địa bàn".

Every complaint gets exactly one owner, found along a *chain* of candidates:
from the chosen area up the tree, the cadre assigned that category, then the
ward's default cadre for the family, then the ward's leader, its other
leaders, and last the city leaders.  Official-conduct complaints never go to
a cadre: their chain is the ward's conduct leader, then the ward's leaders
(and the city leaders above them) — or only the city leaders when the
complaint concerns the ward's leadership itself, so it never reaches a
leader it concerns.

The first candidate who *can act* gets it: still in the chart and active, and
reachable on the channel (`Reach`: bound to an account that the channel does
not refuse).  Those passed over are kept in ``Route.skipped`` with the reason,
so the ward leader can be told at once.  When nobody on the chain can act,
the first active candidate (or, failing that, the first at all) still owns
it: a complaint is never left unowned, and the leaders hear of the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.orgchart import AreaKind, Family, OrgChart, Role, StaffMember


class RouteReason(StrEnum):
    ASSIGNED = "assigned"
    FAMILY_DEFAULT = "family_default"
    WARD_LEADER = "ward_leader"
    CONDUCT_LEADER = "conduct_leader"
    CITY_LEADER = "city_leader"


class OwnerProblem(StrEnum):
    """Why someone cannot own a complaint now."""

    REMOVED = "removed"  # no longer in the org chart
    DEACTIVATED = "deactivated"
    NOT_JOINED = "not_joined"  # no chat account bound to the staff record yet
    BLOCKED = "blocked"  # the channel refuses: blocked the bot, never opened it, abuse list
    NOT_ELIGIBLE = "not_eligible"  # the chart no longer lets them own it (another ward, a cadre
    # holding a conduct complaint, a leader it concerns)


@dataclass(frozen=True)
class Reach:
    """Which staff the channel can reach now.  ``bound``: staff with a chat
    account; ``refused``: of those, the ones the channel refuses.  ``everyone``
    stands for "assume everyone active is reachable" (the chart check, which
    asks what the chart itself says)."""

    bound: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    everyone: bool = False

    @classmethod
    def assumed(cls) -> Reach:
        return cls(everyone=True)


def problem(chart: OrgChart, reach: Reach, staff_id: str) -> OwnerProblem | None:
    """Why this staff member cannot be given a task now, or None."""
    member = chart.staff.get(staff_id)
    if member is None:
        return OwnerProblem.REMOVED
    if not member.active:
        return OwnerProblem.DEACTIVATED
    if reach.everyone:
        return None
    if staff_id not in reach.bound:
        return OwnerProblem.NOT_JOINED
    if staff_id in reach.refused:
        return OwnerProblem.BLOCKED
    return None


@dataclass(frozen=True)
class Route:
    owner: str
    ward: str
    reason: RouteReason
    # Who was passed over, first to last, and why: the first is the person
    # the complaint belongs to by the chart.
    skipped: tuple[tuple[str, OwnerProblem], ...] = ()

    @property
    def fallback_from(self) -> str | None:
        return self.skipped[0][0] if self.skipped else None


class RoutingError(Exception):
    """The area or category is not in the org chart (a bug or a stale draft)."""


Chain = list[tuple[str, RouteReason]]


def leads_ward(member: StaffMember, ward: str) -> bool:
    return member.has_role(Role.WARD_LEADER) and ward in member.wards


def _unique(chain: Chain) -> Chain:
    seen: set[str] = set()
    out: Chain = []
    for staff_id, reason in chain:
        if staff_id and staff_id not in seen:
            seen.add(staff_id)
            out.append((staff_id, reason))
    return out


def leaders_chain(chart: OrgChart, ward: str) -> Chain:
    """The ward's leader, its other leaders, then the city leaders."""
    policy = chart.wards.get(ward)
    chain: Chain = [(policy.leader, RouteReason.WARD_LEADER)] if policy else []
    chain += [(s.id, RouteReason.WARD_LEADER) for s in chart.staff.values() if leads_ward(s, ward)]
    chain += [(s.id, RouteReason.CITY_LEADER) for s in chart.city_leaders()]
    return _unique(chain)


def conduct_chain(chart: OrgChart, ward: str, *, concerns_leadership: bool) -> Chain:
    """Who may own a complaint about an official: the ward's conduct leader
    and leaders, then the city leaders; about the ward's leadership, the city
    leaders only, minus any who also lead that ward."""
    if concerns_leadership:
        return _unique(
            [
                (s.id, RouteReason.CITY_LEADER)
                for s in chart.city_leaders()
                if not leads_ward(s, ward)
            ]
        )
    policy = chart.wards.get(ward)
    chain: Chain = [(policy.conduct_leader, RouteReason.CONDUCT_LEADER)] if policy else []
    chain += [(lid, reason) for lid, reason in leaders_chain(chart, ward)]
    return _unique(chain)


def chain(chart: OrgChart, area: str, category: str, *, concerns_leadership: bool = False) -> Chain:
    """Every candidate owner of a complaint in ``area`` about ``category``,
    in the order routing tries them."""
    if area not in chart.areas:
        raise RoutingError(f"unknown area {area!r}")
    if category not in chart.categories:
        raise RoutingError(f"unknown category {category!r}")
    ward = chart.ward_of(area)
    if ward is None or ward not in chart.wards:
        raise RoutingError(f"area {area!r} is not inside a ward")
    family = chart.categories[category].family
    if family is Family.OFFICIAL_CONDUCT:
        return conduct_chain(chart, ward, concerns_leadership=concerns_leadership)
    found: Chain = []
    for node in chart.ancestors(area):
        owner = chart.assignments.get((node.code, category))
        if owner is not None:
            found.append((owner, RouteReason.ASSIGNED))
        if node.kind is AreaKind.WARD:
            break
    default = chart.family_defaults.get((ward, family))
    if default is not None:
        found.append((default, RouteReason.FAMILY_DEFAULT))
    return _unique(found + leaders_chain(chart, ward))


def first_able(chart: OrgChart, reach: Reach, candidates: Chain) -> Route | None:
    """The first candidate who can act, with those passed over; None if nobody can."""
    skipped: list[tuple[str, OwnerProblem]] = []
    for staff_id, reason in candidates:
        why = problem(chart, reach, staff_id)
        if why is None:
            return Route(staff_id, "", reason, tuple(skipped))
        skipped.append((staff_id, why))
    return None


def route(
    chart: OrgChart,
    area: str,
    category: str,
    *,
    concerns_leadership: bool = False,
    reach: Reach | None = None,
) -> Route:
    """The owner of a new (or moving) complaint; see the module's docstring."""
    candidates = chain(chart, area, category, concerns_leadership=concerns_leadership)
    ward = chart.ward_of(area)
    assert ward is not None  # chain() checked it
    found = first_able(chart, reach or Reach.assumed(), candidates)
    if found is None:
        # Nobody can act: the first active candidate (the leaders hear of
        # the gap as soon as anyone can be reached) ...
        found = first_able(chart, Reach.assumed(), candidates)
        if found is not None:
            found = Route(found.owner, "", found.reason)
    if found is None:
        # ... or, with nobody active at all (or no city leader for a
        # complaint about the ward's leadership), the chain's first, else
        # the ward's conduct leader: never nobody.
        first = (
            candidates[0]
            if candidates
            else (
                chart.wards[ward].conduct_leader,
                RouteReason.CONDUCT_LEADER,
            )
        )
        found = Route(first[0], "", first[1])
    return Route(found.owner, ward, found.reason, found.skipped)
