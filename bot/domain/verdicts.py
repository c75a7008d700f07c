"""A sentence typed at "Sự việc đã được khắc phục chưa?" (the question a
resident gets, with "fixed" / "not fixed", when the officer reports their
complaint fixed): an answer to that question, not a new report — on every
channel.

Many answer in a sentence rather than a button or the list's number: "vẫn
còn rác, chưa ai dọn", "cảm ơn anh, sạch rồi ạ".  Taking such a sentence for
a new report (as a sentence out of the blue is) would file a second
complaint and leave the first one waiting for an answer that was given.  So
the sentence is weighed (`leaning`): words that say "not fixed" or "fixed"
make the bot ask once "Anh/chị báo … chưa được khắc phục, đúng không?", a
sentence that says neither is asked back ("đã khắc phục, chưa khắc phục, hay
gửi phản ánh mới?").  Either way three choices follow (fixed, not fixed,
then a new report: buttons on Telegram, numbers on Zalo), and the sentence
is kept with them (`Held`): not fixed reopens the complaint with the
sentence as the resident's comment, a new report starts with it as the
description (bot/app/verdicts.py gives the choice).  Nothing the resident
typed is lost, and nothing is done before they say which.

Photos sent there are weighed the same way (their caption is the sentence)
and kept with the choices too: the dispute's photos, or the new report's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.complaints import Action
from bot.domain.flows.resident import COURTESY
from bot.domain.flows.steps import PHOTO_MAX, TEXT_MAX
from bot.domain.text import fold, marked_words, same_word


class FixedOrNot(StrEnum):
    """What a choice of the question does with the held sentence."""

    FIXED = "confirm"
    NOT_FIXED = "dispute"
    NEW_REPORT = "new"


ACTION_OF = {FixedOrNot.FIXED: Action.CONFIRM, FixedOrNot.NOT_FIXED: Action.DISPUTE}
VERDICT_OF = {action: verdict for verdict, action in ACTION_OF.items()}
# The first list's order, then a new report.
ORDER = (FixedOrNot.FIXED, FixedOrNot.NOT_FIXED, FixedOrNot.NEW_REPORT)

# Words (as written, diacritics and all; typed without them they match any
# word that folds the same) that say it is not fixed ...
NOT_FIXED_WORDS: tuple[str, ...] = (
    "chưa",
    "vẫn",
    "còn nguyên",
    "còn rác",
    "như cũ",
    "y nguyên",
    "không ai",
    "chẳng ai",
    "chả ai",
    "lại",
    "tái diễn",
    "bẩn",
    "bốc mùi",
    "hôi",
    "not",
    "still",
    "nobody",
    "again",
    "dirty",
)
# ... that it is (unless a "not" stands just before: "chưa sạch") ...
FIXED_WORDS: tuple[str, ...] = (
    "rồi",
    "sạch",
    "xong",
    "hết",
    "ổn",
    "tốt",
    "đã dọn",
    "đã sửa",
    "đã khắc phục",
    "ok",
    "fixed",
    "clean",
    "done",
)
# ... and thanks, which lean to "fixed" only when nothing says otherwise.
THANKS_WORDS: tuple[str, ...] = ("cảm ơn", "cám ơn", "thank", "thanks", "tks")
NEGATIONS: tuple[str, ...] = ("chưa", "không", "chẳng", "chả", "ko", "not", "no")
NEGATION_REACH = 2  # "chưa ai dọn", "không được sạch": a "not" this many words before
THUMBS_UP = ("👍", "👌")
THUMBS_DOWN = ("👎",)

# "Đúng không?" answered yes, the courtesy words aside ("dạ vâng", "đúng rồi ạ") ...
YES: frozenset[str] = frozenset(
    {"dung", "dung roi", "dung vay", "dung the", "phai", "phai roi", "u", "uh", "yes", "right"}
)
# ... or no: the guess was wrong, the question is asked again as a question.
NO: frozenset[str] = frozenset({"khong", "ko", "k", "khong phai", "sai", "no", "khong dung"})


def _at(words: Sequence[str], phrase: str) -> list[int]:
    """Where ``phrase`` (written words) starts in ``words`` (as typed)."""
    wanted = phrase.split()
    return [
        n
        for n in range(len(words) - len(wanted) + 1)
        if all(same_word(words[n + k], w) for k, w in enumerate(wanted))
    ]


def _negated(words: Sequence[str], at: int) -> bool:
    before = words[max(0, at - NEGATION_REACH) : at]
    return any(same_word(w, negation) for w in before for negation in NEGATIONS)


def leaning(typed: str) -> FixedOrNot | None:
    """Which way a sentence leans: not fixed, fixed, or None (neither, or
    both: "sạch rồi nhưng tối lại đổ")."""
    words = marked_words(typed)
    not_fixed = any(_at(words, p) for p in NOT_FIXED_WORDS) or any(e in typed for e in THUMBS_DOWN)
    fixed = any(e in typed for e in THUMBS_UP)
    for phrase in FIXED_WORDS:
        for at in _at(words, phrase):
            if _negated(words, at):
                not_fixed = True
            else:
                fixed = True
    if not_fixed != fixed:
        return FixedOrNot.NOT_FIXED if not_fixed else FixedOrNot.FIXED
    if not fixed and any(_at(words, p) for p in THANKS_WORDS):
        return FixedOrNot.FIXED
    return None


def _bare(typed: str) -> str | None:
    """The typed words without the courtesy around them; None for courtesy
    alone ("dạ vâng", "vâng ạ": a yes)."""
    words = [w for w in fold(typed).split() if w not in COURTESY]
    if not words:
        return None if fold(typed) else ""
    return " ".join(words)


def says_yes(typed: str) -> bool:
    bare = _bare(typed)
    return bare is None or bare in YES


def says_no(typed: str) -> bool:
    return _bare(typed) in NO


@dataclass(frozen=True)
class Held:
    """One numbered choice of the question, with what it keeps: the
    sentence, and the photos sent with it (kept in the media store)."""

    verdict: FixedOrNot
    complaint_id: int
    said: str
    guessed: bool  # the way the sentence leaned: what "đúng" / "vâng" picks
    photos: tuple[int, ...] = ()

    def args(self) -> tuple[str, ...]:
        """As the person's remembered list keeps it (after the channel's
        own marks: `of_args` reads it back)."""
        photos = ",".join(map(str, self.photos))
        guessed = "1" if self.guessed else ""
        return (self.verdict.value, str(self.complaint_id), self.said, guessed, photos)

    @classmethod
    def of_args(cls, args: Sequence[str]) -> Held | None:
        """A choice as `args` wrote it, or None for anything else."""
        if len(args) != 5 or not args[1].isdecimal():
            return None
        try:
            verdict = FixedOrNot(args[0])
        except ValueError:
            return None
        photos = tuple(int(p) for p in args[4].split(",") if p.isdecimal())
        return cls(verdict, int(args[1]), args[2], args[3] == "1", photos)


def joined(before: str, typed: str) -> str:
    """What the resident said, a second sentence after the first (the
    newest alone when both would be longer than a comment may be)."""
    if not typed:
        return before
    both = f"{before}\n{typed}" if before else typed
    return both if len(both) <= TEXT_MAX else typed


def choices(
    complaint_id: int, said: str, photos: tuple[int, ...], *, guess: bool = True
) -> list[Held]:
    """The question's three choices, in order, each keeping what was sent;
    the one ``said`` leans to guessed (unless ``guess`` is off: the person
    said the guess was wrong)."""
    lean = leaning(said) if guess else None
    return [Held(v, complaint_id, said, v is lean, photos[:PHOTO_MAX]) for v in ORDER]
