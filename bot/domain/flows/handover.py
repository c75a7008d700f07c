"""The flows that hand a task on or close it unhandled: ``transfer``
(another group, category or ward), ``reject`` (duplicate, not the ward's
remit, abusive) and ``reassign`` (a leader picks another officer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.complaints import RejectReason, format_code, parse_code
from bot.domain.conversation import (
    BACK,
    NEXT_PAGE,
    PREV_PAGE,
    Answer,
    Choice,
    ChoiceAnswer,
    Outcome,
    Prompt,
    TextAnswer,
)
from bot.domain.flows.places import match_areas
from bot.domain.flows.steps import (
    TEXT_MAX,
    FlowEnv,
    area_choice,
    cancel_choice,
    paged,
    take_text,
    typed_key,
    unusable,
)
from bot.domain.messages import text
from bot.domain.orgchart import Area, Family
from bot.domain.text import (
    normalise_text,
)

OTHER_WARD = "w"


def back_choice() -> Choice:
    return Choice(BACK, text("conv.back"))


def _back(answer: Answer) -> bool:
    """The ↩ Back button (or its number): only pressed, never typed words,
    which at a reason's step are the reason."""
    return isinstance(answer, ChoiceAnswer) and answer.key == BACK


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
                    cancel_choice(),
                ),
            )
        if step == "group":
            ward = str(data.get("to_ward") or data["ward"])
            groups = [area_choice(g) for g in self._groups(env, data)]
            page_items, _ = paged(groups, int(data.get("page", 0)))
            elsewhere = len(env.chart.ward_codes()) > 1 and not _about_an_official(env, data)
            other = [Choice(OTHER_WARD, text("transfer.other_ward"))] if elsewhere else []
            question = text("transfer.ask_group_in", ward=env.chart.areas[ward].name)
            return Prompt(
                seq, question, (*page_items, *other, back_choice(), cancel_choice()), columns=2
            )
        if step == "ward":
            wards = [area_choice(env.chart.areas[w]) for w in env.chart.ward_codes()]
            return Prompt(
                seq, text("transfer.ask_ward"), (*wards, back_choice(), cancel_choice()), columns=2
            )
        if step == "category":
            conduct_only = _about_an_official(env, data)
            cats = [
                Choice(c.code, c.display_name(env.language), aliases=(c.name, c.name_en, c.code))
                for c in env.chart.categories.values()
                if c.code != data.get("category")
                and (not conduct_only or c.family is Family.OFFICIAL_CONDUCT)
            ]
            return Prompt(
                seq, text("transfer.ask_category"), (*cats, back_choice(), cancel_choice())
            )
        return Prompt(seq, text("transfer.ask_reason"), (back_choice(), cancel_choice()))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if _back(answer):
            return self._back(step, data)
        if step == "reason":
            return take_text(data, answer, "transfer.ask_reason", "reason")
        if step == "group" and isinstance(answer, TextAnswer):
            # "tổ 11" picks group 11 wherever it is in the list, not only on this page.
            hits = match_areas(env.chart, answer.text, self._groups(env, data))
            if len(hits) == 1:
                return Outcome(data, result={**data, "area": hits[0]})
            if hits:
                return Outcome(data, notes=[text("conv.ambiguous")])
        key, notes = typed_key(answer, prompt)
        if key is None:
            return Outcome(data, notes=notes)
        if key == BACK:  # "quay lại" typed
            return self._back(step, data)
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

    @staticmethod
    def _back(step: str, data: dict[str, Any]) -> Outcome:
        """Back to the ways to hand it on; from another ward's groups, to
        the wards; from the wards, to the task's own ward's groups."""
        if step == "group" and data.get("to_ward"):
            data.pop("to_ward", None)
            data["page"] = 0
            return Outcome(data, step="ward")
        data.pop("page", None)
        return Outcome(data, step="group" if step == "ward" else "how")


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
            return Prompt(
                seq, text("reject.ask_kind", code=data["code"]), (*reasons, cancel_choice())
            )
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
                seq,
                text("reject.ask_original", code=data["code"]),
                (*originals, back_choice(), cancel_choice()),
            )
        return Prompt(seq, text("reject.ask_reason"), (back_choice(), cancel_choice()))

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        if step == "kind":
            key, notes = typed_key(answer, prompt)
            if key is None:
                return Outcome(data, notes=notes)
            data["reason_kind"] = key
            return Outcome(data, step="original" if key == RejectReason.DUPLICATE else "reason")
        if _back(answer):  # the reason was chosen wrong
            data.pop("reason_kind", None)
            return Outcome(data, step="kind")
        if step == "original":
            return self._original(data, answer, prompt)
        return take_text(data, answer, "reject.ask_reason", "reason")

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
            return Outcome(data, notes=unusable(answer, "reject.original_hint"), reprompt=False)
        reason = reason or format_code(original)
        return Outcome(data, result={**data, "original": original, "reason": reason})


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
        page_items, _ = paged(self._cadres(env, data), int(data.get("page", 0)))
        return Prompt(
            seq, text("reassign.ask_cadre", code=data["code"]), (*page_items, cancel_choice())
        )

    def answer(
        self, env: FlowEnv, step: str, data: dict[str, Any], answer: Answer, prompt: Prompt
    ) -> Outcome:
        # A typed name picks by whole words: the task goes to that person at
        # once, and "hoa" must not give it to Hoàng Thị Mai.
        key, notes = typed_key(answer, prompt, pieces=False)
        if key is None:
            return Outcome(data, notes=notes)
        if key in (NEXT_PAGE, PREV_PAGE):
            page = int(data.get("page", 0))
            data["page"] = page + 1 if key == NEXT_PAGE else max(0, page - 1)
            return Outcome(data)
        return Outcome(data, result={**data, "cadre": key})
