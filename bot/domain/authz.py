"""Who may do what: one table, role × action × scope.

Every button press and command goes through `authorize` (actions on a
complaint) or `may_use` (commands); the handlers never decide this
themselves.  A person's *relation* to a complaint is worked out once
(reporter, owner, leader of its ward, city leader, or nobody), and the table
says which relations may take which action.  Someone with no business with a
complaint is told it was not found, so a guessed code reveals nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.complaints import Action, Complaint, next_state
from bot.domain.digest import Scope
from bot.domain.orgchart import Family, Role, StaffMember


@dataclass(frozen=True)
class Actor:
    """A person as the bot knows them: always a person, sometimes staff too."""

    person_id: int
    language: str = "vi"
    staff: StaffMember | None = None

    def has_role(self, role: Role) -> bool:
        return self.staff is not None and self.staff.has_role(role)

    @property
    def is_leader(self) -> bool:
        return self.has_role(Role.WARD_LEADER) or self.has_role(Role.CITY_LEADER)


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # also used when the actor may not even know it exists
    NOT_ALLOWED = "not_allowed"
    WRONG_STATE = "wrong_state"


class Relation(StrEnum):
    """How a person stands to one complaint."""

    REPORTER = "reporter"
    FOLLOWER = "follower"  # follows another resident's report of the same problem
    OWNER = "owner"  # the cadre (or leader) the task is with
    WARD_LEADER = "ward_leader"  # a leader of the complaint's ward
    CITY_LEADER = "city_leader"
    STAFF = "staff"  # staff with no business with this complaint
    STRANGER = "stranger"  # anyone else


HANDLERS = frozenset({Relation.OWNER, Relation.WARD_LEADER, Relation.CITY_LEADER})
LEADERS = frozenset({Relation.WARD_LEADER, Relation.CITY_LEADER})
RESIDENT = frozenset({Relation.REPORTER})
# Whoever reported the problem, first or again (issue 17): a follower hears
# what the reporter hears and may say whether it is fixed.
NEIGHBOURS = frozenset({Relation.REPORTER, Relation.FOLLOWER})

# The table.  An action not listed is taken by the system only (the sweep).
PERMISSIONS: dict[Action, frozenset[Relation]] = {
    Action.FILE: RESIDENT,
    Action.ACKNOWLEDGE: HANDLERS,
    Action.TRANSFER: HANDLERS,
    Action.REJECT: HANDLERS,
    Action.RESOLVE: HANDLERS,
    Action.ASK_INFO: HANDLERS,
    Action.REPLY: HANDLERS,
    Action.REASSIGN: LEADERS,
    Action.EXTEND: LEADERS,
    Action.CONFIRM: NEIGHBOURS,
    Action.DISPUTE: NEIGHBOURS,
    Action.FOLLOWER_CONFIRM: frozenset({Relation.FOLLOWER}),
    Action.WITHDRAW: RESIDENT,
    Action.RATE: RESIDENT,
    Action.ANSWER_INFO: RESIDENT,
}


class View(StrEnum):
    """What a person may read about a complaint without changing it."""

    HISTORY = "history"  # its audit log: every event, who acted, the notes


# Reading, by relation.  The history shows every step and note: the owner
# and the leaders who may see the complaint, as for handling it (a leader it
# concerns is no leader of it: see `relations`).
READS: dict[View, frozenset[Relation]] = {
    View.HISTORY: HANDLERS,
}

# Commands by role: None stands for everybody (residents included).
# ``RESIDENTS_ONLY`` are for people who are not staff: a staff member is
# deactivated by the ward office, never erased by /forget.
COMMAND_ROLES: dict[str, frozenset[Role] | None] = {
    "start": None,
    "new": None,
    "mine": None,
    "status": None,
    "withdraw": None,
    "unfollow": None,
    "cancel": None,
    "lang": None,
    "whoami": None,
    "mydata": None,
    "forget": None,
    "help": None,
    "tasks": frozenset(Role),
    "reassign": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),
    "extend": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),
    "invite": frozenset({Role.WARD_LEADER}),
    "digest": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),
    "stats": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),
    "export": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),
    "web": frozenset({Role.WARD_LEADER, Role.CITY_LEADER}),  # the dashboard's sign-in link
    "history": frozenset(Role),  # which complaints: READS
}
RESIDENTS_ONLY = frozenset({"forget"})


def relations(
    actor: Actor,
    complaint: Complaint,
    reporter_id: int | None,
    followers: Collection[int] = (),
) -> frozenset[Relation]:
    """Every way this person stands to this complaint (a cadre may also have
    reported it, or follow it).  A deactivated staff member counts as a resident.  A
    complaint about an official is handled by leaders only: a cadre holding
    one (old data, a bug) is not its owner, and a leader of the ward whose
    leadership it concerns has nothing to do with it at all."""
    found: set[Relation] = set()
    if reporter_id is not None and reporter_id == actor.person_id:
        found.add(Relation.REPORTER)
    elif actor.person_id in followers:
        found.add(Relation.FOLLOWER)
    staff = actor.staff
    if staff is None or not staff.active or _concerned(staff, complaint):
        # A leader it concerns learns no more than a stranger would.
        return frozenset(found or {Relation.STRANGER})
    if staff.id == complaint.owner and _may_hold(staff, complaint):
        found.add(Relation.OWNER)
    if staff.has_role(Role.CITY_LEADER):
        found.add(Relation.CITY_LEADER)
    if staff.has_role(Role.WARD_LEADER) and complaint.ward in staff.wards:
        found.add(Relation.WARD_LEADER)
    if not found - NEIGHBOURS:
        found.add(Relation.STAFF)
    return frozenset(found)


def _concerned(staff: StaffMember, complaint: Complaint) -> bool:
    """A leader of the ward whose leadership the complaint is about."""
    return (
        complaint.family is Family.OFFICIAL_CONDUCT
        and complaint.concerns_leadership
        and staff.has_role(Role.WARD_LEADER)
        and complaint.ward in staff.wards
    )


def _may_hold(staff: StaffMember, complaint: Complaint) -> bool:
    """Only a leader may hold a complaint about an official."""
    if complaint.family is not Family.OFFICIAL_CONDUCT:
        return True
    return staff.has_role(Role.CITY_LEADER) or (
        staff.has_role(Role.WARD_LEADER) and complaint.ward in staff.wards
    )


def can_handle(actor: Actor, complaint: Complaint) -> bool:
    return bool(relations(actor, complaint, None) & HANDLERS)


def can_lead(actor: Actor, complaint: Complaint) -> bool:
    return bool(relations(actor, complaint, None) & LEADERS)


def authorize(
    actor: Actor,
    action: Action,
    complaint: Complaint,
    reporter_id: int | None,
    followers: Collection[int] = (),
) -> Refusal | None:
    """None when allowed; otherwise why not.  Someone with no business with
    the complaint gets NOT_FOUND, so a guessed code reveals nothing."""
    mine = relations(actor, complaint, reporter_id, followers)
    allowed = PERMISSIONS.get(action, frozenset())
    if not mine & allowed:
        return _refusal(mine)
    if next_state(complaint.state, action) is None:
        return Refusal.WRONG_STATE
    return None


def may_read(
    actor: Actor, view: View, complaint: Complaint, reporter_id: int | None
) -> Refusal | None:
    """None when ``READS`` lets this person read that; otherwise why not,
    as for an action."""
    mine = relations(actor, complaint, reporter_id)
    return None if mine & READS[view] else _refusal(mine)


def _refusal(mine: frozenset[Relation]) -> Refusal:
    """Someone involved (or any staff) is told they may not; anyone else
    that the complaint was not found."""
    involved = mine & (HANDLERS | NEIGHBOURS)
    return Refusal.NOT_ALLOWED if involved or Relation.STAFF in mine else Refusal.NOT_FOUND


def may_use(actor: Actor, command: str) -> bool:
    if command in RESIDENTS_ONLY:
        return actor.staff is None
    roles = COMMAND_ROLES.get(command, frozenset())
    return roles is None or any(actor.has_role(role) for role in roles)


def report_scope(actor: Actor, wards: Sequence[str], asked: str | None = None) -> Scope | None:
    """Whose digest, counts and exports this person may see: a city leader
    the whole city (or any one ward), a ward leader their own wards (or one
    of them); anyone else nothing.  ``wards`` are the org chart's wards;
    ``asked`` a ward code the person named, if any."""
    staff = actor.staff
    if staff is None:
        return None
    if staff.has_role(Role.CITY_LEADER):
        if asked is None:
            return Scope(tuple(wards), whole_city=True)
        return Scope((asked,), by_city=True) if asked in wards else None
    if not staff.has_role(Role.WARD_LEADER):
        return None
    mine = tuple(w for w in staff.wards if w in wards)
    if asked is None:
        return Scope(mine) if mine else None
    return Scope((asked,)) if asked in mine else None
