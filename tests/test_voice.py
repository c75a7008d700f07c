"""The catalogues speak like the ward office (VOICE.md), and stay so: every
Vietnamese string addresses residents as "anh/chị", never "bạn"; every key
has words in both languages; no message opens like a log line with a bare
code and a colon; the calques, the statistics jargon and the abbreviations
a native reader flagged stay out; the tier above the ward is never written
as a fixed "thành phố"; place names read in lower case inside a sentence."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import timedelta

import pytest

from bot import i18n
from bot.domain.flows.staff import EXTEND_CHOICES
from bot.domain.messages import Text
from bot.domain.orgchart import Area, AreaKind, OrgChart
from bot.domain.places import upper_tier
from bot.i18n import format_percent, t
from bot.placenames import in_sentence
from bot.report.text import overdue_for

VI = i18n.catalogue("vi")
EN = i18n.catalogue("en")

# "bạn" as a word: not inside another word ("bạnx"), whatever the case.
BAN = re.compile(r"(?<!\w)bạn(?!\w)", re.IGNORECASE)
# A line that opens with a bare code and a colon: "{code}: …", "PA-000001: …".
CODE_COLON = re.compile(r"^\s*(\{code\}|PA-\d+)\s*:", re.MULTILINE)
# Where the catalogue may write "thành phố": naming a tier whose name says so,
# and explaining the org chart's own words to the IT officer.
PLACEHOLDER = re.compile(r"\{[^}]*\}")
TIER_WORDS_ALLOWED = {"tier.city", "org.ward_not_under_city", "orgcsv.unknown_role"}


def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def test_the_word_check_finds_ban_and_only_as_a_word() -> None:
    assert BAN.search("Bạn vui lòng chọn")
    assert BAN.search("cảm ơn bạn!")
    assert not BAN.search("bản đồ, bàn ghế, ban quản lý")
    assert not BAN.search("anh/chị")


@pytest.mark.parametrize("key", sorted(VI))
def test_no_vietnamese_string_says_ban(key: str) -> None:
    """Residents are "anh/chị" and staff "đồng chí" or no address at all,
    so no Vietnamese string, resident-facing or not, may say "bạn"."""
    assert not BAN.search(nfc(VI[key])), VI[key]


@pytest.mark.parametrize("key", sorted(set(VI) | set(EN)))
def test_every_key_has_words_in_both_languages(key: str) -> None:
    assert VI.get(key, "").strip(), f"{key} has no Vietnamese"
    assert EN.get(key, "").strip(), f"{key} has no English"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_message_opens_with_a_bare_code_and_a_colon(lang: str) -> None:
    found = {k: v for k, v in i18n.catalogue(lang).items() if CODE_COLON.search(v)}
    assert found == {}
    assert CODE_COLON.search("{code}: bạn mô tả"), "the check finds the old shape"
    assert CODE_COLON.search("Dòng 1\n  PA-000001: chuyển"), "on any line"


@pytest.mark.parametrize("word", ["đã đóng", "việc đang mở", "trung vị", "Đơn vị xử lý", " %"])
def test_no_calque_or_jargon(word: str) -> None:
    """Whatever the case: "Đã đóng" opening a sentence is the same calque."""
    said = sorted(
        k for k, v in VI.items() if word.lower() in v.lower() and not k.startswith("argparse.")
    )
    assert said == []


# A list of three or more with a comma before its "hoặc" / "và" ("A, B, hoặc C").
LIST_COMMA = re.compile(r",[^,.;:()\[\]]*, (hoặc|và) ")


def test_no_comma_before_the_last_item_of_a_list() -> None:
    assert LIST_COMMA.search("chọn bên dưới, gửi vị trí, hoặc gõ tên")
    assert not LIST_COMMA.search("gửi ảnh, hoặc bấm “Xong”"), "two clauses may have one"
    assert not LIST_COMMA.search("ví dụ [A, B], hoặc"), "nor an example in brackets"
    assert sorted(k for k, v in VI.items() if LIST_COMMA.search(v)) == []


def test_weeks_are_never_t_and_a_number() -> None:
    """ "T2…T7" are weekdays in Vietnamese: a week is "tuần 48" or a date."""
    assert sorted(k for k, v in VI.items() if re.search(r"(?<!\w)T\d", v)) == []


def test_the_tier_above_the_ward_is_never_a_fixed_city() -> None:
    said = sorted(
        k for k, v in VI.items() if "thành phố" in v.lower() and k not in TIER_WORDS_ALLOWED
    )
    assert said == []
    english = sorted(k for k, v in EN.items() if re.search(r"\bcity leaders?\b", v, re.I))
    assert english == []


@pytest.mark.parametrize(
    ("word", "lang"),
    [("cadre", "en"), ("Needs urging", "en"), ("flag", "en"), ("Kind:", "en")],
)
def test_english_says_officer_problem_and_follow_up(word: str, lang: str) -> None:
    """The role's code "cadre" may appear only where the org chart's own
    values are explained (the file format, for the IT officer)."""
    said = sorted(
        k
        for k, v in i18n.catalogue(lang).items()
        if re.search(rf"(?<!\w){re.escape(word)}", PLACEHOLDER.sub("", v))
        and not k.startswith(("org.", "orgcsv."))
    )
    assert said == []


# ---- places in a sentence, and the tier above -------------------------------------------


def test_place_names_are_lower_case_inside_a_sentence() -> None:
    assert in_sentence("Tổ dân phố 3, Phường Hồng Hải") == "tổ dân phố 3, phường Hồng Hải"
    assert in_sentence("Thành phố Hạ Long") == "thành phố Hạ Long"
    assert in_sentence("Tổ dân phố 3 (Phường Hồng Hải)") == "tổ dân phố 3 (phường Hồng Hải)"
    assert in_sentence("Khu 1") == "khu 1"
    assert in_sentence("Cán bộ phụ trách địa bàn") == "cán bộ phụ trách địa bàn"
    assert in_sentence("Nguyễn Văn Hùng") == "Nguyễn Văn Hùng", "a person's name is untouched"
    assert in_sentence("Khuê Trung") == "Khuê Trung", "a whole word only"
    said = t("vi", "handler.cadre", area="Tổ dân phố 3", ward="Phường Hồng Hải")
    assert said == "Cán bộ phụ trách địa bàn tổ dân phố 3, phường Hồng Hải"
    assert t("vi", "notify.acknowledged", code="PA-000001", handler=said, due="…").startswith(
        "Phản ánh PA-000001 của anh/chị đã được cán bộ phụ trách địa bàn tổ dân phố 3,"
    ), "a notice is a sentence; the handler inside it is lower case"


def _chart(*areas: Area) -> OrgChart:
    return OrgChart(areas={a.code: a for a in areas}, categories={}, staff={})


def _said(tier: Text, lang: str) -> str:
    return t(lang, tier.key, **tier.params)


@pytest.mark.parametrize(
    ("top", "vi", "en"),
    [
        ("Tỉnh Quảng Ninh", "tỉnh Quảng Ninh", "Quảng Ninh Province"),
        ("Thành phố Hạ Long", "thành phố Hạ Long", "Hạ Long City"),
        ("TP. Hải Phòng", "thành phố Hải Phòng", "Hải Phòng City"),
        ("Quảng Ninh", "Quảng Ninh", "Quảng Ninh"),
    ],
)
def test_the_tier_above_is_named_from_the_org_charts_top_area(top: str, vi: str, en: str) -> None:
    chart = _chart(
        Area("TOP", top, AreaKind.CITY, None),
        Area("W", "Phường A", AreaKind.WARD, "TOP"),
    )
    tier = upper_tier(chart)
    assert (_said(tier, "vi"), _said(tier, "en")) == (vi, en)
    assert t("vi", "handler.city_leaders", upper=_said(tier, "vi")) == f"Lãnh đạo {vi}"


def test_without_a_single_top_area_the_tier_has_general_words() -> None:
    single_ward = _chart(Area("W", "Phường A", AreaKind.WARD, None))
    assert upper_tier(single_ward).key == "tier.unnamed"
    two_cities = _chart(
        Area("A", "Thành phố A", AreaKind.CITY, None), Area("B", "Thành phố B", AreaKind.CITY, None)
    )
    assert upper_tier(two_cities).key == "tier.unnamed"


def test_percentages_are_written_as_the_ward_office_writes_them() -> None:
    assert format_percent(1.0, "vi") == "100%"
    assert format_percent(0.635, "vi") == "63,5%"
    assert format_percent(0.635, "en") == "63.5%"


def test_the_catalogue_placeholders_use_only_known_conversions() -> None:
    """``!p`` is the only conversion of our own, beside Python's ``!r`` (a
    configuration value quoted as the operator wrote it); a typo ("!l")
    would raise only when the message is sent."""
    for lang in i18n.LANGUAGES:
        for key, value in i18n.catalogue(lang).items():
            conversions = {c for _, f, _, c in string.Formatter().parse(value) if f is not None}
            assert conversions <= {None, "p", "r"}, (lang, key)


def test_an_english_lateness_of_one_day_is_not_1_days() -> None:
    """ "overdue by 1 days 0 h" on a reminder and the morning list: English
    durations are written short, as hours and minutes are."""
    one_day = overdue_for(timedelta(days=1, hours=3), "en")
    assert "1 days" not in one_day
    assert one_day == "1 d 3 h"
    assert overdue_for(timedelta(days=1, hours=3), "vi") == "1 ngày 3 giờ"


def test_the_english_extension_buttons_never_read_1_days() -> None:
    """A leader's /extend buttons, under "Extend … by how many working
    days?": "+1 days" read wrong; each button is the number alone."""
    labels = [t("en", "extend.days", days=n) for n in EXTEND_CHOICES]
    assert labels == [f"+{n}" for n in EXTEND_CHOICES]
    assert "days" in t("en", "extend.ask_days", code="PA-000001")


# What leaders and officers read: the briefing, the digest, task lists and
# reminders, the resident notices and the dashboard.
STAFF_SECTIONS = ("briefing", "digest", "task", "reminder", "summary", "notify", "web")
ONE_PLURAL = re.compile(
    r"\b1 (tasks|complaints|people|wards|reports|officers|residents|rows|times|days|hours)\b"
)


@pytest.mark.parametrize(
    "key", sorted(k for k in i18n.catalogue("en") if k.split(".", 1)[0] in STAFF_SECTIONS)
)
def test_an_english_count_of_one_never_reads_as_a_plural(key: str) -> None:
    """ "Morning briefing: 1 tasks to handle", "Needs follow-up (1 people
    with overdue work)", "1 complaints overdue": with one, the English
    read wrong.  Each count stands after its label instead."""
    template = i18n.catalogue("en")[key]
    params = {f: 1 for _, f, _, _ in string.Formatter().parse(template) if f}
    assert not ONE_PLURAL.search(i18n.t("en", key, **params)), key
