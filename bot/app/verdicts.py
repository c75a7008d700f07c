"""A sentence (or photos) sent at "Sự việc đã được khắc phục chưa?", for
every channel: which choice a typed answer to the bot's check takes, the
check asked again with what was sent, and the choice given with what it
keeps — "not fixed" reopens the complaint with the sentence as the
resident's comment and the photos as the dispute's, a new report starts
with them (bot/domain/verdicts.py weighs the sentence).

Each channel shows the check its way (Telegram's buttons, Zalo's numbered
list) and keeps the choices in the person's remembered list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from bot.app.core import Reply
from bot.app.desk import Desk, Said
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint, State
from bot.domain.conversation import Answer, PhotoAnswer, TextAnswer
from bot.domain.verdicts import (
    ACTION_OF,
    VERDICT_OF,
    FixedOrNot,
    Held,
    choices,
    joined,
    says_no,
    says_yes,
)


def chosen_by(held: Sequence[Held], typed: str, short: Action | None = None) -> Held | None:
    """The check's choice a typed answer takes: "đúng" / "vâng" the guess,
    ``short`` (a channel's "rồi" / "chưa") its own; "không" at "… đúng
    không?" none (the guess was wrong, not "not fixed")."""
    no = says_no(typed)
    return next(
        (
            h
            for h in held
            if (short is not None and not no and VERDICT_OF.get(short) is h.verdict)
            or (h.guessed and says_yes(typed))
        ),
        None,
    )


def rechecked(
    complaint_id: int, held: Sequence[Held], typed: str, photos: tuple[int, ...] = ()
) -> list[Held]:
    """The check's choices again, with what was sent before (a first
    sentence, photos) and what was sent now; "không" (the guess was wrong)
    asks plainly, adding nothing."""
    no = says_no(typed)
    said = joined(held[0].said, "" if no else typed) if held else typed
    kept = (*(held[0].photos if held else ()), *photos)
    return choices(complaint_id, said, kept, guess=not no)


class Verdicts:
    """Gives the check's choice through the desk, as a press or a number would."""

    def __init__(self, services: Services, desk: Desk) -> None:
        self.services = services
        self.desk = desk

    async def awaiting(
        self, actor: Actor, shown: Callable[[int], Awaitable[int | None]]
    ) -> Complaint | None:
        """The complaint whose "đã khắc phục chưa?" the person was asked
        last and may still answer (reported fixed, theirs or followed):
        ``shown`` says when (a growing number) its question was shown them,
        or None when it no longer stands."""
        services = self.services
        found: dict[int, Complaint] = {}
        for complaint in [*await services.my_complaints(actor), *await services.followed(actor)]:
            if complaint.state is State.RESOLVED:
                found.setdefault(complaint.id, complaint)
        newest: tuple[int, Complaint] | None = None
        for complaint in found.values():
            reporter = await services.reporter_id(complaint.id)
            followers = await services.followers(complaint.id)
            actions = services.available_actions(actor, complaint, reporter, followers)
            if Action.CONFIRM not in actions:
                continue
            when = await shown(complaint.id)
            if when is not None and (newest is None or when > newest[0]):
                newest = (when, complaint)
        return newest[1] if newest is not None else None

    async def give(
        self,
        actor: Actor,
        held: Held,
        update_id: str | None,
        new_report: Callable[[], Awaitable[Said]],
    ) -> Said:
        """The check's choice, with the sentence it was about: "not fixed"
        reopens the complaint with it as the resident's comment, a new
        report starts with it as the description (``new_report``: how the
        channel starts an empty one, when the sentence opens none)."""
        if held.verdict is FixedOrNot.NEW_REPORT:
            return await self._report(actor, held, update_id, new_report)
        begun = await self.desk.act(actor, ACTION_OF[held.verdict], held.complaint_id)
        if held.verdict is FixedOrNot.FIXED or begun.prompt is None:
            return Said([begun])
        sent: list[Answer] = [PhotoAnswer(p) for p in held.photos]
        reply = await self.answers(actor, [*sent, TextAnswer(held.said)] if held.said else sent)
        return Said([reply if reply is not None else begun])

    async def answers(self, actor: Actor, answers: list[Answer]) -> Reply | None:
        """Several answers given at once to the conversation under way (what
        was kept for it), the last reply shown.  (Not claimed by the update
        that gave them: the conversation takes one answer per update.)"""
        services = self.services
        reply = None
        for answer in answers:
            reply = await services.answer(actor, answer) or reply
        if reply is not None and reply.prompt is None:
            # The question it goes on with, shown: what is typed next answers it.
            reply = replace(reply, prompt=await services.current_prompt(actor))
        return reply

    async def _report(
        self,
        actor: Actor,
        held: Held,
        update_id: str | None,
        new_report: Callable[[], Awaitable[Said]],
    ) -> Said:
        """A new report with what was sent at the question: the sentence
        its description (when it reads like one), the photos its photos."""
        services = self.services
        report: list[Answer] = [TextAnswer(held.said)] if held.said else []
        report += [PhotoAnswer(p) for p in held.photos]
        opened = (
            await services.open_report(actor, report[0], update_id=update_id) if report else None
        )
        if opened is not None:
            return Said([await self.answers(actor, report[1:]) or opened])
        started = await new_report()
        # The sentence opened nothing: the photos join the draft.
        kept = await self.answers(actor, [PhotoAnswer(p) for p in held.photos])
        return Said([*started.items, kept]) if kept is not None else started
