"""A sentence or photos sent at "Sự việc đã được khắc phục chưa?" on
Telegram: an answer to that question, not a new report.

The question comes with "👍 Đã khắc phục" / "👎 Chưa khắc phục" buttons, yet
many residents type instead: "vẫn còn rác, chưa ai dọn", "cảm ơn anh, sạch
rồi".  As on Zalo (bot/domain/verdicts.py weighs the sentence), a message no
conversation took, from a person whose question still stands (the newest
one shown them, its buttons not yet taken away, the complaint still waiting
for their answer: theirs or one they follow), is checked once: "Anh/chị báo
… chưa được khắc phục, đúng không?", or asked back when it says neither,
with three buttons — fixed, not fixed, a new report.  The sentence and the
photos are kept with the choices in the person's remembered list (bot/ports.py
`Menu`, "xóa dữ liệu" deletes it: a button holds 64 bytes), so "not fixed"
(pressed there or on the first message) reopens the complaint with the
sentence as the resident's comment, and "new report" starts one with it.
A typed "đúng" / "vâng" takes the guess; "không" asks again plainly.
Photos of one album join the check the first of them asked, silently.

A sentence typed while a conversation is under way (a report's draft) is
that conversation's, as before: this runs only when none took it.
"""

from __future__ import annotations

from dataclasses import replace

from bot.app.core import Reply
from bot.app.desk import Said
from bot.app.outgoing import CommandChoice, TaskChoice, TextOut
from bot.app.verdicts import Verdicts, chosen_by, rechecked
from bot.domain.authz import Actor
from bot.domain.channels import TELEGRAM
from bot.domain.complaints import Action, Complaint, State, parse_code
from bot.domain.conversation import Answer, OtherAnswer, PhotoAnswer, TextAnswer
from bot.domain.flows.steps import PHOTO_MAX
from bot.domain.verdicts import VERDICT_OF, FixedOrNot, Held
from bot.report.present import Presenter
from handlers.telegram.callbacks import HELD_REPORT
from handlers.telegram.context import BotContext

# The mark of a held choice in the person's remembered list.
ITEM = "verdict"
# The album whose first photo asked the check: its other photos join it quietly.
CHECKED_ALBUM = "verdict_album"

QUESTION_KEYS = {
    FixedOrNot.FIXED: "verdict.fixed",
    FixedOrNot.NOT_FIXED: "verdict.not_fixed",
    None: "verdict.unclear",
}


def question(present: Presenter, language: str, complaint: Complaint, held: list[Held]) -> TextOut:
    """The check, worded by the way the sentence leans, with its buttons:
    the fixed question's two, then a new report with what was sent."""
    guess = next((h.verdict for h in held if h.guessed), None)
    body = present.t(language, QUESTION_KEYS[guess], code=complaint.code)
    answers = tuple(
        TaskChoice(present.action(language, action), action, complaint.id)
        for action in (Action.CONFIRM, Action.DISPUTE)
    )
    new = CommandChoice(present.t(language, "commands.new"), HELD_REPORT, (str(complaint.id),))
    return TextOut("text", body, (answers, (new,)), about=complaint.id)


