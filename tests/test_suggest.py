"""The category suggested from a resident's own words (issue 17, first part):
real chat Vietnamese with or without diacritics, abbreviations, telex
leftovers, one-word texts and long ones; "other" never forced into a family;
a ward's own words; the shipped data it learns from.  Accuracy on the
held-out set is a benchmark (bench/suggest.py), not a test."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.orgchart import Category, Family
from bot.domain.suggest import (
    Suggester,
    Suggestion,
    read_examples,
    shipped_examples,
    tokens,
)
from bot.domain.text import fold
from bot.orgio.reader import load_org_file

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = list(load_org_file(ROOT / "examples" / "org.yaml").categories.values())
HELD_OUT = read_examples(
    (ROOT / "bot" / "data" / "intake" / "heldout.tsv").read_text(encoding="utf-8").splitlines()
)


@pytest.fixture(scope="module")
def suggester() -> Suggester:
    return Suggester(CATEGORIES)


def codes(suggestion: Suggestion) -> list[str]:
    return [choice.code for choice in suggestion.choices]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ngập", "CRNU"),
        ("xe đỗ", "DXTT"),
        ("đốt rác", "DOTRAC"),
        ("vỉa hè", "LCVH"),
        ("cán bộ đòi tiền", "NNCB"),
    ],
)
def test_a_one_or_two_word_text_is_understood(
    suggester: Suggester, text: str, expected: str
) -> None:
    suggestion = suggester.suggest(text)
    assert suggestion.best == expected


def test_a_bare_word_that_could_be_several_offers_them_all(suggester: Suggester) -> None:
    """ "rác" alone may be rubbish dumped, not collected or burnt: the
    three are offered, and none is taken for granted."""
    suggestion = suggester.suggest("rác")
    assert set(codes(suggestion)) == {"RTPT", "RKTG", "DOTRAC"}
    assert not suggestion.fits


def test_the_issue_s_example_is_rubbish_dumped(suggester: Suggester) -> None:
    text = "sáng nào cũng có xe đổ xà bần ở bãi đất trống cuối ngõ"
    assert suggester.suggest(text).best == "RTPT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cong thoat nuoc bi tac, nuoc den tran len mat duong", "CRNU"),
        ("xe rac ko den lay rac ca tuan nay", "RKTG"),
        ("bien quang cao to che het cua so nha toi", "BHQC"),
        ("can bo mot cua quat nat nguoi gia", "TDCB"),
    ],
)
def test_a_text_without_diacritics_is_understood(
    suggester: Suggester, text: str, expected: str
) -> None:
    assert suggester.suggest(text).best == expected


def test_diacritics_change_nothing(suggester: Suggester) -> None:
    with_marks = suggester.suggest("Chợ cóc họp giữa lòng đường mỗi sáng")
    without = suggester.suggest("cho coc hop giua long duong moi sang")
    assert with_marks == without
    assert with_marks.best == "BHR"


def test_abbreviations_and_telex_leftovers_are_read_as_words() -> None:
    assert tokens("ko đc, k dc") == ["khong", "duoc", "khong", "duoc"]
    assert tokens("a/c ơi vs mn") == ["anh", "chi", "oi", "voi", "moi", "nguoi"]
    assert tokens("ntn bt j r") == ["nhu", "the", "nao", "binh", "thuong", "gi", "roi"]
    assert tokens("ddoor racs") == ["do", "rac"]
    assert tokens("ngaajp nuwowcs") == ["ngap", "nuoc"]
    assert tokens("ngập quáaaa tổ 12") == ["ngap", "qua", "to", "#"]
    # A real word is left alone: "hẻm" is an alley, not an abbreviation.
    assert tokens("hẻm") == ["hem"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 hom r ko ai thu rac, rac chat dong dau ngo", "RKTG"),
        ("a/c ơi ô tô đỗ chắn cổng nhà e từ sáng, ko ra dc", "DXTT"),
        ("ddoor racs trooms ow bai ddaats troongs cuoois ngox", "RTPT"),
        ("mn oi via he bi chiem het r, di bo ko dc", "LCVH"),
    ],
)
def test_chat_abbreviations_and_telex_leftovers_are_understood(
    suggester: Suggester, text: str, expected: str
) -> None:
    assert codes(suggester.suggest(text))[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bt sáng nào cx có xe thu gom mà nay k thấy", "RKTG"),
        ("đc mấy hôm r mà rác vẫn ko ai dọn, ntn vậy", "RKTG"),
        ("nuoc thai xuong cha ra song hoi thoi vs ca khu", "ONMT"),
        ("nha ben canh xay nha ko phep, dc 3 tang r", "XDKP"),
    ],
)
def test_the_issue_s_abbreviations_in_real_complaints(
    suggester: Suggester, text: str, expected: str
) -> None:
    """ "ko", "k", "dc", "đc", "vs", "ntn", "bt" (issue 17), as residents write them."""
    assert suggester.suggest(text).best == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quán nước lấn chím vĩa hè", "LCVH"),
        ("rát thải đổ bừa bải đầu ngõ", "RTPT"),
        ("cống bị tắt, nướt ngập", "CRNU"),
        ("xây nhà ko fép", "XDKP"),
        ("bản hiệu quãng cáo che hết lối đi", "BHQC"),
        ("dân buôn bán rông chiếm lòng đừơng", "BHR"),
    ],
)
def test_misspellings_are_understood(suggester: Suggester, text: str, expected: str) -> None:
    assert suggester.suggest(text).best == expected


def test_only_choices_likely_enough_are_shown(suggester: Suggester) -> None:
    """Three choices always come back, but the resident is offered only
    those with a chance (`SHOWN_SCORE`): the best always."""
    clear = suggester.suggest("Cống tắc, nước ngập cả ngõ 5 sau mưa")
    assert len(clear.choices) == 3 and clear.shown == ("CRNU",)
    unsure = suggester.suggest("rác")
    assert unsure.shown == ("RKTG", "RTPT", "DOTRAC")
    assert Suggestion((), fits=False).shown == ()


def test_a_chart_s_suggester_learns_the_ward_s_words_from_the_chart() -> None:
    chart = load_org_file(ROOT / "examples" / "org.yaml")
    smoke = "khói than tổ ong bay vào nhà suốt ngày"
    assert Suggester(CATEGORIES).suggest(smoke).best == "DOTRAC"
    assert chart.categories["ONMT"].words == ("lò than", "khói than")
    assert Suggester.of_chart(chart).suggest(smoke).best == "ONMT"


def test_a_long_text_about_several_things_leads_with_the_main_one(suggester: Suggester) -> None:
    text = (
        "Cuối ngõ 12 tổ dân phố 5, cứ tối là có xe ba gác đến đổ trộm xà bần với rác "
        "ra bãi đất trống, để lâu bốc mùi, mưa xuống còn tắc cả cống. Bức xúc lắm a/c ạ"
    )
    suggestion = suggester.suggest(text)
    assert suggestion.best == "RTPT"
    assert len(suggestion.choices) == 3
    assert {"ONMT", "CRNU"} & set(codes(suggestion)[1:])


@pytest.mark.parametrize("text", ["asdfgh qwerty", "???", "xin chào", "12345"])
def test_a_text_that_says_nothing_fits_nothing(suggester: Suggester, text: str) -> None:
    suggestion = suggester.suggest(text)
    assert not suggestion.fits
    assert suggestion.best is None
    assert not suggester.forced(suggestion)


@pytest.mark.parametrize(
    "text",
    [
        "đèn đường ngõ 7 hỏng cả tháng nay, tối om",
        "nhà bên hát karaoke đến 12h đêm",
        "chó thả rông cắn trẻ con trong xóm",
        "mất nước sinh hoạt 2 ngày rồi",
    ],
)
def test_a_problem_of_no_category_goes_to_other_and_no_family(
    suggester: Suggester, text: str
) -> None:
    suggestion = suggester.suggest(text)
    assert suggestion.best == "KHAC"
    assert not suggester.forced(suggestion)


def test_an_other_text_put_into_a_family_counts_as_forced(suggester: Suggester) -> None:
    """The held-out check counts this mistake: the best fits and is a
    family's category."""
    garbage = Suggestion((dataclasses.replace(suggester.suggest("ngập").choices[0]),), True)
    assert suggester.forced(garbage)
    assert not suggester.forced(Suggestion(garbage.choices, fits=False))


