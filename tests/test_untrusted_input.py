"""Bad input that would reach staff, and input the bot leaves alone: names and
free text cleaned before a card shows them, invisible descriptions refused,
photos with captions and albums, commands for other bots, updates nobody can
be answered for, and deep links naming more than a residential group."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from telegram import Update

from bot import i18n
from bot.domain.text import clean_name, clean_text, has_visible, inset, normalise_text
from bot.i18n import t
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeGroup, FakeUser, JSONDict, SentMessage
from handlers.telegram.common import not_for_us
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, joined, to

FORGED = "🆕 Việc mới — PA-000999"
# The label of the resolve deadline on a task card, as a forger would type it.
DUE = next(line for line in i18n.catalogue("vi")["task.card"].split("\n") if "{due}" in line).split(
    "{"
)[0]

# ---- the cleaning itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "clean"),
    [
        ("An Nguyễn", "An Nguyễn"),
        (f"An\n{FORGED}\nNgười phản ánh: X", f"An {FORGED} Người phản ánh: X"),
        ("An\u202e nềyugN", "An nềyugN"),  # a right-to-left override
        ("\u2066An\u2069 \u200fNguyễn\u200e", "An Nguyễn"),  # isolates and marks
        ("An\r\n\tNguyễn", "An Nguyễn"),
        ("An\x00\x1b[31mNguyễn", "An[31mNguyễn"),  # control characters, not the text
        ("An\u2028Nguyễn\u0085", "An Nguyễn"),
        ("\u200b\u200c\u2060\ufeff", ""),
        ("\u3164\u3164", ""),  # Hangul fillers draw nothing
        ("Ra\u0301c", "Rác"),  # NFC
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # the joiner of an emoji family stays
        (None, ""),
    ],
)
def test_a_name_is_one_clean_line(written: str | None, clean: str) -> None:
    assert clean_name(written) == clean


@pytest.mark.parametrize(
    ("written", "clean"),
    [
        ("Rác tràn\nngõ 5", "Rác tràn\nngõ 5"),
        ("Rác\r\n\r\n\r\n\r\nngõ 5  ", "Rác\n\nngõ 5"),
        ("  Rác \u202etràn  ", "Rác tràn"),
        ("\u200b\u200d\u2060 \n \ufeff", ""),
        ("\u2800\u115f\u1160\uffa0", ""),
    ],
)
def test_free_text_keeps_its_lines_and_nothing_else(written: str, clean: str) -> None:
    assert clean_text(written) == clean
    assert normalise_text(written) == clean


def test_free_text_in_a_card_cannot_start_a_line_of_its_own() -> None:
    shown = inset(f"Rác tràn\n{FORGED}\n\nHạn xử lý: 01/01/2030")
    assert shown.split("\n") == ["Rác tràn", f"    {FORGED}", "", "    Hạn xử lý: 01/01/2030"]


def test_visible_means_something_draws() -> None:
    assert has_visible("a")
    assert has_visible("😀")
    assert not has_visible("\u200b \u3164\n\u0301")


# ---- what staff see --------------------------------------------------------------------------


def card_of(sent: list[SentMessage], chat_id: int = ENVIRONMENT_CADRE) -> str:
    return next(m.text or "" for m in reversed(sent) if m.chat_id == chat_id and m.text)


async def file_named_report(bot: BotDriver, user: FakeUser, description: str) -> str:
    await bot.send(user.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP04"):
        await bot.choose(user, key)
    await bot.send(user.text(description))
    await bot.choose(user, "d")
    await bot.choose(user, "nm")  # the resident lets the cadre see their name
    return card_of(await bot.choose(user, "ok"))


async def test_a_display_name_cannot_forge_lines_on_the_cadre_card(bot: BotDriver) -> None:
    mallory = bot.user(666, f"An\n{FORGED}\n\u202e", last_name=f"Nguyễn\n{DUE}01/01/2030")
    card = await file_named_report(bot, mallory, "Rác tràn ngõ 5")
    lines = card.split("\n")
    assert lines[0].startswith("🆕 Việc mới — PA-000001")
    assert not any(line.startswith(FORGED) for line in lines), "no forged header"
    assert [line for line in lines if line.startswith(DUE)] == [lines[-2]]
    assert t("vi", "task.reporter", name=f"An {FORGED} Nguyễn {DUE}01/01/2030") in lines
    assert "\u202e" not in card


async def test_a_description_cannot_forge_lines_on_the_cadre_card(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    card = await file_named_report(
        bot, an, f"Rác tràn\n{FORGED}\nNgười phản ánh: Chủ tịch phường\u202e"
    )
    lines = card.split("\n")
    assert sum(line.startswith("🆕 Việc mới") for line in lines) == 1
    assert [line for line in lines if line.startswith("Người phản ánh:")] == ["Người phản ánh: An"]
    assert "    Người phản ánh: Chủ tịch phường" in lines, "the resident's words, inset"


async def test_a_description_of_only_zero_width_characters_is_refused(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP04"):
        await bot.choose(an, key)
    sent = await bot.send(an.text("\u200b\u200c\u200d\u2060\ufeff"))
    assert says(joined(sent), "conv.empty_text")
    sent = await bot.send(an.text("Rác tràn ngõ 5"))
    assert says(joined(sent), "report.ask_photos"), "the draft waited at its description"


# ---- photos: captions and albums --------------------------------------------------------------


async def at_description(bot: BotDriver, user: FakeUser) -> None:
    await bot.send(user.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP04"):
        await bot.choose(user, key)


async def test_a_photo_with_a_caption_at_the_description_step_is_the_description(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    await at_description(bot, an)
    sent = await bot.send(an.photo(caption="Rác tràn ra ngõ 5 từ sáng"))
    assert says(joined(sent), "report.caption_is_description")
    assert says(joined(sent), "report.review"), "one photo with a caption answers both questions"
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Rác tràn ra ngõ 5 từ sáng"
    assert len(complaint.photos) == 1


async def test_a_caption_sent_before_the_description_step_is_not_asked_again(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.photo(caption="Cống tắc, nước tràn"))  # out of the blue: a report
    assert says(joined(sent), "report.ask_suggested"), "the problems the caption names"
    for key in ("CRNU", "HONGHAI"):
        await bot.choose(an, key)
    sent = await bot.choose(an, "HH-TDP04")
    assert says(joined(sent), "report.review"), "the description and a photo are there already"
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == "Cống tắc, nước tràn"


async def test_an_album_of_20_photos_is_answered_once(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await at_description(bot, an)
    await bot.send(an.text("Rác tràn"))
    replies: list[SentMessage] = []
    for _ in range(20):
        replies += await bot.send(an.photo(media_group_id="album-20"))
    received, more, limit = (m.text for m in replies)
    assert says(received, "report.album_received", limit=5)
    assert says(more, "report.ask_photos_more"), "the button says done now"
    assert says(limit, "report.album_limit", limit=5)
    sent = await bot.choose(an, "d")
    assert "Số ảnh: 5" in joined(sent)


async def test_a_fix_reported_with_an_album_is_answered_once_and_starts_nothing(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await at_description(bot, an)
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    replies = [await bot.send(cadre.photo(media_group_id="fix")) for _ in range(3)]
    assert "Đã báo kết quả xử lý PA-000001" in joined(to(replies[0], cadre))
    assert [to(r, cadre) for r in replies[1:]] == [[], []], "no report started by the rest"
    assert not await bot.services.has_conversation(
        await bot.services.identify("telegram", str(ENVIRONMENT_CADRE), None)
    )


async def test_a_not_fixed_album_with_a_caption_keeps_the_caption_and_every_photo(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await at_description(bot, an)
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    first = await bot.send(an.photo(caption="Vẫn còn rác", media_group_id="still"))
    rest = [await bot.send(an.photo(media_group_id="still")) for _ in range(2)]
    assert len(first) == 1 and rest == [[], []], "answered once"
    sent = await bot.send(an.text("Chụp sáng nay"))
    assert "“Vẫn còn rác\n\n    Chụp sáng nay”" in joined(to(sent, cadre)), "caption, then text"


# ---- commands for other bots, and updates nobody can be answered for --------------------------


async def test_a_command_for_another_bot_in_a_group_is_left_alone(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    group = FakeGroup(bot.api, -100123, "Tổ dân phố 3")
    other = an._say(
        {
            "text": "/new@other_bot",
            "entities": [{"type": "bot_command", "offset": 0, "length": 14}],
        },
        group.chat,
    )
    assert await bot.send(other) == []
    sent = await bot.send(group.command_from(an, "new", mention=True))
    assert says(joined(sent), "group.private_only"), "one addressed to this bot is answered"


def ignored_updates(user: FakeUser) -> dict[str, JSONDict]:
    private = {"id": user.user_id, "type": "private", "first_name": user.first_name}
    group = {"id": -100777, "type": "supergroup", "title": "Tổ 3"}
    command = {"text": "/new", "entities": [{"type": "bot_command", "offset": 0, "length": 4}]}
    return {
        "channel post": {
            "channel_post": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": -1001, "type": "channel", "title": "Tin phường"},
                **command,
            }
        },
        "edited channel post": {
            "edited_channel_post": {
                "message_id": 1,
                "date": 1,
                "edit_date": 2,
                "chat": {"id": -1001, "type": "channel", "title": "Tin phường"},
                "text": "sửa",
            }
        },
        "message without a sender": {
            "message": {"message_id": 2, "date": 1, "chat": private, "text": "PA-000001"}
        },
        "message sent on behalf of a chat": {
            "message": {
                "message_id": 3,
                "date": 1,
                "chat": group,
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": group,
                **command,
            }
        },
        "inline query": {
            "inline_query": {"id": "9", "from": user.user, "query": "PA-", "offset": ""}
        },
        "chosen inline result": {
            "chosen_inline_result": {"result_id": "1", "from": user.user, "query": "PA-"}
        },
        **{
            f"press on an inline message ({data})": {
                "callback_query": {
                    "id": f"inline-{data}",
                    "from": user.user,
                    "chat_instance": "c",
                    "inline_message_id": "AAAA",
                    "data": data,
                }
            }
            for data in ("q:1:sanitation", "new", "a:1", "f:1", "l:en", "zzz")
        },
    }


async def test_updates_without_anyone_to_answer_are_ignored_quietly(
    bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("start"))
    for number, (what, body) in enumerate(ignored_updates(an).items(), start=900_000):
        update = {"update_id": number, **body}
        with caplog.at_level(logging.WARNING):
            sent = await bot.send(update)
        assert sent == [], what
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [], what
        assert not_for_us(Update.de_json(update, bot.app.bot)) is not None, what
    assert not [q for q in bot.api.callback_answers if q.startswith("inline-")]
    db_path = bot.services.store.db.path  # type: ignore[attr-defined]
    with sqlite3.connect(db_path) as db:
        claimed = db.execute("SELECT COUNT(*) FROM processed_updates WHERE update_id >= 900000")
        assert claimed.fetchone() == (0,), "nothing to remember about them"


async def test_the_bots_own_membership_changes_are_not_ignored(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    blocked = {
        "update_id": 1,
        "my_chat_member": {
            "chat": an.chat,
            "from": an.user,
            "date": 1,
            "old_chat_member": {"status": "member", "user": bot.api.bot_user},
            "new_chat_member": {"status": "kicked", "user": bot.api.bot_user, "until_date": 0},
        },
    }
    assert not_for_us(Update.de_json(blocked, bot.app.bot)) is None


# ---- deep links ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "ward"), [("HONGHAI", "Phường Hồng Hải"), ("HH-K1", None)])
async def test_a_deep_link_to_a_ward_or_zone_still_asks_for_the_group(
    bot: BotDriver, code: str, ward: str | None
) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("start", f"a-{code}"))
    if ward is not None:
        assert says(joined(sent), "report.area_preselected", area=ward)
    await bot.choose(an, "sanitation")
    sent = await bot.choose(an, "RKTG")
    assert says(joined(sent), "report.ask_place", ward="Phường Hồng Hải"), (
        "the group is still asked"
    )
    await bot.choose(an, "HH-TDP02")
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    await bot.choose(an, "ok")
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert (complaint.area, complaint.ward) == ("HH-TDP02", "HONGHAI")


async def test_a_deep_link_to_the_city_chooses_nothing(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    sent = await bot.send(an.command("start", "a-HALONG"))
    assert not says(joined(sent), "report.area_preselected")
    await bot.choose(an, "sanitation")
    sent = await bot.choose(an, "RKTG")
    assert says(joined(sent), "report.ask_ward")
    assert to(sent, an)


async def test_a_comment_or_a_reason_cannot_forge_lines_on_a_task_card(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    forged = f"{DUE}01/01/2030"
    await file_named_report(bot, an, "Rác tràn ngõ 5")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    sent = await bot.send(an.text(f"Vẫn còn rác\n{forged}"))
    reopened = card_of(sent).split("\n")
    assert sum(line.startswith(DUE) for line in reopened) == 1
    assert any(line.startswith(f"    {forged}") for line in reopened), "inset"
    await bot.press(cadre, "t:1")
    await bot.send(cadre.text("khác"))
    sent = await bot.send(cadre.text(f"Không thuộc tổ này\n{FORGED}"))
    transferred = card_of(sent, 7001).split("\n")  # to the ward leader, with the reason
    assert not any(line.startswith(FORGED) for line in transferred)
    assert f"    {FORGED}" in transferred


async def test_a_forged_language_button_is_answered_and_changes_nothing(bot: BotDriver) -> None:
    """A press for a language the bot does not speak (forged, or from a
    client that kept an old button) stops the client's spinner with the
    bad-button answer, and the language stays."""
    an = bot.user(501, "An")
    for data in ("l:fr", "l:", "l:vi:en"):
        before = len(bot.api.callback_answers)
        assert await bot.send(an.press_raw(data, 1)) == []
        answers = list(bot.api.callback_answers.values())[before:]
        assert len(answers) == 1, data
        assert says(str(answers[0].get("text")), "refusal.bad_button"), data
    sent = await bot.send(an.command("mine"))
    assert says(joined(sent), "mine.empty"), "still in Vietnamese"
