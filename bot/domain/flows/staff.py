"""The flows of the person handling a task: ``resolve`` (the note of the
fix, then a photo), ``ack_reply`` (a template reply after acknowledging),
``ask_info`` (a question to the resident) and ``extend`` (a leader gives
more days)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot import i18n
from bot.domain.conversation import (
    Answer,
    Choice,
    ChoiceAnswer,
    Outcome,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from bot.domain.flows.steps import (
    SKIP,
    FlowEnv,
    cancel_choice,
    check_text,
    keep_photo,
    options_of,
    take_text,
    unusable,
    with_caption,
)
from bot.domain.messages import text
from bot.domain.text import (
    fold,
    match_typed,
)

# ---- staff and resident follow-ups ----------------------------------------------------------


class ResolveFlow:
    """The owner's fix report.  A photo is asked for (residents trust a fix
    they can see) but can be skipped."""

    kind = "resolve"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "note"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        code = data["code"]
        if step == "note":
            return Prompt(
                seq,
                text("resolve.ask_note", code=code),
                (*_template_choices(env, data, "resolve"), cancel_choice()),
            )
        return Prompt(
            seq,
            text("resolve.ask_photo", code=code),
            (Choice(SKIP, text("resolve.skip_photo"), aliases=("bo qua", "skip")), cancel_choice()),
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "note":
            if isinstance(answer, PhotoAnswer):
                return keep_photo(data, answer, "resolve.photo_kept", "resolve.note_hint", "note")
            picked = _picked_template(env, data, "resolve", answer)
            if picked is not None:
                answer = TextAnswer(picked)
            if not isinstance(answer, TextAnswer):
                return Outcome(data, notes=unusable(answer, "resolve.note_hint"), reprompt=False)
            value, notes = check_text(data, answer, field_name="note")
            if value is None:
                return Outcome(data, notes=notes, reprompt=False)
            data["note"] = with_caption(data, value)
            if data.get("photos"):
                return Outcome(data, result=dict(data))
            return Outcome(data, step="photo")
        if isinstance(answer, PhotoAnswer):
            data["photos"] = [answer.media_id]
            return Outcome(data, result=dict(data))
        if isinstance(answer, ChoiceAnswer) and answer.key == SKIP:
            return Outcome(data, result=dict(data))
        if isinstance(answer, TextAnswer) and match_typed(answer.text, options_of(prompt.choices)):
            return Outcome(data, result=dict(data))
        return Outcome(data, notes=unusable(answer, "resolve.photo_hint"), reprompt=False)


# The catalogue's replies for a category with none of its own, by kind (the
# keys written out, so that a search for one finds where it is used).
DEFAULT_TEMPLATES = {
    "acknowledge": (
        "templates.acknowledge_1",
        "templates.acknowledge_2",
        "templates.acknowledge_3",
    ),
    "resolve": ("templates.resolve_1", "templates.resolve_2", "templates.resolve_3"),
}


def templates(env: FlowEnv, data: Mapping[str, Any], kind: str) -> list[str]:
    """Short replies for this category, from the org chart, else the
    catalogue's defaults in the cadre's language."""
    category = env.chart.categories.get(str(data.get("category")))
    own: tuple[str, ...] = ()
    if category is not None:
        own = category.resolve_templates if kind == "resolve" else category.acknowledge_templates
    if own:
        return list(own)
    return [i18n.t(env.language, key) for key in DEFAULT_TEMPLATES[kind]]


def _template_choices(env: FlowEnv, data: Mapping[str, Any], kind: str) -> list[Choice]:
    return [Choice(f"t{n}", body) for n, body in enumerate(templates(env, data, kind), start=1)]


def _picked_template(
    env: FlowEnv, data: Mapping[str, Any], kind: str, answer: Answer
) -> str | None:
    if (
        isinstance(answer, ChoiceAnswer)
        and answer.key.startswith("t")
        and answer.key[1:].isdecimal()
    ):
        options = templates(env, data, kind)
        index = int(answer.key[1:]) - 1
        if 0 <= index < len(options):
            return options[index]
    return None


# "ok", "ừ", "vâng" typed at the offer: the officer's nod to the bot (on
# Zalo, where nothing is pressed, often the answer to any question), not a
# message worth sending a resident ("Cán bộ nhắn anh/chị: “ok”").
NODS = ("ok", "oke", "okay", "okie", "u", "uh", "um", "vang", "da", "duoc", "dong y")


class AckReplyFlow:
    """Right after acknowledging, the owner may send the resident a short
    reply: a template, their own words, or nothing."""

    kind = "ack_reply"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "reply"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(
            seq,
            text("ack_reply.ask", code=data["code"]),
            (
                *_template_choices(env, data, "acknowledge"),
                Choice(SKIP, text("ack_reply.skip"), aliases=("bo qua", "skip")),
            ),
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        picked = _picked_template(env, data, "acknowledge", answer)
        if picked is not None:
            return Outcome(data, result={**data, "reply": picked})
        if isinstance(answer, ChoiceAnswer) and answer.key == SKIP:
            return Outcome(data, result={**data, "reply": None})
        if isinstance(answer, TextAnswer):
            if fold(answer.text) in ("bo qua", "skip", *NODS):
                return Outcome(data, result={**data, "reply": None})
            value, notes = check_text(data, answer, field_name="reply")
            if value is None:
                return Outcome(data, notes=notes, reprompt=False)
            return Outcome(data, result={**data, "reply": value})
        # A photo, a location, a sticker: not a note for the resident.  The
        # offer ends and the input is handled as if it had not been made.
        return Outcome(data, release=True)


class AskInfoFlow:
    """The owner asks the resident a question; the resolve clock pauses."""

    kind = "ask_info"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "question"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(seq, text("ask_info.ask_question", code=data["code"]), (cancel_choice(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        return take_text(data, answer, "ask_info.hint", "question")


EXTEND_CHOICES = (1, 2, 3, 5, 10)
EXTEND_MAX_DAYS = 60
# A number of working days as a leader types it: "3", "+3", "3 ngày",
# "3 ngày làm việc", "3 days" — never "-1", "1,5" or "2 tuần" (not days).
_TYPED_DAYS = re.compile(r"^\+?\s*(\d{1,3})(?![\d.,])(.*)$")
_DAY_WORDS = frozenset({"", "ngay", "ngay lam viec", "day", "days", "working day", "working days"})


def typed_days(typed: str) -> int | None:
    """The working days typed, within 1..EXTEND_MAX_DAYS; None for anything else."""
    match = _TYPED_DAYS.match(typed.strip())
    if match is None or fold(match.group(2)) not in _DAY_WORDS:
        return None
    days = int(match.group(1))
    return days if 1 <= days <= EXTEND_MAX_DAYS else None


class ExtendFlow:
    """A leader moves the resolve deadline by some working days, with a reason."""

    kind = "extend"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "days"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        if step == "days":
            choices = [Choice(str(n), text("extend.days", days=n)) for n in EXTEND_CHOICES]
            return Prompt(
                seq,
                text("extend.ask_days", code=data["code"]),
                (*choices, cancel_choice()),
                columns=3,
            )
        return Prompt(seq, text("extend.ask_reason"), (cancel_choice(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "days":
            if isinstance(answer, ChoiceAnswer):
                data["days"] = int(answer.key)
                return Outcome(data, step="reason")
            days = typed_days(answer.text) if isinstance(answer, TextAnswer) else None
            if days is not None:
                data["days"] = days
                return Outcome(data, step="reason")
            return Outcome(data, notes=unusable(answer, "extend.days_hint"))
        return take_text(data, answer, "extend.ask_reason", "reason")
