"""For the channels' senders: the outbox rows due, each part recorded as the
platform accepts it, failures retried or given up (with the leaders told),
and the messages that carry buttons."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from bot.app.core import STAFF_UNREACHABLE
from bot.app.residents import Residents
from bot.domain.authz import Actor
from bot.ports import ButtonMessage, Notice, OutboxItem


class Delivery(Residents):
    async def remember_buttons(
        self, complaint_id: int, actor: Actor, chat_id: str, message_id: str
    ) -> None:
        await self.store.remember_buttons(
            complaint_id, actor.person_id, chat_id, message_id, self.clock.now()
        )

    async def open_button_messages(self, complaint_id: int, person_id: int) -> list[ButtonMessage]:
        return await self.store.open_button_messages(complaint_id, person_id)

    async def button_message_cleared(self, button_id: int) -> None:
        await self.store.clear_button_message(button_id, self.clock.now())

    def claim_notices(
        self, limit: int, channel: str, per_person: int | None = None
    ) -> AbstractAsyncContextManager[list[OutboxItem]]:
        """The rows due on ``channel`` (at most ``per_person`` of one
        recipient's), claimed for the block: no other process sends to
        their recipients meanwhile (`OutboxRepo.claim_outbox`)."""
        return self.store.claim_outbox(self.clock.now(), limit, channel, per_person)

    async def hold_later(self, item: OutboxItem, retry_in: timedelta) -> None:
        """The recipient's rows after ``item`` wait as long as it does."""
        await self.store.hold_later(item.id, self.clock.now() + retry_in)

    async def recipient_unreachable(self, item: OutboxItem, error: str) -> None:
        """The channel refuses the account the row went to (blocked the bot,
        never started it).  While the person has another account the bot
        can reach, the row goes there instead (at once); otherwise it is
        given up, and the first time, a staff member's tasks move to someone
        who can act and their leader is told (``reach_changed``)."""
        now = self.clock.now()
        person, account = item.recipient, item.account
        marked = (
            await self.store.mark_unreachable(account, now)
            if person is not None and account is not None
            else None
        )
        if marked is not None and marked.after:
            await self.store.mark_failed(item.id, error, now)
            return
        await self.store.give_up(item.id, error, now)
        if marked is None or not marked.changed or marked.person_id is None:
            return
        if self.reach_changed is not None:
            await self.reach_changed(marked.person_id, False)

    def _leaders_over(self, staff_id: str) -> list[str]:
        """Who hears that a staff member cannot be reached: their wards'
        leaders, or the city's when they have none (or are one)."""
        chart = self.chart
        member = chart.staff.get(staff_id)
        wards = member.wards if member else ()
        leaders = [chart.wards[w].leader for w in wards if w in chart.wards]
        leaders = [lid for lid in dict.fromkeys(leaders) if lid != staff_id]
        if not leaders:
            leaders = [s.id for s in chart.city_leaders() if s.id != staff_id]
        return leaders

    async def delivery_abandoned(self, item: OutboxItem, error: str) -> None:
        """A row Telegram refused, or one failing for too long, is given up
        — and someone who can act hears of it: for a staff member, the
        leaders over them; for a resident, the leader of the complaint's
        ward.  (A notice to a leader that fails is given up quietly: no loop.)"""
        now = self.clock.now()
        await self.store.give_up(item.id, error, now)
        if self._chart is None or item.kind == STAFF_UNREACHABLE:
            return
        person = item.recipient
        staff_id = item.staff_id or (
            await self.store.staff_of_person(person.id) if person else None
        )
        complaint = await self.store.get_complaint(item.complaint_id) if item.complaint_id else None
        if staff_id is not None:
            leaders = self._leaders_over(staff_id)
        elif complaint is not None and complaint.ward in self._chart.wards:
            leaders = [self._chart.wards[complaint.ward].leader]
        else:
            return
        payload = {
            "staff": staff_id or "",
            "code": complaint.code if complaint else "",
            "undeliverable": True,
        }
        await self.store.enqueue(
            [Notice(STAFF_UNREACHABLE, staff_id=lid, payload=payload) for lid in leaders], now
        )

    async def notice_parts(
        self, item_id: int, parts_done: Sequence[str], *, finished: bool
    ) -> None:
        """Telegram accepted one more part of a row (with the last, the row is sent)."""
        await self.store.mark_parts(item_id, parts_done, self.clock.now(), finished=finished)

    async def notice_failed(
        self, item_id: int, error: str, retry_in: timedelta, *, counts: bool = True
    ) -> None:
        """Retry in ``retry_in``; a failure that ``counts`` (not a 429's
        wait) starts the time after which the row is given up."""
        now = self.clock.now()
        await self.store.mark_failed(item_id, error, now + retry_in, now if counts else None)
