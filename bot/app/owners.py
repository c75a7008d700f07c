"""Keeping every open complaint with an owner who can act, in the running bot.

The rule is the domain's (`bot.domain.owners`); this module applies it when
something changes who can act:

* the org chart (an import, a deactivation — from this process or the
  command line: every change bumps a version stamp in the database, and each
  bot process compares it with the one it last saw at every sweep, so several
  processes on one database all follow);
* who can be reached (someone blocked the bot or came back, opened an invite,
  wrote again after Telegram refused them).

What moves is written in one transaction with the notices it causes: the new
owner's task card, the old owner's refreshed buttons, the resident's notice
when the office handling it changes, and one message to the leader of each
ward concerned saying which complaints moved and why.  Someone who can be
reached again gets one list of their open tasks instead of the backlog that
waited or failed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.app.digests import DIGEST
from bot.app.owner_notices import BACK, JOINED, OPEN_SUMMARY, RETURNED, Moved, leader_notices
from bot.app.services import REFRESH_BUTTONS, TASK_ASSIGNED, TO_OWNER, TO_RESIDENT, Services
from bot.domain.complaints import Action, Event, State
from bot.domain.orgchart import OrgChart
from bot.domain.owners import Move, about_leadership, owner_problem, reconcile
from bot.domain.routing import OwnerProblem, Reach, problem
from bot.ports import OPERATOR, Change, Notice

log = logging.getLogger(__name__)

# What someone who can be reached again still gets of what waited for them:
# the weekly digest is a document; everything else is replaced by one list.
KEPT_WHEN_STALE = (DIGEST,)
ATTEMPTS = 3  # a reconcile that lost a race with a button press looks again
BATCH = 500  # complaints moved per transaction


@dataclass
class Plan:
    """Changes and notices to write together."""

    changes: list[Change] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class Owners:
    def __init__(self, services: Services) -> None:
        self.services = services
        # The sweep and a block/unblock can meet: one reconcile at a time
        # here (other processes are kept apart by the complaints' versions).
        self._one_at_a_time = asyncio.Lock()

    # ---- at every sweep ---------------------------------------------------------------------

    async def refresh(self) -> int:
        """If the chart or who can be reached changed since this process
        last looked (here or in another process), load the chart again and
        move what must move.  Returns how many complaints moved."""
        services = self.services
        version = await services.store.roster_version()
        if version == services.roster_seen:
            return 0
        await services.load_org()
        if not services.has_chart:
            return 0
        moved = await self.reconcile()
        if moved >= 0:
            services.roster_seen = version
        return max(moved, 0)

    # ---- when someone can be reached, or not ------------------------------------------------

    async def person_reach_changed(self, person_id: int, reachable: bool) -> None:
        """The channel refused a staff member (blocked the bot, never opened
        it) or can reach them again: move their tasks now, tell the leader."""
        staff_id = await self.services.store.staff_of_person(person_id)
        if staff_id is None or not self.services.has_chart:
            return
        member = self.services.chart.staff.get(staff_id)
        if member is None or not member.active:
            return  # no longer staff: nothing of theirs to move
        if reachable:
            await self.reconcile(back=[(staff_id, RETURNED)])
        else:
            await self.reconcile(gone=[(staff_id, OwnerProblem.BLOCKED)])

    async def joined(self, staff_id: str) -> None:
        """A staff member opened their invite: what the chart gives them comes
        to them, as one list."""
        await self.reconcile(back=[(staff_id, JOINED)])

    # ---- moving ---------------------------------------------------------------------------

    async def reconcile(
        self,
        *,
        gone: Sequence[tuple[str, str]] = (),
        back: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Move every open complaint whose owner cannot act, and every one a
        fallback holds for someone who can act again; ``gone`` and ``back``
        are the people whose change prompted this (the leader hears of them
        even when nothing moves; ``back`` get the list of their open tasks).
        Returns how many moved, or -1 if other changes kept winning the race."""
        async with self._one_at_a_time:
            return await self._reconcile(gone, back)

    async def _reconcile(
        self, gone: Sequence[tuple[str, str]], back: Sequence[tuple[str, str]]
    ) -> int:
        services = self.services
        store = services.store
        stale = [staff_id for staff_id, _ in (*gone, *back)]
        summaries = dict.fromkeys(staff_id for staff_id, _ in back)
        moved = 0
        for _ in range(ATTEMPTS):
            chart = services.chart
            reach = await store.reach()
            groups = await store.open_owner_groups()
            suspects = [g for g in groups if owner_problem(chart, reach, g) is not None]
            ids = await store.open_ids_to_check(suspects)
            # In batches: a chart change may move thousands at once.
            batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)] or [[]]
            for number, batch in enumerate(batches, start=1):
                found = await store.get_complaints(batch)
                moves = reconcile(chart, reach, [found[i] for i in sorted(found)]).moves
                now = services.now()
                plan = await self.plan(moves, chart, reach, now, gone=gone, back=back)
                summaries.update(dict.fromkeys(m.route.owner for m in moves if m.why is None))
                if number == len(batches):
                    plan.notices += [Notice(OPEN_SUMMARY, staff_id=s) for s in summaries]
                if not await store.apply_changes(
                    plan.changes,
                    plan.notices,
                    now,
                    drop_pending_of=stale,
                    keep_kinds=KEPT_WHEN_STALE,
                ):
                    break  # a complaint changed meanwhile: look again
                moved += len(moves)
                gone, back, stale = (), (), []  # said, and dropped, once
            else:
                if moved:
                    log.info("%d complaint(s) moved to an owner who can act", moved)
                return moved
        log.warning("owners not reconciled: complaints kept changing; the next sweep retries")
        return -1

    async def plan(
        self,
        moves: Sequence[Move],
        chart: OrgChart,
        reach: Reach,
        now: datetime,
        *,
        gone: Sequence[tuple[str, str]] = (),
        back: Sequence[tuple[str, str]] = (),
        before: OrgChart | None = None,
        by: str = "",
    ) -> Plan:
        """The changes for ``moves`` (each carries its own notices) and the
        messages about them all (the org import writes them with the new chart);
        ``by`` names the operator whose command moved them, for the history."""
        moved = [
            Moved(
                m.complaint.ward,
                about_leadership(m.complaint),
                m.subject,
                m.why.value if m.why is not None else BACK,
                m.route.owner,
                m.complaint.id,
            )
            for m in moves
        ]
        plan = Plan(notices=leader_notices(chart, reach, moved, [*gone, *back], before=before))
        told = {n.staff_id for n in plan.notices}
        for move in moves:
            plan.changes.append(await self._change(move, chart, reach, now, told, by))
        return plan

    @staticmethod
    def summaries(moves: Sequence[Move]) -> list[Notice]:
        """One list of open tasks for each person complaints went back to."""
        back = dict.fromkeys(m.route.owner for m in moves if m.why is None)
        return [Notice(OPEN_SUMMARY, staff_id=s) for s in back]

    async def _change(
        self,
        move: Move,
        chart: OrgChart,
        reach: Reach,
        now: datetime,
        told: set[str | None],
        by: str = "",
    ) -> Change:
        """One move: the complaint's new owner and clock, its event, and its
        notices (``told``: leaders whose message about the moves says it all)."""
        services = self.services
        complaint = move.complaint
        owner = move.route.owner
        # The one it reaches now gets a fresh acknowledge window (as a
        # reassign by a leader does): never late from the first minute.
        handover = services.schedule.handover(
            services.clock_state(complaint), services.policy(complaint.category), now
        )
        after = replace(
            complaint,
            owner=owner,
            state=State.SUBMITTED,
            clock_start=handover.get("clock_start", complaint.clock_start),
            ack_due_at=handover.get("ack_due_at", complaint.ack_due_at),
        )
        fields: dict[str, Any] = {
            "owner": owner,
            "state": State.SUBMITTED,
            **handover,
            "fallback_from": move.route.fallback_from if move.why is not None else None,
            "next_action_at": services.next_action(
                services.clock_state(after),
                complaint.category,
                after=complaint.swept_until or now,
            ),
        }
        notices: list[Notice] = []
        if move.why is not None:
            notices.append(
                Notice(
                    TASK_ASSIGNED,
                    staff_id=owner,
                    payload={"reason": move.route.reason.value, "from_staff": complaint.owner},
                )
            )
        if problem(chart, reach, complaint.owner) is None:
            # The one who held it can still read: its buttons go, and they
            # hear why (unless the message about the moves tells them).
            notices.append(Notice(REFRESH_BUTTONS, staff_id=complaint.owner))
            said = {"event": "returned"} if move.why is None else {"event": "reassigned_away"}
            if complaint.owner not in told:
                notices.append(Notice(TO_OWNER, staff_id=complaint.owner, payload=said))
        reporter = await services.store.reporter_of(complaint.id)
        if reporter is not None and services.handler_label(after) != services.handler_label(
            complaint
        ):
            # The resident hears only when the office handling it changes.
            notices.append(
                Notice(
                    TO_RESIDENT,
                    person_id=reporter,
                    payload={"event": "transferred"},
                    followers=True,
                )
            )
        why = move.why.value if move.why is not None else BACK
        return Change(
            complaint_id=complaint.id,
            expected_version=complaint.version,
            fields=fields,
            event=Event(
                complaint.id,
                now,
                Action.REASSIGN,
                complaint.state,
                State.SUBMITTED,
                note=f"owner: {why}",
                data={
                    "from_owner": complaint.owner,
                    "to_owner": owner,
                    "why": why,
                    **({OPERATOR: by} if by else {}),
                },
            ),
            notices=[_about(n, complaint.id) for n in notices],
        )


def _about(notice: Notice, complaint_id: int) -> Notice:
    return replace(notice, complaint_id=notice.complaint_id or complaint_id)
