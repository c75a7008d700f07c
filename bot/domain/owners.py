"""Who may own a complaint, and whether its owner can act: one rule, used by
routing, transfer, reassign, the org import's reroute and the sweep.

* *Eligible* (the chart allows it): a complaint about an official only
  among the leaders of its conduct chain (`routing.conduct_chain`) — never a
  cadre, never a leader it concerns; any other complaint, the staff serving
  its ward, or a city leader.
* *Can act*: eligible, and reachable now (`routing.problem` is None).

Every open complaint has exactly one owner who can act, whenever anyone on
its chain can: `reconcile` finds the complaints where that is not so (their
owner left, was deactivated, blocked the bot, never joined, or is no longer
eligible) and where it is so again (a complaint held by a fallback while the
person the chart names could not be reached), and says where each goes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.complaints import Complaint, State
from bot.domain.orgchart import Family, OrgChart, Role
from bot.domain.routing import (
    Chain,
    OwnerProblem,
    Reach,
    Route,
    RouteReason,
    RoutingError,
    conduct_chain,
    first_able,
    leaders_chain,
    problem,
    route,
)


class Owned(Protocol):
    """What eligibility reads of a complaint (a `Complaint` or a sweep row)."""

    @property
    def ward(self) -> str: ...
    @property
    def family(self) -> Family: ...
    @property
    def concerns_leadership(self) -> bool: ...
    @property
    def owner(self) -> str: ...


def about_leadership(c: Owned) -> bool:
    """A complaint about the ward's own leadership: only the city handles it."""
    return c.family is Family.OFFICIAL_CONDUCT and c.concerns_leadership


def _conduct(chart: OrgChart, c: Owned) -> Chain:
    return conduct_chain(chart, c.ward, concerns_leadership=c.concerns_leadership)


def eligible_owners(chart: OrgChart, c: Owned) -> list[str]:
    """Everyone a leader may hand this complaint to, in routing's order:
    for an official-conduct complaint its conduct chain, otherwise the
    active staff serving its ward."""
    if c.family is Family.OFFICIAL_CONDUCT:
        ids = [staff_id for staff_id, _ in _conduct(chart, c)]
    else:
        ids = [s.id for s in chart.staff.values() if c.ward in s.wards]
    return [i for i in ids if i in chart.staff and chart.staff[i].active and chart.staff[i].roles]


def may_own(chart: OrgChart, c: Owned, staff_id: str) -> bool:
    """Whether the chart lets this person own the complaint at all (a city
    leader may own any complaint not about a ward's leadership they share)."""
    member = chart.staff.get(staff_id)
    if member is None or not member.active or not member.roles:
        return False
    if c.family is Family.OFFICIAL_CONDUCT:
        return any(staff_id == candidate for candidate, _ in _conduct(chart, c))
    return c.ward in member.wards or member.has_role(Role.CITY_LEADER)


def owner_problem(chart: OrgChart, reach: Reach, c: Owned) -> OwnerProblem | None:
    """Why the complaint's owner cannot act on it now, or None."""
    why = problem(chart, reach, c.owner)
    if why in (OwnerProblem.REMOVED, OwnerProblem.DEACTIVATED):
        return why
    if not may_own(chart, c, c.owner):
        return OwnerProblem.NOT_ELIGIBLE
    return why


def can_act(chart: OrgChart, reach: Reach, c: Owned) -> bool:
    return owner_problem(chart, reach, c) is None


def candidates(chart: OrgChart, reach: Reach, c: Owned, *, excluding: Collection[str]) -> list[str]:
    """Whom a reassign may offer: eligible, able to act now, and neither
    the present owner nor anyone in ``excluding`` (the leader reassigning)."""
    return [
        staff_id
        for staff_id in eligible_owners(chart, c)
        if staff_id != c.owner
        and staff_id not in excluding
        and problem(chart, reach, staff_id) is None
    ]