class FixedCheck:
    """The check for one person's update."""

    def __init__(self, context: BotContext, actor: Actor) -> None:
        self.context = context
        self.actor = actor
        self.services = context.services
        self.verdicts = Verdicts(context.services, context.desk)

    # ---- what is kept -------------------------------------------------------------------------

    async def held(self) -> list[Held]:
        """The check's choices kept for this person (none: no check stands)."""
        store = self.context.wiring.remembered
        menu = await store.menu_of(self.actor.person_id) if store is not None else None
        if menu is None or menu.channel != TELEGRAM:
            return []
        found = [Held.of_args(item[1:]) for item in menu.items if item[:1] == (ITEM,)]
        return [h for h in found if h is not None]

    async def _keep(self, held: list[Held]) -> None:
        store = self.context.wiring.remembered
        if store is not None:
            items = [(ITEM, *h.args()) for h in held]
            await store.remember_menu(self.actor.person_id, TELEGRAM, items, self.services.now())

    async def forget(self) -> None:
        """The check answered: what it kept is not used again."""
        if await self.held():
            await self._keep([])

    # ---- a message at the question ------------------------------------------------------------

    async def asked(self) -> tuple[Complaint, list[Held]] | None:
        """The complaint whose fixed question stands for this person, with
        the check's choices when one was asked; None when none stands."""
        if self.context.wiring.remembered is None:
            return None  # nowhere to keep what is sent: a sentence is a report, as before
        held = await self.held()
        if held:
            complaint = await self.services.complaint(held[0].complaint_id)
            if complaint is not None and complaint.state is State.RESOLVED:
                return complaint, held
        complaint = await self.verdicts.awaiting(self.actor, self._shown)
        return (complaint, []) if complaint is not None else None

    async def _shown(self, complaint_id: int) -> int | None:
        """When the complaint's buttons were last shown this person (a
        growing number), while they are still there."""
        shown = await self.services.open_button_messages(complaint_id, self.actor.person_id)
        return max((b.id for b in shown), default=None)

    async def answer(self, answer: Answer, update_id: str) -> Said | None:
        """A message no conversation took, as an answer to the fixed
        question when one stands; None otherwise (a tracking code is
        always the code)."""
        if isinstance(answer, TextAnswer):
            typed = answer.text.strip()
            if not typed or parse_code(typed) is not None:
                return None
        elif not isinstance(answer, PhotoAnswer | OtherAnswer):
            return None
        asked = await self.asked()
        if asked is None:
            return None
        complaint, held = asked
        if isinstance(answer, OtherAnswer):
            # A sticker (a thumbs-up, most often) or a voice note: the
            # question still stands, and the person is told how to answer it.
            return self.context.desk.say(self.actor, "verdict.unread", code=complaint.code)
        if isinstance(answer, TextAnswer):
            chosen = chosen_by(held, typed)
            if chosen is not None:
                return await self.give(chosen, update_id)
            return await self._ask(complaint, rechecked(complaint.id, held, typed))
        return await self._photo(complaint, held, answer)

    async def _photo(self, complaint: Complaint, held: list[Held], photo: PhotoAnswer) -> Said:
        """A photo is kept with the check already asked (quietly for the
        rest of the album that asked it), else asks it, its caption the
        sentence."""
        memory = self.context.chat_data
        if held and not photo.caption:
            more = [replace(h, photos=(*h.photos, photo.media_id)[:PHOTO_MAX]) for h in held]
            await self._keep(more)
            same_album = photo.album is not None and memory is not None
            if same_album and memory.get(CHECKED_ALBUM) == photo.album:  # type: ignore[union-attr]
                return Said()
            return self.context.desk.say(self.actor, "verdict.photo_kept")
        if memory is not None:
            memory[CHECKED_ALBUM] = photo.album
        caption = photo.caption or ""
        return await self._ask(complaint, rechecked(complaint.id, held, caption, (photo.media_id,)))

    async def _ask(self, complaint: Complaint, held: list[Held]) -> Said:
        await self._keep(held)
        present = self.context.renderer
        return Said([question(present, self.actor.language, complaint, held)])

    # ---- a choice ---------------------------------------------------------------------------

    async def give(self, held: Held, update_id: str | None) -> Said:
        """The check's choice, with what it keeps (bot/app/verdicts.py)."""
        await self.forget()
        return await self.verdicts.give(self.actor, held, update_id, self._new_report)

    async def _new_report(self) -> Said:
        return await self.context.desk.new_report(self.actor)

    async def _kept(self, verdict: FixedOrNot | None, complaint_id: int) -> Held | None:
        held = await self.held()
        return next(
            (h for h in held if (h.verdict, h.complaint_id) == (verdict, complaint_id)), None
        )

    async def pressed(self, action: Action, complaint_id: int, update_id: str) -> Reply:
        """ "Fixed" / "not fixed" pressed (under the check or the first
        message): with what the check keeps for that complaint, if any."""
        kept = await self._kept(VERDICT_OF.get(action), complaint_id)
        if kept is None:
            return await self.context.desk.act(self.actor, action, complaint_id)
        said = await self.give(kept, update_id)
        first = said.items[0] if said.items else None
        assert isinstance(first, Reply)  # fixed or not fixed: the action's reply
        return first

    async def new_report(self, complaint_id: int, update_id: str) -> Said:
        """ "New report" under the check: with what it keeps; a press whose
        check is gone (answered, or forged) starts an empty report."""
        kept = await self._kept(FixedOrNot.NEW_REPORT, complaint_id)
        if kept is None:
            return await self._new_report()
        return await self.give(kept, update_id)
