"""What only leaders do: reassign a task to someone who may own it and can
be reached, and extend its deadline with a reason."""

from __future__ import annotations

from typing import Any

from bot.app.core import REFRESH_BUTTONS, TASK_ASSIGNED, TO_OWNER, PendingChange, Reply
from bot.app.handling import Handling
from bot.domain.authz import Actor
from bot.domain.complaints import Action
from bot.domain.messages import text
from bot.ports import Notice


class Leadership(Handling):
    async def _reassign(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REASSIGN)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        cadre = self.chart.staff.get(data["cadre"])
        if cadre is None or cadre.id not in await self._candidates(actor, complaint):
            # Not (or no longer) someone who may own it and can act now.
            return Reply(notes=(text("reassign.not_in_ward"),), complaint=complaint)
        pending = PendingChange(
            fields={
                "owner": cadre.id,
                "fallback_from": None,
                **self._handover(complaint, complaint.category),
            },
            notices=[
                await self._reporter_notice(complaint, "transferred"),
                Notice(
                    TASK_ASSIGNED,
                    staff_id=cadre.id,
                    payload={
                        "reason": "reassigned",
                        "from_staff": actor.staff.id if actor.staff else "",
                    },
                ),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "reassigned_away"}),
            ],
            data={"from_owner": complaint.owner, "to_owner": cadre.id},
        )
        reply = await self._apply(actor, complaint, Action.REASSIGN, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(text("reassign.done", code=complaint.code, cadre=cadre.name),),
            complaint=reply.complaint,
        )

    async def _extend(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.EXTEND)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        work = self.schedule.clockwork(self.policy(complaint.category))
        days = int(data["days"])
        # N more working days from the deadline, or from now when it has
        # passed already: an extension is never a date in the past.
        new_due = work.add(max(complaint.due_at, self.clock.now()), work.days(days))
        pending = PendingChange(
            fields={"due_at": new_due, "escalation_level": 0},
            notices=[
                await self._reporter_notice(complaint, "extended", reason=data["reason"]),
                Notice(
                    TO_OWNER,
                    staff_id=complaint.owner,
                    payload={"event": "deadline_extended", "reason": data["reason"]},
                ),
            ],
            note=data["reason"],
            data={"days": str(days), "from_due": complaint.due_at.isoformat()},
        )
        reply = await self._apply(actor, complaint, Action.EXTEND, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(text("extend.done", code=complaint.code, due=new_due),),
            complaint=reply.complaint,
        )
