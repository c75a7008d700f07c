"""English counts agree with their nouns ("1 report", "2 reports"): the
catalogue's ``{n:one|other}`` form (bot/i18n.py), seen by a person on
Telegram, and checked over the whole English catalogue."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot import i18n
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from tests.catalogue import says
from tests.factories import file_sanitation_report, joined, load_chart, started_bot

# Placeholders that name something (a code, a person, a file), never a count:
# "{code} has", "{path} holds" are verbs after a name, not nouns after a number.
NAMES = frozenset(
    {
        "code", "name", "path", "db", "tool", "original", "due", "kind", "field", "table",
        "staff", "new", "area", "week", "year", "number", "time", "telegram_id", "zalo_id",
        "day",
    }
)  # fmt: skip
# A bare placeholder, up to three words, then a noun in the plural.
COUNTED_NOUN = re.compile(r"\{(\w+)\}((?: [a-z×-]+){0,3}?) ([a-z]+s|people)\b")


def test_one_is_singular_and_other_numbers_plural_in_english_only() -> None:
    assert i18n.t("en", "cli.posters", count=1, out="x") == "1 poster written to x."
    assert i18n.t("en", "cli.posters", count=2, out="x") == "2 posters written to x."
    assert i18n.t("en", "cli.posters", count=0, out="x") == "0 posters written to x."
    # A number already written for the reader counts as itself.
    assert i18n.t("en", "report.ask_description", limit="2,000").count("2,000 characters") == 1
    assert i18n.t("en", "report.ask_description", limit=1).count("1 character)") == 1
    assert i18n.t("en", "cli.posters", count=12000, out="x") == "12,000 posters written to x."
    one, two = (i18n.t("vi", "cli.posters", count=n, out="x") for n in (1, 2))
    assert one.replace("1", "2", 1) == two, "Vietnamese nouns do not change with a number"


def test_every_counted_english_entry_has_a_singular_and_a_plural() -> None:
    """Wherever an English number is followed by a noun, the entry gives
    both forms, and every ``one|other`` form has both halves."""
    bare: list[str] = []
    for key, value in i18n.catalogue("en").items():
        for match in COUNTED_NOUN.finditer(value):
            if match[1] not in NAMES:
                bare.append(f"{key}: {match[0]}")
        for _, field, spec, _ in string.Formatter().parse(value):
            if field is not None and spec and i18n.PLURAL in spec:
                one, other = spec.split(i18n.PLURAL)  # exactly two forms
                assert one.strip() and other.strip(), key
    assert bare == []


def test_vietnamese_counts_need_no_plural_forms() -> None:
    for key, value in i18n.catalogue("vi").items():
        specs = [s for _, f, s, _ in string.Formatter().parse(value) if f is not None and s]
        assert specs == [], key


async def test_an_english_resident_allowed_one_report_an_hour_reads_1_report_not_1_reports(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db = tmp_path / "bot.db"
    await load_chart(db, chart)
    async with started_bot(db, clock, max_reports_per_hour=1) as bot:
        an = bot.user(501, "An", language_code="en")
        await bot.send(an.command("lang", "en"))
        await file_sanitation_report(bot, an)
        sent = joined(await bot.send(an.command("new")))
        assert says(sent, "report.too_many_early", "en", limit=1)
        assert "1 report in the past hour" in sent
        assert "1 reports" not in sent
