"""What the services need from the outside world, as Protocols.

Storage implements `Store`; a channel implements nothing here — it calls
the services and drains the outbox.  Keeping these small lets a second
channel (Zalo) reuse the services unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from bot.domain.channels import Account as Account  # an account on a channel, re-exported
from bot.domain.complaints import Action, Complaint, Event, Photo, State
from bot.domain.conversation import ConversationState
from bot.domain.digest import Counts, Dimension, Outcome, Overdue, Period, Sighting, Timing
from bot.domain.following import Box as Box  # where to look for the same problem
from bot.domain.open311 import RequestQuery
from bot.domain.orgchart import Family, GeoPoint, OrgChart
from bot.domain.reminders import ClockState
from bot.domain.routing import Reach


@dataclass(frozen=True)
class Person:
    """One person, whatever channels they write from.  ``accounts`` come in
    the order messages would try them: the reachable ones first, the one
    the person used last first among those."""

    id: int
    display_name: str | None = None
    language: str = "vi"
    accounts: tuple[Account, ...] = ()

    @property
    def account(self) -> Account | None:
        """Where a message to this person goes now (None: they have no account left)."""
        return self.accounts[0] if self.accounts else None

    def on(self, channel: str) -> tuple[Account, ...]:
        """Their accounts on one channel."""
        return tuple(a for a in self.accounts if a.channel == channel)


class AccountReach(NamedTuple):
    """What marking an account reachable or not did to its person: whether
    any of their accounts could be reached before and after (``person_id``
    None: no such account)."""

    person_id: int | None
    before: bool = False
    after: bool = False

    @property
    def changed(self) -> bool:
        return self.person_id is not None and self.before != self.after


@dataclass(frozen=True)
class Identity:
    """Who wrote, as one look-up finds them: the person, the staff record
    their account is bound to, and whether they are on the abuse list."""

    person: Person
    staff_id: str | None = None
    blocked: bool = False
    # The person had been unreachable (blocked the bot on every channel, say)
    # and has just written again: the bot can reach them once more.
    returned: bool = False


@dataclass(frozen=True)
class Invite:
    """A one-time link that binds a chat account to a staff record.  Only
    the token's hash is stored."""

    token_hash: str
    staff_id: str
    role: str
    created_at: datetime
    expires_at: datetime
    created_by: str
    used_at: datetime | None = None
    used_by: int | None = None
    # May take the staff record over from the account that holds it (only
    # the command line mints these: `phananh invite --rebind`).
    rebind: bool = False
    # Adds the account that uses it to the person who holds the record,
    # beside their other accounts (`phananh invite --add`; command line only).
    adds_account: bool = False


class InviteUse(StrEnum):
    """What opening an invite did."""

    BOUND = "bound"
    ADDED = "added"  # the account joined the person who holds the record
    SPENT = "spent"  # someone opened it first
    TAKEN = "taken"  # the record is another account's, and the invite may not rebind it


# The key, in a complaint event's data, of the operator whose change to the
# chart (from the command line) moved the complaint: such an event has no
# person or staff as its actor.
OPERATOR = "by"


class AdminAction(StrEnum):
    """What an operator did from the command line (the admin log)."""

    ORG_IMPORT = "org_import"
    STAFF_DEACTIVATE = "staff_deactivate"
    PEOPLE_BLOCK = "people_block"
    PEOPLE_UNBLOCK = "people_unblock"


