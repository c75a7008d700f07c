"""A resident's command menu speaks the language the bot speaks to them,
whatever their Telegram app's language: the default menus cover most
(Vietnamese, and English for apps in English); a chat whose app and bot
language differ gets its own menu, once, in the background, and a
language switched moves it along.  Read back as Telegram would show it
(`FakeBotApi.menu_entries`)."""

from __future__ import annotations

from bot.i18n import t
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, joined


def _descriptions(bot: BotDriver, chat_id: int, app_language: str) -> dict[str, str]:
    entries = bot.api.menu_entries(chat_id, app_language)
    return {str(c["command"]): str(c["description"]) for c in entries}


def _chat_menu_calls(bot: BotDriver, chat_id: int) -> int:
    return sum(
        1
        for method in ("setMyCommands", "deleteMyCommands")
        for call in bot.api.calls_to(method)
        if call.params.get("scope", {}).get("chat_id") == chat_id
    )


async def test_a_resident_whose_app_is_in_english_reads_the_menu_in_vietnamese_as_the_bot_speaks(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An", language_code="en")
    await bot.send(an.command("start"))
    assert _descriptions(bot, 501, "en")["new"] == t("vi", "commands.new")
    await bot.send(an.command("help"))
    assert _chat_menu_calls(bot, 501) == 1, "set once, not at every message"


async def test_lang_en_in_an_app_in_vietnamese_gives_the_english_menu_and_lang_vi_takes_it_back(
    bot: BotDriver,
) -> None:
    binh = bot.user(502, "Bình", language_code="vi")
    await bot.send(binh.command("start"))
    assert _chat_menu_calls(bot, 502) == 0, "the default menu is the right one: no call"
    await bot.send(binh.command("lang", "en"))
    assert _descriptions(bot, 502, "vi")["new"] == t("en", "commands.new")
    await bot.send(binh.command("lang", "vi"))
    assert _descriptions(bot, 502, "vi")["new"] == t("vi", "commands.new")


async def test_an_english_app_resident_who_switches_to_english_is_back_on_the_default_menu(
    bot: BotDriver,
) -> None:
    chi = bot.user(503, "Chi", language_code="en")
    await bot.send(chi.command("start"))
    await bot.send(chi.command("lang", "en"))
    assert _descriptions(bot, 503, "en")["new"] == t("en", "commands.new")
    deleted = [c.params["scope"] for c in bot.api.calls_to("deleteMyCommands")]
    assert [s["chat_id"] for s in deleted if s["type"] == "chat"] == [503], "its own menu dropped"


async def test_staff_chats_keep_their_roles_menu_whatever_their_app_language(
    bot: BotDriver,
) -> None:
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng", language_code="en")
    before = _chat_menu_calls(bot, ENVIRONMENT_CADRE)
    await bot.send(cadre.command("help"))
    assert _chat_menu_calls(bot, ENVIRONMENT_CADRE) == before
    assert next(iter(_descriptions(bot, ENVIRONMENT_CADRE, "en"))) == "tasks"


async def test_a_resident_whose_app_is_in_english_is_told_in_english_how_to_switch(
    bot: BotDriver,
) -> None:
    an = bot.user(501, "An", language_code="en")
    sent = joined(await bot.send(an.command("start")))
    assert says(sent, "start.greeting", name="An"), "the ward office speaks Vietnamese first"
    assert says(sent, "start.english_offer")
    binh = bot.user(502, "Bình", language_code="vi")
    assert not says(joined(await bot.send(binh.command("start"))), "start.english_offer")
