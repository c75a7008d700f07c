"""Who is writing: the person and their staff record behind an account,
whether the channel can reach them, their language, their own data and its
erasure, and the updates already handled."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.core import TO_RESIDENT, Core, Reply
from bot.domain.authz import Actor
from bot.domain.complaints import State
from bot.domain.routing import Reach
from bot.domain.text import clean_name
from bot.ports import Account, Identity, Notice

# How an engine hands a stored instant back: UTC to the second with no zone
# ("2026-11-23 02:00:00", SQLite's text, PostgreSQL's as its engine gives
# /mydata), or an ISO time with its offset (a time kept in a draft's data).
_STORED_UTC = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_ISO_WITH_ZONE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
# The yes/no columns of what /mydata shows (SQLite keeps them as 0/1).
_YES_NO = frozenset({"urgent", "concerns_leadership", "show_name"})


def readable(value: Any, tz: ZoneInfo, key: str = "") -> Any:
    """``value`` of a person's stored data as they read it: every time in
    the ward's clock with its offset ("2026-11-23T09:00:00+07:00"), so a
    bare UTC time is never taken for local; a yes/no as true/false — the
    same file from either engine."""
    if isinstance(value, dict):
        return {k: readable(v, tz, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v, tz) for v in value]
    if isinstance(value, str):
        if _STORED_UTC.fullmatch(value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(tz).isoformat()
        if _ISO_WITH_ZONE.fullmatch(value):
            return datetime.fromisoformat(value).astimezone(tz).isoformat()
    if isinstance(value, int) and key in _YES_NO:
        return bool(value)
    return value


class People(Core):
    async def identify(self, channel: str, external_id: str, display_name: str | None) -> Actor:
        identity = await self.store.identify_person(
            channel, external_id, clean_name(display_name) or None, self.default_language
        )
        await self._came_back(identity)
        return self.actor_for(identity.person, identity.staff_id)

    async def _came_back(self, identity: Identity) -> None:
        """Someone the channel had refused wrote again: a staff member's
        tasks come back to them, and what waits for the person's word is
        asked again (`_ask_again`)."""
        if not identity.returned:
            return
        if identity.staff_id and self.reach_changed is not None:
            await self.reach_changed(identity.person.id, True)
        await self._ask_again(identity.person.id)

    async def _ask_again(self, person_id: int) -> None:
        """A person the channel could not reach is back: each of their
        reports whose fix waits for their word (resolved, not yet confirmed)
        asks for it again, with its buttons.  The request was given up while
        they could not be reached (403), and the report would otherwise
        close unconfirmed without their ever hearing of the fix."""
        waiting = [
            complaint
            for complaint in await self.store.complaints_of_reporter(person_id)
            if complaint.state is State.RESOLVED
        ]
        notices = [
            Notice(
                TO_RESIDENT, complaint_id=c.id, person_id=person_id, payload={"event": "resolved"}
            )
            for c in waiting
        ]
        if notices:
            await self.store.enqueue(notices, self.clock.now())

    async def channel_reach(self, channel: str, external_id: str, *, reachable: bool) -> None:
        """The person unblocked the bot (``reachable``) or blocked it on
        this account: Telegram says so with a ``my_chat_member`` update.
        Their tasks move only when the person as a whole can be reached, or
        not, from now on (a cadre who blocked the bot on Telegram may still
        be reached on Zalo).  Unknown accounts change nothing."""
        account = Account(channel, external_id)
        if reachable:
            marked = await self.store.mark_reachable(account)
        else:
            marked = await self.store.mark_unreachable(account, self.clock.now())
        if not marked.changed or marked.person_id is None:
            return
        if self.reach_changed is not None:
            await self.reach_changed(marked.person_id, reachable)
        if reachable:
            await self._ask_again(marked.person_id)

    async def reach(self) -> Reach:
        """Who the channel can reach now (read each time: another process,
        or a refusal a moment ago, may have changed it)."""
        return await self.store.reach()

    async def identify_sender(
        self, channel: str, external_id: str, display_name: str | None
    ) -> Actor | None:
        """The Actor behind an incoming update, or None for an account on
        the abuse list (its updates are dropped without a word).  The
        display name is stored clean: staff see it on cards."""
        identity = await self.store.identify_person(
            channel, external_id, clean_name(display_name) or None, self.default_language
        )
        if identity.blocked:
            return None
        await self._came_back(identity)
        return self.actor_for(identity.person, identity.staff_id)

    async def my_data(self, actor: Actor) -> bytes:
        """Everything stored about this person, as a JSON file's bytes."""
        data = readable(await self.store.person_data(actor.person_id), self.schedule.calendar.tz)
        return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")

    async def forget(self, actor: Actor) -> Reply:
        """Delete a resident's personal data; complaints stay, detached.
        Staff are deactivated by the ward office, not forgotten."""
        if actor.staff is not None:
            return Reply.say("privacy.staff_cannot_forget")
        await self.store.forget_person(actor.person_id, self.clock.now())
        return Reply.say("privacy.forgotten")

    async def claim_update(self, channel: str, update_id: str) -> bool:
        return await self.store.claim_update(channel, update_id, self.clock.now())

    async def finish_update(self, channel: str, update_id: str) -> None:
        await self.store.finish_update(channel, update_id, self.clock.now())

    async def set_language(self, actor: Actor, language: str) -> Actor:
        await self.store.set_language(actor.person_id, language)
        return Actor(person_id=actor.person_id, language=language, staff=actor.staff)
