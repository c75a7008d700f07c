"""Complaints, their states as data, and the transitions allowed between them.

States are grouped the way FixMyStreet groups them: *open* (someone must act),
*resolved* (the cadre says it is fixed; the resident has not confirmed yet)
and *closed* (nothing more will happen).  The transition table below is the
only place that says which action may move a complaint from which state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.orgchart import Family, GeoPoint


class StateGroup(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class State(StrEnum):
    SUBMITTED = "submitted"  # routed; waiting for the owner to acknowledge
    ACKNOWLEDGED = "acknowledged"  # the owner is on it
    REOPENED = "reopened"  # the resident said "not fixed"
    RESOLVED = "resolved"  # the owner reported it fixed; waiting for the resident
    CONFIRMED = "confirmed"  # the resident confirmed the fix
    CLOSED_UNCONFIRMED = "closed_unconfirmed"  # resolved; the resident never answered
    REJECTED = "rejected"  # duplicate, not the ward's remit, or abusive; with a reason
    WITHDRAWN = "withdrawn"  # the resident took it back

    @property
    def group(self) -> StateGroup:
        return STATE_GROUPS[self]

    @property
    def is_open(self) -> bool:
        return self.group is StateGroup.OPEN


STATE_GROUPS: dict[State, StateGroup] = {
    State.SUBMITTED: StateGroup.OPEN,
    State.ACKNOWLEDGED: StateGroup.OPEN,
    State.REOPENED: StateGroup.OPEN,
    State.RESOLVED: StateGroup.RESOLVED,
    State.CONFIRMED: StateGroup.CLOSED,
    State.CLOSED_UNCONFIRMED: StateGroup.CLOSED,
    State.REJECTED: StateGroup.CLOSED,
    State.WITHDRAWN: StateGroup.CLOSED,
}

OPEN_STATES = frozenset(s for s, g in STATE_GROUPS.items() if g is StateGroup.OPEN)


class Action(StrEnum):
    FILE = "file"
    ACKNOWLEDGE = "acknowledge"
    TRANSFER = "transfer"
    REJECT = "reject"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    WITHDRAW = "withdraw"
    RATE = "rate"
    REASSIGN = "reassign"  # a leader gives the task to another cadre
    EXTEND = "extend"  # a leader moves the resolve deadline, with a reason
    ASK_INFO = "ask_info"  # the owner asks the resident a question; the clock pauses
    ANSWER_INFO = "answer_info"  # the resident answers; the clock runs again
    RESUME = "resume"  # the resident did not answer in time; the clock runs again
    AUTO_CLOSE = "auto_close"  # resolved and never confirmed nor disputed
    REPLY = "reply"  # the owner sends the resident a short message
    # A follower says "fixed" while the reporter may still answer: noted (the
    # owner told); should the reporter stay silent, it closes confirmed.
    FOLLOWER_CONFIRM = "follower_confirm"
    CONFIRM_BY_FOLLOWER = "confirm_by_follower"  # closed confirmed on a follower's word


# (from, action) -> to.  ``None`` as "from" is the moment of filing.
TRANSITIONS: dict[tuple[State | None, Action], State] = {
    (None, Action.FILE): State.SUBMITTED,
    (State.SUBMITTED, Action.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.REOPENED, Action.ACKNOWLEDGE): State.ACKNOWLEDGED,
    **{(s, Action.TRANSFER): State.SUBMITTED for s in OPEN_STATES},
    **{(s, Action.REJECT): State.REJECTED for s in OPEN_STATES},
    # A cadre may fix something without pressing "acknowledge" first.
    **{(s, Action.RESOLVE): State.RESOLVED for s in OPEN_STATES},
    **{(s, Action.WITHDRAW): State.WITHDRAWN for s in OPEN_STATES},
    (State.RESOLVED, Action.CONFIRM): State.CONFIRMED,
    (State.RESOLVED, Action.DISPUTE): State.REOPENED,
    # Rating does not move the state; it is allowed once the fix is confirmed.
    (State.CONFIRMED, Action.RATE): State.CONFIRMED,
    **{(s, Action.REASSIGN): State.SUBMITTED for s in OPEN_STATES},
    **{(s, Action.EXTEND): s for s in OPEN_STATES},
    **{(s, Action.ASK_INFO): s for s in OPEN_STATES},
    **{(s, Action.ANSWER_INFO): s for s in OPEN_STATES},
    **{(s, Action.RESUME): s for s in OPEN_STATES},
    **{(s, Action.REPLY): s for s in OPEN_STATES},
    (State.RESOLVED, Action.FOLLOWER_CONFIRM): State.RESOLVED,
    (State.RESOLVED, Action.AUTO_CLOSE): State.CLOSED_UNCONFIRMED,
    # The reporter silent past the wait, a follower said "fixed": the sweep
    # closes it as confirmed, on the follower's word.
    (State.RESOLVED, Action.CONFIRM_BY_FOLLOWER): State.CONFIRMED,
}


def next_state(current: State | None, action: Action) -> State | None:
    """The state after ``action``, or None if the action is not allowed now."""
    return TRANSITIONS.get((current, action))


class RejectReason(StrEnum):
    DUPLICATE = "duplicate"
    NOT_REMIT = "not_remit"
    ABUSIVE = "abusive"
    # A leader finds a complaint filed about an official is not about one:
    # the resident may file it again in the right category.
    NOT_CONDUCT = "not_conduct"


CODE_PREFIX = "PA-"
# A code as people write it in a chat: "PA-000123", "pa000123", "PA-123",
# also after "mã" and before a question mark or a polite particle
# ("PA-000123 ạ", "PA-000123?", "mã PA-000123 nhé").
_CODE_RE = re.compile(
    r"^\s*(?:m[ãa]\s+)?PA\s*-?\s*(\d{1,12})\s*[.?!]*\s*(?:(?:ạ|a|nhé|nhe|nha)\s*[.?!]*\s*)?$",
    re.IGNORECASE,
)


def format_code(complaint_id: int) -> str:
    """Tracking code: ``PA-`` and a zero-padded global sequence (at least six digits)."""
    return f"{CODE_PREFIX}{complaint_id:06d}"


def parse_code(text: str) -> int | None:
    """Accept ``PA-000123``, ``pa000123``, ``PA-123`` (also "mã PA-123 ạ?");
    anything else is None."""
    match = _CODE_RE.match(text)
    if not match:
        return None
    value = int(match.group(1))
    return value if value > 0 else None


@dataclass(frozen=True)
class Photo:
    """A photo of a complaint: the project's own copy, by its id in the
    media store (bytes kept once, with each channel's handle for them; see
    `bot.ports.MediaStore`), so it reaches a person on any channel."""

    media_id: int


@dataclass(frozen=True)
class Complaint:
    """A complaint's content and handling, without the reporter's identity
    (people are attached apart, so anonymity and deletion can come later)."""

    id: int
    category: str
    family: Family
    area: str
    ward: str
    state: State
    owner: str
    description: str
    created_at: datetime
    due_at: datetime
    landmark: str | None = None
    location: GeoPoint | None = None
    concerns_leadership: bool = False
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution_note: str | None = None
    rating: int | None = None
    version: int = 0
    photos: tuple[Photo, ...] = ()
    resolution_photos: tuple[Photo, ...] = ()
    # The two clocks and the sweep's bookmark (see bot/domain/reminders.py).
    clock_start: datetime | None = None
    ack_due_at: datetime | None = None
    urgent: bool = False
    paused_since: datetime | None = None
    swept_until: datetime | None = None
    next_action_at: datetime | None = None
    escalation_level: int = 0
    # Held by a fallback because the person the chart names could not act
    # (see bot/domain/owners.py): their staff id, until it goes back or the
    # fallback takes it on.
    fallback_from: str | None = None
    # When a follower said "fixed" to the current fix while the reporter
    # could still answer (see Action.FOLLOWER_CONFIRM).
    follower_confirmed_at: datetime | None = None

    @property
    def code(self) -> str:
        return format_code(self.id)


@dataclass(frozen=True)
class Event:
    """One line of a complaint's append-only history."""

    complaint_id: int
    at: datetime
    action: Action
    from_state: State | None
    to_state: State
    actor_person_id: int | None = None
    actor_staff_id: str | None = None
    note: str | None = None
    data: dict[str, str] = field(default_factory=dict)


def replay(events: Iterable[Event]) -> State | None:
    """The state the history leads to, checking every step is allowed: the
    stored state must always equal this."""
    state: State | None = None
    for event in events:
        if event.from_state != state or next_state(state, event.action) != event.to_state:
            raise ValueError(f"history breaks at {event.action} from {event.from_state}")
        state = event.to_state
    return state


@dataclass(frozen=True)
class Trail:
    """A complaint with its history, oldest event first."""

    complaint: Complaint
    events: tuple[Event, ...]
    reporter_id: int | None
