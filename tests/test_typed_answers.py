"""Typed answers never lose a draft: the matching rules of the conversation
engine and the flows, as tables (pure: no database, no channel), then what a
resident sees through the real Application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.domain.conversation import (
    CANCEL,
    NEXT_PAGE,
    Choice,
    ChoiceAnswer,
    ConversationEngine,
    ConversationState,
    Prompt,
    TextAnswer,
    Turn,
    pick_by_number,
)
from bot.domain.flows import (
    ALL_FLOWS,
    OPTIONAL_LIFETIMES,
    FlowEnv,
    match_areas,
    typed_stars,
)
from bot.domain.messages import text
from bot.domain.orgchart import OrgChart
from bot.domain.text import Option, match_typed
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined, to

ENGINE = ConversationEngine(ALL_FLOWS, OPTIONAL_LIFETIMES)
TASK = {"complaint_id": 1, "code": "PA-000001", "ward": "HONGHAI", "category": "RKTG"}
# A sanitation draft whose place is asked next, in Hồng Hải (14 groups: the
# first page lists 8, then "Next page", "Back" and "Cancel" — the 11th button).
AT_PLACE = {"family": "sanitation", "category": "RKTG", "leadership": False, "ward": "HONGHAI"}


def state(kind: str, step: str, data: Mapping[str, Any], seq: int = 3) -> ConversationState:
    return ConversationState(kind=kind, step=step, data=dict(data), seq=seq)


def typed(chart: OrgChart, at: ConversationState, answer: str, lang: str = "vi") -> Turn:
    return ENGINE.handle(FlowEnv(chart, lang), at, TextAnswer(answer))


def note_keys(turn: Turn) -> list[str]:
    return [n.key for n in turn.notes]


# ---- numbers and Cancel ----------------------------------------------------------------------


def test_a_bare_number_never_picks_cancel() -> None:
    prompt = Prompt(1, text("report.ask_place"), (Choice("a", "A"), Choice(CANCEL, "Hủy")))
    assert pick_by_number("1", prompt) == "a"
    assert pick_by_number("2", prompt) is None
    assert pick_by_number("3", prompt) is None


@pytest.mark.parametrize(
    ("kind", "step", "data", "answer"),
    [
        ("report", "family", {}, "4"),  # 3 families, then Cancel
        ("report", "place", AT_PLACE, "11"),  # Cancel is the 11th button
        ("report", "description", AT_PLACE | {"area": "HH-TDP03"}, "1"),  # only Cancel
        ("transfer", "group", TASK, "10"),
        ("reject", "kind", TASK, "4"),
        ("resolve", "note", TASK, "4"),
        ("extend", "days", TASK, "6"),
        ("report", "family", {}, "x"),  # the Cancel key itself, typed
        ("report", "family", {}, "huỷ phản ánh này đi"),  # a sentence that says it
        ("report", "place", AT_PLACE, "Cancel the lamp"),
    ],
)
def test_neither_a_bare_number_nor_a_stray_word_cancels(
    chart: OrgChart, kind: str, step: str, data: Mapping[str, Any], answer: str
) -> None:
    turn = typed(chart, state(kind, step, data), answer)
    assert not turn.cancelled
    assert turn.state is not None or turn.result is not None


@pytest.mark.parametrize("answer", ["huỷ", "Hủy", "HUY", "hủy bỏ", "cancel"])
def test_only_cancel_typed_as_the_whole_answer_cancels(chart: OrgChart, answer: str) -> None:
    turn = typed(chart, state("report", "place", AT_PLACE), answer)
    assert turn.cancelled


# ---- groups by name and number ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "area"),
    [
        ("11", "HH-TDP11"),  # not Cancel, the 11th button: the group numbered 11
        ("13", "HH-TDP13"),  # beyond the buttons of this page
        ("to 11", "HH-TDP11"),
        ("tổ 11", "HH-TDP11"),
        ("Tổ dân phố 11", "HH-TDP11"),
        ("TDP 11", "HH-TDP11"),
        ("tdp11", "HH-TDP11"),
        ("group 11", "HH-TDP11"),
        ("Group 4", "HH-TDP04"),
        ("to 3", "HH-TDP03"),  # not Tổ 13
        ("tổ 1", "HH-TDP01"),  # not 10 to 14
        ("tổ dân phố số 03", "HH-TDP03"),
        ("3", "HH-TDP03"),  # the third button
        ("HH-TDP12", "HH-TDP12"),
    ],
)
def test_a_group_typed_with_its_number_is_picked_wherever_it_is_listed(
    chart: OrgChart, answer: str, area: str
) -> None:
    turn = typed(chart, state("report", "place", AT_PLACE), answer)
    assert turn.state is not None
    assert turn.state.data.get("area") == area
    assert turn.state.step == "description"


def test_a_button_number_still_means_its_button(chart: OrgChart) -> None:
    turn = typed(chart, state("report", "place", AT_PLACE), "9")  # "9. Trang sau ▶"
    assert turn.state is not None
    assert turn.state.data.get("page") == 1
    assert "area" not in turn.state.data


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ("tổ 3", {"HH-TDP03", "BD-TDP03"}),  # two wards have a Tổ 3: the resident picks
        ("group 4", {"HH-TDP04", "BD-TDP04"}),
        ("Hồng Hải tổ 3", {"HH-TDP03"}),
        ("bach dang to 2", {"BD-TDP02"}),
        ("to 13", {"HH-TDP13"}),
        ("phường Hồng Hải", {"HONGHAI"}),
        ("tổ 99", set()),
        ("khu 1", set()),  # a zone is not something to file on
    ],
)
def test_before_the_ward_is_known_a_typed_group_may_name_its_ward(
    chart: OrgChart, answer: str, found: set[str]
) -> None:
    candidates = [chart.areas[w] for w in chart.ward_codes()] + chart.groups()
    assert set(match_areas(chart, answer, candidates)) == found


def test_matching_prefers_the_exact_number_and_whole_words() -> None:
    options = [Option("3", ["Tổ dân phố 3"]), Option("13", ["Tổ dân phố 13"])]
    assert match_typed("to 3", options) == ["3"]
    assert match_typed("13", options) == ["13"]
    assert match_typed("tdp", options) == ["3", "13"]
    assert match_typed("to dan", options) == ["3", "13"]
    assert match_typed("2", options) == []


# ---- the place question does not keep stray words ---------------------------------------------


@pytest.mark.parametrize("answer", ["ok", "vâng", "Cảm ơn", "Vincom", "xong", "15", "?"])
def test_a_stray_word_at_the_place_step_is_not_kept_as_the_landmark(
    chart: OrgChart, answer: str
) -> None:
    turn = typed(chart, state("report", "place", AT_PLACE), answer)
    assert turn.state is not None
    assert "landmark" not in turn.state.data
    assert "area" not in turn.state.data
    assert note_keys(turn) in (["report.place_not_understood"], ["report.place_hint"])


@pytest.mark.parametrize("answer", ["ngõ 12 Lê Lợi", "cạnh chợ Hạ Long", "số 5 Trần Hưng Đạo"])
def test_an_address_at_the_place_step_is_kept_as_the_landmark(chart: OrgChart, answer: str) -> None:
    turn = typed(chart, state("report", "place", AT_PLACE), answer)
    assert turn.state is not None
    assert turn.state.data["landmark"] == answer
    assert note_keys(turn) == ["report.landmark_kept"]


# ---- choices typed as words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "lang", "step"),
    [
        ("sai địa bàn", "vi", "group"),
        ("tổ dân phố", "vi", "group"),
        ("sai lĩnh vực", "vi", "category"),
        ("khác", "vi", "reason"),
        ("Wrong area", "en", "group"),
        ("wrong category", "vi", "category"),  # either language, whatever the person's
        ("other", "en", "reason"),
    ],
)
def test_transfer_reasons_typed_as_words(
    chart: OrgChart, answer: str, lang: str, step: str
) -> None:
    turn = typed(chart, state("transfer", "how", TASK), answer, lang)
    assert turn.state is not None
    assert turn.state.step == step


# The leader's "Give PA-000001 to whom?": Hoàng Thị Mai, Vũ Đức Thắng, Đỗ Văn Long.
REASSIGN = TASK | {"candidates": ["tt-hh-01", "cb-hh-mt", "cb-hh-ca"]}


@pytest.mark.parametrize(
    ("answer", "cadre"),
    [("mai", "tt-hh-01"), ("Hoàng Mai", "tt-hh-01"), ("thang", "cb-hh-mt"), ("long", "cb-hh-ca")],
)
def test_a_leader_gives_a_task_by_typing_a_name(chart: OrgChart, answer: str, cadre: str) -> None:
    turn = typed(chart, state("reassign", "cadre", REASSIGN), answer)
    assert turn.result is not None and turn.result["cadre"] == cadre


@pytest.mark.parametrize("answer", ["hoa", "than", "lon"])
def test_a_piece_of_a_name_gives_the_task_to_nobody(chart: OrgChart, answer: str) -> None:
    """The task moves at once: "hoa" (another name) must not give it to
    Hoàng Thị Mai, nor "than" to Vũ Đức Thắng; the leader is asked again."""
    turn = typed(chart, state("reassign", "cadre", REASSIGN), answer)
    assert turn.result is None
    assert turn.state is not None and turn.state.step == "cadre"
    assert note_keys(turn) == ["conv.no_match"]


# A bare number is a button's position while there is such a button (the
# first page shows 8 groups, "next page", "another ward's group", Cancel),
# and a group's number beyond them.
@pytest.mark.parametrize(
    ("answer", "area"), [("tổ 11", "HH-TDP11"), ("tdp 10", "HH-TDP10"), ("12", "HH-TDP12")]
)
def test_a_transfer_to_a_group_typed_anywhere_in_the_list(
    chart: OrgChart, answer: str, area: str
) -> None:
    turn = typed(chart, state("transfer", "group", TASK), answer)
    assert turn.result is not None
    assert turn.result["area"] == area


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("trùng", "duplicate"),
        ("trung voi phan anh khac", "duplicate"),
        ("không thuộc thẩm quyền", "not_remit"),
        ("không phù hợp", "abusive"),
        ("duplicate", "duplicate"),
        ("not the ward's", "not_remit"),
        ("2", "not_remit"),
    ],
)
def test_reject_reasons_typed_as_words(chart: OrgChart, answer: str, kind: str) -> None:
    turn = typed(chart, state("reject", "kind", TASK), answer)
    assert turn.state is not None
    # A duplicate names its original; the other reasons are given in words.
    assert turn.state.step == ("original" if kind == "duplicate" else "reason")
    assert turn.state.data["reason_kind"] == kind


def test_a_reject_reason_not_understood_is_asked_again(chart: OrgChart) -> None:
    turn = typed(chart, state("reject", "kind", TASK), "hmm")
    assert turn.state is not None
    assert turn.state.step == "kind"
    assert note_keys(turn) == ["conv.no_match"]


@pytest.mark.parametrize(
    ("answer", "stars"),
    [
        ("4 sao", 4),
        ("5 sao", 5),
        ("5 Sao rất tốt", 5),
        ("năm sao", 5),
        ("bốn sao", 4),
        ("3 stars", 3),
        ("4/5", 4),
        ("⭐⭐⭐", 3),
        ("⭐️⭐️", 2),
        ("4", 4),
    ],
)
def test_a_rating_typed_in_words(chart: OrgChart, answer: str, stars: int) -> None:
    turn = typed(chart, state("rate", "stars", TASK, seq=1), answer)
    assert turn.result is not None
    assert turn.result["stars"] == stars


@pytest.mark.parametrize("answer", ["6 sao", "cảm ơn", "2 3 sao", "⭐⭐⭐⭐⭐⭐", "năm nay"])
def test_text_that_is_not_a_rating_is_not_taken_for_one(chart: OrgChart, answer: str) -> None:
    assert typed_stars(answer) is None
    turn = typed(chart, state("rate", "stars", TASK, seq=1), answer)
    assert turn.released, "the rating offer steps aside"


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("cho cán bộ biết tên tôi", True),
        ("Cho can bo biet ten toi", True),
        ("gửi ẩn danh", False),
        ("ẩn danh", False),
        ("see my name", True),  # the English button, in part
    ],
)
def test_the_identity_choice_typed_says_which_whatever_the_button_offers(
    chart: OrgChart, answer: str, shown: bool
) -> None:
    review = AT_PLACE | {"area": "HH-TDP03", "description": "Rác", "photos": []}
    for before in (True, False):
        turn = typed(chart, state("report", "review", review | {"show_name": before}), answer)
        assert turn.state is not None and turn.result is None
        assert turn.state.data["show_name"] is shown


def test_send_typed_at_the_review_still_sends(chart: OrgChart) -> None:
    review = AT_PLACE | {"area": "HH-TDP03", "description": "Rác", "photos": []}
    assert typed(chart, state("report", "review", review), "gửi").result is not None


def test_a_press_is_still_a_press(chart: OrgChart) -> None:
    at = state("report", "place", AT_PLACE)
    turn = ENGINE.handle(FlowEnv(chart, "vi"), at, ChoiceAnswer(at.seq, NEXT_PAGE))
    assert turn.state is not None
    assert turn.state.data["page"] == 1


# ---- through the real Application -------------------------------------------------------------


async def test_typing_11_at_the_group_list_picks_group_11_and_keeps_the_draft(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    sent = await bot.choose(an, "HONGHAI")
    buttons = [label for m in sent for label, _ in bot.api.buttons(m)]
    assert buttons[10] == "11. ✖ Hủy", "Cancel is the 11th button"
    sent = await bot.send(an.text("11"))
    assert not says(joined(sent), "conv.cancelled")
    assert says(joined(sent), "report.ask_description"), "the next question: the description"
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.area == "HH-TDP11"


async def test_a_cadre_rejects_and_transfers_by_typing_words(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await file_sanitation_report(bot, an, description="Rác lần hai")
    await bot.press(cadre, "t:1")
    await bot.send(cadre.text("sai địa bàn"))
    sent = await bot.send(cadre.text("tổ 12"))
    assert "Đã chuyển PA-000001" in joined(to(sent, cadre))
    await bot.press(cadre, "j:2")
    sent = await bot.send(cadre.text("trùng"))
    assert says(joined(sent), "reject.ask_original", code="PA-000002")
    sent = await bot.send(cadre.text("Trùng với PA-000001"))
    assert "Đã từ chối PA-000002" in joined(to(sent, cadre))
    rejected = await bot.services.complaint(2)
    assert rejected is not None
    assert rejected.state.value == "rejected"
