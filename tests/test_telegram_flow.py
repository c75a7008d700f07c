"""The whole loop through the real telegram.ext.Application, the real
handlers and a real database (an SQLite file, and a PostgreSQL database:
both engines), over the project's in-memory fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.complaints import State
from bot.domain.geo import centroid
from bot.domain.orgchart import OrgChart
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import (
    CONSTRUCTION_K1,
    CONSTRUCTION_K2,
    ENVIRONMENT_CADRE,
    OTHER_WARD_LEADER,
    WARD_CHAIR,
    WARD_SECRETARY,
    button_data,
    file_sanitation_report,
    joined,
    started_bot,
    to,
)

pytestmark = pytest.mark.both_engines


async def test_start_greets_and_offers_the_report_button(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("start"))
    assert says(joined(sent), "start.greeting", name="An")
    assert button_data(sent[-1]) == ["new"]
    sent = await bot.press(an, "new")
    assert says(joined(sent), "report.ask_family")


async def test_commands_menu_is_set_in_both_languages(bot: BotDriver) -> None:
    calls = bot.api.calls_to("setMyCommands")
    assert {c.params.get("language_code") for c in calls} == {None, "en"}


async def test_deep_link_preselects_the_group(bot: BotDriver) -> None:
    binh = bot.user(502, "Bình")
    sent = await bot.send(binh.command("start", "a-HH-TDP06"))
    assert says(joined(sent), "report.area_preselected", area="Tổ dân phố 6")
    await bot.choose(binh, "urban_order")
    sent = await bot.choose(binh, "LCVH")
    assert "mô tả" in joined(sent), "the place question is skipped"
    await bot.send(binh.text("Bàn ghế kín vỉa hè"))
    await bot.choose(binh, "d")
    sent = await bot.choose(binh, "ok")
    assert "PA-000001" in joined(to(sent, binh))
    cadre_card = [m for m in sent if m.chat_id == 7026]
    assert cadre_card, "the group's own tổ trưởng gets sidewalk complaints"
    assert says(joined(cadre_card), "task.card", area="Tổ dân phố 6, Phường Hồng Hải")


async def test_unknown_deep_links_get_a_clear_answer_and_the_normal_start(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("start", "a-NO-SUCH-GROUP"))
    assert says(joined(sent), "start.unknown_area", code="NO-SUCH-GROUP")
    assert says(joined(sent), "start.greeting", name="An")
    sent = await bot.send(an.command("start", "zzz"))
    assert "không hợp lệ" in joined(sent)


async def test_report_with_location_album_and_photo_as_file(
    bot: BotDriver, chart: OrgChart
) -> None:
    an = bot.user(501, "An")
    group = chart.areas["HH-TDP03"]
    assert group.polygon is not None
    spot = centroid(group.polygon)
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    sent = await bot.choose(an, "RKTG")
    assert bot.api.reply_keyboard(sent[-1]) == ["📍 Gửi vị trí"]
    sent = await bot.send(an.location(spot.lat, spot.lon, live_period=600))
    assert says(joined(sent), "report.location_found", area="Tổ dân phố 3, Phường Hồng Hải")
    assert sent[0].reply_markup == {"remove_keyboard": True}
    # A live location keeps editing itself: the edits are ignored.
    assert await bot.send(an.edited_location(an.updates[-1], spot.lat, spot.lon)) == []
    await bot.send(an.text("Rác tràn ra đường"))
    replies = [await bot.send(an.photo(media_group_id="album-1")) for _ in range(3)]
    assert [bool(r) for r in replies] == [True, False, False], "an album is answered once"
    assert says(joined(replies[0]), "report.album_received")
    done, _ = bot.api.buttons(replies[0][-1])[0]
    assert says(done, "report.photos_done"), "after a photo, the button says done"
    sent = await bot.send(an.photo_as_document())
    assert says(joined(sent), "report.photo_received", count=4, limit=5)
    await bot.choose(an, "d")
    sent = await bot.choose(an, "ok")
    cadre = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE]
    kinds = [m.kind for m in cadre]
    assert kinds == ["media_group_photo"] * 4 + ["venue", "text"]
    assert button_data(cadre[-1]) == ["a:1", "r:1", "t:1", "j:1", "h:1"]
    # On a phone, the album and the pin each name their task.
    assert cadre[0].text == "📷 Ảnh hiện trường — PA-000001"
    assert cadre[4].text == "📍 PA-000001"
    assert cadre[4].location == (spot.lat, spot.lon)
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.location is not None
    assert complaint.location.lat == spot.lat
    assert len(complaint.photos) == 4


async def test_a_location_sent_before_the_place_question_is_kept_and_not_asked_for_again(
    bot: BotDriver, chart: OrgChart
) -> None:
    """Many people send the pin first ("here it is"): out of the blue it
    starts a report, at the first questions it is kept, and the place
    question is not asked again; a pin far away is said not to be kept."""
    an = bot.user(501, "An")
    group = chart.areas["HH-TDP03"]
    assert group.polygon is not None
    spot = centroid(group.polygon)
    sent = await bot.send(an.location(spot.lat, spot.lon))
    assert says(joined(sent), "report.location_found", area="Tổ dân phố 3, Phường Hồng Hải")
    assert says(joined(sent), "report.ask_family")
    await bot.choose(an, "sanitation")
    sent = await bot.choose(an, "RKTG")
    assert not says(joined(sent), "report.ask_ward"), "the place is known already"
    assert says(joined(sent), "report.ask_description", limit="2.000")
    await bot.send(an.text("Rác tràn ra đường"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.location is not None and complaint.location.lat == spot.lat
    assert complaint.area == "HH-TDP03"

    await bot.send(an.command("new"))
    sent = await bot.send(an.location(21.03, 105.85))  # Hà Nội, far from Hạ Long
    assert says(joined(sent), "report.location_outside_later")
    assert says(joined(sent), "report.ask_family"), "the question stays"


async def test_a_venue_is_a_location_and_a_landmark(bot: BotDriver, chart: OrgChart) -> None:
    an = bot.user(501, "An")
    centre = chart.areas["HH-TDP11"].centre
    assert centre is not None
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    sent = await bot.send(an.venue(centre.lat, centre.lon, "Chợ Hạ Long 1", "Đường Lê Thánh Tông"))
    assert says(joined(sent), "report.location_found", area="Tổ dân phố 11, Phường Hồng Hải")
    await bot.send(an.text("Rác sau chợ"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.landmark == "Chợ Hạ Long 1, Đường Lê Thánh Tông"


async def test_bad_input_at_each_step_gets_an_answer_and_loses_nothing(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    sent = await bot.send(an.sticker())
    assert says(joined(sent), "media.sticker")
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    sent = await bot.send(an.location(21.03, 105.85))  # Hà Nội, far from Hạ Long
    assert says(joined(sent), "report.location_outside")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP02")
    sent = await bot.send(an.text("   "))
    assert says(joined(sent), "conv.empty_text")
    sent = await bot.send(an.voice())
    assert says(joined(sent), "media.voice")
    # A 10,000-character paste arrives as three messages within a second.
    an.date_override = 1_790_000_000
    parts = [an.text("a" * 4096), an.text("b" * 4096), an.text("c" * 1808)]
    replies = [joined(await bot.send(part)) for part in parts]
    assert says(replies[0], "conv.too_long", limit="2.000")
    assert all(says(r, "conv.split_part_ignored") for r in replies[1:])
    an.date_override = 1_790_000_100
    await bot.send(an.text("Rác tràn"))
    sent = await bot.send(an.video_note())
    assert says(joined(sent), "media.video_note")
    sent = await bot.send(an.document())
    assert says(joined(sent), "media.document")
    await bot.choose(an, "d")
    sent = await bot.choose(an, "ok")
    assert "PA-000001" in joined(sent)
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn"


async def test_status_mine_and_codes_typed_loosely(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    other = bot.user(502, "Bình")
    await file_sanitation_report(bot, an)
    sent = await bot.send(an.command("status", "pa000001"))
    assert "PA-000001" in joined(sent)
    assert says(joined(sent), "state.submitted")
    sent = await bot.send(an.text("PA-000001"))
    assert "Rác tràn ngõ" in joined(sent), "a bare code shows the status"
    sent = await bot.send(an.command("mine"))
    assert "PA-000001" in joined(sent)
    own_answer = joined(await bot.send(other.command("status", "PA-000001")))
    unknown_answer = joined(await bot.send(other.command("status", "PA-999999")))
    assert own_answer.replace("PA-000001", "X") == unknown_answer.replace("PA-999999", "X")
    sent = await bot.send(other.command("status"))
    assert "/status PA-000123" in joined(sent)


async def test_a_code_asked_about_politely_or_with_a_question_mark_shows_the_report(
    bot: BotDriver,
) -> None:
    """ "PA-000001 ạ", "PA-000001?", "Mã PA-000001": how people write a
    code in a chat; each shows the report, as the bare code does."""
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    for typed in ("PA-000001 ạ", "PA-000001?", "Mã PA-000001", "pa000001 nhé.", "PA-000001."):
        sent = await bot.send(an.text(typed))
        assert "Rác tràn ngõ" in joined(sent), typed
    sent = await bot.send(an.command("status", "PA-000001", "ạ"))
    assert "Rác tràn ngõ" in joined(sent)
    sent = await bot.send(an.text("PA-000001 và PA-000002"))
    assert "Rác tràn ngõ" not in joined(sent), "two codes are not one"


async def test_the_loop_acknowledge_resolve_confirm_rate(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)

    sent = await bot.press(cadre, "a:1")
    assert "Đã tiếp nhận PA-000001" in joined(to(sent, cadre))
    assert says(joined(to(sent, an)), "notify.acknowledged", code="PA-000001")
    card = next(m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if "Việc mới" in (m.text or ""))
    assert button_data(card) == ["r:1", "t:1", "j:1", "h:1"], "acknowledge is gone"

    await bot.press(cadre, "r:1")
    sent = await bot.send(cadre.text("Đã thu gom xong"))
    assert "ảnh" in joined(sent)
    sent = await bot.send(cadre.photo())
    resident_side = to(sent, an)
    assert [m.kind for m in resident_side] == ["photo", "text"]
    assert "Đã thu gom xong" in joined(resident_side)
    assert button_data(resident_side[-1]) == ["f:1", "n:1"]
    assert button_data(card) == [], "the resolved task has no buttons left"

    sent = await bot.press(an, "f:1")
    assert says(joined(to(sent, cadre)), "notify.confirmed", code="PA-000001")
    sent = await bot.choose(an, "4")
    assert "4/5" in joined(to(sent, cadre))
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.state, complaint.rating) == (State.CONFIRMED, 4)


async def test_a_resident_back_after_blocking_the_bot_is_asked_again_to_confirm_the_fix(
    bot: BotDriver,
) -> None:
    """The fix was reported while the resident had blocked the bot: the
    request to confirm was given up (403).  Unblocking, they get it again,
    with its buttons, instead of the report closing unconfirmed in silence."""
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.send(an.blocks_bot())
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom xong"))
    sent = await bot.choose(cadre, "s")
    assert not to(sent, an), "blocked: nothing reaches them"
    sent = await bot.send(an.unblocks_bot())
    asked = to(sent, an)
    assert says(joined(asked), "notify.resolved", code="PA-000001")
    assert button_data(asked[-1]) == ["f:1", "n:1"]
    sent = await bot.press(an, "f:1")
    assert says(joined(to(sent, cadre)), "notify.confirmed", code="PA-000001")


async def test_not_fixed_reopens_to_the_same_owner(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    sent = await bot.send(an.text("Vẫn còn rác"))
    assert says(joined(to(sent, an)), "resident.reopened", code="PA-000001")
    reopened = to(sent, cadre)
    assert says(joined(reopened), "task.reopened_header", comment="Vẫn còn rác")
    assert "Vẫn còn rác" in joined(reopened)
    assert button_data(reopened[-1]) == ["a:1", "r:1", "t:1", "j:1", "h:1"]


async def test_transfer_reject_and_withdraw_tell_the_resident(bot: BotDriver) -> None:
    cuong = bot.user(503, "Cường")
    tuan = bot.user(CONSTRUCTION_K1, "Tuấn")
    await bot.send(cuong.command("new"))
    await bot.choose(cuong, "urban_order")
    await bot.choose(cuong, "XDKP")
    await bot.choose(cuong, "HONGHAI")
    await bot.choose(cuong, "HH-TDP02")
    await bot.send(cuong.text("Nhà xây thêm tầng"))
    await bot.choose(cuong, "d")
    sent = await bot.choose(cuong, "ok")
    assert to(sent, tuan)

    await bot.press(tuan, "t:1")
    await bot.choose(tuan, "g")
    sent = await bot.choose(tuan, "HH-TDP07")
    assert "đã được chuyển tới" in joined(to(sent, cuong))
    assert [m for m in sent if m.chat_id == CONSTRUCTION_K2], "the new owner gets the task"
    old_card = [m for m in bot.api.messages_to(CONSTRUCTION_K1) if "PA-000001" in (m.text or "")]
    assert button_data(old_card[0]) == [], "the old owner's buttons are gone"

    nhung = bot.user(CONSTRUCTION_K2, "Nhung")
    await bot.press(nhung, "j:1")
    await bot.choose(nhung, "not_remit")
    sent = await bot.send(nhung.text("Công trình do thành phố cấp phép"))
    assert "không thuộc thẩm quyền" in joined(to(sent, cuong))
    assert "Công trình do thành phố cấp phép" in joined(to(sent, cuong))

    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    sent = await bot.send(an.command("withdraw", "PA-000002"))
    assert says(joined(to(sent, an)), "withdraw.ask_confirm", code="PA-000002")
    sent = await bot.choose(an, "w2")
    assert says(joined(to(sent, an)), "resident.withdrawn", code="PA-000002")
    assert says(
        joined([m for m in sent if m.chat_id == ENVIRONMENT_CADRE]),
        "notify.withdrawn",
        code="PA-000002",
    )


async def test_forged_and_stale_presses_change_nothing(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    wrong_cadre = bot.user(CONSTRUCTION_K1, "Tuấn")
    other_leader = bot.user(OTHER_WARD_LEADER, "Khánh")
    await file_sanitation_report(bot, an)
    card = bot.api.messages_to(ENVIRONMENT_CADRE)[-1]

    for user, data in [
        (an, "a:1"),  # the resident forges the cadre's button
        (wrong_cadre, "a:1"),  # a cadre of another area
        (other_leader, "r:1"),  # the leader of another ward
        (an, "f:1"),  # "fixed" before anything was resolved
        (an, "zz:1"),  # garbage
        (an, "a:99999"),  # no such complaint
        (an, "q:1:HH-TDP01"),  # no conversation at all
        (cadre, "a:1" + "0" * 70),  # longer than Telegram allows
    ]:
        before = len(bot.api.callback_answers)
        await bot.send(user.press_raw(data, card.message_id))
        answers = list(bot.api.callback_answers.values())[before:]
        assert len(answers) == 1, data
        assert answers[0].get("show_alert") is True, data
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.state, complaint.version) == (State.SUBMITTED, 0)

    await bot.press(cadre, "a:1")
    await bot.send(cadre.press_raw("a:1", card.message_id))  # a stale second press
    last_answer = list(bot.api.callback_answers.values())[-1]
    assert says(str(last_answer.get("text")), "refusal.wrong_state")


async def test_a_stale_prompt_button_is_refused_and_the_question_repeated(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    first, data = bot.find_button(501, r"^q:\d+:sanitation$")
    await bot.choose(an, "sanitation")
    sent = await bot.send(an.press_raw(data, first.message_id))
    assert says(joined(sent), "conv.stale_button")
    assert says(joined(sent), "report.ask_category")


async def test_a_draft_and_a_cadre_note_survive_a_restart(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart, bot: BotDriver
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(bot, an)
    await bot.press(cadre, "r:1")  # the cadre is asked for a note...
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")  # ...and the resident is half-way through a draft
    async with started_bot(where, clock, bot.api) as again:
        again.new_messages()
        sent = await again.send(cadre.text("Đã thu gom sau khởi động lại"))
        assert "ảnh" in joined(sent), "the note was taken; the photo is asked"
        sent = await again.choose(an, "RKTG")
        assert says(joined(sent), "report.ask_ward")


async def test_a_failed_send_stays_pending_and_is_retried_once(
    bot: BotDriver, clock: ManualClock
) -> None:
    an = bot.user(501, "An")
    bot.api.fail_next("sendMessage", error_code=502, chat_id=ENVIRONMENT_CADRE)
    sent = await file_sanitation_report(bot, an)
    assert "PA-000001" in joined(to(sent, an)), "the resident is answered anyway"
    pending, _ = await bot.services.store.outbox_counts()
    assert pending == 1
    assert await bot.flush() == [], "not before its retry time"
    clock.advance(timedelta(minutes=5))
    sent = await bot.flush()
    assert "PA-000001" in joined([m for m in sent if m.chat_id == ENVIRONMENT_CADRE])
    assert await bot.services.store.outbox_counts() == (0, 2)
    clock.advance(timedelta(days=1))
    assert await bot.flush() == [], "a sent row is never sent again"


async def test_conduct_complaints_go_to_leaders(bot: BotDriver) -> None:
    cuong = bot.user(503, "Cường")
    for leadership, owner in (("n", WARD_SECRETARY), ("y", 7091)):
        await bot.send(cuong.command("new"))
        await bot.choose(cuong, "official_conduct")
        await bot.choose(cuong, "NNCB")
        await bot.choose(cuong, leadership)
        await bot.choose(cuong, "HONGHAI")
        await bot.choose(cuong, "HH-TDP05")
        await bot.send(cuong.text("Cán bộ đòi tiền"))
        await bot.choose(cuong, "d")
        sent = await bot.choose(cuong, "ok")
        assert [m for m in sent if m.chat_id == owner], owner
        assert not [m for m in sent if m.chat_id == 7014], "never the ward police cadre"


async def test_tasks_lists_and_language_switch(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    chair = bot.user(WARD_CHAIR, "Hùng")
    await file_sanitation_report(bot, an)
    sent = await bot.send(cadre.command("tasks"))
    assert "PA-000001" in joined(sent)
    sent = await bot.send(chair.command("tasks"))
    assert "PA-000001" in joined(sent), "the ward leader sees the ward's tasks"
    sent = await bot.send(an.command("tasks"))
    assert says(joined(sent), "task.not_staff")
    sent = await bot.send(an.command("lang", "en"))
    assert "Switched to English" in joined(sent)
    sent = await bot.send(an.command("mine"))
    assert says(joined(sent), "mine.header", "en", count=1)
    sent = await bot.send(an.command("lang", "xx"))
    assert "not supported" in joined(sent)


async def test_unknown_commands_and_plain_chatter_get_help(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("frobnicate"))
    assert "/new" in joined(sent)
    sent = await bot.send(an.text("xin chào"))
    assert "/new" in joined(sent)
    sent = await bot.send(an.command("cancel"))
    assert says(joined(sent), "cancel.none")


async def test_a_photo_out_of_the_blue_starts_a_report_and_is_kept(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.photo())
    assert says(joined(sent), "report.ask_family")
    assert says(joined(sent), "report.photo_received", count=1, limit=5)


async def test_a_photo_without_words_at_the_description_asks_for_the_words(
    bot: BotDriver,
) -> None:
    """A resident asked to describe the problem sends a photo alone: it is
    kept, and they are asked for the words at once (a "xong" typed next, as
    if the photo were the whole report, would otherwise be the description)."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    sent = await bot.choose(an, "HH-TDP03")
    assert says(joined(sent), "report.ask_description")
    sent = await bot.send(an.photo())
    assert says(joined(sent), "report.photo_received", count=1, limit=5)
    assert says(joined(sent), "report.ask_description_again")
    sent = await bot.send(an.text("Rác tràn ra ngõ"))
    assert says(joined(sent), "report.review", description="Rác tràn ra ngõ", photos=1)


