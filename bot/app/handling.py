"""What the owner does with a task: acknowledge (and a short word to the
resident), resolve with a note and photos, transfer (another group, another
ward, another category, or up to the leaders), reject, ask the resident."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.app.core import (
    REFRESH_BUTTONS,
    TASK_ASSIGNED,
    TO_OWNER,
    TO_RESIDENT,
    WARD_TRANSFER,
    PendingChange,
    Reply,
)
from bot.app.filing import Filing
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint, RejectReason, StateGroup, format_code
from bot.domain.messages import text
from bot.domain.orgchart import Family
from bot.domain.owners import about_leadership, audience, candidates, handed_up
from bot.domain.routing import Reach, route
from bot.ports import Notice

# How many likely originals a duplicate's question offers.
ORIGINALS_OFFERED = 5


class Handling(Filing):
    async def _done_by(
        self, actor: Actor, complaint: Complaint, event: str, to_owner: dict[str, Any]
    ) -> list[Notice]:
        """The notices of a step on a task: the resident hears ``event`` and
        who did it — the owner, or a leader acting from an escalation — the
        owner's buttons are redrawn, and an owner a leader acted for hears
        ``to_owner``: the task stays hers."""
        by = actor.staff.id if actor.staff else None
        notices = [
            await self._reporter_notice(complaint, event, by=by),
            Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
        ]
        if by is not None and by != complaint.owner:
            notices.append(Notice(TO_OWNER, staff_id=complaint.owner, payload=to_owner))
        return notices

    async def acknowledge(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.ACKNOWLEDGE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        notices = await self._done_by(
            actor, complaint, "acknowledged", {"event": "acknowledged_for_you"}
        )
        pending = PendingChange(
            # Taking it on: a fallback that acknowledges keeps the complaint.
            fields={"acknowledged_at": complaint.acknowledged_at or now, "fallback_from": None},
            notices=notices,
        )
        reply = await self._apply(actor, complaint, Action.ACKNOWLEDGE, pending)
        if reply.refused:
            return reply
        offer = Reply()
        if not await self._busy(actor):
            # Offer a short reply to the resident (a template or own words).
            offer = await self._start_flow(
                actor,
                "ack_reply",
                {
                    "complaint_id": complaint.id,
                    "code": complaint.code,
                    "category": complaint.category,
                },
            )
        return Reply(
            notes=(text("task.acknowledged", code=complaint.code), *offer.notes),
            prompt=offer.prompt,
            complaint=reply.complaint,
        )

    async def _ack_reply(self, actor: Actor, data: dict[str, Any]) -> Reply:
        if not data.get("reply"):
            return Reply()
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REPLY)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = PendingChange(
            notices=[
                await self._reporter_notice(
                    complaint,
                    "message",
                    text=data["reply"],
                    by=actor.staff.id if actor.staff else None,
                )
            ],
            note=data["reply"],
        )
        reply = await self._apply(actor, complaint, Action.REPLY, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(
            notes=(text("ack_reply.sent", code=complaint.code),), complaint=reply.complaint
        )

    async def begin(self, actor: Actor, complaint_id: int, action: Action) -> Reply:
        """Start the conversation an action needs (a note, a reason, a choice)."""
        complaint, refusal = await self._checked(actor, complaint_id, action)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        kind = {
            Action.RESOLVE: "resolve",
            Action.TRANSFER: "transfer",
            Action.REJECT: "reject",
            Action.DISPUTE: "dispute",
            Action.ASK_INFO: "ask_info",
            Action.REASSIGN: "reassign",
            Action.EXTEND: "extend",
        }[action]
        data: dict[str, Any] = {
            "complaint_id": complaint.id,
            "code": complaint.code,
            "ward": complaint.ward,
            "category": complaint.category,
            "owner": complaint.owner,
        }
        if action is Action.REASSIGN:
            # Only those who may own it and can act now, not the one asking.
            offered = await self._candidates(actor, complaint)
            if not offered:
                return Reply(notes=(text("reassign.nobody", code=complaint.code),))
            data["candidates"] = offered
        if action is Action.REJECT:
            data["originals"] = await self._likely_originals(complaint)
        if action is Action.ASK_INFO and not await self._reporter_has_chat(complaint.id):
            # A request a city platform posted (or a reporter who left): a
            # question nobody can read would only stop the clock.
            return Reply.say("ask_info.no_chat", code=complaint.code)
        return await self._start_flow(actor, kind, data)

    async def _reporter_has_chat(self, complaint_id: int) -> bool:
        reporter = await self.store.reporter_of(complaint_id)
        person = await self.store.get_person(reporter) if reporter is not None else None
        return person is not None and bool(person.accounts)

    async def _likely_originals(self, complaint: Complaint) -> list[tuple[int, str]]:
        """What a duplicate most likely repeats: the open complaints about
        the same problem in the same ward, newest first, with their group's
        name (at most `ORIGINALS_OFFERED`; any other is typed by its code)."""
        same = [
            c
            for c in await self.store.open_tasks(wards=[complaint.ward])
            if c.category == complaint.category and c.id != complaint.id
        ]
        same.sort(key=lambda c: c.id, reverse=True)
        areas = self.chart.areas
        return [
            (c.id, areas[c.area].name if c.area in areas else c.area)
            for c in same[:ORIGINALS_OFFERED]
        ]

    async def _candidates(self, actor: Actor, complaint: Complaint) -> list[str]:
        excluding = (actor.staff.id,) if actor.staff else ()
        return candidates(self.chart, await self.reach(), complaint, excluding=excluding)

    async def _resolve(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.RESOLVE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        photos = await self.media.photos(data.get("photos", []))
        fields: dict[str, Any] = {
            "resolved_at": now,
            "resolution_note": data["note"],
            "acknowledged_at": complaint.acknowledged_at or now,
        }
        if complaint.paused_since is not None:
            # Fixed while waiting on the resident: the wait ends here, and the
            # deadline in force moves by it, as if the resident had answered.
            fields.update(
                self.resume_fields(
                    complaint.category, complaint.due_at, complaint.paused_since, now
                )
            )
        notices = await self._done_by(actor, complaint, "resolved", {"event": "resolved_for_you"})
        pending = PendingChange(
            fields=fields,
            notices=notices,
            photos=[("resolution", p) for p in photos],
            note=data["note"],
        )
        reply = await self._apply(actor, complaint, Action.RESOLVE, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("task.resolved", code=complaint.code),), complaint=reply.complaint)

    async def _transfer(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.TRANSFER)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        chart = self.chart
        reach = await self.reach()
        area = data.get("area", complaint.area)
        category = (
            data.get("category", complaint.category)
            if data.get("new_category")
            else (complaint.category)
        )
        if not self._may_transfer_to(complaint, area, category):
            return Reply(notes=(text("transfer.conduct_stays"),), complaint=complaint)
        reason = data.get("reason")
        fields: dict[str, Any] = {}
        notices: list[Notice] = []
        if reason is not None:
            # Only a reason: the next leader up decides where it goes.
            excluding = (actor.staff.id,) if actor.staff else ()
            handed = handed_up(chart, reach, complaint, excluding=excluding)
            if handed is None:
                return Reply(notes=(text("transfer.nobody_above"),), complaint=complaint)
            routed = handed
            fields["fallback_from"] = None
        else:
            routed = route(
                chart,
                area,
                category,
                concerns_leadership=complaint.concerns_leadership,
                reach=reach,
            )
            fields.update(
                area=area,
                ward=routed.ward,
                category=category,
                family=chart.categories[category].family,
                fallback_from=routed.fallback_from,
            )
            notices += self._fallback_notices(routed, reach, leadership=about_leadership(complaint))
            if routed.ward != complaint.ward:
                notices += self._ward_transfer_notices(actor, complaint, routed.ward, reach)
        owner, how = routed.owner, routed.reason
        if owner == complaint.owner and area == complaint.area and category == complaint.category:
            return Reply(notes=(text("transfer.same_owner"),), complaint=complaint)
        fields["owner"] = owner
        fields.update(self._handover(complaint, category))
        pending = PendingChange(
            fields=fields,
            notices=[
                await self._reporter_notice(complaint, "transferred"),
                Notice(
                    TASK_ASSIGNED,
                    staff_id=owner,
                    payload={
                        "reason": how.value,
                        "transfer_note": reason or "",
                        "from_staff": actor.staff.id if actor.staff else "",
                    },
                ),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
                *notices,
            ],
            note=reason,
            data={"from_owner": complaint.owner, "to_owner": owner},
        )
        reply = await self._apply(actor, complaint, Action.TRANSFER, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        return Reply(
            notes=(
                text(
                    "task.transferred",
                    code=complaint.code,
                    handler=self.handler_label(reply.complaint),
                ),
            ),
            complaint=reply.complaint,
        )

    def _handover(self, complaint: Complaint, category: str) -> dict[str, Any]:
        """A fresh acknowledge window for whoever the task is handed to now
        (`Schedule.handover`), under the policy of the category it goes on in."""
        clock = self.clock_state(complaint)
        return self.schedule.handover(clock, self.policy(category), self.clock.now())

    def _may_transfer_to(self, complaint: Complaint, area: str, category: str) -> bool:
        """A complaint about an official stays one, in its own ward, so that
        it only ever moves among the leaders who may see it (typed or forged
        answers included)."""
        chart = self.chart
        if area not in chart.areas or category not in chart.categories:
            return False
        if complaint.family is not Family.OFFICIAL_CONDUCT:
            return True
        conduct = chart.categories[category].family is Family.OFFICIAL_CONDUCT
        return conduct and chart.ward_of(area) == complaint.ward

    def _ward_transfer_notices(
        self, actor: Actor, complaint: Complaint, to_ward: str, reach: Reach
    ) -> list[Notice]:
        """Both wards' leaders hear that a complaint crossed between them."""
        told = {audience(self.chart, reach, w) for w in (complaint.ward, to_ward)}
        payload = {
            "from_ward": complaint.ward,
            "to_ward": to_ward,
            "by": actor.staff.id if actor.staff else "",
        }
        return [
            Notice(WARD_TRANSFER, staff_id=leader, payload=payload)
            for leader in sorted(t for t in told if t is not None)
        ]

    async def _reject(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.REJECT)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        kind = RejectReason(data["reason_kind"])
        if kind is RejectReason.NOT_CONDUCT and complaint.family is not Family.OFFICIAL_CONDUCT:
            return Reply(notes=(text("reject.not_conduct_only"),), complaint=complaint)
        told: dict[str, Any] = {"reason_kind": kind.value, "reason": data["reason"]}
        recorded = {"reason_kind": kind.value}
        original: Complaint | None = None
        if kind is RejectReason.DUPLICATE:
            original = await self.store.get_complaint(int(data["original"]))
            if original is None or original.id == complaint.id or original.ward != complaint.ward:
                return await self._ask_original_again(actor, data, "reject.original_unknown")
            if original.state.group is StateGroup.CLOSED:
                return await self._ask_original_again(actor, data, "reject.original_closed")
            told["original"] = recorded["original"] = str(original.id)
        if kind is RejectReason.NOT_REMIT:
            policy = self.chart.wards.get(complaint.ward)
            told["refer_to"] = policy.refer_to if policy else ""
        # A real problem reported twice (issue 17): its reporter and followers
        # follow the original from now on, and are told so — never "not
        # accepted".  (A complaint about an official is followed by no one.)
        # Never across the line: a name its reporter let the leaders see is
        # not to reach a cadre through another report, nor the reverse.
        merged = (
            original is not None
            and original.family is not Family.OFFICIAL_CONDUCT
            and complaint.family is not Family.OFFICIAL_CONDUCT
        )
        told_residents = (
            await self._merged_notices(complaint, original, told)
            if merged and original is not None
            else [await self._reporter_notice(complaint, "rejected", **told)]
        )
        pending = PendingChange(
            fields={"closed_at": self.clock.now()},
            notices=[*told_residents, Notice(REFRESH_BUTTONS, staff_id=complaint.owner)],
            note=data["reason"],
            data=recorded,
        )
        reply = await self._apply(
            actor,
            complaint,
            Action.REJECT,
            pending,
            end_conversation=True,
            followers_to=original.id if merged and original is not None else None,
        )
        if reply.refused:
            return reply
        # Someone now follows the original (not its own reporter, who filed twice).
        moved = any(n.payload.get("following") for n in told_residents)
        said = (
            text("task.merged", code=complaint.code, original=original.code)
            if moved and original is not None
            else text("task.rejected", code=complaint.code)
        )
        return Reply(notes=(said,), complaint=reply.complaint)

    async def _merged_notices(
        self, complaint: Complaint, original: Complaint, told: dict[str, Any]
    ) -> list[Notice]:
        """What the reporter and followers of a duplicate hear: each now
        follows the original — but one who reports or follows it already,
        who is only told it repeats it."""
        reporter, followers = await self._people_of(complaint.id)
        original_reporter, original_followers = await self._people_of(original.id)
        on_it = {original_reporter, *original_followers}
        return [
            Notice(
                TO_RESIDENT,
                person_id=p,
                payload={"event": "rejected", **told, **({} if p in on_it else {"following": 1})},
            )
            for p in (reporter, *followers)
            if p is not None
        ]

    async def _ask_original_again(self, actor: Actor, data: dict[str, Any], why: str) -> Reply:
        """The code named is no report of this ward (or is this one, or is
        closed): the question is asked again, the choice of "duplicate" kept."""
        again = {k: v for k, v in data.items() if k not in ("original", "reason")}
        reply = await self._start_flow(actor, "reject", again)
        named = format_code(int(data["original"]))
        unknown = text(why, original=named, code=data["code"])
        return replace(reply, notes=(unknown, *reply.notes))

    async def _ask_info(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.ASK_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        now = self.clock.now()
        fields: dict[str, Any] = {"paused_since": complaint.paused_since or now}
        pending = PendingChange(
            fields=fields,
            notices=[
                await self._reporter_notice(
                    complaint,
                    "info_requested",
                    question=data["question"],
                    by=actor.staff.id if actor.staff else None,
                )
            ],
            note=data["question"],
        )
        reply = await self._apply(actor, complaint, Action.ASK_INFO, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("ask_info.sent", code=complaint.code),), complaint=reply.complaint)
