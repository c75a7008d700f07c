"""Administration use cases: invites, deactivating staff, importing a changed
org chart as a diff, and checking the chart for gaps.

Used by the command line (a ward office's clerk) and by leaders in chat.
Everything that changes a complaint goes through the same events and outbox
as the rest of the bot, so notices written while the bot is stopped are sent
when it starts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.app.owners import Owners
from bot.app.services import Reply, Services
from bot.domain.authz import Actor
from bot.domain.complaints import Complaint
from bot.domain.messages import Text, text
from bot.domain.orgchart import Family, OrgChart, Role, StaffMember
from bot.domain.orgdiff import Consequences, OrgDiff, consequences, diff, lines
from bot.domain.places import upper_tier
from bot.domain.routing import OwnerProblem, Reach, RouteReason, leads_ward, problem, route
from bot.ports import AdminAction, AdminEntry, ChannelLinks, Invite, InviteUse, Notice

INVITE_TTL = timedelta(days=7)
# An invite's code as a person types it, or as Telegram's /start carries it.
INVITE_PREFIX = "i-"
AREA_PREFIX = "a-"
LEADER_NOTE = "leader_note"
DEACTIVATE = AdminAction.STAFF_DEACTIVATE
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,60}$")
# A typed code: "i-XXXX" (phones may capitalise the i) or the bare code.
_TYPED_CODE = re.compile(r"^(?:[iI]-)?([A-Za-z0-9_-]{16,60})$")


# Who may invite whom: a leader mints invites only for the roles below their own.
ROLE_RANK = {Role.CADRE: 0, Role.WARD_LEADER: 1, Role.CITY_LEADER: 2}


def _rank(roles: frozenset[Role] | set[Role]) -> int:
    return max((ROLE_RANK[role] for role in roles), default=-1)


class AdminError(Exception):
    """A refusal for the operator, named by a catalogue key."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class InviteLink:
    """A one-time invite: ``url`` is the link the channel it was asked for
    prints (`ChannelLinks.invite`); ``code`` is what to type instead, on
    any channel (the Zalo bot has no links that carry it)."""

    staff_id: str
    role: Role
    url: str
    token: str
    expires_at: Any

    @property
    def code(self) -> str:
        return INVITE_PREFIX + self.token


@dataclass(frozen=True)
class ImportPlan:
    chart: OrgChart
    diff: OrgDiff
    consequences: Consequences
    reach: Reach = field(default_factory=Reach.assumed)  # who could be reached when planned
    previous: OrgChart | None = None

    @property
    def refused(self) -> bool:
        return bool(self.consequences.orphans)


@dataclass(frozen=True)
class OrgCheck:
    # (ward, group, category) that fall to the ward leader: nobody assigned.
    gaps: tuple[tuple[str, str, str], ...] = ()
    unbound: tuple[str, ...] = ()  # staff who have not opened their invite yet
    inactive: tuple[str, ...] = ()
    notes: list[Text] = field(default_factory=list)


