"""Following instead of filing again (issue 17): at the review of a report,
the open reports of the same problem nearby are shown (bot/domain/following.py
says which), and the resident may follow one of them instead of filing; a
follower hears what the reporter hears (the outbox copies each resident
notice to them: `Notice.followers`), may confirm or dispute the fix, finds
it in /mine, and may stop following it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.app.conversations import Conversations
from bot.app.core import Reply
from bot.domain import following as f
from bot.domain.authz import Actor, Refusal
from bot.domain.complaints import Complaint, StateGroup, format_code, parse_code
from bot.domain.conversation import ConversationState
from bot.domain.messages import text
from bot.domain.orgchart import Family, GeoPoint


def _point(data: dict[str, Any] | Any) -> GeoPoint | None:
    if data.get("lat") is None or data.get("lon") is None:
        return None
    return GeoPoint(lon=float(data["lon"]), lat=float(data["lat"]))


class Following(Conversations):
    async def _offer_alike(self, actor: Actor, state: ConversationState) -> ConversationState:
        """A draft come to its review: the open reports of the same problem
        near it, kept in the draft (looked up again only when its problem
        or place changes), so the review shows them and offers to follow."""
        data = state.data
        if state.kind != "report" or state.step != "review" or not data.get("category"):
            return state
        looked = [data.get("category"), data.get("area"), data.get("lat"), data.get("lon")]
        if data.get("nearby_for") == looked:
            return state
        found = await self._alike(actor, data)
        return replace(state, data={**data, "nearby": f.offered(found), "nearby_for": looked})

    async def _alike(self, actor: Actor, data: Any) -> list[f.Alike]:
        category = self.chart.categories.get(str(data.get("category")))
        area = str(data.get("area") or "")
        if category is None or category.family is Family.OFFICIAL_CONDUCT or not area:
            return []  # a complaint about an official is never matched to another's
        point = _point(data)
        candidates = await self.store.open_alike(
            category.code,
            f.since(self.clock.now()),
            actor.person_id,
            area=area,
            box=f.search_box(point) if point is not None else None,
        )
        return f.alike(candidates, point, area)

    async def _follow_instead(self, actor: Actor, data: dict[str, Any]) -> Reply:
        """The resident chose, at their review, to follow a report shown
        there: they follow it (their choice about their name kept, as a
        reporter's), and their draft ends.  One closed meanwhile, or no
        longer one they may follow, is said so; the draft stays at its
        review, showing what may be followed now."""
        wanted = int(data["follow"])
        complaint = await self.store.get_complaint(wanted)
        now = self.clock.now()
        if (
            complaint is not None
            and await self._may_follow(actor, complaint, data)
            and await self.store.follow(
                complaint.id, actor.person_id, now, show_name=bool(data["show_name"])
            )
        ):
            return Reply(notes=(self._following_text(complaint),), complaint=complaint)
        return await self._review_again(actor, data, wanted)

    async def _may_follow(self, actor: Actor, complaint: Complaint, data: dict[str, Any]) -> bool:
        """Only what the review offered, still not closed, never about an
        official, never their own."""
        if complaint.id not in f.offered_ids(data) or complaint.state.group is StateGroup.CLOSED:
            return False
        if complaint.family is Family.OFFICIAL_CONDUCT:
            return False
        reporter, followers = await self._people_of(complaint.id)
        return actor.person_id != reporter and actor.person_id not in followers

    def _following_text(self, complaint: Complaint) -> Any:
        return text(
            "follow.started",
            code=complaint.code,
            state=text(f"state.{complaint.state.value}"),
            due=complaint.due_at,
        )

    async def _review_again(self, actor: Actor, data: dict[str, Any], wanted: int) -> Reply:
        """The review once more, with the reports that may be followed now."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None or state.kind != "report":
            return Reply.say("follow.gone", code=format_code(wanted))
        fresh = {k: v for k, v in state.data.items() if k not in ("nearby", "nearby_for")}
        again = await self._offer_alike(
            actor, replace(state, step="review", data=fresh, seq=state.seq + 1)
        )
        await self.store.save_conversation(actor.person_id, again, self.clock.now())
        prompt = self.engine.current_prompt(self._env(actor), again)
        return Reply(notes=(text("follow.gone", code=format_code(wanted)),), prompt=prompt)

    # ---- what a resident follows --------------------------------------------------------------

    async def followed(self, actor: Actor) -> list[Complaint]:
        """What this person follows, newest first."""
        return await self.store.followed_by(actor.person_id)

    async def unfollow(self, actor: Actor, code_text: str) -> Reply:
        """Stop following a report: only one they follow (their own they
        withdraw instead).  A report that exists but is not followed is
        said so, with where to see what they follow (a second /unfollow,
        a code mistyped by a digit); only a code of no report is unknown."""
        complaint_id = parse_code(code_text)
        if complaint_id is None or not await self.store.unfollow(complaint_id, actor.person_id):
            if complaint_id is None:
                return Reply(refused=Refusal.NOT_FOUND)
            code = format_code(complaint_id)
            if await self.store.reporter_of(complaint_id) == actor.person_id:
                return Reply.say("follow.own", code=code)
            if await self.store.get_complaint(complaint_id) is not None:
                return Reply.say("follow.not_following", code=code)
            return Reply(refused=Refusal.NOT_FOUND)
        return Reply.say("follow.stopped", code=format_code(complaint_id))
