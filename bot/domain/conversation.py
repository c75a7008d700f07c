"""The channel-neutral conversation engine.

A conversation is a short series of questions (a *prompt* each) that one chat
answers.  Each prompt is a question with numbered choices: Telegram renders
them as inline buttons, a text-only channel (Zalo) as a numbered list.  Every
step also accepts a typed answer: a bare number picks that choice, and a name
matches with or without diacritics.

The engine is pure: it takes the stored state and one answer and returns the
next state, what to say, and — when the conversation is complete — a result
for a service to act on.  State is persisted by the caller (one per chat), so
a half-written report survives a restart.

``seq`` numbers the prompts of a conversation.  A button carries the seq of
the prompt it belongs to; a press on an older prompt is stale and changes
nothing.

Two rules keep a conversation from taking what was not meant for it:

* ``last_update`` is the incoming update that last moved the conversation.
  After a crash the channel may hand the same update in again; its effect
  is already stored, so the engine only asks the current question again
  (an answer never lands on the question after the one it was for).
* An *optional* conversation (a rating, a short note to the resident) only
  offers something.  It ends — and the input is handled as if it were not
  there — when it has waited longer than its lifetime, on a tracking code,
  on a press of another message's button, or on input its flow cannot use
  (the flow says so with ``Outcome.release``).  The channel ends it on a
  command, too (see `ConversationEngine.is_optional`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.complaints import parse_code
from bot.domain.messages import Label, Text, text
from bot.domain.text import fold

# Choice keys every flow understands.
CANCEL = "x"
NEXT_PAGE = ">"
PREV_PAGE = "<"
BACK = "^"


@dataclass(frozen=True)
class Choice:
    key: str
    label: Label
    # Extra names a typed answer may match (both languages, codes).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prompt:
    seq: int
    question: Text
    choices: tuple[Choice, ...] = ()
    wants_location: bool = False
    columns: int = 1

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


# ---- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextAnswer:
    text: str
    message_id: int | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class ChoiceAnswer:
    seq: int
    key: str


@dataclass(frozen=True)
class LocationAnswer:
    lat: float
    lon: float
    title: str | None = None  # a venue's name and address, kept as a landmark


@dataclass(frozen=True)
class PhotoAnswer:
    """A photo, already kept by the channel that received it (its id in
    the media store)."""

    media_id: int
    caption: str | None = None  # what the person wrote under the photo
    album: str | None = None  # photos sent together share this (one update each)
    message_id: int | None = None  # the channel's id of the message (its caption may be edited)


@dataclass(frozen=True)
class OtherAnswer:
    """Media the bot cannot use here: sticker, voice, video note, document…"""

    kind: str


Answer = TextAnswer | ChoiceAnswer | LocationAnswer | PhotoAnswer | OtherAnswer


# ---- state and turns -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationState:
    kind: str
    step: str
    data: Mapping[str, Any]
    seq: int = 1
    # The incoming update that last moved this conversation (see the module
    # docstring), and when it was last stored (set by the store on loading).
    last_update: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Turn:
    """What one answer leads to.

    ``state`` is None when the conversation is over (finished or cancelled).
    ``prompt`` is the question to (re)send, or None when only notes go out.
    ``result`` is set once, when the last answer is in.
    """

    state: ConversationState | None
    notes: tuple[Text, ...] = ()
    prompt: Prompt | None = None
    result: Mapping[str, Any] | None = None
    cancelled: bool = False
    # An optional conversation ended without taking the answer: the caller
    # handles the answer as if no conversation were under way.
    released: bool = False
    # The update was handled before (its effect is stored): nothing changed.
    replayed: bool = False


@dataclass
class Outcome:
    """A flow's answer to one input; the engine turns it into a Turn."""

    data: dict[str, Any]
    step: str | None = None  # None: stay on the current step
    notes: list[Text] = field(default_factory=list)
    reprompt: bool = True
    result: dict[str, Any] | None = None
    # Only for optional flows: "this input is not for me" (see Turn.released).
    release: bool = False


class FlowContext(Protocol):
    """What a flow may consult: the org chart, the chat's language, settings."""

    @property
    def language(self) -> str: ...