class Admin:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _active_member(self, staff_id: str) -> StaffMember:
        member = self.services.chart.staff.get(staff_id)
        if member is None:
            raise AdminError("admin.unknown_staff", staff=staff_id)
        if not member.active:
            raise AdminError("admin.staff_inactive", staff=staff_id)
        return member

    # ---- invites ----------------------------------------------------------------------------

    async def invite(
        self,
        staff_id: str,
        role: Role,
        links: ChannelLinks,
        *,
        created_by: str = "cli",
        rebind: bool = False,
        add: bool = False,
    ) -> InviteLink:
        """A one-time code for a staff record, with ``links``' link for it.
        A record some person holds already gets one only with ``rebind`` or
        ``add`` — which only the command line passes (`phananh invite
        --rebind` / `--add`): a leader in chat could otherwise take over a
        peer's account, the conduct leader's with it.  ``rebind`` moves the
        record to the account that uses the code (a lost phone: the holder's
        confirmation is not asked for, the holder is told instead); ``add``
        adds that account to the holder, beside theirs (their Zalo beside
        their Telegram)."""
        member = self._active_member(staff_id)
        if role not in member.roles:
            raise AdminError("admin.role_mismatch", staff=staff_id, role=role.value)
        bound = await self.services.store.person_of_staff(staff_id) is not None
        if bound and not (rebind or add):
            raise AdminError("admin.already_bound", staff=staff_id)
        token = secrets.token_urlsafe(18)  # 24 characters of A-Z a-z 0-9 _ -
        now = self.services.now()
        expires = now + INVITE_TTL
        await self.services.store.create_invite(
            Invite(
                token_hash(token),
                staff_id,
                role.value,
                now,
                expires,
                created_by,
                rebind=rebind,
                adds_account=add and bound,
            )
        )
        return InviteLink(staff_id, role, links.invite(token), token, expires)

    def invitable_by(self, leader: Actor, member: StaffMember) -> bool:
        """A ward leader invites the staff of their own ward whose every
        role ranks below their own: cadres, never another leader."""
        if leader.staff is None or not set(member.wards) & set(leader.staff.wards):
            return False
        return _rank(member.roles) < _rank(leader.staff.roles)

    async def invite_by_leader(
        self, leader: Actor, staff_id: str, links: ChannelLinks
    ) -> InviteLink:
        if leader.staff is None or not leader.has_role(Role.WARD_LEADER):
            raise AdminError("admin.only_ward_leaders")
        member = self.services.chart.staff.get(staff_id)
        if member is None or not set(member.wards) & set(leader.staff.wards):
            raise AdminError("admin.not_your_ward", staff=staff_id)
        if not self.invitable_by(leader, member):
            raise AdminError("admin.not_below_you", staff=staff_id)
        role = min(member.roles, key=ROLE_RANK.__getitem__)
        return await self.invite(staff_id, role, links, created_by=leader.staff.id)

    async def accept_invite(self, actor: Actor, token: str) -> Reply:
        """Bind the person to the staff record of the invite; a person who
        held the record before is told (see `invite`).  An invite minted to
        add an account makes the person one with the holder instead: the
        account that used it, and what it filed as a resident, join them."""
        if not _TOKEN.match(token):
            return Reply.say("invite.unknown")
        invite = await self.services.store.get_invite(token_hash(token))
        if invite is None:
            return Reply.say("invite.unknown")
        if invite.used_at is not None:
            return Reply.say("invite.used")
        if invite.expires_at <= self.services.now():
            return Reply.say("invite.expired")
        chart = self.services.chart
        member = chart.staff.get(invite.staff_id)
        if member is None or not member.active:
            return Reply.say("invite.unknown")
        if actor.staff is not None and actor.staff.id != member.id:
            return Reply.say("invite.bound_elsewhere", staff=actor.staff.name)

        def tell_previous(person_id: int) -> Notice:
            payload = {"event": "account_rebound", "staff": member.name}
            return Notice(LEADER_NOTE, person_id=person_id, payload=payload)

        store = self.services.store
        refused = member.id in (await store.reach()).refused
        used = await store.use_invite(
            invite.token_hash, actor.person_id, self.services.now(), tell_previous
        )
        if used is InviteUse.SPENT:
            return Reply.say("invite.used")
        if used is InviteUse.TAKEN:
            return Reply.say("invite.taken")
        if used is InviteUse.BOUND:
            # What the chart gives them comes to them now, as one list.
            await Owners(self.services).joined(member.id)
        elif refused:
            # No account of theirs could be reached: this one can.
            holder = await store.person_of_staff(member.id)
            if holder is not None and self.services.reach_changed is not None:
                await self.services.reach_changed(holder.id, True)
        return Reply(notes=(text("invite.welcome", name=member.name), self.role_summary(member.id)))

    async def bind_by_code(self, actor: Actor, typed: str) -> Reply | None:
        """Someone typed an invite's code as a message ("i-XXXX", or the
        bare code), on whichever channel: the same as opening the invite
        link.  None when the message is no invite code — only a message
        that starts with "i-", or a bare code that names an invite, is one
        (any other word goes on to the conversation)."""
        match = _TYPED_CODE.match(typed.strip())
        if match is None:
            return None
        whole, token = typed.strip(), match.group(1)
        prefixed = whole != token
        # A code may itself begin with "i-": then the bare code is the whole text.
        for candidate in dict.fromkeys((token, whole)):
            if _TOKEN.match(candidate) and await self.services.store.get_invite(
                token_hash(candidate)
            ):
                return await self.accept_invite(actor, candidate)
        return Reply.say("invite.unknown") if prefixed else None

    def role_summary(self, staff_id: str) -> Text:
        """What this staff member now receives, in the catalogue's words."""
        chart = self.services.chart
        member = chart.staff[staff_id]
        wards = ", ".join(chart.areas[w].name for w in member.wards if w in chart.areas)
        if member.has_role(Role.CITY_LEADER):
            return text("whoami.city_leader", upper=upper_tier(chart))
        if member.has_role(Role.WARD_LEADER):
            return text("whoami.ward_leader", wards=wards)
        areas = sorted(
            {area for (area, _), cadre in chart.assignments.items() if cadre == staff_id}
        )
        families = sorted(
            {
                family.value
                for (_, family), cadre in chart.family_defaults.items()
                if cadre == staff_id
            }
        )
        # The families by their names in the reader's language, not their codes.
        named = tuple(text(f"family.{family}") for family in families)
        names = ", ".join(chart.areas[a].name for a in areas if a in chart.areas) or "—"
        return text(
            "whoami.cadre",
            wards=wards,
            areas=names,
            count=sum(1 for cadre in chart.assignments.values() if cadre == staff_id),
            families=named or "—",
        )

    # ---- deactivating staff -----------------------------------------------------------------

    async def deactivate(self, staff_id: str, *, by: str = "") -> int:
        """Deactivate a staff member; their open tasks are rerouted by the
        normal rules and the ward leader is told; the admin log records
        ``by`` (the operator).  Returns how many moved."""
        chart = self.services.chart
        member = self._active_member(staff_id)
        last = last_leader(chart, member)
        if last is not None:
            raise last
        staff = dict(chart.staff)
        staff[staff_id] = replace(member, active=False)
        plan = await self.plan_import(replace(chart, staff=staff))
        if plan.refused:
            raise AdminError("admin.would_orphan", count=len(plan.consequences.orphans))
        entry = AdminEntry(self.services.now(), by, DEACTIVATE, staff_id)
        if not await self._apply(plan, entry, events=[(staff_id, OwnerProblem.DEACTIVATED)]):
            raise AdminError("cli.org_conflict")
        return len(plan.consequences.moves)

    # ---- importing a changed chart ----------------------------------------------------------

    async def plan_import(self, new_chart: OrgChart) -> ImportPlan:
        store = self.services.store
        current = await store.load_org()
        open_tasks = await store.open_tasks()
        reach = await store.reach()
        return ImportPlan(
            new_chart,
            diff(current, new_chart),
            consequences(new_chart, open_tasks, reach),
            reach,
            current,
        )

    async def apply_import(
        self,
        plan: ImportPlan,
        *,
        events: Sequence[tuple[str, str]] = (),
        by: str = "",
        source: str = "",
    ) -> bool:
        """Apply the chart and move the complaints whose owner can no longer
        act, in one transaction with the notices that say so (the leaders
        hear of ``events`` too) and the admin log's line (``by``: the
        operator; ``source``: the file); nothing at all if the plan leaves a
        complaint unowned.  What still waited for someone who left is dropped."""
        entry = AdminEntry(self.services.now(), by, AdminAction.ORG_IMPORT, source)
        return await self._apply(plan, entry, events=events)

    async def _apply(
        self, plan: ImportPlan, entry: AdminEntry, *, events: Sequence[tuple[str, str]] = ()
    ) -> bool:
        if plan.refused:
            return False
        now = self.services.now()
        owners = Owners(self.services)
        moves = await owners.plan(
            plan.consequences.moves,
            plan.chart,
            plan.reach,
            now,
            gone=events,
            before=plan.previous,
            by=entry.actor,
        )
        moves.notices += owners.summaries(plan.consequences.moves)
        before = plan.previous.staff if plan.previous is not None else {}
        left = [s for s in before if problem(plan.chart, Reach.assumed(), s) is not None]
        detail = {
            **entry.detail,
            "changes": len(lines(plan.diff)),
            "moved": [m.complaint.code for m in plan.consequences.moves],
        }
        applied = await self.services.store.replace_org(
            plan.chart,
            moves.changes,
            moves.notices,
            now,
            replace(entry, at=now, detail=detail),
            drop_pending_of=left,
        )
        if applied:
            await self.services.load_org()
        return applied

    # ---- checking the chart -----------------------------------------------------------------

    async def check(self) -> OrgCheck:
        chart = self.services.chart
        gaps: list[tuple[str, str, str]] = []
        for group in chart.groups():
            for category in chart.categories.values():
                if category.family is Family.OFFICIAL_CONDUCT:
                    continue  # those go to leaders by design
                routed = route(chart, group.code, category.code)
                if routed.reason is RouteReason.WARD_LEADER:
                    gaps.append((routed.ward, group.code, category.code))
        bound = await self.services.store.bound_staff()
        unbound = tuple(s.id for s in chart.staff.values() if s.active and s.id not in bound)
        inactive = tuple(s.id for s in chart.staff.values() if not s.active)
        return OrgCheck(tuple(gaps), unbound, inactive)


def last_leader(chart: OrgChart, member: StaffMember) -> AdminError | None:
    """Why ``member`` may not be deactivated, or None.  A ward keeps at least
    one active leader (complaints nobody is assigned to, overdue ones and
    the ward's notices go there), and a chart with city leaders keeps one
    active (complaints about a ward's leaders and escalations go there;
    routing would otherwise hand them to someone who left) — the same rules
    `phananh org import` checks in a file (bot/orgio/staff.py)."""
    others = [s for s in chart.staff.values() if s.id != member.id]
    for ward in sorted(chart.wards):
        if leads_ward(member, ward) and not any(leads_ward(s, ward) for s in others):
            name = chart.areas[ward].name if ward in chart.areas else ward
            return AdminError("admin.last_ward_leader", staff=member.id, ward=name)
    if member.has_role(Role.CITY_LEADER) and not any(s.has_role(Role.CITY_LEADER) for s in others):
        return AdminError("admin.last_city_leader", staff=member.id)
    return None


def moved(plan: ImportPlan) -> list[Complaint]:
    return [m.complaint for m in plan.consequences.moves]