async def test_words_typed_while_photos_are_asked_are_added_to_the_description(
    bot: BotDriver,
) -> None:
    """Asked for photos, a resident types what they forgot to say: it joins
    the description (it was dropped with a hint), and the photo question
    comes again with its buttons below."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    sent = await bot.send(an.text("Rác tràn ngõ"))
    assert says(joined(sent), "report.ask_photos")
    sent = await bot.send(an.text("Ngay trước cổng trường tiểu học"))
    assert says(joined(sent), "report.description_added")
    assert says(sent[-1].text, "report.ask_photos") and bot.api.buttons(sent[-1])
    sent = await bot.send(an.text("👍"))
    assert says(joined(sent), "report.photos_hint"), "an emoji is not more description"
    sent = await bot.send(an.text("xong rồi"))
    review = joined(sent)
    assert says(review, "report.review", photos=0)
    assert "Rác tràn ngõ\n\nNgay trước cổng trường tiểu học" in review


@pytest.mark.parametrize("typed", [".", "👍", "?!", "🗑️🔥"])
async def test_a_description_without_a_word_is_asked_for_again(bot: BotDriver, typed: str) -> None:
    """Punctuation or emoji alone tells the cadre nothing: the resident is
    asked for the words, and the draft stays where it was."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.choose(an, "sanitation")
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    sent = await bot.send(an.text(typed))
    assert says(joined(sent), "report.ask_description_again")
    assert not says(joined(sent), "report.ask_photos")
    sent = await bot.send(an.text("Rác tràn ngõ 🗑️"))
    assert says(joined(sent), "report.ask_photos")


async def test_lang_offers_each_language_in_its_own_words(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("lang"))
    assert bot.api.buttons(sent[-1]) == [("Tiếng Việt", "l:vi"), ("English", "l:en")]
    sent = await bot.press(an, "l:en")
    assert "Switched to English" in joined(sent)
