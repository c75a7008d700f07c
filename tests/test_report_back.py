"""↩ Back where a person finds they chose wrong: a resident from the
description to the place, and from the place (its wards, or a single
ward's groups) to the problem — what was written and sent kept; an officer
from a transfer's or a rejection's later steps to the first.  Through the
real Application."""

from __future__ import annotations

from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined


async def test_a_resident_who_chose_the_wrong_group_goes_back_from_the_description(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    sent = joined(await bot.choose(an, "^"))
    assert says(sent, "report.ask_place", ward="Phường Hồng Hải"), "the same ward's groups"
    await bot.choose(an, "HH-TDP04")
    await bot.send(an.text("Rác tràn ra ngõ"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.area == "HH-TDP04"


async def test_back_from_the_wards_asks_the_problem_again(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    sent = joined(await bot.choose(an, "RKTG"))
    assert says(sent, "report.ask_ward")
    sent = joined(await bot.choose(an, "^"))
    assert says(sent, "report.ask_category", family="Vệ sinh môi trường")
    await bot.choose(an, "CRNU")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    await bot.send(an.text("Cống tắc, nước tràn lên đường"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.category == "CRNU"


async def test_back_keeps_a_description_written_first(bot: BotDriver) -> None:
    """A report opened with the resident's own words: back from the place
    offers the problems those words suggest again, and the words stay."""
    an = bot.user(501, "An")
    await bot.send(an.text("Có người đổ rác ra vỉa hè đầu ngõ 5 suốt mấy hôm nay"))
    await bot.choose(an, "RTPT")
    sent = joined(await bot.choose(an, "^"))
    assert says(sent, "report.ask_suggested") or says(sent, "report.ask_suggested_unsure")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    sent = joined(await bot.choose(an, "HH-TDP03"))
    assert not says(sent, "report.ask_description", limit="2.000"), "the words are kept"


async def test_an_officer_goes_back_from_a_transfer_or_rejection_step_without_starting_over(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "t:1")
    await bot.choose(cadre, "r")  # meant "another group"
    sent = joined(await bot.choose(cadre, "^"))
    assert says(sent, "transfer.ask_how", code="PA-000001")
    await bot.choose(cadre, "g")
    await bot.choose(cadre, "w")
    await bot.choose(cadre, "BACHDANG")
    sent = joined(await bot.choose(cadre, "^"))
    assert says(sent, "transfer.ask_ward"), "from another ward's groups, back to the wards"
    await bot.choose(cadre, "^")
    await bot.choose(cadre, "HH-TDP04")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.area == "HH-TDP04"

    second = bot.user(502, "Bình")
    await file_sanitation_report(bot, second, group="HH-TDP03")
    await bot.press(cadre, "j:2")
    await bot.choose(cadre, "duplicate")  # meant "not the ward's remit"
    sent = joined(await bot.choose(cadre, "^"))
    assert says(sent, "reject.ask_kind", code="PA-000002")


async def test_a_sentence_typed_at_the_review_is_added_to_the_description_shown_again(
    bot: BotDriver,
) -> None:
    """What a resident forgot, typed at the review, is not dropped with a
    hint: it joins the description (as at the photo question), and the
    review shows it; a stray word still gets the hint."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    await bot.send(an.text("Rác tràn ra ngõ"))
    await bot.choose(an, "d")
    sent = joined(await bot.send(an.text("Bốc mùi hôi từ hôm qua đến giờ")))
    assert says(sent, "report.description_added")
    assert "Rác tràn ra ngõ\n\nBốc mùi hôi từ hôm qua đến giờ" in sent, "the review again"
    sent = joined(await bot.send(an.text("hmm")))
    assert says(sent, "report.review_hint")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ\n\nBốc mùi hôi từ hôm qua đến giờ"


async def test_a_single_letter_typed_at_the_review_does_not_send_the_report(
    bot: BotDriver,
) -> None:
    """ "ừ", "g": one letter is a piece of nearly every button's words; it
    picks nothing (the review's hint), and the report is not sent."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    await bot.send(an.text("Rác tràn ra ngõ"))
    await bot.choose(an, "d")
    for letter in ("ừ", "g"):
        sent = joined(await bot.send(an.text(letter)))
        assert says(sent, "report.review_hint"), letter
    assert await bot.services.complaint(1) is None
    sent = joined(await bot.send(an.text("gửi")))
    assert says(sent, "report.filed", code="PA-000001") or await bot.services.complaint(1)
