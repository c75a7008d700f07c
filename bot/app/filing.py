"""Filing a complaint: routed to an owner who can act, its deadlines, the
receipt and the task card written with it (held till morning at night),
and the leaders told when routing had to fall back."""

from __future__ import annotations

from typing import Any

from bot.app.core import TASK_ASSIGNED, TO_RESIDENT, Reply
from bot.app.following import Following
from bot.app.owner_notices import Moved, leader_notices
from bot.domain.authz import Actor
from bot.domain.complaints import State
from bot.domain.deadlines import deadlines
from bot.domain.orgchart import Family, GeoPoint
from bot.domain.reminders import ClockState
from bot.domain.routing import Reach, Route, route
from bot.ports import NewComplaint, Notice


class Filing(Following):
    async def _file(self, actor: Actor, data: dict[str, Any]) -> Reply:
        if data.get("follow") is not None:
            # A report shown at the review followed instead (issue 17).
            return await self._follow_instead(actor, data)
        if await self._over_limit(actor):
            # The draft stays at its review step: nothing is lost, it can be
            # sent later.
            return Reply.say("report.too_many", limit=self.max_reports_per_hour)
        chart = self.chart
        now = self.clock.now()
        category = chart.categories[data["category"]]
        leadership = bool(data.get("leadership"))
        reach = await self.reach()
        routed = route(
            chart, data["area"], category.code, concerns_leadership=leadership, reach=reach
        )
        location = (
            GeoPoint(lon=float(data["lon"]), lat=float(data["lat"]))
            if data.get("lat") is not None
            else None
        )
        ack_due, due = deadlines(self.schedule, now, category, self.knobs)
        first = self.next_action(
            ClockState(State.SUBMITTED, now, ack_due, due), category.code, after=now
        )
        new = NewComplaint(
            category=category.code,
            family=category.family.value,
            area=data["area"],
            ward=routed.ward,
            owner=routed.owner,
            description=data["description"],
            created_at=now,
            due_at=due,
            ack_due_at=ack_due,
            next_action_at=first,
            urgent=category.urgent,
            concerns_leadership=leadership and category.family is Family.OFFICIAL_CONDUCT,
            show_name=bool(data.get("show_name", not self.anonymous_by_default)),
            landmark=data.get("landmark"),
            location=location,
            photos=await self.media.photos(data.get("photos", [])),
            fallback_from=routed.fallback_from,
        )
        morning = self._morning(category.urgent)
        receipt: dict[str, Any] = {"event": "filed"}
        if morning is not None:
            receipt["owner_from"] = morning.isoformat()
        notices = self._held_at_night(
            [
                # The receipt with the tracking code goes through the outbox
                # too, written with the complaint: a crash right after filing
                # cannot leave the resident without their code.  It is never
                # held: the resident is awake and waiting for it.
                Notice(TO_RESIDENT, person_id=actor.person_id, payload=receipt),
                Notice(
                    TASK_ASSIGNED, staff_id=routed.owner, payload={"reason": routed.reason.value}
                ),
                *self._fallback_notices(routed, reach, leadership=new.concerns_leadership),
            ],
            morning,
            actor,
        )
        complaint = await self.store.create_complaint(new, actor.person_id, now, notices)
        return Reply(complaint=complaint)

    def _fallback_notices(self, routed: Route, reach: Reach, *, leadership: bool) -> list[Notice]:
        """Routed past someone who cannot act: their ward's leader is told at
        once, in a notice about the complaint it is written with."""
        if not routed.skipped:
            return []
        skipped, why = routed.skipped[0]
        moved = Moved(routed.ward, leadership, skipped, why.value, routed.owner)
        return leader_notices(self.chart, reach, [moved])
