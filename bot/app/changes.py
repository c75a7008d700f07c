"""Changing a complaint: the authorization check, then one `Change` (the new
fields, the event, the notices, the photos) applied atomically — or refused
if someone else acted first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.app.core import TO_RESIDENT, PendingChange, Reply, with_complaint_id
from bot.app.queries import Queries
from bot.domain.authz import Actor, Refusal, authorize
from bot.domain.complaints import Action, Complaint, Event, next_state
from bot.ports import Change, Notice

# What the reporter alone hears: the owner's question, which only they answer.
REPORTER_ONLY = frozenset({"info_requested"})


class Changes(Queries):
    async def _checked(
        self, actor: Actor, complaint_id: int, action: Action
    ) -> tuple[Complaint | None, Refusal | None]:
        complaint = await self.store.get_complaint(complaint_id)
        if complaint is None:
            return None, Refusal.NOT_FOUND
        reporter, followers = await self._people_of(complaint_id)
        if self._chart is None:
            return None, Refusal.NOT_FOUND
        return complaint, authorize(actor, action, complaint, reporter, followers)

    async def _people_of(self, complaint_id: int) -> tuple[int | None, list[int]]:
        """Who reported it and who follows it (issue 17)."""
        reporter = await self.store.reporter_of(complaint_id)
        return reporter, await self.store.followers_of(complaint_id)

    async def _apply(
        self,
        actor: Actor,
        complaint: Complaint,
        action: Action,
        pending: PendingChange,
        *,
        end_conversation: bool = False,
        followers_to: int | None = None,
    ) -> Reply:
        target = next_state(complaint.state, action)
        if target is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        now = self.clock.now()
        fields = {"state": target, **pending.fields}
        after = replace(complaint, **fields)
        fields["next_action_at"] = self.next_action(
            self.clock_state(after), after.category, after=after.swept_until or now
        )
        event = Event(
            complaint_id=complaint.id,
            at=now,
            action=action,
            from_state=complaint.state,
            to_state=target,
            actor_person_id=actor.person_id,
            actor_staff_id=actor.staff.id if actor.staff else None,
            note=pending.note,
            data=pending.data,
        )
        morning = self._morning(self.policy(after.category).urgent)
        notices = self._held_at_night(
            [with_complaint_id(n, complaint.id) for n in pending.notices], morning, actor
        )
        change = Change(
            complaint_id=complaint.id,
            expected_version=complaint.version,
            fields=fields,
            event=event,
            notices=notices,
            photos=pending.photos,
            end_conversation_of=actor.person_id if end_conversation else None,
            supersede_photos=pending.supersede_photos,
            followers_to=followers_to,
        )
        if not await self.store.apply_change(change):
            # Someone else acted first; nothing was changed.
            current = await self.store.get_complaint(complaint.id)
            return Reply(refused=Refusal.WRONG_STATE, complaint=current)
        updated = await self.store.get_complaint(complaint.id)
        return Reply(complaint=updated)

    async def _reporter_notice(self, complaint: Complaint, event: str, **payload: Any) -> Notice:
        """A notice to the reporter — and to whoever follows the complaint
        (issue 17), but a question only the reporter can answer."""
        reporter = await self.store.reporter_of(complaint.id)
        assert reporter is not None
        return Notice(
            TO_RESIDENT,
            person_id=reporter,
            payload={"event": event, **payload},
            followers=event not in REPORTER_ONLY,
        )
