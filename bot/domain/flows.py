"""The conversations the bot holds, as flows for the engine.

* ``report`` — a resident files a complaint: family, category, (leadership
  question for official conduct), place, description, photos, review.
* ``resolve`` — the owner reports the fix: a note, then a photo (skippable).
* ``transfer`` — the owner hands a task on: another group, another category,
  or only a reason (the ward leader then reassigns).
* ``reject`` — the owner closes a task as duplicate / not the ward's remit /
  abusive, with a reason.
* ``dispute`` — the resident says "not fixed" and must say why.
* ``rate`` — the resident rates a confirmed fix, 1 to 5.
* ``withdraw`` — the resident confirms taking a complaint back.

Each flow's ``data`` is JSON-serialisable so the caller can store it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import i18n
from bot.domain.complaints import RejectReason, format_code, parse_code
from bot.domain.conversation import (
    BACK,
    CANCEL,
    NEXT_PAGE,
    PREV_PAGE,
    Answer,
    Choice,
    ChoiceAnswer,
    LocationAnswer,
    OtherAnswer,
    Outcome,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from bot.domain.geo import locate
from bot.domain.messages import Label, Lines, Text, text
from bot.domain.orgchart import Area, AreaKind, Category, Family, GeoPoint, OrgChart
from bot.domain.places import upper_tier
from bot.domain.suggest import Suggester
from bot.domain.suggest import tokens as suggest_tokens
from bot.domain.text import (
    Option,
    fold,
    match_typed,
    normalise_text,
    numbers,
    rank_words,
    words,
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
# Typed at the suggested problems, these open the full list.
NONE_OF_THESE = ("tat ca", "all", "khong phai", "none", "none of these")
NAME = "nm"
FOLLOW = "f"  # and a complaint's id: follow that report instead of filing (issue 17)
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

# Words that only say "residential group", in Vietnamese or English: typed
# with a number ("tổ 11", "TDP 11", "group 11") they leave the number to decide.
GROUP_WORDS = frozenset({"to", "dan", "pho", "tdp", "group", "grp", "residential", "so", "no"})
# Short answers that are never an address, whatever step they are typed at.
NOT_A_PLACE = frozenset(
    {"ok", "oke", "okay", "vang", "da", "co", "khong", "xong", "roi", "cam on", "thanks"}
    | {"thank you", "yes", "no", "hi", "alo", "chao", "xin chao", "hello", "test"}
)


# A message that opens with these words is small talk, not a report.
SMALL_TALK = frozenset(
    {"xin chao", "chao", "cam on", "thank", "thanks", "hello", "hi", "alo", "ok", "oke"}
)
# Words too common to say what a message is about: Vietnamese particles and
# the general words of category names, then English ones.
NOT_A_TOPIC = frozenset(
    {"co", "nguoi", "khong", "duoc", "dung", "noi", "quy", "dinh", "cua", "va", "la", "o"}
    | {"tai", "thi", "nay", "cac", "nhung", "mot", "rat", "da", "dang", "se", "bi", "cho"}
    | {"voi", "tren", "duoi", "trong", "ngoai", "ra", "vao", "len", "xuong", "khac", "van"}
    | {"de", "roi", "nua", "day", "kia", "ay", "ai", "gi", "sao", "nhieu", "lam", "qua"}
    | {"phep", "trai", "sai", "tu", "phat", "muc"}
    | {"the", "and", "or", "a", "an", "in", "on", "of", "to", "by", "not", "without"}
    | {"against", "wrong", "place", "rules", "other", "problem", "is", "are", "there"}
    | {"someone", "people", "it", "at", "my", "our", "this", "that"}
)
# Typed at the photo question, these go on (with photos or without).
PHOTOS_DONE_WORDS = ("xong", "done", "bo qua", "skip", "tiep tuc", "continue", "khong co anh")


def reads_like_a_report(typed: str) -> bool:
    """Whether a message no question asked for reads like a report ("có
    người đổ rác ra vỉa hè đầu ngõ 12"): a few words, not small talk.  Such
    a message opens a report and becomes its description."""
    said = [w for w in words(typed) if not w.isdecimal()]
    telling = [w for w in said if w not in NOT_A_TOPIC]
    if len(said) < 3 or len(telling) < 2:
        return False
    return not _small_talk(said)


def _small_talk(said: list[str]) -> bool:
    return " ".join(said[:2]) in SMALL_TALK or said[0] in SMALL_TALK


def names_a_problem(chart: OrgChart, typed: str) -> bool:
    """Whether a word or two ("rác", "ngập", "xà bần") name a problem of
    the chart: a word of a category's name, or one of the ward's own words
    for it.  Too short to be a description, they still open a report, and
    the problems they name are offered."""
    said = [w for w in words(typed) if not w.isdecimal()]
    if not 1 <= len(said) <= 2 or _small_talk(said):
        return False
    named: set[str] = set()
    for category in chart.categories.values():
        for name in (category.name, category.name_en, *category.words):
            named.update(suggest_tokens(name))
    return bool((set(suggest_tokens(typed)) - NOT_A_TOPIC) & named)


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


def _cancel() -> Choice:
    # Only these, typed as the whole answer, cancel (see the engine): never
    # a number, never a word that merely contains them.
    return Choice(CANCEL, text("conv.cancel"), aliases=("huy", "huy bo", "cancel"))


def _family_names(family: Family) -> tuple[str, ...]:
    return tuple(i18n.t(lang, f"family.{family.value}") for lang in i18n.LANGUAGES)


def _area_choice(area: Area) -> Choice:
    return Choice(area.code, area.name, aliases=(area.code,))


def _paged(items: list[Choice], page: int) -> tuple[list[Choice], int]:
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


def _options(choices: tuple[Choice, ...]) -> list[Option]:
    return [Option(c.key, [*label_names(c.label), *c.aliases]) for c in choices]


def match_areas(chart: OrgChart, typed: str, areas: list[Area]) -> list[str]:
    """Codes of the areas a typed place names, best first.

    A name or code matches as any choice does ("to dan pho 3", "HH-TDP03",
    "tổ 3" — and "tổ 3" is not "Tổ 13").  Failing that, a number with only
    words that say "group" ("group 4", "TDP 4") picks the groups with that
    very number, and other words may name the ward ("Hồng Hải tổ 3").
    """
    hits = match_typed(typed, [Option(a.code, [a.name, a.code]) for a in areas])
    wanted = numbers(typed)
    if hits or not wanted:
        return hits
    rest = [w for w in words(typed) if not w.isdecimal() and w not in GROUP_WORDS]
    found = []
    for area in areas:
        if area.kind is not AreaKind.GROUP or not set(wanted) <= set(numbers(area.name)):
            continue
        ward = chart.areas.get(chart.ward_of(area.code) or "")
        if not rest or rank_words(rest, f"{area.name} {ward.name if ward else ''}") is not None:
            found.append(area.code)
    return found


def _looks_like_a_place(value: str) -> bool:
    """A landmark is a few words ("ngõ 12 Lê Lợi", "cạnh chợ"), not a stray
    "ok" or a lone word or number typed at the place question."""
    typed = words(value)
    has_letters = any(not w.isdecimal() for w in typed)
    return has_letters and len(typed) >= 2 and fold(value) not in NOT_A_PLACE


def _check_text(
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
    del field_name
    return value, []


def _typed_key(answer: Answer, prompt: Prompt) -> tuple[str | None, list[Text]]:
    """The choice a press or a typed name picks ("trùng", "sai địa bàn",
    "duplicate"), or why none: never Cancel by a stray word (only the
    engine's exact "hủy" / "cancel" cancels)."""
    if isinstance(answer, ChoiceAnswer):
        return answer.key, []
    if isinstance(answer, TextAnswer):
        hits = [h for h in match_typed(answer.text, _options(prompt.choices)) if h != CANCEL]
        if len(hits) == 1:
            return hits[0], []
        return None, [text("conv.ambiguous" if hits else "conv.no_match")]
    return None, _unusable(answer, "conv.pick_one")


def _unusable(answer: Answer, expected: str) -> list[Text]:
    """The polite answer to input that does not fit this step."""
    if isinstance(answer, OtherAnswer):
        return [text("conv.unsupported_media", kind=text(f"media.{answer.kind}")), text(expected)]
    return [text(expected)]


def _first_of_album(data: dict[str, Any], answer: PhotoAnswer) -> bool:
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


def _keep_photo(
    data: dict[str, Any], answer: PhotoAnswer, kept: str, hint: str, field: str
) -> Outcome:
    """A photo sent while a text is awaited: kept (up to the limit), and a
    caption written under it is that text.  An album's photos go on
    arriving after its captioned first one, so its caption is kept to open
    the text typed next instead."""
    data["photos"] = [*data.get("photos", []), answer.media_id][:PHOTO_MAX]
    caption = normalise_text(answer.caption or "")
    if caption and answer.album is None:
        return _take_text(data, TextAnswer(caption), hint, field)
    if caption:
        data["caption"] = caption
    if not _first_of_album(data, answer):
        return Outcome(data, reprompt=False)
    return Outcome(data, notes=[text(kept)], reprompt=False)


def _with_caption(data: Mapping[str, Any], value: str) -> str:
    """The text typed after an album, opened by the album's caption."""
    caption = data.get("caption")
    return f"{caption}\n\n{value}" if caption else value


def _take_text(data: dict[str, Any], answer: Answer, hint: str, field: str) -> Outcome:
    """A free-text last step: the text becomes ``field`` of the result, or
    the step says why not and waits."""
    if not isinstance(answer, TextAnswer):
        return Outcome(data, notes=_unusable(answer, hint), reprompt=False)
    value, notes = _check_text(data, answer, field_name=field)
    if value is None:
        return Outcome(data, notes=notes, reprompt=False)
    return Outcome(data, result={**data, field: _with_caption(data, value)})


# ---- report ---------------------------------------------------------------------------------


def _identity_key(env: FlowEnv, data: Mapping[str, Any], key: str) -> str:
    """The review says exactly who will see the name: the cadre, or for a
    complaint about an official the leaders handling it (see
    `Services.reporter_name_for`); anonymous, nobody."""
    category = env.chart.categories.get(str(data.get("category")))
    about_an_official = category is not None and category.family is Family.OFFICIAL_CONDUCT
    return _FOR_LEADERS[key] if about_an_official else key


_FOR_LEADERS = {
    "report.show_name": "report.show_name_leaders",
    "report.identity_shown": "report.identity_shown_leaders",
    "report.identity_hidden": "report.identity_hidden_leaders",
}


def _nearby_block(nearby: list[Mapping[str, Any]]) -> Text | str:
    """The open reports of the same problem near this one (bot/app/following.py
    found them), each on a line: code, a line of its description, its state
    and deadline, how far; nothing when there are none."""
    if not nearby:
        return ""
    items = tuple(
        text(
            "report.nearby_item",
            code=format_code(int(item["id"])),
            line=item["line"],
            state=text(f"state.{item['state']}"),
            due=datetime.fromisoformat(str(item["due"])),
            where=(
                text("report.nearby_group")
                if item.get("metres") is None
                else text("report.nearby_metres", metres=int(item["metres"]))
            ),
        )
        for item in nearby
    )
    return text("report.nearby", items=Lines(items))


def _follow_choice(item: Mapping[str, Any]) -> Choice:
    code = format_code(int(item["id"]))
    return Choice(f"{FOLLOW}{int(item['id'])}", text("report.follow", code=code), aliases=(code,))


class ReportFlow:
    kind = "report"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        """The problem's family first — or, when the draft opens with the
        resident's own words, the problems those words suggest."""
        said = data.get("description") or data.get("topic")
        if said and not data.get("category"):
            return self._suggest(env, data, str(said))
        return "family"

    @staticmethod
    def _suggest(env: FlowEnv, data: dict[str, Any], said: str) -> str:
        """Offer the likeliest problems, best first (bot/domain/suggest.py).
        When none fits well, the problems of the family "other" are offered
        with them: a report is never forced into a family.  "None of these"
        opens the full list."""
        suggestion = env.suggester.suggest(said)
        shown = [code for code in suggestion.shown if code in env.chart.categories]
        if not suggestion.fits:
            others = [c.code for c in env.chart.categories_of(Family.OTHER)]
            shown += [code for code in others if code not in shown]
        data["suggested"] = shown
        data["unsure"] = not suggestion.fits
        return "suggest" if shown else "family"

    @staticmethod
    def draft_fits(chart: OrgChart, data: Mapping[str, Any]) -> bool:
        """False when the org chart changed under the draft: a category,
        group or ward it names is gone."""
        category = data.get("category")
        if category is not None and category not in chart.categories:
            return False
        if data.get("family") not in (None, *(f.value for f in chart.families())):
            return False
        return all(data.get(k) is None or data[k] in chart.areas for k in ("area", "ward"))

    # -- prompts --

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        chart = env.chart
        if step == "suggest":
            cats = [
                self._category_choice(env, chart.categories[code])
                for code in data.get("suggested", [])
                if code in chart.categories
            ]
            more = Choice(MORE, text("report.other_categories"), aliases=NONE_OF_THESE)
            question = (
                "report.ask_suggested_unsure" if data.get("unsure") else "report.ask_suggested"
            )
            return Prompt(seq, text(question), (*cats, more, _cancel()))
        if step == "family":
            choices = [
                Choice(f.value, text(f"family.{f.value}"), aliases=_family_names(f))
                for f in chart.families()
            ]
            return Prompt(seq, text("report.ask_family"), (*choices, _cancel()))
        if step == "category":
            family = Family(data["family"])
            cats = [self._category_choice(env, c) for c in chart.categories_of(family)]
            back = Choice(BACK, text("conv.back"))
            return Prompt(
                seq,
                text("report.ask_category", family=text(f"family.{family.value}")),
                (*cats, back, _cancel()),
            )
        if step == "leadership":
            return Prompt(
                seq,
                text("report.ask_leadership", upper=upper_tier(chart)),
                (
                    Choice(YES, text("conv.yes"), aliases=("co", "yes")),
                    Choice(NO, text("conv.no"), aliases=("khong", "no")),
                    _cancel(),
                ),
            )
        if step == "place":
            return self._place_prompt(env, data, seq)
        if step == "description":
            return Prompt(seq, text("report.ask_description", limit=TEXT_MAX), (_cancel(),))
        if step == "photos":
            # Until a photo arrives the button goes on without one; then it says "done".
            some = bool(data.get("photos"))
            done = Choice(
                DONE,
                text("report.photos_done" if some else "report.photos_none"),
                aliases=PHOTOS_DONE_WORDS,
            )
            question = "report.ask_photos_more" if some else "report.ask_photos"
            return Prompt(seq, text(question, limit=PHOTO_MAX), (done, _cancel()))
        if step == "review":
            shown = bool(data.get("show_name", env.show_name_default))
            # About an official, the name goes to the leaders handling it.
            toggle = "report.hide_name" if shown else _identity_key(env, data, "report.show_name")
            nearby = data.get("nearby") or []
            return Prompt(
                seq,
                text("report.review", **self.summary(env, data), nearby=_nearby_block(nearby)),
                (
                    Choice(
                        CONFIRM,
                        text("report.confirm_anyway" if nearby else "report.confirm"),
                        aliases=("gui", "send", "ok"),
                    ),
                    Choice(NAME, text(toggle)),
                    *(_follow_choice(item) for item in nearby),
                    _cancel(),
                ),
            )
        raise ValueError(f"unknown report step {step!r}")

    @staticmethod
    def _category_choice(env: FlowEnv, category: Category) -> Choice:
        aliases = (category.name, category.name_en, category.code)
        return Choice(category.code, category.display_name(env.language), aliases=aliases)

    def summary(self, env: FlowEnv, data: Mapping[str, Any]) -> dict[str, Any]:
        chart = env.chart
        category = chart.categories[data["category"]]
        area = chart.areas[data["area"]]
        return {
            "category": category.display_name(env.language),
            "area": self._place_name(env, area),
            "landmark": data.get("landmark") or "—",
            "description": data.get("description", ""),
            "photos": len(data.get("photos", [])),
            "identity": text(
                _identity_key(env, data, "report.identity_shown")
                if data.get("show_name", env.show_name_default)
                else _identity_key(env, data, "report.identity_hidden")
            ),
        }

    def _place_prompt(self, env: FlowEnv, data: Mapping[str, Any], seq: int) -> Prompt:
        chart = env.chart
        wards = chart.ward_codes()
        ward = data.get("ward") or (wards[0] if len(wards) == 1 else None)
        matches = data.get("matches")
        if matches:
            # A typed name matched several groups, maybe in several wards.
            areas = [chart.areas[code] for code in matches if code in chart.areas]
            items = [
                Choice(a.code, self._with_ward(env, a) if ward is None else a.name, (a.code,))
                for a in areas
            ]
            question = text("report.ask_place_matches")
        elif ward is None:
            items = [_area_choice(chart.areas[w]) for w in wards]
            question = text("report.ask_ward")
        else:
            items = [_area_choice(g) for g in chart.groups(ward)]
            question = text("report.ask_place", ward=chart.areas[ward].name)
        page_items, _ = _paged(items, int(data.get("page", 0)))
        extra = (
            [Choice(BACK, text("conv.back"))]
            if (matches or data.get("ward")) and len(wards) > 1
            else []
        )
        return Prompt(
            seq, question, (*page_items, *extra, _cancel()), wants_location=True, columns=2
        )

    @staticmethod
    def _with_ward(env: FlowEnv, area: Area) -> str:
        ward = env.chart.ward_of(area.code)
        return f"{area.name} ({env.chart.areas[ward].name})" if ward else area.name

    # -- answers --

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, PhotoAnswer):
            return self._photo(env, step, data, answer)
        handler = getattr(self, f"_answer_{step}")
        result: Outcome = handler(env, data, answer, prompt)
        return result

    def _answer_family(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = _typed_key(answer, prompt)
        if key is None and isinstance(answer, TextAnswer):
            return self._typed_problem(env, data, answer, notes)
        if key is None:
            return Outcome(data, notes=notes)
        data["family"] = key
        only = env.chart.categories_of(Family(key))
        if len(only) == 1:  # one problem in the family: nothing to choose
            return self._after_category(env, data, only[0].code)
        return Outcome(data, step="category")

    def _answer_category(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = _typed_key(answer, prompt)
        if key is None and isinstance(answer, TextAnswer):
            return self._typed_problem(env, data, answer, notes)
        if key is None:
            return Outcome(data, notes=notes)
        if key == BACK:
            data.pop("family", None)
            return Outcome(data, step="family")
        return self._after_category(env, data, key)

    def _answer_suggest(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = _typed_key(answer, prompt)
        if key is None and isinstance(answer, TextAnswer):
            return self._typed_problem(env, data, answer, notes)
        if key is None:
            return Outcome(data, notes=notes)
        if key == MORE:  # none of these: the full list
            return Outcome(data, step="family")
        return self._after_category(env, data, key)

    def _typed_problem(
        self, env: FlowEnv, data: dict[str, Any], answer: TextAnswer, notes: list[Text]
    ) -> Outcome:
        """Words typed where the problem is asked for.  A problem's name picks
        it, from any family ("rac thai"); a sentence ("có người đổ rác ra vỉa
        hè…") is kept as the description, and the problems it suggests are
        offered; a word or two that name a problem ("ngập") only say which
        (the description is asked later); anything else is told why it was
        not understood."""
        cats = [Option(c.code, [c.name, c.name_en, c.code]) for c in env.chart.categories.values()]
        hits = match_typed(answer.text, cats)
        if len(hits) == 1:
            category = env.chart.categories[hits[0]]
            data["family"] = category.family.value
            return self._after_category(env, data, category.code)
        if names_a_problem(env.chart, answer.text):
            data["topic"] = normalise_text(answer.text)
            data.pop("family", None)
            return Outcome(data, step=self.first_step(env, data))
        if not reads_like_a_report(answer.text):
            return Outcome(data, notes=notes)
        value, refused = _check_text(data, answer, field_name="description")
        if value is None:
            return Outcome(data, notes=refused, reprompt=False)
        described = data.get("description")
        merged = f"{described}\n\n{value}" if described else value
        if len(merged) > TEXT_MAX:
            too_long = text("conv.too_long", limit=TEXT_MAX, length=len(merged))
            return Outcome(data, notes=[too_long], reprompt=False)
        data["description"] = merged
        data.pop("family", None)
        return Outcome(data, step=self.first_step(env, data), notes=[text("report.words_kept")])

    def _after_category(self, env: FlowEnv, data: dict[str, Any], code: str) -> Outcome:
        data["category"] = code
        if env.chart.categories[code].family is Family.OFFICIAL_CONDUCT:
            return Outcome(data, step="leadership")
        data["leadership"] = False
        return Outcome(data, step=self._after_place_step(data))

    def _after_place_step(self, data: Mapping[str, Any]) -> str:
        return self._after_place(data) if data.get("area") else "place"

    @staticmethod
    def _after_place(data: Mapping[str, Any]) -> str:
        """A description the resident already gave (their first words, a
        photo's caption, an earlier draft) is not asked again, nor photos
        when some were sent already: they can still send more at the review."""
        if not data.get("description"):
            return "description"
        return "review" if data.get("photos") else "photos"

    def _answer_leadership(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = _typed_key(answer, prompt)
        if key not in (YES, NO):
            return Outcome(data, notes=notes)
        data["leadership"] = key == YES
        return Outcome(data, step=self._after_place_step(data))

    def _answer_place(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        chart = env.chart
        if isinstance(answer, LocationAnswer):
            found = locate(chart, GeoPoint(lon=answer.lon, lat=answer.lat), env.locate_max_km)
            if found is None:
                return Outcome(data, notes=[text("report.location_outside")])
            data.update(area=found.code, lat=answer.lat, lon=answer.lon, page=0)
            data["ward"] = chart.ward_of(found.code)
            data.pop("matches", None)
            if answer.title:
                data["landmark"] = normalise_text(answer.title)[:200]
            found_in = text("report.location_found", area=self._place_name(env, found))
            return Outcome(data, step=self._after_place(data), notes=[found_in])
        if isinstance(answer, ChoiceAnswer):
            return self._place_choice(env, data, answer.key)
        if isinstance(answer, TextAnswer):
            return self._place_typed(env, data, answer)
        return Outcome(data, notes=_unusable(answer, "report.place_hint"))

    def _place_choice(self, env: FlowEnv, data: dict[str, Any], key: str) -> Outcome:
        chart = env.chart
        page = int(data.get("page", 0))
        if key == NEXT_PAGE:
            data["page"] = page + 1
            return Outcome(data)
        if key == PREV_PAGE:
            data["page"] = max(0, page - 1)
            return Outcome(data)
        if key == BACK:
            for k in ("ward", "matches", "page"):
                data.pop(k, None)
            return Outcome(data)
        area = chart.areas.get(key)
        if area is None:
            return Outcome(data, notes=[text("conv.pick_one")])
        data["page"] = 0
        data.pop("matches", None)
        if area.code in chart.wards:
            data["ward"] = area.code
            return Outcome(data)
        data["area"] = area.code
        data["ward"] = chart.ward_of(area.code)
        chosen = text("report.area_chosen", area=self._place_name(env, area))
        return Outcome(data, step=self._after_place(data), notes=[chosen])

    @staticmethod
    def _place_name(env: FlowEnv, area: Area) -> str:
        """ "Tổ dân phố 3, Phường Hồng Hải": a group with its ward, as the
        resident hears back what they chose."""
        ward = env.chart.areas.get(env.chart.ward_of(area.code) or "")
        return f"{area.name}, {ward.name}" if ward is not None else area.name

    def _place_typed(self, env: FlowEnv, data: dict[str, Any], answer: TextAnswer) -> Outcome:
        chart = env.chart
        wards = chart.ward_codes()
        ward = data.get("ward") or (wards[0] if len(wards) == 1 else None)
        candidates = chart.groups(ward)
        if ward is None:
            candidates = [chart.areas[w] for w in wards] + candidates
        hits = match_areas(chart, answer.text, candidates)
        if len(hits) == 1:
            return self._place_choice(env, data, hits[0])
        if len(hits) > 1:
            data["matches"] = hits
            data["page"] = 0
            return Outcome(data, notes=[text("conv.ambiguous")])
        value = normalise_text(answer.text)
        if not value:
            return Outcome(data, notes=[text("report.place_hint")])
        if not _looks_like_a_place(value):
            return Outcome(data, notes=[text("report.place_not_understood", typed=value[:60])])
        data["landmark"] = value[:200]
        return Outcome(data, notes=[text("report.landmark_kept", landmark=data["landmark"])])

    def _answer_description(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if not isinstance(answer, TextAnswer):
            if isinstance(answer, LocationAnswer):
                return Outcome(data, notes=[text("report.ask_description_again")])
            return Outcome(data, notes=_unusable(answer, "report.ask_description_again"))
        value, notes = _check_text(data, answer, field_name="description")
        if value is None:
            return Outcome(data, notes=notes, reprompt=False)
        data["description"] = value
        return Outcome(data, step="review" if data.get("photos") else "photos")

    def _photo(self, env: FlowEnv, step: str, data: dict[str, Any], answer: PhotoAnswer) -> Outcome:
        """A photo is kept at any step (one sent early is not lost; the flow
        goes on where it was), and its caption is the description.

        At the photo question, a single first photo goes on to the review
        (which takes more photos): a "done" after one photo would add a tap
        and nothing else.  An album's photos keep arriving with no end
        marker, so the question stays, its button now saying "done".  The
        review is shown again when a photo changes what it says."""
        had = len(data.get("photos", []))
        outcome = self._add_photo(data, answer)
        caption = normalise_text(answer.caption or "")
        if caption:
            outcome = self._caption(env, step, data, answer, list(outcome.notes), caption)
        added = len(data.get("photos", [])) > had and bool(outcome.notes)
        if outcome.step is not None or not added:
            return outcome
        if step == "photos" and not had:
            if answer.album is None:
                outcome.step = "review"
            outcome.reprompt = True
        elif step == "review":
            outcome.reprompt = True
        return outcome

    def _caption(
        self,
        env: FlowEnv,
        step: str,
        data: dict[str, Any],
        answer: PhotoAnswer,
        notes: list[Text],
        caption: str,
    ) -> Outcome:
        """A photo's caption: the description, or more of it."""
        described = data.get("description")
        value = f"{described}\n\n{caption}" if described else caption
        if len(value) > TEXT_MAX:
            notes.append(text("conv.too_long", limit=TEXT_MAX, length=len(value)))
            return Outcome(data, notes=notes, reprompt=False)
        data["description"] = value
        if described:
            notes.append(text("report.caption_added"))
            return Outcome(data, notes=notes, reprompt=step == "review")
        notes.append(text("report.caption_is_description"))
        if step == "description":
            # One photo with its caption answers both questions; an album's
            # other photos are still arriving, so its photo question stays.
            return Outcome(data, step="photos" if answer.album else "review", notes=notes)
        if step in ("family", "suggest") and self.first_step(env, data) == "suggest":
            return Outcome(data, step="suggest", notes=notes)  # the problems it suggests
        return Outcome(data, notes=notes, reprompt=False)

    def _add_photo(self, data: dict[str, Any], answer: PhotoAnswer) -> Outcome:
        """Keep a photo, up to the limit.  An album arrives as one update per
        photo with no end marker: it is answered once, at its first photo,
        and a limit it runs over is told once."""
        album = answer.album
        first = _first_of_album(data, answer)
        photos = list(data.get("photos", []))
        if len(photos) >= PHOTO_MAX:
            if not first and data.get("album_full"):
                return Outcome(data, reprompt=False)
            if album is None:
                return Outcome(
                    data, notes=[text("report.photo_limit", limit=PHOTO_MAX)], reprompt=False
                )
            data["album_full"] = True
            return Outcome(
                data, notes=[text("report.album_limit", limit=PHOTO_MAX)], reprompt=False
            )
        photos.append(answer.media_id)
        data["photos"] = photos
        if not first:
            return Outcome(data, reprompt=False)
        if album is not None:
            return Outcome(
                data, notes=[text("report.album_received", limit=PHOTO_MAX)], reprompt=False
            )
        return Outcome(
            data,
            notes=[text("report.photo_received", count=len(photos), limit=PHOTO_MAX)],
            reprompt=False,
        )

    def _answer_photos(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        # Photos never get here (see `answer`): the earlier "Done" button
        # stays valid while they arrive.
        key, _ = _typed_key(answer, prompt)
        if key == DONE:
            return Outcome(data, step="review")
        return Outcome(data, notes=_unusable(answer, "report.photos_hint"), reprompt=False)

    def _answer_review(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, TextAnswer):
            # Typed, "cho cán bộ biết tên tôi" / "gửi ẩn danh" says which,
            # whichever of the two the button offers now.
            confirm = prompt.choice(CONFIRM)
            assert confirm is not None
            typed = match_typed(
                answer.text,
                [
                    *_options((confirm,)),
                    Option("show", label_names(text("report.show_name"))),
                    Option("hide", label_names(text("report.hide_name"))),
                ],
            )
            if typed in (["show"], ["hide"]):
                data["show_name"] = typed == ["show"]
                return Outcome(data)
        key, _ = _typed_key(answer, prompt)
        if key == CONFIRM or (key or "").startswith(FOLLOW):
            # Filed, or (issue 17) a report shown here followed instead.
            shown = bool(data.get("show_name", env.show_name_default))
            result = {**data, "show_name": shown}
            if key != CONFIRM:
                result["follow"] = int(str(key)[len(FOLLOW) :])
            return Outcome(data, result=result)
        if key == NAME:
            data["show_name"] = not bool(data.get("show_name", env.show_name_default))
            return Outcome(data)
        return Outcome(data, notes=_unusable(answer, "report.review_hint"))


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
                (*_template_choices(env, data, "resolve"), _cancel()),
            )
        return Prompt(
            seq,
            text("resolve.ask_photo", code=code),
            (Choice(SKIP, text("resolve.skip_photo"), aliases=("bo qua", "skip")), _cancel()),
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "note":
            if isinstance(answer, PhotoAnswer):
                return _keep_photo(data, answer, "resolve.photo_kept", "resolve.note_hint", "note")
            picked = _picked_template(env, data, "resolve", answer)
            if picked is not None:
                answer = TextAnswer(picked)
            if not isinstance(answer, TextAnswer):
                return Outcome(data, notes=_unusable(answer, "resolve.note_hint"), reprompt=False)
            value, notes = _check_text(data, answer, field_name="note")
            if value is None:
                return Outcome(data, notes=notes, reprompt=False)
            data["note"] = _with_caption(data, value)
            if data.get("photos"):
                return Outcome(data, result=dict(data))
            return Outcome(data, step="photo")
        if isinstance(answer, PhotoAnswer):
            data["photos"] = [answer.media_id]
            return Outcome(data, result=dict(data))
        if isinstance(answer, ChoiceAnswer) and answer.key == SKIP:
            return Outcome(data, result=dict(data))
        if isinstance(answer, TextAnswer) and match_typed(answer.text, _options(prompt.choices)):
            return Outcome(data, result=dict(data))
        return Outcome(data, notes=_unusable(answer, "resolve.photo_hint"), reprompt=False)


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
            if fold(answer.text) in ("bo qua", "skip"):
                return Outcome(data, result={**data, "reply": None})
            value, notes = _check_text(data, answer, field_name="reply")
            if value is None:
                return Outcome(data, notes=notes, reprompt=False)
            return Outcome(data, result={**data, "reply": value})
        # A photo, a location, a sticker: not a note for the resident.  The
        # offer ends and the input is handled as if it had not been made.
        return Outcome(data, release=True)


OTHER_WARD = "w"


def _about_an_official(env: FlowEnv, data: Mapping[str, Any]) -> bool:
    """The task is a complaint about an official (its category at the start)."""
    category = env.chart.categories.get(str(data.get("category")))
    return category is not None and category.family is Family.OFFICIAL_CONDUCT


class TransferFlow:
    """Another group (of this ward, or of another ward), another category,
    or only a reason for the leaders.  A complaint about an official is only
    offered its own ward's groups and the other official-conduct categories:
    it never leaves the leaders who may see it."""

    kind = "transfer"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "how"

    @staticmethod
    def _groups(env: FlowEnv, data: Mapping[str, Any]) -> list[Area]:
        """The groups a task may be moved to, listed and matched alike: the
        ward chosen for it (another ward's, once picked), else its own."""
        return env.chart.groups(str(data.get("to_ward") or data["ward"]))

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        code = data["code"]
        if step == "how":
            return Prompt(
                seq,
                text("transfer.ask_how", code=code),
                (
                    Choice("g", text("transfer.to_group")),
                    Choice("c", text("transfer.to_category")),
                    Choice("r", text("transfer.to_leader")),
                    _cancel(),
                ),
            )
        if step == "group":
            ward = str(data.get("to_ward") or data["ward"])
            groups = [_area_choice(g) for g in self._groups(env, data)]
            page_items, _ = _paged(groups, int(data.get("page", 0)))
            elsewhere = len(env.chart.ward_codes()) > 1 and not _about_an_official(env, data)
            other = [Choice(OTHER_WARD, text("transfer.other_ward"))] if elsewhere else []
            question = text("transfer.ask_group_in", ward=env.chart.areas[ward].name)
            return Prompt(seq, question, (*page_items, *other, _cancel()), columns=2)
        if step == "ward":
            wards = [_area_choice(env.chart.areas[w]) for w in env.chart.ward_codes()]
            return Prompt(seq, text("transfer.ask_ward"), (*wards, _cancel()), columns=2)
        if step == "category":
            conduct_only = _about_an_official(env, data)
            cats = [
                Choice(c.code, c.display_name(env.language), aliases=(c.name, c.name_en, c.code))
                for c in env.chart.categories.values()
                if c.code != data.get("category")
                and (not conduct_only or c.family is Family.OFFICIAL_CONDUCT)
            ]
            return Prompt(seq, text("transfer.ask_category"), (*cats, _cancel()))
        return Prompt(seq, text("transfer.ask_reason"), (_cancel(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "reason":
            return _take_text(data, answer, "transfer.ask_reason", "reason")
        if step == "group" and isinstance(answer, TextAnswer):
            # "tổ 11" picks group 11 wherever it is in the list, not only on this page.
            hits = match_areas(env.chart, answer.text, self._groups(env, data))
            if len(hits) == 1:
                return Outcome(data, result={**data, "area": hits[0]})
            if hits:
                return Outcome(data, notes=[text("conv.ambiguous")])
        key, notes = _typed_key(answer, prompt)
        if key is None:
            return Outcome(data, notes=notes)
        if step == "how":
            return Outcome(data, step={"g": "group", "c": "category", "r": "reason"}[key])
        if step == "group":
            if key in (NEXT_PAGE, PREV_PAGE):
                page = int(data.get("page", 0))
                data["page"] = page + 1 if key == NEXT_PAGE else max(0, page - 1)
                return Outcome(data)
            if key == OTHER_WARD:
                return Outcome(data, step="ward")
            return Outcome(data, result={**data, "area": key})
        if step == "ward":
            data.update(to_ward=key, page=0)
            return Outcome(data, step="group")
        return Outcome(data, result={**data, "category": key, "new_category": True})


class RejectFlow:
    """Why a task is rejected: a duplicate names the report it repeats (the
    resident is sent there), the others give a reason in words."""

    kind = "reject"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        # Asked again for the original when the one named would not do.
        return "original" if data.get("reason_kind") == RejectReason.DUPLICATE else "kind"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        if step == "kind":
            # "Not about an official" is a reason only for a complaint filed as one.
            conduct = _about_an_official(env, data)
            reasons = [
                Choice(r.value, text(f"reject.reason_{r.value}"))
                for r in RejectReason
                if conduct or r is not RejectReason.NOT_CONDUCT
            ]
            return Prompt(seq, text("reject.ask_kind", code=data["code"]), (*reasons, _cancel()))
        if step == "original":
            # The likely originals (open, same ward and problem: the services
            # list them when the flow starts); any other is typed by its code.
            originals = [
                Choice(
                    str(original),
                    text("reject.original_choice", original=format_code(original), area=name),
                    aliases=(format_code(original),),
                )
                for original, name in data.get("originals", [])
            ]
            return Prompt(
                seq, text("reject.ask_original", code=data["code"]), (*originals, _cancel())
            )
        return Prompt(seq, text("reject.ask_reason"), (_cancel(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "kind":
            key, notes = _typed_key(answer, prompt)
            if key is None:
                return Outcome(data, notes=notes)
            data["reason_kind"] = key
            return Outcome(data, step="original" if key == RejectReason.DUPLICATE else "reason")
        if step == "original":
            return self._original(data, answer, prompt)
        return _take_text(data, answer, "reject.ask_reason", "reason")

    @staticmethod
    def _original(data: dict[str, Any], answer: Answer, prompt: Prompt) -> Outcome:
        """The report this one repeats: a choice, or its code typed, alone or
        in a few words ("Trùng PA-000123", kept as the reason).  The services
        check that it exists, in the same ward (`_reject`)."""
        original: int | None = None
        reason = ""
        if isinstance(answer, ChoiceAnswer):
            original = int(answer.key)
        elif isinstance(answer, TextAnswer):
            reason = normalise_text(answer.text)[:TEXT_MAX]
            found = {parse_code(w.strip(".,;:()")) for w in reason.split()} - {None}
            original = found.pop() if len(found) == 1 else None
        if original is None:
            return Outcome(data, notes=_unusable(answer, "reject.original_hint"), reprompt=False)
        reason = reason or format_code(original)
        return Outcome(data, result={**data, "original": original, "reason": reason})


class DisputeFlow:
    """FixMyStreet requires a comment to reopen a fixed report; so do we."""

    kind = "dispute"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "comment"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(seq, text("dispute.ask_comment", code=data["code"]), (_cancel(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, PhotoAnswer):
            return _keep_photo(
                data, answer, "dispute.photo_kept", "dispute.comment_hint", "comment"
            )
        return _take_text(data, answer, "dispute.comment_hint", "comment")


STAR_WORDS = frozenset({"sao", "star", "stars", "diem", "points"})
NUMBER_WORDS = {
    **{"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5},
    **{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5},
}


def typed_stars(typed: str) -> int | None:
    """A rating typed in words: "4 sao", "năm sao", "5 stars", "⭐⭐⭐", "4/5";
    None when the text is not a rating."""
    bare = "".join(typed.replace("\ufe0f", "").split())
    if bare and set(bare) == {"⭐"}:
        return len(bare) if len(bare) <= 5 else None
    said = words(typed.replace("/5", " sao"))
    values = [NUMBER_WORDS[w] for w in said if w in NUMBER_WORDS]
    values += [int(w) for w in said if w.isdecimal()]
    starred = any(w in STAR_WORDS for w in said)
    if len(values) != 1 or not 1 <= values[0] <= 5:
        return None
    return values[0] if starred or len(said) == 1 else None


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
        # Anything else is not a rating: the offer ends and the input is
        # handled as if it had not been made (a new report, a question…).
        return Outcome(data, release=True)


class AskInfoFlow:
    """The owner asks the resident a question; the resolve clock pauses."""

    kind = "ask_info"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "question"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(seq, text("ask_info.ask_question", code=data["code"]), (_cancel(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        return _take_text(data, answer, "ask_info.hint", "question")


class InfoReplyFlow:
    """The resident answers the cadre's question, with photos if they like."""

    kind = "info_reply"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "answer"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        return Prompt(
            seq, text("info_reply.ask", code=data["code"], question=data["question"]), (_cancel(),)
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, PhotoAnswer):
            return _keep_photo(data, answer, "info_reply.photo_kept", "info_reply.hint", "answer")
        return _take_text(data, answer, "info_reply.hint", "answer")


class ReassignFlow:
    """A leader gives the task to someone else who may own it and can act
    now (the services list them in ``candidates`` when the flow starts, by
    `bot.domain.owners.candidates`, and check the choice again at the end)."""

    kind = "reassign"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "cadre"

    def _cadres(self, env: FlowEnv, data: Mapping[str, Any]) -> list[Choice]:
        staff = env.chart.staff
        return [
            Choice(i, staff[i].name, aliases=(i,)) for i in data.get("candidates", []) if i in staff
        ]

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        page_items, _ = _paged(self._cadres(env, data), int(data.get("page", 0)))
        return Prompt(seq, text("reassign.ask_cadre", code=data["code"]), (*page_items, _cancel()))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = _typed_key(answer, prompt)
        if key is None:
            return Outcome(data, notes=notes)
        if key in (NEXT_PAGE, PREV_PAGE):
            page = int(data.get("page", 0))
            data["page"] = page + 1 if key == NEXT_PAGE else max(0, page - 1)
            return Outcome(data)
        return Outcome(data, result={**data, "cadre": key})


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
        key, notes = _typed_key(answer, prompt)
        if key is None:
            return Outcome(data, notes=notes)
        return Outcome(data, result={**data, "confirmed": key == self.confirm_key(data)})


EXTEND_CHOICES = (1, 2, 3, 5, 10)


class ExtendFlow:
    """A leader moves the resolve deadline by some working days, with a reason."""

    kind = "extend"

    def first_step(self, env: FlowEnv, data: dict[str, Any]) -> str:
        return "days"

    def prompt(self, env: FlowEnv, step: str, data: Mapping[str, Any], seq: int) -> Prompt:
        if step == "days":
            choices = [Choice(str(n), text("extend.days", days=n)) for n in EXTEND_CHOICES]
            return Prompt(
                seq, text("extend.ask_days", code=data["code"]), (*choices, _cancel()), columns=3
            )
        return Prompt(seq, text("extend.ask_reason"), (_cancel(),))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "days":
            if isinstance(answer, ChoiceAnswer):
                data["days"] = int(answer.key)
                return Outcome(data, step="reason")
            if isinstance(answer, TextAnswer):
                digits = fold(answer.text).split(" ")[0]
                if digits.isdecimal() and 1 <= int(digits) <= 60:
                    data["days"] = int(digits)
                    return Outcome(data, step="reason")
            return Outcome(data, notes=_unusable(answer, "extend.days_hint"))
        return _take_text(data, answer, "extend.ask_reason", "reason")


ALL_FLOWS = (
    ReportFlow(),
    AckReplyFlow(),
    ResolveFlow(),
    TransferFlow(),
    RejectFlow(),
    DisputeFlow(),
    RateFlow(),
    AskInfoFlow(),
    InfoReplyFlow(),
    ReassignFlow(),
    ExtendFlow(),
    WithdrawFlow(),
)