def handed_up(
    chart: OrgChart, reach: Reach, c: Owned, *, excluding: Collection[str]
) -> Route | None:
    """Where a task handed on "with a reason" goes: the first leader up its
    chain (its conduct chain, for a complaint about an official) who can act
    and is neither its owner nor in ``excluding``; None if there is nobody."""
    chain = (
        _conduct(chart, c) if c.family is Family.OFFICIAL_CONDUCT else leaders_chain(chart, c.ward)
    )
    others = [(i, r) for i, r in chain if i != c.owner and i not in excluding]
    found = first_able(chart, reach, others)
    return None if found is None else Route(found.owner, c.ward, found.reason)


def audience(
    chart: OrgChart,
    reach: Reach,
    ward: str,
    *,
    leadership: bool = False,
    excluding: Collection[str] = (),
) -> str | None:
    """Who is told about a ward's routing (a fallback, someone unreachable):
    its leader, or — when the leader cannot be reached either, or is the one
    it is about — the next level up, the first city leader who can be.  About
    the ward's own leadership, only the city.  None when there is nobody."""
    policy = chart.wards.get(ward)
    chain: Chain = []
    if policy is not None and not leadership:
        chain.append((policy.leader, RouteReason.WARD_LEADER))
    chain += [
        (s.id, RouteReason.CITY_LEADER)
        for s in chart.city_leaders()
        if not (leadership and s.has_role(Role.WARD_LEADER) and ward in s.wards)
    ]
    chain = [(i, r) for i, r in chain if i not in excluding]
    found = first_able(chart, reach, chain) or first_able(chart, Reach.assumed(), chain)
    return found.owner if found is not None else None


# ---- keeping every open complaint with someone who can act ---------------------------------


@dataclass(frozen=True)
class Move:
    """An open complaint that must change owner, where it goes, and why:
    ``why`` is what stopped its owner; None when it goes back to the person
    the chart names, who can act again."""

    complaint: Complaint
    route: Route
    why: OwnerProblem | None = None

    @property
    def subject(self) -> str:
        """Whom the move is about: the owner who could not act, or the one
        who can again."""
        return self.complaint.owner if self.why is not None else self.route.owner


@dataclass(frozen=True)
class Consequences:
    moves: tuple[Move, ...] = ()
    # Open complaints no owner can be found for: their group, ward or
    # category is gone.  Any of these refuses a whole chart.
    orphans: tuple[Complaint, ...] = ()
    reasons: Mapping[int, str] = field(default_factory=dict)


def reconcile(chart: OrgChart, reach: Reach, open_complaints: Iterable[Complaint]) -> Consequences:
    """Where each open complaint must go so that its owner can act: away
    from an owner who cannot, and back to the person the chart names once
    they can (if the fallback has not taken it on yet)."""
    moves: list[Move] = []
    orphans: list[Complaint] = []
    reasons: dict[int, str] = {}
    for c in open_complaints:
        try:
            routed = route(
                chart,
                c.area,
                c.category,
                concerns_leadership=c.concerns_leadership,
                reach=reach,
            )
        except RoutingError as exc:
            orphans.append(c)
            reasons[c.id] = str(exc)
            continue
        why = owner_problem(chart, reach, c)
        if why is not None:
            # Someone who cannot be reached keeps it only when nobody on
            # its chain can be either; someone gone from it never does.
            unreachable = why in (OwnerProblem.NOT_JOINED, OwnerProblem.BLOCKED)
            nobody_better = problem(chart, reach, routed.owner) is not None
            if routed.owner != c.owner and not (unreachable and nobody_better):
                moves.append(Move(c, routed, why))
        elif _back(c) and not routed.skipped and routed.owner != c.owner:
            moves.append(Move(c, routed))
    return Consequences(tuple(moves), tuple(orphans), reasons)


def _back(c: Complaint) -> bool:
    """Held by a fallback that has not acknowledged it yet."""
    return c.fallback_from is not None and c.state is State.SUBMITTED
