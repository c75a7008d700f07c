"""A message edited after it was sent (Telegram's ``edited_message``), as
a person expects it: a typo fixed in the description of a report still
being written is taken, and the review shows it; an edit of anything
already filed or passed on changes nothing, and the person is told so and
what to do instead.  Through the real Application and the fake Bot API."""

from __future__ import annotations

from bot.domain.complaints import State
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined, to


async def _up_to_the_description(bot: BotDriver, user_id: int = 501) -> None:
    an = bot.user(user_id, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")


async def test_a_typo_fixed_by_editing_the_description_is_in_the_review_and_the_filed_report(
    bot: BotDriver,
) -> None:
    await _up_to_the_description(bot)
    an = bot.user(501, "An")
    typed = an.text("Rac tran ra ngox 5")
    await bot.send(typed)
    sent = joined(await bot.send(an.edited(typed, "Rác tràn ra ngõ 5")))
    assert says(sent, "conv.edit_taken")
    assert says(sent, "report.ask_photos", limit=5), "the question under way, asked again"
    await bot.send(an.photo())
    sent = joined(await bot.send(an.edited(typed, "Rác tràn ra ngõ 5, cạnh nhà số 12")))
    assert says(sent, "conv.edit_taken")
    assert "Mô tả: Rác tràn ra ngõ 5, cạnh nhà số 12" in sent, "the review shows the correction"
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ 5, cạnh nhà số 12"


async def test_an_edit_of_words_added_at_the_photo_question_corrects_only_those_words(
    bot: BotDriver,
) -> None:
    await _up_to_the_description(bot)
    an = bot.user(501, "An")
    await bot.send(an.text("Rác tràn ra ngõ 5"))
    added = an.text("Tu hom qua")
    await bot.send(added)
    await bot.send(an.edited(added, "Từ hôm qua"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ 5\n\nTừ hôm qua"


async def test_an_edit_left_without_words_keeps_the_description_and_says_so(
    bot: BotDriver,
) -> None:
    await _up_to_the_description(bot)
    an = bot.user(501, "An")
    typed = an.text("Rác tràn ra ngõ 5")
    await bot.send(typed)
    sent = joined(await bot.send(an.edited(typed, "👍")))
    assert says(sent, "conv.edit_empty")
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.description == "Rác tràn ra ngõ 5"


async def test_an_edit_after_the_report_was_sent_changes_nothing_and_says_what_to_do(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await _up_to_the_description(bot)
    typed = an.text("Rác tràn ra ngõ 5")
    await bot.send(typed)
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    # A new draft under way does not take an old report's message either.
    await bot.send(an.command("new"))
    sent = await bot.send(an.edited(typed, "Rác tràn ra ngõ 7"))
    assert says(joined(sent), "fallback.edited_ignored")
    await bot.send(an.command("cancel"))
    sent = await bot.send(an.edited(typed, "Rác tràn ra ngõ 9"))
    assert says(joined(sent), "fallback.edited_sent")
    complaint = await bot.services.complaint(1)
    assert complaint is not None and complaint.description == "Rác tràn ra ngõ 5"


async def test_an_old_cancel_edited_does_not_throw_away_the_draft_under_way(
    bot: BotDriver,
) -> None:
    """Command handlers take edited messages too: an old /cancel edited
    (or any command) must not act again behind the person's back."""
    an = bot.user(501, "An")
    cancel = an.command("cancel")
    await bot.send(cancel)
    await _up_to_the_description(bot)
    sent = await bot.send(an.edited(cancel, "/cancel "))
    assert says(joined(sent), "fallback.edited_ignored")
    sent = await bot.send(an.text("Rác tràn ra ngõ 5"))
    assert says(joined(sent), "report.ask_photos", limit=5), "the draft is still there"


async def test_an_officer_corrects_the_fix_note_before_the_photo_but_not_after_it_went_out(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")
    note = cadre.text("Da thu gom xng")
    await bot.send(note)
    sent = await bot.send(cadre.edited(note, "Đã thu gom xong"))
    assert says(joined(to(sent, cadre)), "conv.edit_taken")
    sent = await bot.choose(cadre, "s")
    assert "Đã thu gom xong" in joined(to(sent, an)), "the resident reads the corrected note"
    sent = await bot.send(cadre.edited(note, "Chưa thu gom"))
    assert says(joined(to(sent, cadre)), "fallback.edited_staff")
    assert to(sent, an) == [], "nothing more reaches the resident"
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.state is State.RESOLVED
    assert complaint.resolution_note == "Đã thu gom xong"


async def test_a_photo_caption_corrected_by_editing_is_the_description_filed(
    bot: BotDriver,
) -> None:
    """The quickest report is a photo with a caption: its caption is the
    description, so editing the caption corrects it too."""
    an = bot.user(501, "An")
    photo = an.photo(caption="Rac tran ra ngo 5 tu hom qua")
    await bot.send(photo)
    sent = joined(await bot.send(an.edited(photo, "Rác tràn ra ngõ 5 từ hôm qua")))
    assert says(sent, "conv.edit_taken")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ 5 từ hôm qua"
