"""Who may do what to a complaint.  Every button press and command goes
through `authorize`; the handlers never decide this themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.complaints import ACTION_PARTY, Action, Complaint, Party, next_state
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


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # also used when the actor may not even know it exists
    NOT_ALLOWED = "not_allowed"
    WRONG_STATE = "wrong_state"


def can_handle(actor: Actor, complaint: Complaint) -> bool:
    """The owner, a leader of the complaint's ward, or a city leader.  A ward
    leader may not handle a complaint about the ward's own leadership."""
    staff = actor.staff
    if staff is None:
        return False
    if staff.id == complaint.owner:
        return True
    if staff.has_role(Role.CITY_LEADER):
        return True
    leads_ward = staff.has_role(Role.WARD_LEADER) and complaint.ward in staff.wards
    if complaint.family is Family.OFFICIAL_CONDUCT and complaint.concerns_leadership:
        return False
    return leads_ward


def can_lead(actor: Actor, complaint: Complaint) -> bool:
    """A leader above the task: the ward's leaders (except for complaints
    about the ward leadership itself) and the city leaders."""
    staff = actor.staff
    if staff is None:
        return False
    if staff.has_role(Role.CITY_LEADER):
        return True
    if complaint.family is Family.OFFICIAL_CONDUCT and complaint.concerns_leadership:
        return False
    return staff.has_role(Role.WARD_LEADER) and complaint.ward in staff.wards


def authorize(
    actor: Actor, action: Action, complaint: Complaint, reporter_id: int | None
) -> Refusal | None:
    """None when allowed; otherwise why not.  Someone with no business with
    the complaint gets NOT_FOUND, so a guessed code reveals nothing."""
    party = ACTION_PARTY[action]
    if party is Party.SYSTEM:
        return Refusal.NOT_ALLOWED
    if party is Party.RESIDENT:
        if reporter_id is None or reporter_id != actor.person_id:
            return Refusal.NOT_FOUND
    elif not can_handle(actor, complaint):
        return Refusal.NOT_FOUND if actor.staff is None else Refusal.NOT_ALLOWED
    elif party is Party.LEADER and not can_lead(actor, complaint):
        return Refusal.NOT_ALLOWED
    if next_state(complaint.state, action) is None:
        return Refusal.WRONG_STATE
    return None


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
        return Scope((asked,)) if asked in wards else None
    if not staff.has_role(Role.WARD_LEADER):
        return None
    mine = tuple(w for w in staff.wards if w in wards)
    if asked is None:
        return Scope(mine) if mine else None
    return Scope((asked,)) if asked in mine else None
