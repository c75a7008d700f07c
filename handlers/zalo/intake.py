"""What a person did on Zalo (an `IncomingEvent`), handed to the same use
cases the Telegram handlers call (bot/app/desk.py), and the answer sent
back — everything typed, since Zalo has no buttons.

A text is, in this order:

1. an invite's one-time code ("i-XXXX"): a staff member binds this account;
2. a command typed as words ("mới", "trạng thái PA-000123", "/new"): the
   command, which ends an optional offer (a rating, a note) as on Telegram;
3. a bare number ("2", "số 2", or a line of the list typed or copied
   whole, "2. ✋ Tiếp nhận"): a choice of the person's last numbered list — the
   question of the conversation under way, or a notice's choices when
   those came after it (a task card's "1. Tiếp nhận" typed an hour later);
4. an action typed as words ("tiếp nhận PA-000123", "đã khắc phục"): that
   action, on the complaint named, else on the only one it can be about,
   else the person picks from a numbered list; "rồi" / "chưa" (yes / not
   yet), the Vietnamese answer to "đã khắc phục chưa?", only on the list
   that asks it;
5. any other sentence at that list ("vẫn còn rác, chưa ai dọn", "cảm ơn,
   sạch rồi"): an answer to it, checked once with three numbered choices
   (fixed, not fixed, a new report), the sentence kept for the choice
   (verdicts.py);
6. anything else: an answer to the conversation under way; with none, the
   answer to a cadre's question when that is the last list ("1. Trả lời":
   people answer without typing 1 first), a tracking code shows its
   complaint, a residential group's code from a poster ("HH-TDP03") starts
   a report there, and the rest gets the help.

A photo is downloaded at once and kept (photos.py), and goes the same way
(an answer, a cadre's question's answer, from a cadre whose last list is a
task card the photo of the fix, else a report's first); stickers, voice notes
and what Zalo will not show the bot get a clear answer; a group chat gets
one line: write to the bot privately.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx

from bot import i18n
from bot.app.core import Reply
from bot.app.desk import Desk, Said
from bot.app.outbox import Senders, Verdict
from bot.app.outgoing import RefreshOut, TaskChoice, TextOut
from bot.app.services import Services
from bot.app.verdicts import Verdicts, chosen_by, rechecked
from bot.domain.authz import Actor
from bot.domain.channels import ZALO
from bot.domain.complaints import Action, Complaint, State, StateGroup, parse_code
from bot.domain.conversation import CANCEL, Answer, OtherAnswer, PhotoAnswer, TextAnswer
from bot.domain.flows.resident import is_thanks
from bot.domain.flows.steps import PHOTO_MAX, TEXT_MAX
from bot.domain.messages import text
from bot.ports import Menu, MenuStore
from handlers.zalo.actions import list_line, short_answer, typed_action
from handlers.zalo.client import ZaloError, ZaloTransientError
from handlers.zalo.commands import parse_command
from handlers.zalo.links import ZaloLinks, pasted_invite
from handlers.zalo.photos import keep_photo
from handlers.zalo.render import COMMAND, MenuItem, task_of
from handlers.zalo.sender import ZaloOut
from handlers.zalo.updates import PHOTO_EVENT, EventKind, IncomingEvent
from handlers.zalo.verdicts import HELD, VERDICT_OF, FixedOrNot, Held, held_of, question

log = logging.getLogger(__name__)

# A direct answer that meets a 429 or a 5xx is tried again this often, this
# long apart (seconds); the outbox has its own, longer clock.
ANSWER_RETRIES = (0.5, 1.0)
# How far Zalo's clock may be off ours before its date of a message says the
# message was typed before a list we sent (a server clock ahead of Zalo's
# would otherwise refuse a number typed right after the list).
ZALO_CLOCK_SLACK = timedelta(seconds=5)
# What text copied from a page or a document brings along unseen: a zero-width
# space or joiner, a word joiner, a byte-order mark.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# The longest text handed on, as on Telegram (which sends none longer): Zalo
# documents no limit, and Python refuses to read a number of over 4,300 digits.
TEXT_IN_MAX = 4096


@dataclass(frozen=True)
class Typed:
    """The update being handled, as `_number` weighs it: its id (as the
    conversation records it), whether a stop or a crash left it stored,
    when it was stored and when Zalo dated it (by either, the person had
    typed it: Zalo's date is the earlier when the message was on its way,
    or Zalo delivered it late, while a new list went out)."""

    update_id: str
    recovered: bool = False
    received_at: datetime | None = None
    sent_at: datetime | None = None

    def before(self, menu: Menu) -> bool:
        """The list was shown only after this was typed: it cannot mean it."""
        shown = menu.shown_at
        if shown is None:
            return False
        if self.received_at is not None and shown > self.received_at:
            return True
        # Zalo's clock is not ours: its date counts only well before the list.
        return self.sent_at is not None and shown > self.sent_at + ZALO_CLOCK_SLACK


class ZaloIntake:
    def __init__(
        self,
        services: Services,
        desk: Desk,
        out: ZaloOut,
        menus: MenuStore,
        downloads: httpx.AsyncClient,
        links: ZaloLinks,
        senders: Senders,
    ) -> None:
        self.services = services
        self.desk = desk
        self.out = out
        self.menus = menus
        self.downloads = downloads
        self.links = links
        self.senders = senders
        self.verdicts = Verdicts(services, desk)

    async def handle(
        self,
        update_id: str,
        event: IncomingEvent,
        recovered: bool = False,
        received_at: datetime | None = None,
    ) -> None:
        """One event, answered (what it queued is sent by `after`).  ``recovered``:
        left stored by a stop or a crash, perhaps handled once already; ``received_at``:
        when it was stored, so typed before any list shown later (see `_number`)."""
        services = self.services
        if event.kind is EventKind.UNFOLLOW:
            # Not the person writing: nothing to answer, and nobody to answer.
            await services.channel_reach(ZALO, event.sender_id, reachable=False)
            return
        actor = await services.identify_sender(ZALO, event.sender_id, event.sender_name or None)
        if actor is None:
            return  # on the abuse list: dropped without a word
        try:
            typed = Typed(f"{ZALO}:{update_id}", recovered, received_at, event.sent_at)
            said = await self._said(actor, typed, event)
            speaker = said.actor or actor
            if speaker.staff is not None and not any(map(_shows_something, said.items)):
                # Telegram shows a pressed button was taken; here silence would
                # not (a cadre's note to the resident skipped).  A resident's
                # empty reply is followed by its notice (a report filed: the
                # receipt), which says it was taken.
                said = said.add(self.desk.text(speaker, "conv.noted_zalo"))
            await self.answer(event.chat_id, actor, said)
        except Exception:
            await self._apologise(event.chat_id, actor)
            raise

    async def after(self) -> None:
        """Once an update is marked done: every channel sends what it queued
        (see `ZaloReceiver.open`)."""
        await self.senders.after_update()

    async def answer(self, chat_id: str, actor: Actor, said: Said) -> None:
        """Send what the desk says, each call tried again on a 429 or a 5xx;
        a message Zalo refuses is left out and the rest still goes."""
        actor = said.actor or actor
        for part in self.out.parts(chat_id, actor, said.items):
            for attempt, wait in enumerate((*ANSWER_RETRIES, None)):
                try:
                    sent = await part.send()
                except ZaloTransientError:
                    if wait is None:
                        raise
                    log.info("a Zalo answer is tried again (attempt %d)", attempt + 2)
                    await asyncio.sleep(wait)
                    continue
                except ZaloError as exc:
                    failure = self.out.judge(exc)
                    if failure is None or failure.verdict is not Verdict.REFUSED:
                        raise
                    log.warning("a Zalo answer was refused and left out: %s", failure.reason)
                    break
                if part.accepted is not None and sent is not None:
                    await part.accepted(sent)
                break

    async def _apologise(self, chat_id: str, actor: Actor) -> None:
        ref = secrets.token_hex(4)
        log.error("error %s while handling a Zalo update", ref, exc_info=True)
        body = i18n.t(actor.language, "fallback.error", ref=ref)
        try:
            await self.out.send_text(chat_id, body)
        except Exception:  # the apology itself failed; the log has the reference
            log.exception("could not send the error apology %s", ref)

    # ---- what to say ------------------------------------------------------------------------

    async def _said(self, actor: Actor, typed: Typed, event: IncomingEvent) -> Said:
        desk = self.desk
        if event.is_group:
            return desk.say(actor, "group.private_only")
        if event.kind is EventKind.FOLLOW:
            return Said([await desk.welcome(actor, event.sender_name)])
        if not self.services.has_chart:
            return desk.say(actor, "fallback.not_set_up")
        update_id = typed.update_id
        if event.kind is EventKind.TEXT:
            return await self._text(actor, typed, event)
        if event.kind is EventKind.PHOTO:
            assert event.photo_url is not None
            media_id = await keep_photo(self.downloads, self.services.media, event.photo_url)
            if media_id is None:
                return desk.say(actor, "report.photo_unavailable_zalo")
            return await self._answer(actor, update_id, PhotoAnswer(media_id, event.caption))
        if event.kind is EventKind.STICKER:
            return await self._answer(actor, update_id, OtherAnswer("sticker"))
        if event.kind is EventKind.VOICE:
            return await self._answer(actor, update_id, OtherAnswer("voice"))
        if event.kind is EventKind.UNSUPPORTED and event.event_name == PHOTO_EVENT:
            # A photo whose link the bot cannot read: as one it could not fetch.
            return desk.say(actor, "report.photo_unavailable_zalo")
        # Unsupported (Zalo shows the bot nothing of it) or an event not known yet.
        hidden = event.kind is EventKind.UNSUPPORTED
        return await self._answer(actor, update_id, OtherAnswer("other"), hidden=hidden)

    async def _text(self, actor: Actor, came: Typed, event: IncomingEvent) -> Said:
        desk = self.desk
        update_id = came.update_id
        typed = (event.text or "").strip().strip(INVISIBLE).strip()
        if len(typed) > TEXT_IN_MAX:
            return desk.say(actor, "conv.too_long", length=len(typed), limit=TEXT_MAX)
        invited = await desk.typed_invite(actor, pasted_invite(typed))
        if invited is not None:
            return invited
        command = parse_command(typed)
        if command is not None and parse_code(typed) is None:
            await self.services.leave_optional(actor)
            if command.name == "new" and not command.args:
                # "mới" at the check of a sentence: the report starts with it.
                held = await self._held_report(actor)
                if held is not None:
                    return await self._give_verdict(actor, held, event.sender_name, update_id)
            return await desk.command(
                actor, command.name, command.args, self.links, who=event.sender_name
            )
        line = list_line(typed)
        action = typed_action(line[1] if line is not None else typed)
        if line is not None and (not line[1] or await self._is_item(actor, line[0], action)):
            chosen = await self._number(actor, line[0], event.sender_name, came)
            if chosen is not None:
                return chosen
        if action is not None and not await self._conversation_has_the_floor(actor):
            await self.services.leave_optional(actor)
            return await self._act(actor, *action)
        verdict = short_answer(typed)
        if verdict is not None and not await self._conversation_has_the_floor(actor):
            listed = await self._listed(actor, verdict)
            if len(listed) == 1:
                await self.services.leave_optional(actor)
                return Said([await desk.act(actor, verdict, listed.pop())])
        if not (line is not None and not line[1]) and self._area(typed) is None:
            answered = await self._fixed_or_not(actor, typed, verdict, event.sender_name, came)
            if answered is not None:
                return answered
        if line is not None and not line[1] and await self._numbered_question(actor):
            typed = str(line[0])  # "số 2": the question's second choice
        answer = TextAnswer(typed, sent_at=event.sent_at)
        reply = await self.services.answer(actor, answer, update_id=update_id)
        if reply is not None:
            return Said([reply])
        answered = await self._take_up(actor, Action.ANSWER_INFO, answer, update_id)
        if answered is not None:
            return answered
        area = self._area(typed)
        if area is not None:
            return await desk.start_in(actor, event.sender_name, area, update_id=update_id)
        if actor.staff is None and is_thanks(typed):
            # Thanked (after a rating, at the end): not told how to report.
            return desk.say(actor, "fallback.thanks_zalo")
        said = await desk.unanswered(actor, answer, update_id=update_id)
        helped = actor.staff is not None and said.items == [desk.fallback(actor)]
        if helped and await self._list_stands(actor):
            # "ok" at a task card: its numbers must still mean the card's
            # ("2. Báo đã xử lý"), not the help's list that would replace it.
            return desk.say(actor, "fallback.staff_list_zalo")
        return said

    async def _answer(
        self, actor: Actor, update_id: str, answer: Answer, *, hidden: bool = False
    ) -> Said:
        """``hidden``: a message Zalo shows the bot nothing of, whatever the
        person sent (a user the law protects gets this for every text)."""
        reply = await self.services.answer(actor, answer, update_id=update_id)
        if reply is not None:
            return Said([reply])
        if hidden:  # "type text" alone would mislead one who did: the office's desk too
            return self.desk.say(actor, "fallback.unsupported_zalo")
        if isinstance(answer, OtherAnswer):
            kind = text(f"media.{answer.kind}")
            if await self._list_stands(actor):
                # The help's list would replace it: "rồi", "1" typed next would mean the help's.
                return self.desk.say(actor, "fallback.media_list_zalo", kind=kind)
            unread = self.desk.text(actor, "fallback.media_zalo", kind=kind)
            return Said([unread, self.desk.fallback(actor)])
        for action in (Action.ANSWER_INFO, Action.RESOLVE):
            answered = await self._take_up(actor, action, answer, update_id)
            if answered is not None:
                return answered
        if isinstance(answer, PhotoAnswer):
            checked = await self._photo_at_fixed_question(actor, answer)
            if checked is not None:
                return checked
        return await self.desk.unanswered(actor, answer, update_id=update_id)

    async def _take_up(
        self, actor: Actor, action: Action, answer: Answer, update_id: str
    ) -> Said | None:
        """What no conversation took, as the first answer of ``action`` when
        the last list offers it on one complaint, as people answer in a chat
        without typing its number first: a cadre's question to this person
        ("1. Trả lời") is answered by a text or a photo, a cadre's task
        ("2. Báo đã xử lý") gets the photo of the fix.  Otherwise either
        would start a new report, and the cadre wait for nothing."""
        listed = await self._listed(actor, action, again=True)
        if len(listed) != 1:
            return None
        begun = await self.desk.act(actor, action, listed.pop())
        reply = await self.services.answer(actor, answer, update_id=update_id)
        if reply is None:
            return None
        if await self.services.has_conversation(actor):  # it goes on: what it is about first
            return Said([begun, reply])
        return Said([reply])

    # ---- numbers and actions ----------------------------------------------------------------

    async def _menu(self, actor: Actor) -> tuple[bool, Menu | None]:
        """(whether a conversation is under way, the person's last list)."""
        state = await self.services.store.load_conversation(actor.person_id)
        return state is not None, await self.menus.menu_of(actor.person_id)

    async def _list_stands(self, actor: Actor) -> bool:
        """The person's last list is the last thing they were shown (a
        sticker sent at "đã khắc phục chưa?" or at a task card leaves it
        so: its numbers still mean what it says)."""
        menu = await self.menus.menu_of(actor.person_id)
        return menu is not None and menu.over_prompt and bool(menu.items)

    async def _conversation_has_the_floor(self, actor: Actor) -> bool:
        """A conversation other than an optional offer is under way, and its
        question came after the person's last list."""
        state = await self.services.store.load_conversation(actor.person_id)
        if state is None or self.services.engine.is_optional(state.kind):
            return False
        menu = await self.menus.menu_of(actor.person_id)
        return menu is None or not menu.over_prompt

    async def _number(self, actor: Actor, number: int, who: str, came: Typed) -> Said | None:
        """A bare number for the person's last list, or None: it answers
        the conversation's question (or, with neither, gets the help).

        A list a question came after is taken up again once that question's
        conversation is over ("2. Báo đã xử lý" on the card, after the
        acknowledgement's offer), but not by an update recovered after a crash:
        that may be the very number the question took, the "1" that sent a
        report handled a second time, which must not start a new one.  Nor is
        a list shown after the number was typed: the person had not seen it
        (a card sent while the number was on its way, or the help this very
        update got from a handling a crash cut off); they are told to type it
        again from the newest list."""
        talking, menu = await self._menu(actor)
        if menu is None or not menu.items:
            return None
        if not menu.over_prompt and (talking or came.recovered):
            return None
        if came.before(menu):
            if talking or came.recovered:
                return None
            return self.desk.say(actor, "fallback.list_changed_zalo", number=number)
        if not 1 <= number <= len(menu.items):
            if talking:
                return None
            count = len(menu.items)
            if count == 1:  # not "một số từ 1 đến 1"
                return self.desk.say(actor, "fallback.no_such_number_one_zalo", number=number)
            return self.desk.say(actor, "fallback.no_such_number_zalo", number=number, count=count)
        await self.services.leave_optional(actor)
        return await self._run(actor, menu.items[number - 1], who, came.update_id)

    async def _run(self, actor: Actor, item: MenuItem, who: str, update_id: str) -> Said:
        task = task_of(item)
        if task is not None:
            return Said([await self.desk.act(actor, *task)])
        held = held_of(item)
        if held is not None:
            return await self._give_verdict(actor, held, who, update_id)
        if item and item[0] == COMMAND and len(item) >= 2:
            return await self.desk.command(actor, item[1], item[2:], self.links, who=who)
        return Said([self.desk.fallback(actor)])

    # ---- "đã khắc phục chưa?" answered in a sentence (verdicts.py) --------------------------

    async def _fixed_or_not(
        self, actor: Actor, typed: str, short: Action | None, who: str, came: Typed
    ) -> Said | None:
        """A text at the question "đã khắc phục chưa?" (the last thing the
        person was shown, its complaint still waiting for the answer), or at
        the bot's check of a sentence typed there: "đúng" / "rồi" / "chưa"
        take the check's choice; anything else is (or joins) the sentence the
        question is asked about, with its three numbered choices.  None when
        no such question is the last thing shown."""
        asked = await self._fixed_question(actor)
        if asked is None:
            return None
        complaint, held = asked
        chosen = chosen_by(held, typed, short)
        await self.services.leave_optional(actor)
        if chosen is not None:
            return await self._give_verdict(actor, chosen, who, came.update_id)
        return self._ask(actor, complaint, rechecked(complaint.id, held, typed))

    async def _photo_at_fixed_question(self, actor: Actor, photo: PhotoAnswer) -> Said | None:
        """A photo at "đã khắc phục chưa?": most often what the place looks
        like now, either way; checked like a sentence, kept for the choice
        (its caption is the sentence).  Photos sent one after the other (Zalo
        sends each alone) join the check already asked, which is not asked
        again for each."""
        asked = await self._fixed_question(actor)
        if asked is None:
            return None
        complaint, held = asked
        await self.services.leave_optional(actor)
        if held and not photo.caption:
            more = [replace(h, photos=(*h.photos, photo.media_id)[:PHOTO_MAX]) for h in held]
            menu = await self.menus.menu_of(actor.person_id)
            shown = menu.shown_at if menu is not None and menu.shown_at else self.services.now()
            items = [(COMMAND, HELD, *h.args()) for h in more]
            await self.menus.remember_menu(actor.person_id, ZALO, items, shown)
            return self.desk.say(actor, "verdict.photo_kept_zalo")
        said = photo.caption or ""
        return self._ask(actor, complaint, rechecked(complaint.id, held, said, (photo.media_id,)))

    def _ask(self, actor: Actor, complaint: Complaint, held: list[Held]) -> Said:
        """The check of what was sent at the question, as a numbered list."""
        return Said([question(self.desk.present, actor.language, complaint.code, held)])

    async def _held_report(self, actor: Actor) -> Held | None:
        """The check's "new report" choice, when the check is the last thing
        shown and keeps something sent (what "mới" typed there starts with)."""
        asked = await self._fixed_question(actor)
        held = asked[1] if asked is not None else []
        found = next((h for h in held if h.verdict is FixedOrNot.NEW_REPORT), None)
        return found if found is not None and (found.said or found.photos) else None

    async def _fixed_question(self, actor: Actor) -> tuple[Complaint, list[Held]] | None:
        """The complaint the person's last list asks "đã khắc phục chưa?"
        about, and the check's choices when the list is that check; None
        when the list asks nothing of the kind, its complaint no longer
        waits for the answer, or a conversation is under way (a report's
        draft whose question came before the list: a sentence is its
        answer, as it was before the list came)."""
        state = await self.services.store.load_conversation(actor.person_id)
        if state is not None and not self.services.engine.is_optional(state.kind):
            return None
        menu = await self.menus.menu_of(actor.person_id)
        if menu is None or not menu.over_prompt:
            return None
        held = [h for h in map(held_of, menu.items) if h is not None]
        tasks = [t for t in map(task_of, menu.items) if t is not None and t[0] in VERDICT_OF]
        ids = {h.complaint_id for h in held} | {t[1] for t in tasks}
        if len(ids) != 1:
            return None
        complaint = await self.services.complaint(ids.pop())
        if complaint is None or complaint.state is not State.RESOLVED:
            return None
        return complaint, held

    async def _give_verdict(self, actor: Actor, held: Held, who: str, update_id: str) -> Said:
        """The check's choice, with what it keeps (bot/app/verdicts.py)."""

        async def new_report() -> Said:
            return await self.desk.command(actor, "new", (), self.links, who=who)

        return await self.verdicts.give(actor, held, update_id, new_report)

    async def _act(self, actor: Actor, action: Action, code: str | None) -> Said:
        """An action typed as words: on the complaint named, else the only
        one it can be about (the last list's, while nothing was shown after
        it; else the person's own), else a numbered list to pick from."""
        desk = self.desk
        if code is not None:
            complaint_id = parse_code(code)
            assert complaint_id is not None
            return Said([await desk.act(actor, action, complaint_id)])
        listed = await self._listed(actor, action)
        if len(listed) == 1:
            return Said([await desk.act(actor, action, listed.pop())])
        candidates = await self._candidates(actor, action)
        label = desk.present.action(actor.language, action)
        if not candidates:
            return desk.say(actor, "fallback.nothing_to_do_zalo", action=label)
        if len(candidates) == 1:
            return Said([await desk.act(actor, action, candidates[0].id)])
        body = desk.present.t(actor.language, "fallback.which_complaint_zalo", action=label)
        rows = tuple((TaskChoice(f"{label} {c.code}", action, c.id),) for c in candidates[:20])
        return Said([TextOut("text", body, rows)])

    async def _numbered_question(self, actor: Actor) -> bool:
        """Whether the question under way offers numbered choices (not only
        "cancel": where a text is asked for, "số 12" is a text)."""
        prompt = await self.services.current_prompt(actor)
        return prompt is not None and any(c.key != CANCEL for c in prompt.choices)

    async def _is_item(
        self, actor: Actor, number: int, action: tuple[Action, str | None] | None
    ) -> bool:
        """Whether the last list's line ``number`` is ``action`` (named
        without a code): a line typed or copied whole, "3. ✋ Tiếp nhận"."""
        menu = await self.menus.menu_of(actor.person_id)
        if action is None or action[1] is not None or menu is None:
            return False
        task = task_of(menu.items[number - 1]) if 1 <= number <= len(menu.items) else None
        return task is not None and task[0] is action[0]

    async def _listed(self, actor: Actor, action: Action, *, again: bool = False) -> set[int]:
        """The complaints the person's last list offers ``action`` on, while
        it is the last thing they were shown (``again``: or once a question
        shown after it is over, as a typed number takes it up again)."""
        menu = await self.menus.menu_of(actor.person_id)
        shown = menu.items if menu is not None and (menu.over_prompt or again) else ()
        tasks = [task_of(item) for item in shown]
        return {task[1] for task in tasks if task is not None and task[0] is action}

    async def _candidates(self, actor: Actor, action: Action) -> list[Complaint]:
        """The person's complaints (their tasks, what they reported, and
        what they follow) on which they may take ``action`` now."""
        services = self.services
        found: dict[int, Complaint] = {c.id: c for c in await services.tasks(actor)}
        followed = await services.followed(actor)
        for complaint in [*await services.my_complaints(actor), *followed]:
            # Not closed: one reported fixed is what "đã/chưa khắc phục" is about.
            if complaint.state.group is not StateGroup.CLOSED:
                found.setdefault(complaint.id, complaint)
        following = {c.id for c in followed}
        out = []
        for complaint in found.values():
            reporter = await services.reporter_id(complaint.id)
            followers = (actor.person_id,) if complaint.id in following else ()
            if action in services.available_actions(actor, complaint, reporter, followers):
                out.append(complaint)
        return out

    def _area(self, typed: str) -> str | None:
        """The area a poster's code names ("HH-TDP03", in any case), if any."""
        wanted = typed.strip().upper().replace(" ", "-")
        if not wanted or len(wanted) > 40:
            return None
        return next((c for c in self.services.chart.areas if c.upper() == wanted), None)


def _shows_something(item: object) -> bool:
    """Whether ``item`` gives the person a message (a service's reply may
    be empty: the note to the resident skipped, say)."""
    if isinstance(item, Reply):
        return bool(item.notes or item.prompt or item.refused)
    return not isinstance(item, RefreshOut)
