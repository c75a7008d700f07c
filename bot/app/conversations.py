"""Conversations: starting a flow without throwing a draft away, feeding it
answers (a replayed update changes nothing), optional offers that step
aside, and handing a finished conversation to the use case that completes
it (the table in bot/app/services.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.app.changes import Changes
from bot.app.core import Reply
from bot.domain.authz import Actor
from bot.domain.complaints import Action
from bot.domain.conversation import (
    Answer,
    ConversationState,
    LocationAnswer,
    PhotoAnswer,
    Prompt,
    TextAnswer,
    Turn,
)
from bot.domain.flows import ReportFlow, names_a_problem, reads_like_a_report
from bot.domain.flows.steps import corrected
from bot.domain.messages import Text, text
from bot.domain.orgchart import AreaKind
from bot.domain.routing import RoutingError

Finisher = Callable[[Actor, dict[str, Any]], Awaitable[Reply]]

# What a staff member does about a task (bot/domain/flows/staff.py and handover.py): stopping one
# leaves the task as it was, and they are told so, with where their tasks are.
TASK_KINDS = frozenset(
    {"resolve", "ack_reply", "transfer", "reject", "ask_info", "reassign", "extend"}
)
# The action each task conversation ends in: checked again at each answer,
# so that one the task was taken from meanwhile (reassigned, transferred,
# withdrawn) stops at once rather than refuse at its end.
TASK_ACTIONS = {
    "resolve": Action.RESOLVE,
    "transfer": Action.TRANSFER,
    "reject": Action.REJECT,
    "ask_info": Action.ASK_INFO,
    "reassign": Action.REASSIGN,
    "extend": Action.EXTEND,
}


class Conversations(Changes):
    def finisher(self, kind: str) -> Finisher:
        """The use case that completes a finished conversation of this kind
        (the table is `FINISHERS` in bot/app/services.py, the top floor)."""
        raise NotImplementedError(kind)

    async def _offer_alike(self, actor: Actor, state: ConversationState) -> ConversationState:
        """A draft come to its review, with the reports of the same problem
        it may follow instead (bot/app/following.py); as it was otherwise."""
        return state

    async def _start_flow(
        self,
        actor: Actor,
        kind: str,
        data: Mapping[str, Any],
        *,
        update_id: str | None = None,
    ) -> Reply:
        """Start a conversation unless a different one is under way: a draft
        is never thrown away because a button was pressed elsewhere.
        ``update_id``: the update that started it (see `ConversationEngine.start`)."""
        current = await self.store.load_conversation(actor.person_id)
        same = (
            current is not None
            and current.kind == kind
            and current.data.get("complaint_id") == data.get("complaint_id")
            and kind != "report"
        )
        # An optional conversation (a rating, a short reply) only offers
        # something: starting anything else simply replaces it.
        if current is not None and not same and not self.engine.is_optional(current.kind):
            prompt = self.engine.current_prompt(self._env(actor), current)
            return Reply(
                notes=(text("conv.busy", kind=text(f"conv.kind_{current.kind}")),), prompt=prompt
            )
        turn = self.engine.start(self._env(actor), kind, data, update_id=update_id)
        assert turn.state is not None
        await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
        return Reply(notes=turn.notes, prompt=turn.prompt)

    async def _over_limit(self, actor: Actor) -> bool:
        """Per-resident limit on new complaints: a flood, or a script, must
        not bury the cadres.  Staff are not limited."""
        if actor.staff is not None:
            return False
        since = self.clock.now() - timedelta(hours=1)
        return await self.store.reports_since(actor.person_id, since) >= self.max_reports_per_hour

    async def start_report(
        self, actor: Actor, area: str | None = None, *, update_id: str | None = None
    ) -> Reply:
        data: dict[str, Any] = {}
        notes: list[Text] = []
        if area is not None:
            data = self._preselected(area)
            if data:
                chosen = self.chart.areas[data.get("area") or data["ward"]]
                notes.append(text("report.area_preselected", area=chosen.name))
        # Over the hourly limit the resident is told at once, and the draft
        # is started all the same: what they write and send is kept, and
        # sending it waits until the hour allows (`Filing._file` checks).
        limit: tuple[Text, ...] = ()
        if await self._over_limit(actor):
            limit = (text("report.too_many_early", limit=self.max_reports_per_hour),)
        current = await self.store.load_conversation(actor.person_id)
        if current is not None and current.kind == "report":
            # /new while a draft exists: keep the draft, ask its question again.
            prompt = self.engine.current_prompt(self._env(actor), current)
            return Reply(notes=(*limit, text("report.draft_resumed")), prompt=prompt)
        reply = await self._start_flow(actor, "report", data, update_id=update_id)
        return Reply(notes=(*limit, *notes, *reply.notes), prompt=reply.prompt)

    async def open_report(
        self, actor: Actor, answer: Answer, *, update_id: str | None = None
    ) -> Reply | None:
        """A message no conversation took that opens a report, kept in it: a
        photo, or a resident's sentence ("có người đổ rác ra vỉa hè…"), which
        becomes the description, or a word or two that name a problem
        ("ngập"; staff get the help instead: their words are more likely a
        note for a task).  None when the message opens nothing."""
        sentence = (
            isinstance(answer, TextAnswer)
            and actor.staff is None
            and (
                reads_like_a_report(answer.text, self.chart)
                or names_a_problem(self.chart, answer.text)
            )
        )
        pinned = isinstance(answer, LocationAnswer) and actor.staff is None
        if not (sentence or pinned or isinstance(answer, PhotoAnswer)):
            return None
        started = await self.start_report(actor)
        reply = await self.answer(actor, answer, update_id=update_id)
        if reply is None:
            return started
        # One question: the one the answer led to, else the first.
        return replace(
            reply, notes=(*started.notes, *reply.notes), prompt=reply.prompt or started.prompt
        )

    def _preselected(self, code: str) -> dict[str, Any]:
        """What a link naming an area chooses in advance: only what the
        resident could pick by hand.  A residential group is chosen; a ward
        (or a zone: its ward) only narrows the question to that ward's
        groups; anything else chooses nothing.  A complaint is never filed
        on an area that is not a group."""
        chart = self.chart
        found = chart.areas.get(code)
        ward = chart.ward_of(code) if found is not None else None
        if found is None or ward is None:
            return {}
        if found.kind is AreaKind.GROUP:
            return {"area": found.code, "ward": ward}
        return {"ward": ward}

    async def has_conversation(self, actor: Actor) -> bool:
        return await self.store.load_conversation(actor.person_id) is not None

    async def current_prompt(self, actor: Actor) -> Prompt | None:
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            return None
        return self.engine.current_prompt(self._env(actor), state)

    async def leave_optional(self, actor: Actor) -> None:
        """The person turned to something else (a command, a button of
        another message): an optional conversation ends, so it cannot take
        what they type next.  A draft or any other conversation stays."""
        state = await self.store.load_conversation(actor.person_id)
        if state is not None and self.engine.is_optional(state.kind):
            await self.store.delete_conversation(actor.person_id)

    async def _busy(self, actor: Actor) -> bool:
        """Whether a conversation other than an optional one is under way."""
        state = await self.store.load_conversation(actor.person_id)
        return state is not None and not self.engine.is_optional(state.kind)

    async def cancel(self, actor: Actor) -> Text:
        """Stop what the person is doing; what to tell them, by role."""
        had = await self.store.load_conversation(actor.person_id)
        if had is None:
            return text("cancel.none_staff" if actor.staff is not None else "cancel.none")
        await self.store.delete_conversation(actor.person_id)
        return cancelled(actor, had)

    async def answer(
        self, actor: Actor, answer: Answer, *, update_id: str | None = None
    ) -> Reply | None:
        """Feed one answer to the chat's conversation; None if there is none
        (or an optional one ended rather than take it: see the engine).

        ``update_id`` is the channel's id of the incoming update: handled a
        second time (after a crash), the same update changes nothing and the
        current question is asked again."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            restarted = await self._restart_stale_draft(actor, state)
            return replace(restarted, after=await self.current_prompt(actor))
        if await self._task_taken_away(actor, state):
            await self.store.delete_conversation(actor.person_id)
            code = str(state.data.get("code", ""))
            return Reply(notes=(text("conv.task_stopped", code=code),))
        env = self._env(actor)
        before = self.engine.current_prompt(env, state)
        turn = self.engine.handle(env, state, answer, now=self.clock.now(), update_id=update_id)
        if turn.replayed:
            return Reply(prompt=turn.prompt, before=before, after=before)
        if turn.released:
            await self.store.delete_conversation(actor.person_id)
            return None
        if turn.result is not None:
            finished = await self._finish(actor, state, turn)
            return replace(finished, before=before, after=await self.current_prompt(actor))
        after: Prompt | None = None
        if turn.cancelled:  # "✖ Hủy" pressed, or typed
            turn = replace(turn, notes=(cancelled(actor, state),))
        if turn.state is not None:
            offered = await self._offer_alike(actor, turn.state)
            if offered is not turn.state:  # the review now shows reports to follow
                turn = replace(turn, state=offered, prompt=self.engine.current_prompt(env, offered))
        if turn.state is None:
            await self.store.delete_conversation(actor.person_id)
        else:
            await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
            after = self.engine.current_prompt(env, turn.state)
        return Reply(notes=turn.notes, prompt=turn.prompt, before=before, after=after)

    async def edited(
        self, actor: Actor, message_id: int, edited: str, *, update_id: str | None = None
    ) -> Reply | None:
        """A message the person edited after sending it: when its words
        are in the conversation under way (a report's description, a note
        not yet sent), they are corrected, and the question asked again.
        None when the message gave nothing to it (nothing changes: what was
        sent, filed or passed on stays as it was)."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None:
            return None
        if state.kind == "report" and not ReportFlow.draft_fits(self.chart, state.data):
            return None  # the next answer restarts it (`answer`), keeping the words
        correction = corrected(state.data, message_id, edited)
        if correction is None:
            return None
        if correction.data is None:
            return Reply(notes=correction.notes)
        env = self._env(actor)
        before = self.engine.current_prompt(env, state)
        turn = self.engine.revised(env, state, correction.data, update_id=update_id)
        assert turn.state is not None
        await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
        after = self.engine.current_prompt(env, turn.state)
        return Reply(notes=correction.notes, prompt=turn.prompt, before=before, after=after)

    async def _task_taken_away(self, actor: Actor, state: ConversationState) -> bool:
        """Whether the task a staff member is half-way through acting on may
        no longer be acted on by them (given to someone else, or moved on)."""
        action = TASK_ACTIONS.get(state.kind)
        complaint_id = state.data.get("complaint_id")
        if action is None or complaint_id is None:
            return False
        _, refused = await self._checked(actor, int(complaint_id), action)
        return refused is not None

    async def _finish(self, actor: Actor, state: ConversationState, turn: Turn) -> Reply:
        result = dict(turn.result or {})
        try:
            reply = await self.finisher(state.kind)(actor, result)
        except (RoutingError, KeyError):
            if state.kind != "report":
                raise
            return await self._restart_stale_draft(actor, state)
        if reply.refused is not None or (state.kind != "report" and reply.prompt is None):
            # The conversation is over either way; the refusal says why.  (A
            # use case that asks again has started its question anew.)
            await self.store.delete_conversation(actor.person_id)
        return Reply(
            notes=(*turn.notes, *reply.notes),
            prompt=reply.prompt,
            complaint=reply.complaint,
            refused=reply.refused,
        )

    async def _restart_stale_draft(self, actor: Actor, state: ConversationState) -> Reply:
        """The org chart changed under a draft (its category or group is gone):
        ask for them again, keeping what the resident wrote and sent."""
        kept = {k: state.data[k] for k in ("description", "photos", "landmark") if k in state.data}
        turn = self.engine.start(self._env(actor), "report", kept)
        assert turn.state is not None
        await self.store.save_conversation(actor.person_id, turn.state, self.clock.now())
        return Reply(notes=(text("report.draft_invalid"),), prompt=turn.prompt)


def cancelled(actor: Actor, state: ConversationState) -> Text:
    """What a stopped conversation tells the person: a task is as it was; a
    resident may report again; staff are pointed to their tasks."""
    if state.kind in TASK_KINDS:
        return text("conv.cancelled_task", code=str(state.data.get("code", "")))
    return text("conv.cancelled_staff" if actor.staff is not None else "conv.cancelled")
