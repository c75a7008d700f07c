"""The resident's side once a complaint is filed: answer the cadre's
question (even after its time-out), confirm the fix or say it is not fixed,
rate it, withdraw it."""

from __future__ import annotations

from typing import Any

from bot.app.core import (
    REFRESH_BUTTONS,
    TASK_REOPENED,
    TO_OWNER,
    TO_RESIDENT,
    PendingChange,
    Reply,
)
from bot.app.leadership import Leadership
from bot.domain.authz import Actor, Refusal
from bot.domain.complaints import Action, Complaint, State, parse_code
from bot.domain.conversation import Answer, PhotoAnswer, TextAnswer
from bot.domain.deadlines import deadlines
from bot.domain.messages import text
from bot.ports import Notice


class Residents(Leadership):
    async def _open_question(self, complaint: Complaint) -> str | None:
        """The owner's last question if the resident has not answered it —
        also once its wait timed out: a late answer still reaches the owner."""
        return (await self._asked(complaint))[0]

    async def _asked(self, complaint: Complaint) -> tuple[str | None, str | None]:
        """The last question the resident has not answered, and the staff
        member who asked it (a leader may ask about a cadre's task)."""
        question: str | None = None
        asker: str | None = None
        for event in await self.store.events_of(complaint.id):
            if event.action is Action.ASK_INFO:
                question, asker = event.note or "", event.actor_staff_id
            elif event.action is Action.ANSWER_INFO:
                question, asker = None, None
        return question, asker

    async def begin_info_reply(self, actor: Actor, complaint_id: int) -> Reply:
        complaint, refusal = await self._checked(actor, complaint_id, Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        question = await self._open_question(complaint)
        if question is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        data = {"complaint_id": complaint.id, "code": complaint.code, "question": question}
        return await self._start_flow(actor, "info_reply", data)

    async def answer_waiting_question(
        self, actor: Actor, answer: Answer, *, update_id: str | None = None
    ) -> Reply | None:
        """A text or a photo sent out of the blue while exactly one of the
        person's reports waits for their answer (its clock stands still):
        taken as that answer, as if "Trả lời" had been pressed first —
        people answer a question by typing.  None when nothing waits (or
        more than one does: which one is then the resident's choice)."""
        if not isinstance(answer, TextAnswer | PhotoAnswer):
            return None
        reported = await self.store.complaints_of_reporter(actor.person_id)
        waiting = [c for c in reported if c.paused_since is not None]
        if len(waiting) != 1:
            return None
        begun = await self.begin_info_reply(actor, waiting[0].id)
        if begun.refused is not None:
            return None
        return await self.answer(actor, answer, update_id=update_id)

    async def _info_reply(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.ANSWER_INFO)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        question, asker = await self._asked(complaint)
        if complaint.paused_since is None and question is None:
            return Reply(refused=Refusal.WRONG_STATE, complaint=complaint)
        photos = await self.media.photos(data.get("photos", []))
        # Answered in time, the resolve clock runs again from here; answered
        # after the wait timed out, it is running already and only the
        # answer goes to the owner.
        resumed = (
            self.resume_fields(
                complaint.category, complaint.due_at, complaint.paused_since, self.clock.now()
            )
            if complaint.paused_since is not None
            else {}
        )
        payload = {
            "event": "info_answered",
            "answer": data["answer"],
            "question": question or "",
            "photos": [p.media_id for p in photos],
        }
        # The owner hears the answer, and so does whoever asked (a leader).
        told = [complaint.owner]
        if asker is not None and asker != complaint.owner:
            told.append(asker)
        pending = PendingChange(
            fields=resumed,
            notices=[Notice(TO_OWNER, staff_id=staff, payload=payload) for staff in told],
            photos=[("info", p) for p in photos],
            note=data["answer"],
        )
        reply = await self._apply(
            actor, complaint, Action.ANSWER_INFO, pending, end_conversation=True
        )
        if reply.refused:
            return reply
        return Reply(
            notes=(text("info_reply.sent", code=complaint.code),), complaint=reply.complaint
        )

    async def confirm_fixed(self, actor: Actor, complaint_id: int) -> Reply:
        """The reporter's "fixed" closes the complaint (and its followers
        hear so).  A follower's closes nothing while the reporter can answer:
        the one who raised it decides, and anyone's "not fixed" still
        reopens it until it closes (issue 17).  It is recorded, though, and
        the owner told: should the reporter stay silent past the wait, the
        sweep closes it as confirmed on the follower's word, not as
        unconfirmed.  With no reporter left to ask (erased, or a city
        platform's request), the first follower's closes it."""
        complaint, refusal = await self._checked(actor, complaint_id, Action.CONFIRM)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        await self._drop_dispute(actor, complaint.id)
        reporter, followers = await self._people_of(complaint.id)
        if (
            reporter is not None
            and actor.person_id != reporter
            and await self._reporter_has_chat(complaint.id)
        ):
            return await self._follower_confirms(actor, complaint)
        pending = PendingChange(
            fields={"closed_at": self.clock.now()},
            notices=[
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "confirmed"}),
                *self._told_of(
                    complaint, "confirmed_by_reporter", reporter, followers, but=actor.person_id
                ),
            ],
        )
        reply = await self._apply(actor, complaint, Action.CONFIRM, pending)
        if reply.refused:
            return reply
        rate = await self._start_flow(
            actor, "rate", {"complaint_id": complaint.id, "code": complaint.code}
        )
        return Reply(
            notes=(text("resident.thanks_confirmed", code=complaint.code), *rate.notes),
            prompt=rate.prompt,
            complaint=reply.complaint,
        )

    async def _drop_dispute(self, actor: Actor, complaint_id: int) -> None:
        """ "Fixed" pressed while saying why it is not (the person changed
        their mind, or pressed 👍 on the first message): the "not fixed"
        under way about the same complaint ends, rather than stand in the
        way of the rating and ask for a comment nobody can send any more."""
        state = await self.store.load_conversation(actor.person_id)
        if state is None or state.kind != "dispute":
            return
        if state.data.get("complaint_id") == complaint_id:
            await self.store.delete_conversation(actor.person_id)

    async def _follower_confirms(self, actor: Actor, complaint: Complaint) -> Reply:
        """A follower's "fixed", noted: the event in the history, the time on
        the complaint (for the sweep), the owner told.  Said twice, or by
        two followers at once, noted once."""
        noted = Reply(notes=(text("follow.confirm_noted", code=complaint.code),))
        if complaint.follower_confirmed_at is not None:
            return noted
        pending = PendingChange(
            fields={"follower_confirmed_at": self.clock.now()},
            notices=[
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "follower_confirmed"})
            ],
        )
        reply = await self._apply(actor, complaint, Action.FOLLOWER_CONFIRM, pending)
        now = reply.complaint
        if reply.refused and not (
            now is not None and now.state is State.RESOLVED and now.follower_confirmed_at
        ):
            return reply  # not noted by another follower meanwhile: reopened, or closed
        return Reply(notes=noted.notes, complaint=now)

    async def _dispute(self, actor: Actor, data: dict[str, Any]) -> Reply:
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.DISPUTE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        photos = await self.media.photos(data.get("photos", []))
        now = self.clock.now()
        category = self.chart.categories.get(complaint.category)
        fields: dict[str, Any] = {
            "resolved_at": None,
            "closed_at": None,
            # The disputed result is no longer the current one (its note stays
            # in the history, its photos are superseded below).
            "resolution_note": None,
            "clock_start": now,
            "paused_since": None,  # a fresh start: no wait carries over
            "follower_confirmed_at": None,  # a word about the disputed fix
        }
        if category is not None:
            # The clocks restart from the reopen: a fresh acknowledge and resolve window.
            fields["ack_due_at"], fields["due_at"] = deadlines(
                self.schedule, now, category, self.knobs
            )
        fields["swept_until"] = now
        fields["escalation_level"] = 0
        reporter, followers = await self._people_of(complaint.id)
        pending = PendingChange(
            fields=fields,
            notices=[
                # The reporter and the followers hear it reopened, but the one who said so.
                *self._told_of(
                    complaint, "reopened_by_other", reporter, followers, but=actor.person_id
                ),
                Notice(
                    TASK_REOPENED,
                    staff_id=complaint.owner,
                    payload={
                        "comment": data["comment"],
                        # The resident's photos of what is still wrong go to the cadre.
                        "photos": [p.media_id for p in photos],
                    },
                ),
            ],
            photos=[("dispute", p) for p in photos],
            note=data["comment"],
            supersede_photos=("resolution",),
        )
        reply = await self._apply(actor, complaint, Action.DISPUTE, pending, end_conversation=True)
        if reply.refused or reply.complaint is None:
            return reply
        # The new deadlines, so the resident knows what to hold the ward to.
        reopened = reply.complaint
        return Reply(
            notes=(
                text(
                    "resident.reopened",
                    code=complaint.code,
                    ack_due=reopened.ack_due_at or reopened.created_at,
                    due=reopened.due_at,
                ),
            ),
            complaint=reopened,
        )

    @staticmethod
    def _told_of(
        complaint: Complaint, event: str, reporter: int | None, followers: list[int], *, but: int
    ) -> list[Notice]:
        """A resident notice to the reporter and each follower but ``but``
        (who acted and is answered directly), each copy marked as a
        follower's where it is one."""
        told = [p for p in (reporter, *followers) if p is not None and p != but]
        return [
            Notice(
                TO_RESIDENT,
                complaint_id=complaint.id,
                person_id=p,
                payload={"event": event, **({"follower": True} if p != reporter else {})},
            )
            for p in told
        ]

    async def _rate(self, actor: Actor, data: dict[str, Any]) -> Reply:
        stars = data.get("stars")
        if stars is None:
            return Reply.say("rate.skipped")
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.RATE)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = PendingChange(
            fields={"rating": int(stars)},
            notices=[
                Notice(
                    TO_OWNER,
                    staff_id=complaint.owner,
                    payload={"event": "rated", "stars": int(stars)},
                )
            ],
            data={"stars": str(stars)},
        )
        reply = await self._apply(actor, complaint, Action.RATE, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(notes=(text("rate.thanks", stars=int(stars)),), complaint=reply.complaint)

    async def withdraw(self, actor: Actor, code_text: str) -> Reply:
        """``/withdraw CODE`` asks first: the answer (bot/domain/flows/resident.py,
        `WithdrawFlow`) comes to `_withdraw`, which checks again."""
        complaint_id = parse_code(code_text)
        if complaint_id is None:
            return Reply(refused=Refusal.NOT_FOUND)
        complaint, refusal = await self._checked(actor, complaint_id, Action.WITHDRAW)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        data = {"complaint_id": complaint.id, "code": complaint.code}
        return await self._start_flow(actor, "withdraw", data)

    async def _withdraw(self, actor: Actor, data: dict[str, Any]) -> Reply:
        if not data.get("confirmed"):
            return Reply.say("withdraw.kept", code=data["code"])
        complaint, refusal = await self._checked(actor, data["complaint_id"], Action.WITHDRAW)
        if refusal or complaint is None:
            return Reply(refused=refusal, complaint=complaint)
        pending = PendingChange(
            fields={"closed_at": self.clock.now()},
            notices=[
                Notice(TO_OWNER, staff_id=complaint.owner, payload={"event": "withdrawn"}),
                Notice(REFRESH_BUTTONS, staff_id=complaint.owner),
            ],
        )
        reply = await self._apply(actor, complaint, Action.WITHDRAW, pending, end_conversation=True)
        if reply.refused:
            return reply
        return Reply(
            notes=(text("resident.withdrawn", code=complaint.code),), complaint=reply.complaint
        )