def test_a_ward_s_own_words_change_the_suggestion() -> None:
    """A fallen tree blocking the road reads as a parking problem to the
    shipped examples ("chắn đường"); the ward's own words for "other" put
    it right."""
    text = "cây đổ chắn lối vào kiệt"
    before = Suggester(CATEGORIES).suggest(text)
    after = Suggester(CATEGORIES, extra_words={"KHAC": ["cây đổ", "cây gãy"]}).suggest(text)
    assert before.best != "KHAC"
    assert after.best == "KHAC"


def test_a_ward_s_own_category_learns_from_its_name_and_words() -> None:
    trees = Category(
        code="CAYXANH",
        name="Cây xanh gãy đổ",
        name_en="Fallen trees",
        family=Family.OTHER,
        resolve_days=1,
    )
    suggester = Suggester(
        [*CATEGORIES, trees], extra_words={"CAYXANH": ["cành cây gãy", "cây nghiêng"]}
    )
    assert suggester.suggest("canh cay gay de len mai nha").best == "CAYXANH"
    assert suggester.suggest("cong tac, ngap het duong").best == "CRNU"


def test_only_the_chart_s_categories_are_suggested() -> None:
    without_parking = [c for c in CATEGORIES if c.code != "DXTT"]
    suggestion = Suggester(without_parking).suggest("ô tô đỗ chắn cổng nhà tôi")
    assert "DXTT" not in codes(suggestion)


def test_at_most_three_best_first_with_scores(suggester: Suggester) -> None:
    suggestion = suggester.suggest("nước thải xưởng chảy ra sông, hôi thối")
    scores = [choice.score for choice in suggestion.choices]
    assert len(scores) == 3
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert len(suggester.suggest("rác", limit=5).choices) == 5


def test_the_same_text_gets_the_same_suggestion(suggester: Suggester) -> None:
    text = "quán nhậu bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường"
    again = Suggester(CATEGORIES)
    assert suggester.suggest(text) == suggester.suggest(text) == again.suggest(text)


def test_the_shipped_set_covers_every_category_of_the_example_chart() -> None:
    counts = Counter(label for label, _ in shipped_examples())
    assert set(counts) == {c.code for c in CATEGORIES}
    assert min(counts.values()) >= 80
    held = Counter(label for label, _ in HELD_OUT)
    assert set(held) == set(counts)
    assert min(held.values()) >= 20


def test_no_held_out_text_is_in_the_training_set() -> None:
    trained = {fold(text) for _, text in shipped_examples()}
    assert not [text for _, text in HELD_OUT if fold(text) in trained]


def test_the_labelled_files_say_where_they_come_from_and_their_license() -> None:
    for name in ("complaints.tsv", "heldout.tsv"):
        head = (ROOT / "bot" / "data" / "intake" / name).read_text(encoding="utf-8")[:1500]
        assert "Written by the Phản Ánh team" in head
        assert "License: MIT" in head
