"""What the flows share: their environment (`FlowEnv`), the answers'
keys, the text and photo steps every flow takes the same way, paging and
choices.  A rule here holds for every conversation the bot holds."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot import i18n
from bot.domain.conversation import (
    CANCEL,
    NEXT_PAGE,
    PREV_PAGE,
    Answer,
    Choice,
    ChoiceAnswer,
    OtherAnswer,
    Outcome,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from bot.domain.messages import Label, Text, text
from bot.domain.orgchart import Area, OrgChart
from bot.domain.suggest import Suggester
from bot.domain.text import (
    Option,
    has_words,
    match_typed,
    normalise_text,
)

TEXT_MAX = 2000  # Zalo's limit, so a report reads the same on both channels

# A draft's "photos" are media ids (the channel kept each photo as it
# arrived); drafts saved before hold [channel, file id] pairs, which
# bot/app/media.py still reads.
PHOTO_MAX = 5

PAGE_SIZE = 8

# Telegram splits a long paste into several messages sent within a second or
# two; parts that follow a rejected one are rejected with it.
SPLIT_WINDOW = timedelta(seconds=3)

YES = "y"

NO = "n"

CONFIRM = "ok"

MORE = "<>"  # not a code: codes never hold < or >

DONE = "d"

SKIP = "s"

# Conversations that only offer something, and how long each offer stands
# (see the engine's rules for optional conversations).  A cadre picks a
# reply template within minutes of acknowledging, or not at all; a resident
# may come back to the stars later that day.
OPTIONAL_LIFETIMES = {
    "ack_reply": timedelta(minutes=30),
    "rate": timedelta(hours=24),
}


@dataclass(frozen=True)
class FlowEnv:
    """What flows consult besides the answer: the chart, the chat's language,
    and how far a location may be from a group centre."""

    chart: OrgChart
    language: str
    locate_max_km: float = 1.0
    # Whether a report shows the resident's name to the cadre unless they
    # choose otherwise at the review (FixMyStreet hides names by default).
    show_name_default: bool = False
    # The chart's suggester, built once per chart by whoever holds the chart
    # (bot/app/core.py); without one, one is built for this env.
    given_suggester: Suggester | None = None

    @functools.cached_property
    def suggester(self) -> Suggester:
        return self.given_suggester or Suggester.of_chart(self.chart)


def cancel_choice() -> Choice:
    # Only these, typed as the whole answer, cancel (see the engine): never
    # a number, never a word that merely contains them.
    return Choice(CANCEL, text("conv.cancel"), aliases=("huy", "huy bo", "cancel"))


def area_choice(area: Area) -> Choice:
    return Choice(area.code, area.name, aliases=(area.code,))


def paged(items: list[Choice], page: int) -> tuple[list[Choice], int]:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    nav: list[Choice] = []
    if page > 0:
        nav.append(Choice(PREV_PAGE, text("conv.prev_page")))
    if page < pages - 1:
        nav.append(Choice(NEXT_PAGE, text("conv.next_page")))
    return chunk + nav, page


def _in(language: str, value: Any) -> Any:
    if isinstance(value, Text):
        params = {k: _in(language, v) for k, v in value.params.items()}
        return i18n.t(language, value.key, **params)
    return value


def label_names(label: Label) -> list[str]:
    """What a button says, in every language: a typed answer may use any."""
    if isinstance(label, str):
        return [label]
    return [_in(language, label) for language in i18n.LANGUAGES]


def options_of(choices: tuple[Choice, ...]) -> list[Option]:
    return [Option(c.key, [*label_names(c.label), *c.aliases]) for c in choices]


def check_text(
    data: dict[str, Any], answer: TextAnswer, *, field_name: str
) -> tuple[str | None, list[Text]]:
    """A usable text for ``field_name``, or the notes explaining why not.

    Parts of a split long paste (consecutive message ids, sent within a few
    seconds of a rejected part) are rejected too, so the tail of a paste is
    never taken for the whole.
    """
    guard = data.get("_split_guard")
    if guard and answer.message_id is not None and answer.sent_at is not None:
        last_id, last_at = int(guard[0]), float(guard[1])
        if answer.message_id == last_id + 1 and answer.sent_at.timestamp() - last_at <= (
            SPLIT_WINDOW.total_seconds()
        ):
            data["_split_guard"] = [answer.message_id, answer.sent_at.timestamp()]
            return None, [text("conv.split_part_ignored")]
    data.pop("_split_guard", None)
    value = normalise_text(answer.text)
    if not value:
        return None, [text("conv.empty_text")]
    if len(value) > TEXT_MAX:
        if answer.message_id is not None and answer.sent_at is not None:
            data["_split_guard"] = [answer.message_id, answer.sent_at.timestamp()]
        return None, [text("conv.too_long", limit=TEXT_MAX, length=len(value))]
    remember_typed(data, answer, field_name, value)
    return value, []


# ---- a sent message edited while its conversation is under way -------------------------------

# Which of the person's messages (by id) gave which words to which field of
# the draft: an edit of one of them corrects those words (`corrected`).
TYPED = "_typed"


def remember_typed(
    data: dict[str, Any], answer: TextAnswer | PhotoAnswer, field_name: str, value: str
) -> None:
    """Note that message ``answer.message_id`` (a text, or a photo's
    caption) put ``value`` into ``field_name`` (channels without edits give
    no message id)."""
    if answer.message_id is not None:
        typed = dict(data.get(TYPED) or {})
        typed[str(answer.message_id)] = [field_name, value]
        data[TYPED] = typed


@dataclass(frozen=True)
class Correction:
    """What an edited message does to a draft: ``data`` is the draft with
    the edited words in place of the first ones (None: nothing changes),
    ``notes`` what the person is told."""

    data: dict[str, Any] | None
    notes: tuple[Text, ...]


def corrected(data: Mapping[str, Any], message_id: int, edited: str) -> Correction | None:
    """The draft with message ``message_id``'s words replaced by their
    edited version — only where those words are still in the draft as they
    were taken; None when the message gave nothing to this draft (an old
    message, a report already sent), so nothing can change by surprise."""
    entry = (data.get(TYPED) or {}).get(str(message_id))
    if not entry:
        return None
    field_name, before = str(entry[0]), str(entry[1])
    current = data.get(field_name)
    if not isinstance(current, str) or before not in current:
        return None
    after = normalise_text(edited)
    if after == before:
        return Correction(None, ())
    if not has_words(after):
        return Correction(None, (text("conv.edit_empty"),))
    value = current.replace(before, after, 1)
    if len(value) > TEXT_MAX:
        return Correction(None, (text("conv.too_long", limit=TEXT_MAX, length=len(value)),))
    typed = {**data[TYPED], str(message_id): [field_name, after]}
    return Correction({**data, field_name: value, TYPED: typed}, (text("conv.edit_taken"),))


def typed_key(
    answer: Answer, prompt: Prompt, *, pieces: bool = True
) -> tuple[str | None, list[Text]]:
    """The choice a press or a typed name picks ("trùng", "sai địa bàn",
    "duplicate"), or why none: never Cancel by a stray word (only the
    engine's exact "hủy" / "cancel" cancels).  ``pieces``: as `match_typed`."""
    if isinstance(answer, ChoiceAnswer):
        return answer.key, []
    if isinstance(answer, TextAnswer):
        choices = options_of(prompt.choices)
        hits = [h for h in match_typed(answer.text, choices, pieces=pieces) if h != CANCEL]
        if len(hits) == 1:
            return hits[0], []
        return None, [text("conv.ambiguous" if hits else "conv.no_match")]
    return None, unusable(answer, "conv.pick_one")


def unusable(answer: Answer, expected: str) -> list[Text]:
    """The polite answer to input that does not fit this step."""
    if isinstance(answer, OtherAnswer):
        return [text("conv.unsupported_media", kind=text(f"media.{answer.kind}")), text(expected)]
    return [text(expected)]


def first_of_album(data: dict[str, Any], answer: PhotoAnswer) -> bool:
    """Whether this photo is answered: a single photo always, an album (one
    update per photo, no end marker) only at its first photo."""
    if answer.album is None:
        data.pop("album", None)
        return True
    if answer.album == data.get("album"):
        return False
    data["album"] = answer.album
    data.pop("album_full", None)
    return True


def keep_photo(
    data: dict[str, Any], answer: PhotoAnswer, kept: str, hint: str, field: str
) -> Outcome:
    """A photo sent while a text is awaited: kept (up to the limit), and a
    caption written under it is that text.  An album's photos go on
    arriving after its captioned first one, so its caption is kept to open
    the text typed next instead."""
    data["photos"] = [*data.get("photos", []), answer.media_id][:PHOTO_MAX]
    caption = normalise_text(answer.caption or "")
    if caption and answer.album is None:
        return take_text(data, TextAnswer(caption), hint, field)
    if caption:
        data["caption"] = caption
    if not first_of_album(data, answer):
        return Outcome(data, reprompt=False)
    return Outcome(data, notes=[text(kept)], reprompt=False)


def with_caption(data: Mapping[str, Any], value: str) -> str:
    """The text typed after an album, opened by the album's caption."""
    caption = data.get("caption")
    return f"{caption}\n\n{value}" if caption else value


def take_text(data: dict[str, Any], answer: Answer, hint: str, field: str) -> Outcome:
    """A free-text last step: the text becomes ``field`` of the result, or
    the step says why not and waits."""
    if not isinstance(answer, TextAnswer):
        return Outcome(data, notes=unusable(answer, hint), reprompt=False)
    value, notes = check_text(data, answer, field_name=field)
    if value is None:
        return Outcome(data, notes=notes, reprompt=False)
    return Outcome(data, result={**data, field: with_caption(data, value)})