class Flow(Protocol):
    kind: str

    def first_step(self, ctx: Any, data: dict[str, Any]) -> str: ...

    def prompt(self, ctx: Any, step: str, data: Mapping[str, Any], seq: int) -> Prompt: ...

    def answer(
        self, ctx: Any, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome: ...


def pick_by_number(text_value: str, prompt: Prompt) -> str | None:
    """A bare number picks that numbered choice (1-based) — never Cancel:
    "11" typed for "Tổ 11" must not throw a draft away because Cancel
    happens to be the eleventh button.  The flow then reads the number as
    a name (see bot/domain/flows/places.py)."""
    stripped = text_value.strip().rstrip(".)")
    if stripped.isdecimal():  # "²".isdigit() is true, but int() refuses it
        index = int(stripped)
        if 1 <= index <= len(prompt.choices) and prompt.choices[index - 1].key != CANCEL:
            return prompt.choices[index - 1].key
    return None


def _is_typed_cancel(value: str, prompt: Prompt) -> bool:
    """ "huỷ", "Hủy", "cancel": a typed cancel works at every step that offers one."""
    cancel = prompt.choice(CANCEL)
    if cancel is None:
        return False
    folded = fold(value)
    return bool(folded) and folded in {fold(alias) for alias in cancel.aliases}


def _stale(answer: Answer, state: ConversationState, prompt: Prompt) -> bool:
    """A press on a button of another (older) message."""
    return isinstance(answer, ChoiceAnswer) and (
        answer.seq != state.seq or prompt.choice(answer.key) is None
    )


class ConversationEngine:
    """Runs flows: checks stale presses and replayed updates, turns numbers
    into choices, handles cancel, ends optional conversations that would
    take unrelated input, and advances the stored state."""

    def __init__(
        self, flows: Sequence[Flow], optional: Mapping[str, timedelta] | None = None
    ) -> None:
        self._flows = {f.kind: f for f in flows}
        # Optional conversations by kind, with how long each waits for its answer.
        self._lifetimes = dict(optional or {})

    def flow(self, kind: str) -> Flow:
        return self._flows[kind]

    def is_optional(self, kind: str) -> bool:
        return kind in self._lifetimes

    def lapsed(self, state: ConversationState, now: datetime | None) -> bool:
        """An optional conversation that has waited longer than its lifetime."""
        lifetime = self._lifetimes.get(state.kind)
        if lifetime is None or now is None or state.updated_at is None:
            return False
        return now - state.updated_at > lifetime

    def _yields(
        self, state: ConversationState, answer: Answer, prompt: Prompt, now: datetime | None
    ) -> bool:
        """Whether an optional conversation ends instead of taking ``answer``."""
        if not self.is_optional(state.kind):
            return False
        code = isinstance(answer, TextAnswer) and parse_code(answer.text) is not None
        return code or _stale(answer, state, prompt) or self.lapsed(state, now)

    def start(
        self, ctx: Any, kind: str, data: Mapping[str, Any], *, update_id: str | None = None
    ) -> Turn:
        """A new conversation.  ``update_id``: the update that started it,
        recorded as if it had answered, so that the same update handled
        again (after a crash) asks the first question again rather than be
        taken for its answer."""
        flow = self._flows[kind]
        mutable = dict(data)
        step = flow.first_step(ctx, mutable)
        state = ConversationState(kind=kind, step=step, data=mutable, seq=1, last_update=update_id)
        return Turn(state=state, prompt=flow.prompt(ctx, step, mutable, state.seq))

    def current_prompt(self, ctx: Any, state: ConversationState) -> Prompt:
        return self._flows[state.kind].prompt(ctx, state.step, state.data, state.seq)

    def handle(
        self,
        ctx: Any,
        state: ConversationState,
        answer: Answer,
        *,
        now: datetime | None = None,
        update_id: str | None = None,
    ) -> Turn:
        """One answer.  ``now`` lets optional conversations lapse;
        ``update_id`` (the channel's id of the incoming update, when it has
        one) makes handling the same update twice change nothing."""
        flow = self._flows[state.kind]
        prompt = flow.prompt(ctx, state.step, state.data, state.seq)
        if update_id is not None and update_id == state.last_update:
            return Turn(state=state, prompt=prompt, replayed=True)
        if self._yields(state, answer, prompt, now):
            return Turn(state=None, released=True)
        state = replace(state, last_update=update_id)
        if _stale(answer, state, prompt):
            return Turn(state=state, notes=(text("conv.stale_button"),), prompt=prompt)
        if isinstance(answer, TextAnswer):
            number = pick_by_number(answer.text, prompt)
            if number is not None:
                answer = ChoiceAnswer(seq=state.seq, key=number)
            elif _is_typed_cancel(answer.text, prompt):
                answer = ChoiceAnswer(seq=state.seq, key=CANCEL)
        if isinstance(answer, ChoiceAnswer) and answer.key == CANCEL:
            return Turn(state=None, notes=(text("conv.cancelled"),), cancelled=True)

        outcome = flow.answer(ctx, state.step, dict(state.data), answer, prompt)
        if outcome.release and self.is_optional(state.kind):
            return Turn(state=None, released=True)
        if outcome.result is not None:
            return Turn(state=None, notes=tuple(outcome.notes), result=outcome.result)
        step = outcome.step or state.step
        seq = state.seq + 1 if outcome.reprompt else state.seq
        new_state = replace(state, step=step, data=outcome.data, seq=seq)
        next_prompt = flow.prompt(ctx, step, outcome.data, seq) if outcome.reprompt else None
        return Turn(state=new_state, notes=tuple(outcome.notes), prompt=next_prompt)

    def revised(
        self,
        ctx: Any,
        state: ConversationState,
        data: Mapping[str, Any],
        *,
        update_id: str | None = None,
    ) -> Turn:
        """The conversation with its answers corrected (an edited message,
        see `bot.domain.flows.steps.corrected`), on the same step: its
        question is asked again, so a review shows what it now holds, and
        the buttons under the old one are stale."""
        flow = self._flows[state.kind]
        seq = state.seq + 1
        new_state = replace(state, data=dict(data), seq=seq, last_update=update_id)
        return Turn(state=new_state, prompt=flow.prompt(ctx, state.step, new_state.data, seq))
