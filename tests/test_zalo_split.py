"""Long texts reach a Zalo user whole, in parts Zalo accepts, cut where a reader expects."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.zalo.split import ZALO_TEXT_LIMIT, split_text

# Letters (Vietnamese ones too, precomposed and decomposed), every kind of whitespace the
# splitter must treat as a boundary, and a combining accent on its own.
ALPHABET = st.sampled_from(
    [
        "a",
        "b",
        "ư",
        "ệ",
        "Đ",
        "e\u0301",
        "\u0323",
        " ",
        " ",
        "\t",
        "\n",
        "\n\n",
        "\u00a0",
        "\r\n",
        "\x1c",
    ]
)
TEXTS = st.lists(ALPHABET, max_size=300).map("".join)
LIMITS = st.integers(min_value=1, max_value=40)
# Each example takes milliseconds; a deadline would only measure how busy the machine is.
quick = settings(deadline=None)


def positions(text: str, parts: list[str]) -> list[int]:
    """Where each part starts in `text`, checking that only whitespace lies between parts."""
    starts, pos = [], 0
    for part in parts:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        assert text.startswith(part, pos), (part, text[pos:])
        starts.append(pos)
        pos += len(part)
    assert text[pos:].strip() == ""
    return starts


@quick
@given(TEXTS, LIMITS)
@example("word " * 10, 5)
@example("x" * 50, 7)
def test_parts_rebuild_the_text_and_respect_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)

    assert all(1 <= len(part) <= limit for part in parts)
    assert all(part == part.strip() for part in parts), "whitespace at a cut is dropped"
    positions(text, parts)  # in order, nothing lost, only whitespace dropped between parts
    assert "".join("".join(parts).split()) == "".join(text.split())


@quick
@given(TEXTS, LIMITS)
def test_a_word_is_cut_only_when_it_alone_is_longer_than_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    starts = positions(text, parts)

    for part, start in zip(parts[:-1], starts, strict=False):
        end = start + len(part)
        if not text[end].isspace():  # a cut inside a word
            assert not any(ch.isspace() for ch in part)
            word_end = end
            while word_end < len(text) and not text[word_end].isspace():
                word_end += 1
            assert word_end - start > limit


@quick
@given(TEXTS, LIMITS)
@example("xe\u0301\u0301\u0301", 2)
def test_a_cut_inside_a_word_keeps_accents_with_their_letter(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    starts = positions(text, parts)

    for previous, part, start in zip(parts, parts[1:], starts[1:], strict=False):
        if not text[start - 1].isspace() and unicodedata.combining(part[0]):
            # Only a letter carrying more accents than the limit allows is parted from some.
            assert all(unicodedata.combining(ch) for ch in previous[1:])


def test_a_short_text_is_one_part() -> None:
    assert split_text("  Chào anh Bình.\n") == ["Chào anh Bình."]
    assert split_text("x" * ZALO_TEXT_LIMIT) == ["x" * ZALO_TEXT_LIMIT]


@pytest.mark.parametrize("blank", ["", "   ", "\n\n\t"])
def test_a_blank_text_gives_nothing_to_send(blank: str) -> None:
    assert split_text(blank) == []


def test_a_2500_character_digest_is_cut_between_paragraphs() -> None:
    paragraphs = [f"Tổ {n}: " + "đã xử lý phản ánh đúng hạn. " * 9 for n in range(10)]
    digest = "\n\n".join(p.strip() for p in paragraphs)
    assert 2400 < len(digest) < 2600

    parts = split_text(digest)

    assert len(parts) == 2
    assert all(len(p) <= ZALO_TEXT_LIMIT for p in parts)
    assert parts[1].startswith("Tổ ")  # the cut fell between two paragraphs
    assert "\n\n".join(parts) == digest


def test_a_paragraph_break_wins_over_later_line_and_word_breaks() -> None:
    text = "aaa bbb\n\nccc\nddd eee fff"
    assert split_text(text, 16) == ["aaa bbb", "ccc\nddd eee fff"]


def test_without_a_paragraph_break_the_last_line_break_is_used() -> None:
    assert split_text("aaa bbb\nccc ddd eee", 14) == ["aaa bbb", "ccc ddd eee"]


def test_without_line_breaks_the_last_space_is_used() -> None:
    assert split_text("một hai ba bốn năm", 10) == ["một hai ba", "bốn năm"]


def test_only_an_over_long_word_is_cut_inside() -> None:
    link = "https://example.org/" + "x" * 30
    parts = split_text(f"Xem {link} nhé", 20)
    assert parts == ["Xem", link[:20], link[20:40], f"{link[40:]} nhé"]


def test_a_decomposed_accent_stays_with_its_letter() -> None:
    word = "e\u0301" * 6  # "é" six times, written as letter + combining acute
    assert split_text(word, 5) == ["e\u0301e\u0301", "e\u0301e\u0301", "e\u0301e\u0301"]


def test_the_limit_must_allow_a_character() -> None:
    with pytest.raises(ValueError, match="at least one character"):
        split_text("abc", 0)
