"""The ``report`` flow: a resident files a complaint — the problem (from
their words, or family then category), the leadership question for an
official's conduct, the place, the description, photos, the review (with the
similar reports nearby to follow instead)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot import i18n
from bot.domain.complaints import format_code
from bot.domain.conversation import (
    BACK,
    NEXT_PAGE,
    PREV_PAGE,
    Answer,
    Choice,
    ChoiceAnswer,
    LocationAnswer,
    Outcome,
    PhotoAnswer,
    Prompt,
    TextAnswer,
)
from bot.domain.flows.intake import names_a_problem, reads_like_a_report
from bot.domain.flows.places import looks_like_a_place, match_areas
from bot.domain.flows.steps import (
    CONFIRM,
    DONE,
    MORE,
    NO,
    PHOTO_MAX,
    TEXT_MAX,
    YES,
    FlowEnv,
    area_choice,
    cancel_choice,
    check_text,
    first_of_album,
    label_names,
    options_of,
    paged,
    remember_typed,
    typed_key,
    unusable,
)
from bot.domain.geo import locate
from bot.domain.messages import Lines, Text, text
from bot.domain.orgchart import Area, Category, Family, GeoPoint, OrgChart
from bot.domain.places import upper_tier
from bot.domain.text import (
    Option,
    fold,
    has_words,
    match_typed,
    normalise_text,
)

# Typed at the suggested problems, these open the full list.
NONE_OF_THESE = ("tat ca", "all", "khong phai", "none", "none of these")

NAME = "nm"

FOLLOW = "f"  # and a complaint's id: follow that report instead of filing (issue 17)

# Typed at the photo question, these go on (with photos or without).
PHOTOS_DONE_WORDS = (
    "xong",
    "xong roi",
    "ok",
    "done",
    "bo qua",
    "skip",
    "tiep tuc",
    "continue",
    "khong co anh",
)


def _family_names(family: Family) -> tuple[str, ...]:
    return tuple(i18n.t(lang, f"family.{family.value}") for lang in i18n.LANGUAGES)


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


# The steps before the place question: a location sent there is kept for it.
_BEFORE_PLACE = frozenset({"family", "category", "suggest", "leadership"})


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
            return Prompt(seq, text(question), (*cats, more, cancel_choice()))
        if step == "family":
            choices = [
                Choice(f.value, text(f"family.{f.value}"), aliases=_family_names(f))
                for f in chart.families()
            ]
            return Prompt(seq, text("report.ask_family"), (*choices, cancel_choice()))
        if step == "category":
            family = Family(data["family"])
            cats = [self._category_choice(env, c) for c in chart.categories_of(family)]
            back = Choice(BACK, text("conv.back"))
            return Prompt(
                seq,
                text("report.ask_category", family=text(f"family.{family.value}")),
                (*cats, back, cancel_choice()),
            )
        if step == "leadership":
            return Prompt(
                seq,
                text("report.ask_leadership", upper=upper_tier(chart)),
                (
                    Choice(YES, text("conv.yes"), aliases=("co", "yes")),
                    Choice(NO, text("conv.no"), aliases=("khong", "no")),
                    cancel_choice(),
                ),
            )
        if step == "place":
            return self._place_prompt(env, data, seq)
        if step == "description":
            return Prompt(
                seq,
                text("report.ask_description", limit=TEXT_MAX),
                (Choice(BACK, text("conv.back")), cancel_choice()),
            )
        if step == "photos":
            # Until a photo arrives the button goes on without one; then it says "done".
            some = bool(data.get("photos"))
            done = Choice(
                DONE,
                text("report.photos_done" if some else "report.photos_none"),
                aliases=PHOTOS_DONE_WORDS,
            )
            question = "report.ask_photos_more" if some else "report.ask_photos"
            return Prompt(seq, text(question, limit=PHOTO_MAX), (done, cancel_choice()))
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
                    cancel_choice(),
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
            items = [area_choice(chart.areas[w]) for w in wards]
            question = text("report.ask_ward")
        else:
            items = [area_choice(g) for g in chart.groups(ward)]
            question = text("report.ask_place", ward=chart.areas[ward].name)
        page_items, _ = paged(items, int(data.get("page", 0)))
        # Back: to the wards, or from there (and where there is one ward) to
        # the problem, which may have been chosen wrong.
        extra = [Choice(BACK, text("conv.back"))]
        return Prompt(
            seq, question, (*page_items, *extra, cancel_choice()), wants_location=True, columns=2
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
        if isinstance(answer, LocationAnswer) and step in _BEFORE_PLACE:
            return self._early_location(env, data, answer)
        handler = getattr(self, f"_answer_{step}")
        result: Outcome = handler(env, data, answer, prompt)
        return result

    def _answer_family(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        key, notes = typed_key(answer, prompt)
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
        key, notes = typed_key(answer, prompt)
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
        key, notes = typed_key(answer, prompt)
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
        if not reads_like_a_report(answer.text, env.chart):
            return Outcome(data, notes=notes)
        value, refused = check_text(data, answer, field_name="description")
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
        key, notes = typed_key(answer, prompt)
        if key not in (YES, NO):
            return Outcome(data, notes=notes)
        data["leadership"] = key == YES
        return Outcome(data, step=self._after_place_step(data))

    def _answer_place(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, LocationAnswer):
            found_in = self._located(env, data, answer)
            if found_in is None:
                return Outcome(data, notes=[text("report.location_outside")])
            return Outcome(data, step=self._after_place(data), notes=[found_in])
        if isinstance(answer, ChoiceAnswer):
            return self._place_choice(env, data, answer.key)
        if isinstance(answer, TextAnswer):
            return self._place_typed(env, data, answer)
        return Outcome(data, notes=unusable(answer, "report.place_hint"))

    def _located(self, env: FlowEnv, data: dict[str, Any], answer: LocationAnswer) -> Text | None:
        """The place a shared location falls in, kept in the draft (a venue's
        name as the landmark), and the words that say so; None outside."""
        chart = env.chart
        found = locate(chart, GeoPoint(lon=answer.lon, lat=answer.lat), env.locate_max_km)
        if found is None:
            return None
        data.update(area=found.code, lat=answer.lat, lon=answer.lon, page=0)
        data["ward"] = chart.ward_of(found.code)
        data.pop("matches", None)
        if answer.title:
            data["landmark"] = normalise_text(answer.title)[:200]
        return text("report.location_found", area=self._place_name(env, found))

    def _early_location(
        self, env: FlowEnv, data: dict[str, Any], answer: LocationAnswer
    ) -> Outcome:
        """A pin sent before the place question (people often send it
        first): kept, as an early photo is, and the question under way is
        asked again; the place question is then not asked."""
        found_in = self._located(env, data, answer)
        return Outcome(data, notes=[found_in or text("report.location_outside_later")])

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
            if (data.get("matches") or data.get("ward")) and len(chart.ward_codes()) > 1:
                for k in ("ward", "matches", "page"):
                    data.pop(k, None)
                return Outcome(data)
            return self._back_to_problem(env, data)
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

    def _back_to_problem(self, env: FlowEnv, data: dict[str, Any]) -> Outcome:
        """Back from the place question: the problem is asked again (its
        family's list, when the family has more than one), the place too
        once it is chosen again; what was written and sent is kept."""
        for k in ("category", "leadership", "ward", "matches", "page"):
            data.pop(k, None)
        family = data.get("family")
        if family is not None and len(env.chart.categories_of(Family(family))) > 1:
            return Outcome(data, step="category")
        data.pop("family", None)
        return Outcome(data, step=self.first_step(env, data))

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
        if not looks_like_a_place(value):
            return Outcome(data, notes=[text("report.place_not_understood", typed=value[:60])])
        data["landmark"] = value[:200]
        return Outcome(data, notes=[text("report.landmark_kept", landmark=data["landmark"])])

    def _answer_description(
        self, env: FlowEnv, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if isinstance(answer, ChoiceAnswer) and answer.key == BACK:
            # The place was chosen wrong: asked again (in the same ward).
            for k in ("area", "landmark", "lat", "lon", "matches", "page"):
                data.pop(k, None)
            return Outcome(data, step="place")
        if not isinstance(answer, TextAnswer):
            if isinstance(answer, LocationAnswer):
                return Outcome(data, notes=[text("report.ask_description_again")])
            return Outcome(data, notes=unusable(answer, "report.ask_description_again"))
        value, notes = check_text(data, answer, field_name="description")
        if value is None:
            return Outcome(data, notes=notes, reprompt=False)
        if not has_words(value):
            # "." or "👍": nothing a cadre could act on; the words asked again.
            return Outcome(data, notes=[text("report.ask_description_again")], reprompt=False)
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
        elif step == "description" and not caption:
            # The description is still to come: said at once, or a "xong"
            # typed next (the photo was the report, they think) would be it.
            outcome.notes = [*outcome.notes, text("report.ask_description_again")]
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
        remember_typed(data, answer, "description", caption)
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
        first = first_of_album(data, answer)
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
        key, _ = typed_key(answer, prompt)
        if key == DONE:
            return Outcome(data, step="review")
        if isinstance(answer, TextAnswer):
            return self._more_description(data, answer)
        # Asked again, so that its buttons are below the hint, as it says.
        return Outcome(data, notes=unusable(answer, "report.photos_hint"))

    @staticmethod
    def _more_description(data: dict[str, Any], answer: TextAnswer) -> Outcome:
        """Words typed while photos are asked: more of the description (a
        resident adds what they forgot), not dropped with a hint; the photo
        question again below."""
        more = normalise_text(answer.text)
        if not has_words(more):  # "👍", "…": not more of the description
            return Outcome(data, notes=[text("report.photos_hint")])
        described = data.get("description")
        value = f"{described}\n\n{more}" if described else more
        if len(value) > TEXT_MAX:
            return Outcome(data, notes=[text("conv.too_long", limit=TEXT_MAX, length=len(value))])
        data["description"] = value
        remember_typed(data, answer, "description", more)
        return Outcome(data, notes=[text("report.description_added")])

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
                    *options_of((confirm,)),
                    Option("show", label_names(text("report.show_name"))),
                    Option("hide", label_names(text("report.hide_name"))),
                ],
            )
            if typed in (["show"], ["hide"]):
                data["show_name"] = typed == ["show"]
                return Outcome(data)
        key, _ = typed_key(answer, prompt)
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
        if isinstance(answer, TextAnswer) and fold(answer.text) in PHOTOS_DONE_WORDS:
            # "xong", as the photo question said to type once the photos are
            # sent: the review is right above, so only how to send it.
            return Outcome(data, notes=[text("report.review_hint")], reprompt=False)
        if (
            isinstance(answer, TextAnswer)
            and key is None
            and reads_like_a_report(answer.text, env.chart)
        ):
            # A sentence typed at the review ("it smells, too"): more of the
            # description, as at the photo question, and the review again.
            return self._more_description(data, answer)
        return Outcome(data, notes=unusable(answer, "report.review_hint"))
