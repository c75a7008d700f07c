"""The resident's flows after filing: ``dispute`` ("not fixed", and
why), ``rate`` (1 to 5 stars), ``info_reply`` (answering the officer's
question) and ``withdraw`` (taking a complaint back, confirmed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.conversation import (
    Answer,
    Choice,
    ChoiceAnswer,
    OtherAnswer,
    Outcome,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from bot.domain.flows.steps import (
    NO,
    SKIP,
    FlowEnv,
    cancel_choice,
    keep_photo,
    take_text,
    typed_key,
)
from bot.domain.messages import text
from bot.domain.text import (
    fold,
    words,
)


class DisputeFlow:
    """FixMyStreet requires a comment to reopen a fixed report; so do we."""

    kind = "dispute"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "comment"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(seq, text("dispute.ask_comment", code=data["code"]), (cancel_choice(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, PhotoAnswer):
            return keep_photo(data, answer, "dispute.photo_kept", "dispute.comment_hint", "comment")
        return take_text(data, answer, "dispute.comment_hint", "comment")


STAR_WORDS = frozenset({"sao", "star", "stars", "diem", "d", "points"})  # "5đ": 5 điểm

NUMBER_WORDS = {
    **{"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5},
    **{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5},
}


# The question's own scale (rate.ask: "1 = rất không hài lòng, 5 = rất hài
# lòng"), as a resident typing instead of pressing answers it.
SATISFACTION = {
    **{"rat hai long": 5, "hai long": 4, "binh thuong": 3},
    **{"khong hai long": 2, "rat khong hai long": 1},
    **{"very satisfied": 5, "satisfied": 4, "not satisfied": 2, "not at all": 1},
    # What people type on Zalo, where the stars are not pressed: "tốt", "tuyệt vời".
    **{"tuyet voi": 5, "rat tot": 5, "tot": 4, "tam duoc": 3, "kem": 2, "rat kem": 1},
    **{"excellent": 5, "very good": 5, "good": 4, "poor": 2, "bad": 2, "very bad": 1},
}
# "Dạ hài lòng ạ": the courtesy words around an answer to an office.
COURTESY = frozenset({"da", "vang", "a"})
# "Tốt lắm", "hài lòng quá": a word after that says "very" (rất).
VERY_AFTER = frozenset({"lam", "qua", "lắm", "quá"})
# A thank-you ("cảm ơn các anh nhiều ạ", "thanks"): the thanks, and the
# words around it that say no more (who is thanked, how much).
_THANKS = ("cảm ơn", "cám ơn", "thank you", "thanks", "thank", "tks")
_AROUND_THANKS = frozenset(
    {"anh", "chi", "em", "cac", "ban", "nhieu", "nhe", "nha", "rat", "lam", "so", "much"}
    | {"very", "you", "ubnd", "phuong", "can", "bo", "moi", "nguoi", "ca", "lot", "a"}
)


def is_thanks(typed: str) -> bool:
    """Whether a message only says thank you (no request in it)."""
    folded = f" {fold(typed)} "
    said = False
    for phrase in sorted(_THANKS, key=len, reverse=True):
        if f" {fold(phrase)} " in folded:
            said = True
            folded = folded.replace(f" {fold(phrase)} ", " ")
    rest = [w for w in folded.split() if w not in COURTESY and w not in _AROUND_THANKS]
    return said and not rest


def typed_stars(typed: str) -> int | None:
    """A rating typed in words: "4 sao", "năm sao", "5 stars", "⭐⭐⭐", "4/5",
    "rất hài lòng"; None when the text is not a rating."""
    bare = "".join(typed.replace("\ufe0f", "").split())
    if bare and set(bare) == {"⭐"}:
        return len(bare) if len(bare) <= 5 else None
    said_words = [w for w in words(typed) if w not in COURTESY]
    scale = SATISFACTION.get(" ".join(said_words))
    if scale is None and len(said_words) > 1 and said_words[-1] in VERY_AFTER:
        # "tốt lắm" is "rất tốt"; "bình thường quá" stays what it is.
        plain = " ".join(said_words[:-1])
        scale = SATISFACTION.get(f"rat {plain}", SATISFACTION.get(plain))
    if scale is not None:
        return scale
    said = words(typed.replace("/5", " sao"))
    values = [NUMBER_WORDS[w] for w in said if w in NUMBER_WORDS]
    values += [int(w) for w in said if w.isdecimal()]
    starred = any(w in STAR_WORDS for w in said)
    if len(values) != 1 or not 1 <= values[0] <= 5:
        return None
    return values[0] if starred or len(said) == 1 else None


# What a person sends that the bot cannot read as words: at the rating, a
# thumbs-up sticker or a voice note leaves the stars to press.
UNREAD_AT_RATING = frozenset({"sticker", "voice", "video_note", "animation", "dice"})


class RateFlow:
    kind = "rate"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "stars"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        stars = [Choice(str(n), "⭐" * n) for n in range(1, 6)]
        return Prompt(
            seq,
            text("rate.ask", code=data["code"]),
            (*stars, Choice(SKIP, text("rate.skip"), aliases=("bo qua", "skip"))),
            columns=5,
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, ChoiceAnswer):
            if answer.key == SKIP:
                return Outcome(data, result={**data, "stars": None})
            return Outcome(data, result={**data, "stars": int(answer.key)})
        if isinstance(answer, TextAnswer) and fold(answer.text) in ("bo qua", "skip"):
            return Outcome(data, result={**data, "stars": None})
        stars = typed_stars(answer.text) if isinstance(answer, TextAnswer) else None
        if stars is not None:
            return Outcome(data, result={**data, "stars": stars})
        if isinstance(answer, OtherAnswer) and answer.kind in UNREAD_AT_RATING:
            # A sticker (a thumbs-up, most often) is no rating, and no reason
            # to take the stars away: they stay, and the person is told so.
            return Outcome(data, notes=[text("rate.hint")])
        # Anything else is not a rating: the offer ends and the input is
        # handled as if it had not been made (a new report, a question…).
        return Outcome(data, release=True)


class InfoReplyFlow:
    """The resident answers the cadre's question, with photos if they like."""

    kind = "info_reply"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "answer"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(
            seq,
            text("info_reply.ask", code=data["code"], question=data["question"]),
            (cancel_choice(),),
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, PhotoAnswer):
            return keep_photo(data, answer, "info_reply.photo_kept", "info_reply.hint", "answer")
        return take_text(data, answer, "info_reply.hint", "answer")


class WithdrawFlow:
    """Withdrawing ends a complaint for good, so the resident confirms it.
    The confirming choice names the complaint: a press left on an older
    question (another complaint's) is stale, never a confirmation."""

    kind = "withdraw"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "confirm"

    @staticmethod
    def confirm_key(data: Mapping[str, Any]) -> str:
        return f"w{int(data['complaint_id'])}"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        confirm = Choice(
            self.confirm_key(data), text("withdraw.confirm"), aliases=("rut", "rut lai", "withdraw")
        )
        keep = Choice(NO, text("withdraw.keep"), aliases=("khong", "no", "giu", "keep", "huy"))
        return Prompt(seq, text("withdraw.ask_confirm", code=data["code"]), (confirm, keep))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = typed_key(answer, prompt)
        if key is None:
            return Outcome(data, notes=notes)
        return Outcome(data, result={**data, "confirmed": key == self.confirm_key(data)})
