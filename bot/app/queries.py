"""Looking complaints up: a resident's own, a cadre's tasks, one by its
typed code (only for someone who may see it), who handles it as the
resident may know, the buttons a person may press, and the reporter's name
where the review step promised it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from bot.app.people import People
from bot.domain.authz import Actor, authorize, can_handle, can_lead
from bot.domain.complaints import Action, Complaint, State, parse_code
from bot.domain.messages import Text, text
from bot.domain.orgchart import Family, Role
from bot.domain.places import upper_tier
from bot.domain.redact import mask_contacts
from bot.domain.text import clean_name


class Queries(People):
    def handler_label(self, complaint: Complaint, staff_id: str | None = None) -> Text:
        """Who handles it, as the resident may know: a role and an area,
        never a cadre's private contact.  ``staff_id`` names who acted when
        it was not the owner (a ward leader acknowledging from an
        escalation): the resident hears that the leaders took it up."""
        chart = self.chart
        owner = chart.staff.get(staff_id or complaint.owner)
        area = chart.areas.get(complaint.area)
        ward = chart.areas.get(complaint.ward)
        ward_name = ward.name if ward else complaint.ward
        if owner is not None and owner.has_role(Role.CITY_LEADER):
            return text("handler.city_leaders", upper=upper_tier(chart))
        if owner is not None and owner.has_role(Role.WARD_LEADER):
            return text("handler.ward_leaders", ward=ward_name)
        return text("handler.cadre", area=area.name if area else complaint.area, ward=ward_name)

    async def my_complaints(self, actor: Actor) -> list[Complaint]:
        return await self.store.complaints_of_reporter(actor.person_id)

    async def find_own(self, actor: Actor, code_text: str) -> Complaint | None:
        """A complaint by its typed code, only if this person reported it or
        may handle it; anything else looks exactly like an unknown code."""
        complaint_id = parse_code(code_text)
        if complaint_id is None:
            return None
        complaint = await self.store.get_complaint(complaint_id)
        if complaint is None:
            return None
        if await self.store.reporter_of(complaint_id) == actor.person_id:
            return complaint
        if self._chart is not None and can_handle(actor, complaint):
            return complaint
        if await self._follows(actor, complaint_id):
            # Another resident's report: followed, their contact details masked.
            return replace(complaint, description=mask_contacts(complaint.description))
        return None

    async def _follows(self, actor: Actor, complaint_id: int) -> bool:
        """Whether this person follows ``complaint_id`` (issue 17), or —
        before followers were kept — reported a complaint rejected as its
        duplicate: they were told to follow it there."""
        if actor.person_id in await self.store.followers_of(complaint_id):
            return True
        for own in await self.store.complaints_of_reporter(actor.person_id):
            if own.state is not State.REJECTED:
                continue
            for event in await self.store.events_of(own.id):
                if event.action is Action.REJECT and event.data.get("original") == str(
                    complaint_id
                ):
                    return True
        return False

    async def tasks(self, actor: Actor) -> list[Complaint]:
        """Open tasks, oldest deadline first: a cadre's own; a ward leader
        also sees their wards'."""
        staff = actor.staff
        if staff is None:
            return []
        wards = list(staff.wards) if staff.has_role(Role.WARD_LEADER) else None
        tasks = await self.store.open_tasks(owner=staff.id, wards=wards)
        return [t for t in tasks if can_handle(actor, t)]

    async def own_tasks(self, actor: Actor) -> list[Complaint]:
        """The open tasks this person holds themselves, nearest deadline first."""
        if actor.staff is None:
            return []
        tasks = await self.store.open_tasks(owner=actor.staff.id)
        return [t for t in tasks if t.owner == actor.staff.id and can_handle(actor, t)]

    async def complaint(self, complaint_id: int) -> Complaint | None:
        return await self.store.get_complaint(complaint_id)

    async def complaints(self, ids: Sequence[int]) -> dict[int, Complaint]:
        return await self.store.get_complaints(ids)

    async def find_for_leader(self, actor: Actor, code_text: str) -> Complaint | None:
        complaint = await self.find_own(actor, code_text)
        return complaint if complaint is not None and can_lead(actor, complaint) else None

    def available_actions(
        self,
        actor: Actor,
        complaint: Complaint,
        reporter_id: int | None,
        followers: Collection[int] = (),
    ) -> tuple[Action, ...]:
        """The buttons this person may press on this complaint now, in order."""
        if self._chart is None:
            return ()
        order = (
            Action.ACKNOWLEDGE,
            Action.RESOLVE,
            Action.TRANSFER,
            Action.REJECT,
            Action.ASK_INFO,
            Action.REASSIGN,
            Action.EXTEND,
            Action.CONFIRM,
            Action.DISPUTE,
            Action.ANSWER_INFO,
        )
        allowed = tuple(
            a for a in order if authorize(actor, a, complaint, reporter_id, followers) is None
        )
        if complaint.paused_since is None:
            allowed = tuple(a for a in allowed if a is not Action.ANSWER_INFO)
        return allowed

    def may_see(self, actor: Actor, complaint: Complaint) -> bool:
        return self._chart is not None and can_handle(actor, complaint)

    async def reporter_name_for(self, viewer: Actor, complaint: Complaint) -> str | None:
        """The reporter's name on a task card, or None: exactly what the
        review step told the resident.  Shown only if they chose so — to the
        cadre, or for a complaint about an official to the leaders handling
        it (every such disclosure is logged); anonymous, nobody sees it."""
        stored, shown = await self.store.reporter_identity(complaint.id)
        # Names stored before they were cleaned on the way in are cleaned here.
        name = clean_name(stored) or None
        if name is None or viewer.staff is None or not shown:
            return None
        if complaint.family is Family.OFFICIAL_CONDUCT:
            if not viewer.is_leader:
                return None
            await self.store.log_identity_access(complaint.id, viewer.staff.id, self.clock.now())
        return name

    async def reporter_id(self, complaint_id: int) -> int | None:
        return await self.store.reporter_of(complaint_id)

    async def followers(self, complaint_id: int) -> list[int]:
        """Who follows it (issue 17): they may confirm or dispute the fix too."""
        return await self.store.followers_of(complaint_id)

    async def follower_names_for(self, viewer: Actor, complaint: Complaint) -> list[str]:
        """The names of its followers who let staff see them, by the rules
        of `reporter_name_for`: a follower keeps the privacy a reporter has."""
        if viewer.staff is None:
            return []
        if complaint.family is Family.OFFICIAL_CONDUCT and not viewer.is_leader:
            return []
        names = [n for n in map(clean_name, await self.store.follower_names(complaint.id)) if n]
        if names and complaint.family is Family.OFFICIAL_CONDUCT:
            await self.store.log_identity_access(complaint.id, viewer.staff.id, self.clock.now())
        return names