@dataclass(frozen=True)
class AdminEntry:
    """One line of the admin log: who (``actor``: the OS user, or the name
    given with --by) did what, to whom or what, when.  ``accounts`` are
    filled in when read: the person's accounts as they are now (none after
    a /forget)."""

    at: datetime
    actor: str
    action: AdminAction
    subject: str = ""
    person_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A message the bot will send on its own initiative (an outbox row).
    Exactly one of ``person_id`` and ``staff_id`` names the recipient; a staff
    recipient is resolved to their bound account when sending, so a notice to
    someone who has not joined yet waits for them."""

    kind: str
    complaint_id: int | None = None
    person_id: int | None = None
    staff_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    # Not to be sent before this instant (a task card written at night waits
    # for the morning): the row's first attempt time, so the delivery simply
    # does not pick it up earlier.
    not_before: datetime | None = None
    # A resident's notice that the complaint's followers get too (issue 17):
    # one row each, written with this one from who follows it then, its
    # payload marked "follower".
    followers: bool = False


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    complaint_id: int | None
    staff_id: str | None
    recipient: Person | None  # None: a staff member with no bound account yet
    payload: Mapping[str, Any]
    attempts: int
    # The account to send to: the one the recipient used last among those
    # that can be reached (``due_outbox`` hands out only rows that have one).
    account: Account | None = None
    # The parts of the row (photos, a pin, pieces of a long text) Telegram
    # already accepted: a retry sends only the others.
    parts_done: tuple[str, ...] = ()
    failing_since: datetime | None = None  # first failure that counts towards giving up


@dataclass(frozen=True)
class NewComplaint:
    category: str
    family: str
    area: str
    ward: str
    owner: str
    description: str
    created_at: datetime
    due_at: datetime
    ack_due_at: datetime | None = None
    next_action_at: datetime | None = None
    urgent: bool = False
    concerns_leadership: bool = False
    show_name: bool = False  # the resident let the cadre see their name
    landmark: str | None = None
    location: GeoPoint | None = None
    photos: Sequence[Photo] = ()
    fallback_from: str | None = None  # routed past this person: they could not act


# Complaint attributes a change may set.
CHANGEABLE = frozenset(
    {
        "state",
        "owner",
        "area",
        "ward",
        "category",
        "family",
        "due_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "resolution_note",
        "rating",
        "clock_start",
        "ack_due_at",
        "urgent",
        "paused_since",
        "swept_until",
        "next_action_at",
        "escalation_level",
        "fallback_from",
        "follower_confirmed_at",
    }
)
TIME_FIELDS = frozenset(
    {
        "due_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "clock_start",
        "ack_due_at",
        "paused_since",
        "swept_until",
        "next_action_at",
        "follower_confirmed_at",
    }
)


@dataclass(frozen=True)
class Change:
    """One state change, applied atomically with its event and notices —
    or not at all, if someone else changed the complaint first."""

    complaint_id: int
    expected_version: int
    fields: Mapping[str, Any]
    event: Event
    notices: Sequence[Notice] = ()
    photos: Sequence[tuple[str, Photo]] = ()  # (kind, photo): 'resolution' or 'dispute'
    end_conversation_of: int | None = None
    # Kinds of photo that stop being current with this change (a disputed
    # result's 'resolution' photos): kept, but no longer shown as its proof.
    supersede_photos: Sequence[str] = ()
    # A duplicate rejected: its reporter and followers follow this complaint
    # from now on (all but those already on it), written with the change.
    followers_to: int | None = None


class DueComplaint(NamedTuple):
    """A complaint whose next action has come, as the sweep decides about
    it: its clocks, where it is routed, and its reporter.  Only these
    columns are read, into a plain named tuple: a sweep may take a thousand
    rows at a time, and whole complaints would be ten times the work."""

    id: int
    category: str
    family: Family
    ward: str
    state: State
    owner: str
    concerns_leadership: bool
    created_at: datetime
    due_at: datetime
    clock_start: datetime | None
    ack_due_at: datetime | None
    resolved_at: datetime | None
    paused_since: datetime | None
    swept_until: datetime | None
    escalation_level: int
    reporter: int | None
    # When a follower last said "fixed" to the current fix (None: nobody).
    follower_confirmed_at: datetime | None = None
    # Who asked the question the clock waits on (None: no question waits).
    asked_by: str | None = None

    def clock(self) -> ClockState:
        """The timestamps the schedule depends on (as `Services.clock_state`)."""
        return ClockState(
            state=self.state,
            clock_start=self.clock_start or self.created_at,
            ack_due_at=self.ack_due_at or self.created_at,
            due_at=self.due_at,
            resolved_at=self.resolved_at,
            paused_since=self.paused_since,
        )


class OwnerGroup(NamedTuple):
    """Open complaints grouped by what decides whether their owner may hold
    them (owner, ward, family, about the ward's leadership): the owners'
    check reads these few rows, not a hundred thousand complaints."""

    owner: str
    ward: str
    family: Family
    concerns_leadership: bool
    open_count: int


class SweepUpdate(NamedTuple):
    """What the sweep changes on one complaint.  Bookkeeping alone (the
    bookmark, the next look, the escalation level) does not bump the version,
    so a cadre pressing a button at the same moment is not refused for it.
    (A named tuple: a sweep makes a thousand.)"""

    complaint_id: int
    fields: Mapping[str, Any]
    event: Event | None = None
    bump_version: bool = False


@dataclass(frozen=True)
class SweepWrites:
    updates: Sequence[SweepUpdate]
    notices: Sequence[Notice]


@dataclass(frozen=True)
class ButtonMessage:
    id: int
    chat_id: str
    message_id: str


class PeopleRepo(Protocol):
    """People, their accounts on channels, and the staff record a person is bound to."""

    async def upsert_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Person: ...
    async def identify_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Identity: ...
    async def get_person(self, person_id: int) -> Person | None: ...
    async def set_language(self, person_id: int, language: str) -> None: ...
    async def staff_of_person(self, person_id: int) -> str | None: ...
    async def person_of_staff(self, staff_id: str) -> Person | None: ...
    async def find_person(self, channel: str, external_id: str) -> Person | None: ...
    async def bind_staff(self, staff_id: str, person_id: int, at: datetime) -> None: ...
    async def reports_since(self, person_id: int, since: datetime) -> int: ...
    async def mark_reachable(self, account: Account) -> AccountReach: ...
    async def mark_unreachable(self, account: Account, at: datetime) -> AccountReach: ...


class ReachRepo(Protocol):
    """Who can act: the chart's version stamp and who the channel can reach."""

    async def roster_version(self) -> int: ...
    async def reach(self) -> Reach: ...
    async def open_owner_groups(self) -> list[OwnerGroup]: ...
    async def open_ids_to_check(self, groups: Sequence[OwnerGroup]) -> list[int]: ...
    async def apply_changes(
        self,
        changes: Sequence[Change],
        notices: Sequence[Notice],
        at: datetime,
        *,
        drop_pending_of: Sequence[str] = (),
        keep_kinds: Sequence[str] = (),
    ) -> bool: ...


class OrgRepo(Protocol):
    """The org chart, replaced as a whole and read back."""

    async def load_org(self) -> OrgChart | None: ...
    async def replace_org(
        self,
        chart: OrgChart,
        reroutes: Sequence[Change] = (),
        notices: Sequence[Notice] = (),
        at: datetime | None = None,
        audit: AdminEntry | None = None,
        *,
        drop_pending_of: Sequence[str] = (),
    ) -> bool: ...


class InviteRepo(Protocol):
    """One-time invites and the bindings they make."""

    async def create_invite(self, invite: Invite) -> None: ...
    async def get_invite(self, token_hash: str) -> Invite | None: ...
    async def use_invite(
        self,
        token_hash: str,
        person_id: int,
        at: datetime,
        tell_previous: Callable[[int], Notice],
    ) -> InviteUse: ...
    async def bound_staff(self) -> dict[str, Person]: ...


class ConversationRepo(Protocol):
    """One conversation per person."""

    async def load_conversation(self, person_id: int) -> ConversationState | None: ...
    async def save_conversation(
        self, person_id: int, state: ConversationState, at: datetime
    ) -> None: ...
    async def delete_conversation(self, person_id: int) -> None: ...


class ComplaintRepo(Protocol):
    """Complaints, their events, photos and reporters."""

    async def create_complaint(
        self,
        new: NewComplaint,
        reporter_id: int,
        event_at: datetime,
        notices: Sequence[Notice],
    ) -> Complaint: ...
    async def get_complaint(self, complaint_id: int) -> Complaint | None: ...
    async def get_complaints(self, ids: Sequence[int]) -> dict[int, Complaint]: ...
    async def reporter_of(self, complaint_id: int) -> int | None: ...
    async def apply_change(self, change: Change) -> bool: ...
    async def complaints_of_reporter(self, person_id: int) -> list[Complaint]: ...
    async def open_deadlines(self) -> list[tuple[str, int, datetime]]: ...
    async def open_tasks(
        self, *, owner: str | None = None, wards: Sequence[str] | None = None
    ) -> list[Complaint]: ...
    async def all_complaints(self) -> list[Complaint]: ...
    async def events_of(self, complaint_id: int) -> list[Event]: ...
    async def last_note(self, complaint_id: int, action: Action) -> str | None: ...
    async def reporter_identity(self, complaint_id: int) -> tuple[str | None, bool]: ...
    async def log_identity_access(self, complaint_id: int, staff_id: str, at: datetime) -> None: ...


class FollowerRepo(Protocol):
    """Residents who follow a complaint instead of filing it again (issue
    17): rows of ``complaint_people`` with the role 'follower', each with
    whether the cadre may see their name, as a reporter's."""

    async def follow(
        self, complaint_id: int, person_id: int, at: datetime, *, show_name: bool
    ) -> bool:
        """Follow it and end the person's draft, at once; False (nothing
        written) when they already report or follow it."""
        ...

    async def unfollow(self, complaint_id: int, person_id: int) -> bool:
        """False when they did not follow it (a reporter never stops)."""
        ...

    async def followers_of(self, complaint_id: int) -> list[int]:
        """Its followers' person ids, who came first first."""
        ...

    async def followed_by(self, person_id: int) -> list[Complaint]:
        """What this person follows, newest first."""
        ...

    async def follower_counts(self, complaint_ids: Sequence[int]) -> dict[int, int]:
        """How many follow each (those no one follows are left out)."""
        ...

    async def follower_names(self, complaint_id: int) -> list[str]:
        """The names of the followers who let staff see them, first first."""
        ...

    async def open_alike(
        self,
        category: str,
        since: datetime,
        person_id: int,
        *,
        area: str | None = None,
        box: Box | None = None,
    ) -> list[Complaint]:
        """Open complaints of ``category`` filed since ``since`` in ``area``
        or with a location inside ``box``, but those ``person_id`` reports
        or follows already."""
        ...


class PrivacyRepo(Protocol):
    """A person's own data, and its erasure."""

    async def person_data(self, person_id: int) -> dict[str, Any]: ...
    async def forget_person(self, person_id: int, at: datetime) -> None: ...


class UpdateLog(Protocol):
    """Updates a channel delivered, so none is handled twice."""

    async def claim_update(self, channel: str, update_id: str, at: datetime) -> bool: ...
    async def finish_update(self, channel: str, update_id: str, at: datetime) -> None: ...
    async def prune_updates(self, before: datetime) -> int: ...


class AdminRepo(Protocol):
    """The abuse list and the admin log."""

    async def set_blocked(
        self, person_id: int, reason: str | None, at: datetime, audit: AdminEntry | None = None
    ) -> None: ...
    async def is_blocked(self, person_id: int) -> bool: ...
    async def admin_log(self, limit: int) -> list[AdminEntry]: ...


class SweepRepo(Protocol):
    """The sweep's batches, things done once, and small settings."""

    async def sweep(
        self,
        now: datetime,
        limit: int,
        decide: Callable[[Sequence[DueComplaint]], SweepWrites],
        claimed: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Up to ``limit`` complaints due at ``now``, decided and written in
        one transaction: how many, and how many notices.  A store that can
        claim the next batch while this one is still being decided and
        written calls ``claimed`` with the number of rows it holds as soon
        as it holds them (PostgreSQL: they are locked, and the next claim
        skips them); one that cannot (SQLite: one writer) never calls it."""
        ...

    async def record_once(
        self, key: str, value: str, notices: Sequence[Notice], at: datetime
    ) -> bool: ...
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


class OutboxRepo(Protocol):
    """The outbox and the messages that carry buttons."""

    @property
    def outbox_changes(self) -> int:
        """Grows with every write that can give the outbox something new to send."""
        ...

    async def enqueue(self, notices: Sequence[Notice], at: datetime) -> None: ...
    async def due_outbox(
        self,
        now: datetime,
        limit: int,
        channel: str | None = None,
        per_person: int | None = None,
    ) -> list[OutboxItem]:
        """Pending rows whose time has come, oldest first; with
        ``per_person``, at most that many (the oldest) of one recipient's,
        so that a few rows each of many people fill ``limit`` rather than
        one person's long queue."""
        ...

    def claim_outbox(
        self, now: datetime, limit: int, channel: str, per_person: int | None = None
    ) -> AbstractAsyncContextManager[list[OutboxItem]]:
        """The rows due on ``channel`` (as `due_outbox`), claimed for the
        block: with several processes on one database, no other process
        sends to their recipients meanwhile, and the rows of a recipient
        another process is sending to are left to it."""
        ...

    async def hold_later(self, item_id: int, until: datetime) -> None:
        """Nothing of this row's recipient queued after it leaves before
        ``until`` (the row itself must wait: a 429, the network), claimed
        in this pass or not, so their messages keep their order."""
        ...

    async def mark_sent(self, item_id: int, at: datetime) -> None: ...
    async def mark_parts(
        self, item_id: int, parts_done: Sequence[str], at: datetime, *, finished: bool
    ) -> None: ...
    async def mark_failed(
        self, item_id: int, error: str, retry_at: datetime, failed_at: datetime | None = None
    ) -> None: ...
    async def give_up(self, item_id: int, error: str, at: datetime) -> None: ...
    async def outbox_counts(self) -> tuple[int, int]: ...
    async def remember_buttons(
        self, complaint_id: int, person_id: int, chat_id: str, message_id: str, at: datetime
    ) -> None: ...
    async def open_button_messages(
        self, complaint_id: int, person_id: int | None = None
    ) -> list[ButtonMessage]: ...
    async def clear_button_message(self, button_id: int, at: datetime) -> None: ...


@dataclass(frozen=True)
class StoredMedia:
    """A media row's bytes and their type."""

    content: bytes
    mime: str


class MediaStore(Protocol):
    """Photos (and other files people send) as the project's own: bytes kept
    once per content, by their SHA-256, and each channel's handle for them
    (Telegram's file_id) cached beside them."""

    async def put_media(self, sha256: str, content: bytes, mime: str, at: datetime) -> int:
        """The media id for these bytes: a new row, or the row that already
        holds the same bytes."""
        ...

    async def adopt_media_ref(self, channel: str, ref: str, mime: str, at: datetime) -> int:
        """The media id a channel's handle names; a row without bytes is
        made for a handle never seen (a photo kept before bytes were)."""
        ...

    async def media_of_ref(self, channel: str, ref: str) -> int | None: ...
    async def media_content(self, media_id: int) -> StoredMedia | None: ...
    async def media_refs(self, media_ids: Sequence[int], channel: str) -> dict[int, str]:
        """Each media's newest handle on ``channel``, for those that have one."""
        ...

    async def remember_media_ref(
        self, media_id: int, channel: str, ref: str, at: datetime
    ) -> None: ...


class Store(
    PeopleRepo,
    ReachRepo,
    OrgRepo,
    InviteRepo,
    ConversationRepo,
    ComplaintRepo,
    FollowerRepo,
    PrivacyRepo,
    UpdateLog,
    AdminRepo,
    SweepRepo,
    OutboxRepo,
    MediaStore,
    Protocol,
):
    """Every repository the use cases need; an engine implements them all
    (storage/sqlite/store.py).  A use case that needs one aggregate can
    name its small protocol instead."""


class ChannelLinks(Protocol):
    """What a channel prints for a person to reach the bot: the command
    line's invites, the posters.  ``channel``: its name; ``bot``: how people
    find the bot there (Telegram's @username, the Zalo bot's link)."""

    @property
    def channel(self) -> str: ...
    @property
    def bot(self) -> str: ...

    def invite(self, code: str) -> str:
        """What opens the invite ``code``: a link, or the text to send the bot."""
        ...

    def start_report(self, area_code: str) -> str | None:
        """A link that starts a report in that area, or None where the
        channel has none (Zalo: the poster prints the area's code to type)."""
        ...


class DigestStore(Protocol):
    """The digest's aggregates (``storage/sqlite/digest.py``): each implements the
    definitions of ``bot/domain/digest.py`` in the database.  ``leadership``
    False: without the complaints about a ward's own leadership (a ward's
    own view, `Scope.leadership`)."""

    async def tally(
        self,
        period: Period,
        wards: Sequence[str],
        dimensions: Sequence[Dimension],
        *,
        leadership: bool = True,
    ) -> dict[Dimension, dict[str, Counts]]: ...
    async def timing(
        self,
        period: Period,
        wards: Sequence[str],
        dimension: Dimension = Dimension.SCOPE,
        *,
        leadership: bool = True,
    ) -> dict[str, Timing]: ...
    async def oldest_overdue(
        self, at: datetime, wards: Sequence[str], limit: int, *, leadership: bool = True
    ) -> list[Overdue]: ...
    async def trend(
        self, weeks: Sequence[Period], wards: Sequence[str], *, leadership: bool = True
    ) -> list[tuple[int, int]]: ...
    async def sightings(
        self, start: datetime, end: datetime, wards: Sequence[str], *, leadership: bool = True
    ) -> list[Sighting]: ...
    async def counted(
        self, period: Period, wards: Sequence[str], *, leadership: bool = True
    ) -> list[tuple[Complaint, Outcome]]: ...
    async def shown_reporters(self, complaint_ids: Sequence[int]) -> dict[int, str]: ...
    async def record_run(self, week: str, notices: Sequence[Notice], at: datetime) -> bool: ...
    async def has_run(self, week: str | None = None) -> bool: ...


# ---- channels (the runtime's side: bot/runtime.py) --------------------------------------------


class Channel(Protocol):
    """One messenger, as the runtime drives it: started after the use
    cases, stopped before them, and asked by the scheduler to send what the
    outbox holds for it.  Receiving (long polling, a webhook route on the
    bot's HTTP server) is the channel's own business between `start` and
    `stop`."""

    name: str

    @property
    def links(self) -> ChannelLinks: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def flush(self) -> None:
        """Send what the outbox has for this channel (due rows, retries)."""
        ...

    async def closed(self) -> None:
        """Returns once the channel stopped receiving: after `stop`, or
        with the error that ended its receiving on its own (a token the
        messenger no longer accepts, say), which stops the bot."""
        ...


@dataclass(frozen=True)
class Menu:
    """A person's last numbered list on a channel without buttons: each
    choice as plain strings (``("task", "resolve", "12")``, ``("command",
    "new")``: the channel reads them), whether it came after the question
    of a conversation under way (then a number means the list), and when it
    was shown (a number typed before that cannot mean it)."""

    channel: str
    items: tuple[tuple[str, ...], ...]
    over_prompt: bool = True
    shown_at: datetime | None = None


@dataclass(frozen=True)
class StoredUpdate:
    """An update as the inbox keeps it: the channel's id, the body as it
    came, and when it was stored (by then the person had typed it)."""

    update_id: str
    payload: str
    received_at: datetime


class MenuStore(Protocol):
    """Each person's last numbered list (storage/sqlite/menus.py)."""

    async def remember_menu(
        self, person_id: int, channel: str, items: Sequence[Sequence[str]], at: datetime
    ) -> None:
        """The list just shown (after anything else: it is over any question)."""
        ...

    async def menu_of(self, person_id: int) -> Menu | None: ...
    async def prompt_shown(self, person_id: int) -> None:
        """A question was shown after the list: a number answers the question."""
        ...


@dataclass(frozen=True)
class ApiKey:
    """An integration's key to Open311 (`phananh apikey`), as listed: its
    name and dates; the key itself is never kept, only its hash."""

    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class Published:
    """A complaint as Open311 may show it (bot/app/open311.py): the
    complaint, when it last changed, and the last note the office addressed
    to the resident."""

    complaint: Complaint
    updated_at: datetime
    note: str | None = None


class Open311Store(Protocol):
    """The integrations' keys, the reporters who came through them, and the
    complaints Open311 publishes (storage/sqlite/open311.py)."""

    async def add_key(self, name: str, key_hash: str, at: datetime) -> bool:
        """False: a key of that name is in use (a revoked one is replaced)."""
        ...

    async def revoke_key(self, name: str, at: datetime) -> bool:
        """False: no key of that name in use."""
        ...

    async def api_keys(self) -> list[ApiKey]: ...
    async def key_holder(self, key_hash: str, at: datetime) -> str | None:
        """The name of the key in use with this hash (its use recorded), or None."""
        ...

    async def add_reporter(
        self, key: str, phone: str | None, email: str | None, language: str, at: datetime
    ) -> int:
        """A person with no account for one POSTed request, and their contact."""
        ...

    async def drop_reporter(self, person_id: int) -> None:
        """Forget a reporter whose request was not filed after all (their
        contact is kept for nothing); one with a complaint stays."""
        ...

    async def reporters_since(self, key: str, since: datetime) -> int:
        """How many requests the key named ``key`` POSTed from ``since`` on."""
        ...

    async def contact_of(self, person_id: int) -> tuple[str | None, str | None] | None:
        """The (phone, e-mail) a platform gave for a reporter; None: not one of theirs."""
        ...

    async def published(self, query: RequestQuery) -> list[Published]:
        """The complaints the query asks for that may be published, newest first."""
        ...


class WebStore(Protocol):
    """The leaders' dashboard's one-time sign-in links and the sessions they
    start (storage/sqlite/web.py), both kept by the SHA-256 of their token."""

    async def add_signin(
        self, token_hash: str, staff_id: str, at: datetime, expires_at: datetime
    ) -> None:
        """A new sign-in link (links long expired are cleared on the way)."""
        ...

    async def open_session(
        self, token_hash: str, session_hash: str, at: datetime, expires_at: datetime
    ) -> str | None:
        """Use a sign-in link once and start a session for its staff member,
        in one transaction: their staff id, or None when the link is unknown,
        used or expired (then nothing changes)."""
        ...

    async def session_staff(self, session_hash: str, at: datetime) -> str | None:
        """The staff id of a session that has not ended or expired at ``at``."""
        ...

    async def end_session(self, session_hash: str, at: datetime) -> bool: ...
    async def end_sessions_of(self, staff_id: str, at: datetime) -> int:
        """End every session of a staff member (and their unused links): how many."""
        ...


class SharedPace(Protocol):
    """A channel's send rate kept by every bot process on the database
    together (storage/postgres/pace.py); None where one process sends alone
    (SQLite)."""

    async def slot(self, bucket: str, gap: float) -> float:
        """Reserve the bucket's next slot — ``gap`` seconds after the one
        before it, and not before now — and return the seconds until it."""
        ...

    async def hold(self, bucket: str, seconds: float) -> None:
        """No slot of the bucket before ``seconds`` from now (the platform
        said to slow down)."""
        ...


class Lead(Protocol):
    """This process leads something only one process may do at a time."""

    @property
    def lost(self) -> asyncio.Event:
        """Set when the lead is lost (the database connection that holds it
        died): another process may lead by now."""
        ...

    async def release(self) -> None: ...


class Leadership(Protocol):
    """Which process does what only one may do at a time — long polling a
    messenger, which hands each update to whoever asks first — among the
    bot processes on one database (storage/postgres/leader.py)."""

    async def acquire(self, name: str) -> Lead:
        """Wait until this process leads ``name`` (at once when nobody does;
        else when the process that does stops or dies)."""
        ...


class UpdateInbox(Protocol):
    """A channel's updates, stored (and committed) before the platform is
    answered 200 — or, polling, before they are handled — and deleted once
    handled (storage/sqlite/inbox.py, storage/postgres/inbox.py).  Each row
    names its chat: a chat's rows are handled one after the other, in the
    order they were stored, by the one process holding the chat's `turn`
    (bot/app/inbox.py)."""

    @property
    def turns(self) -> int:
        """How many chats this process may work on at once (on PostgreSQL,
        each turn holds a connection of its own)."""
        ...

    async def put(self, update_id: str, payload: str, at: datetime, chat: str = "") -> bool:
        """False when it is stored already (sent again before our answer)."""
        ...

    async def backlog(self) -> list[tuple[str, str]]:
        """Every stored update (id, payload), in the order they were stored."""
        ...

    async def waiting_chats(self) -> list[str]:
        """The chats with stored updates, the one waiting longest first."""
        ...

    async def next_of(self, chat: str) -> StoredUpdate | None:
        """The chat's oldest stored update, if any."""
        ...

    def turn(self, chat: str) -> AbstractAsyncContextManager[bool]:
        """The chat's turn, for the block: True when this process holds it
        (another process handles none of the chat's updates meanwhile),
        False when another process holds it now."""
        ...

    async def done(self, update_id: str) -> None: ...


# ---- what the operators watch (bot/metrics.py) ------------------------------------------------


class Observer(Protocol):
    """What the use cases tell the operators' metrics (bot/metrics.py
    implements it with Prometheus; the use cases never import it).  Every
    argument is a name from a fixed list — a channel, a notice kind —
    never a person, a text or a code."""

    def delivered(self, channel: str, kind: str) -> None:
        """An outbox row of ``kind`` was delivered whole on ``channel``."""
        ...


class NoObserver:
    """Nobody watching: the command line, and the use cases built alone."""

    def delivered(self, channel: str, kind: str) -> None:
        return None


@dataclass(frozen=True)
class OutboxBacklog:
    """The outbox's rows not sent and not given up: all of them, those due
    now, and when the oldest of those due was written (None: none due)."""

    pending: int
    due: int
    oldest_due: datetime | None


@dataclass(frozen=True)
class WardLoad:
    """One ward's complaints that are not closed: by state group (``open``,
    ``resolved``) and, of the open ones, how many are past their deadline."""

    ward: str
    groups: Mapping[str, int]
    overdue: int


class HealthStore(Protocol):
    """The few cheap reads the health checks and the metrics make at scrape
    time (storage/sqlite/health.py, storage/postgres/health.py)."""

    async def ping(self) -> None:
        """One round trip; raises when the database does not answer."""
        ...

    async def outbox_backlog(self, now: datetime) -> OutboxBacklog: ...

    async def ward_load(self, now: datetime) -> list[WardLoad]:
        """Every ward with a complaint not closed, by ward."""
        ...
