"""One person, accounts on several channels: a staff member binds a second
account with the one-time code typed as a message, stays one person (what
that account had filed as a resident stays theirs), hears on the account
they used last, and can be reached while any of their accounts can.

The Telegram side runs on the real Application over the fake Bot API; the
Zalo side is the channel-neutral use case (bot/app/) a Zalo channel calls
with what a Zalo account typed.  On both engines (tests/engines.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app.admin import Admin, token_hash
from bot.domain.authz import Actor
from bot.domain.channels import TELEGRAM, ZALO, Account
from bot.domain.orgchart import OrgChart, Role
from bot.i18n import t
from bot.orgio.reader import parse_org
from bot.orgio.writer import dump_org
from bot.ports import Invite, Notice
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeUser, SentMessage
from handlers.telegram.links import TelegramLinks
from tests.catalogue import says
from tests.factories import WARD_CHAIR, joined, to
from tests.test_owners import owner_of
from tests.test_services import file_by_typing

pytestmark = pytest.mark.both_engines

LINKS = TelegramLinks("phananh_bot")
LAN = 8801  # Ngô Thị Lan (tt-hh-12), tổ trưởng of group 12: no account in the chart
LAN_ZALO = "e4ea5c0ffee1"


def keys(notes: tuple[object, ...]) -> list[str]:
    return [getattr(n, "key", "") for n in notes]


async def lan_joins_on_telegram(bot: BotDriver) -> FakeUser:
    link = await Admin(bot.services).invite("tt-hh-12", Role.CADRE, LINKS)
    lan = bot.user(LAN, "Lan")
    sent = await bot.send(lan.command("start", link.url.split("start=")[1]))
    assert says(joined(to(sent, lan)), "invite.welcome", name="Ngô Thị Lan")
    return lan


async def zalo_writes(bot: BotDriver, external_id: str = LAN_ZALO) -> Actor:
    """What a Zalo channel does with every update: who is this?"""
    actor = await bot.services.identify(ZALO, external_id, "Lan Ngô")
    return actor


async def lan_adds_her_zalo(bot: BotDriver) -> Actor:
    """The ward office mints a code to add an account (`phananh invite
    --add`); Lan sends it to the Zalo bot."""
    link = await Admin(bot.services).invite("tt-hh-12", Role.CADRE, LINKS, add=True)
    reply = await Admin(bot.services).bind_by_code(await zalo_writes(bot), link.code)
    assert reply is not None
    assert keys(reply.notes)[0] == "invite.welcome"
    return await zalo_writes(bot)


async def file_vending_in_group_12(bot: BotDriver, who: FakeUser) -> list[SentMessage]:
    """Street vending in group 12: Lan's, by the chart."""
    await bot.send(who.command("start", "a-HH-TDP12"))
    await bot.choose(who, "urban_order")
    await bot.choose(who, "BHR")
    await bot.send(who.text("Họp chợ tự phát đầu ngõ"))
    await bot.choose(who, "d")
    return await bot.choose(who, "ok")


# ---- binding a second account ------------------------------------------------------------


async def test_a_cadre_binds_her_zalo_by_typing_the_code_and_what_it_filed_stays_hers(
    bot: BotDriver,
) -> None:
    lan = await lan_joins_on_telegram(bot)
    # Before she had her code, her Zalo account wrote as a resident and filed a report.
    resident = await zalo_writes(bot)
    assert resident.staff is None
    filed = await file_by_typing(bot.services, resident)
    assert filed.complaint is not None and filed.complaint.code == "PA-000001"
    assert [c.code for c in await bot.services.my_complaints(resident)] == ["PA-000001"]

    staff = await lan_adds_her_zalo(bot)

    assert staff.staff is not None and staff.staff.id == "tt-hh-12"
    person = await bot.services.store.person_of_staff("tt-hh-12")
    assert person is not None
    assert set(person.accounts) == {Account(TELEGRAM, str(LAN)), Account(ZALO, LAN_ZALO)}
    assert staff.person_id == person.id, "one person, two accounts"
    assert await bot.services.store.reporter_of(1) == person.id, "the complaint stays hers"
    # On Telegram too, she is the same person: her report, her staff record.
    assert "PA-000001" in joined(await bot.send(lan.command("mine")))
    assert "Ngô Thị Lan" in joined(await bot.send(lan.command("whoami")))
    data = await bot.services.store.person_data(person.id)
    assert {(a["channel"], a["external_id"]) for a in data["accounts"]} == {
        (TELEGRAM, str(LAN)),
        (ZALO, LAN_ZALO),
    }


async def test_an_add_code_is_spent_once_and_a_plain_one_cannot_add(bot: BotDriver) -> None:
    await lan_joins_on_telegram(bot)
    admin = Admin(bot.services)
    plain = await admin.invite("cb-hh-mt", Role.CADRE, LINKS, add=True)  # bound by the chart
    someone = await bot.services.identify(ZALO, "k1", "Kẻ lạ")
    reply = await admin.bind_by_code(someone, plain.code)
    assert reply is not None and keys(reply.notes)[0] == "invite.welcome"
    again = await admin.bind_by_code(await bot.services.identify(ZALO, "k2", "Khác"), plain.code)
    assert again is not None and keys(again.notes) == ["invite.used"]
    # A leader in chat gets no code for a bound record at all (to add or otherwise).
    chair = bot.user(WARD_CHAIR, "Hùng")
    sent = await bot.send(chair.command("invite", "tt-hh-12"))
    assert joined(sent) == t("vi", "admin.already_bound", staff="tt-hh-12")


async def test_the_code_typed_as_a_message_binds_on_telegram_too(bot: BotDriver) -> None:
    admin = Admin(bot.services)
    typed = await admin.invite("tt-hh-12", Role.CADRE, LINKS)
    lan = bot.user(LAN, "Lan")
    # Phones capitalise the first letter of a message.
    sent = await bot.send(lan.text("I" + typed.code[1:]))
    assert says(joined(to(sent, lan)), "invite.welcome", name="Ngô Thị Lan")
    assert "Ngô Thị Lan" in joined(await bot.send(lan.command("whoami")))
    menus = [c for c in bot.api.calls_to("setMyCommands") if "chat_id" in str(c.params)]
    assert menus, "her chat gets the staff menu, as with the link"


async def test_a_bare_code_binds_and_other_words_go_to_the_conversation(bot: BotDriver) -> None:
    admin = Admin(bot.services)
    link = await admin.invite("tt-hh-12", Role.CADRE, LINKS)
    an = bot.user(501, "An")
    # A word of that shape that is no invite is just a message.
    sent = await bot.send(an.text("abcdefghijklmnopqrstuvwx"))
    assert joined(sent) == t("vi", "fallback.help")
    sent = await bot.send(an.text("i-abcdefghijklmnopqrstuvwx"))
    assert joined(sent) == t("vi", "invite.unknown"), "an i- code that is none says so"
    lan = bot.user(LAN, "Lan")
    sent = await bot.send(lan.text(f"  {link.token} "))
    assert says(joined(sent), "invite.welcome", name="Ngô Thị Lan")


async def test_a_code_that_itself_begins_with_i_dash_works_bare_and_prefixed(
    bot: BotDriver,
) -> None:
    """Codes are 24 characters of letters, digits, _ and -: some begin with
    "i-", and typed bare such a code looks prefixed."""
    admin, now = Admin(bot.services), bot.services.now()
    for n, typed in enumerate(["i-" + "Q" * 22, "i-i-" + "R" * 22]):
        token = typed.removeprefix("i-") if n else typed
        await bot.services.store.create_invite(
            Invite(
                token_hash(token),
                "tt-hh-12",
                "cadre",
                now,
                now + timedelta(days=1),
                "cli",
                rebind=True,
            )
        )
        actor = await bot.services.identify(ZALO, f"z{n}", "Lan")
        reply = await admin.bind_by_code(actor, typed)
        assert reply is not None and keys(reply.notes)[0] == "invite.welcome", typed


# ---- the account used last ---------------------------------------------------------------


async def test_messages_go_to_the_account_she_used_last(bot: BotDriver) -> None:
    lan = await lan_joins_on_telegram(bot)
    await lan_adds_her_zalo(bot)
    # She used Zalo last: her new task waits for the Zalo channel.
    an = bot.user(501, "An")
    sent = await file_vending_in_group_12(bot, an)
    assert await owner_of(bot, 1) == "tt-hh-12"
    assert to(sent, lan) == [], "nothing to Telegram"
    store, now = bot.services.store, bot.services.now()
    (card,) = [i for i in await store.due_outbox(now, 10, ZALO) if i.kind == "task_assigned"]
    assert card.account == Account(ZALO, LAN_ZALO)
    assert [i for i in await store.due_outbox(now, 10, TELEGRAM) if i.id == card.id] == []

    # She writes on Telegram: from now on, and for what still waits, Telegram.
    await bot.send(lan.command("help"))
    sent = await bot.flush()
    assert "Việc mới — PA-000001" in joined(to(sent, lan))

    # And back to Zalo: the next message goes there.
    await zalo_writes(bot)
    await store.enqueue([Notice("owner_update", staff_id="tt-hh-12")], now)
    (row,) = await store.due_outbox(now, 10)
    assert row.account == Account(ZALO, LAN_ZALO)


async def test_two_accounts_used_within_one_second_still_order(bot: BotDriver) -> None:
    lan = await lan_joins_on_telegram(bot)
    await lan_adds_her_zalo(bot)
    for _ in range(3):  # the fake clock does not move, nor does SQLite's second
        await bot.send(lan.command("help"))
        person = await bot.services.store.person_of_staff("tt-hh-12")
        assert person is not None and person.account == Account(TELEGRAM, str(LAN))
        await zalo_writes(bot)
        person = await bot.services.store.person_of_staff("tt-hh-12")
        assert person is not None and person.account == Account(ZALO, LAN_ZALO)


# ---- reachability per account ------------------------------------------------------------


async def test_blocked_on_telegram_but_reachable_on_zalo_she_keeps_her_tasks(
    bot: BotDriver,
) -> None:
    lan = await lan_joins_on_telegram(bot)
    await file_vending_in_group_12(bot, bot.user(501, "An"))
    await lan_adds_her_zalo(bot)
    sent = await bot.send(lan.blocks_bot())
    assert await owner_of(bot, 1) == "tt-hh-12", "she can still act, on Zalo"
    assert "Không gửi được tin" not in joined(sent)
    reach = await bot.services.reach()
    assert "tt-hh-12" in reach.bound and "tt-hh-12" not in reach.refused
    # Routing still gives her what is hers.
    await file_vending_in_group_12(bot, bot.user(502, "Bình"))
    assert await owner_of(bot, 2) == "tt-hh-12"

    # An account nobody has changes nothing.
    await bot.services.channel_reach(ZALO, "nobody", reachable=False)
    assert await owner_of(bot, 1) == "tt-hh-12"

    # Refused on Zalo too: nobody can reach her, her tasks move, the chair hears.
    await bot.services.channel_reach(ZALO, LAN_ZALO, reachable=False)
    assert await owner_of(bot, 1) != "tt-hh-12"
    assert "tt-hh-12" in (await bot.services.reach()).refused
    sent = await bot.flush()
    assert "Không gửi được tin cho Ngô Thị Lan" in joined(
        [m for m in sent if m.chat_id == WARD_CHAIR]
    )
    # She writes from Zalo again: her tasks come back.
    await zalo_writes(bot)
    assert "tt-hh-12" not in (await bot.services.reach()).refused


async def test_a_message_telegram_refuses_goes_to_her_other_account(bot: BotDriver) -> None:
    lan = await lan_joins_on_telegram(bot)
    await lan_adds_her_zalo(bot)
    await bot.send(lan.command("help"))  # Telegram is her latest account
    bot.api.blocked_chats.add(LAN)  # she blocked the bot; Telegram has not said so yet
    sent = await file_vending_in_group_12(bot, bot.user(501, "An"))
    assert to(sent, lan) == []
    assert await owner_of(bot, 1) == "tt-hh-12", "not moved: she can be reached on Zalo"
    assert "Không gửi được tin" not in joined(sent)
    store, now = bot.services.store, bot.services.now()
    (card,) = [i for i in await store.due_outbox(now, 10, ZALO) if i.kind == "task_assigned"]
    assert card.account == Account(ZALO, LAN_ZALO), "the card waits for Zalo, not given up"


# ---- the org chart names a Zalo id -------------------------------------------------------


async def test_the_org_chart_binds_the_zalo_ids_it_names(bot: BotDriver, chart: OrgChart) -> None:
    store = bot.services.store
    # Thắng's Zalo account had written as a resident and filed a report.
    resident = await bot.services.identify(ZALO, "e4ea-thang", "Thắng")
    await file_by_typing(bot.services, resident)
    staff = dict(chart.staff)
    staff["cb-hh-mt"] = replace(staff["cb-hh-mt"], zalo_id="e4ea-thang")
    staff["tt-hh-12"] = replace(staff["tt-hh-12"], zalo_id="e4ea-lan")
    staff["ld-hh-ct"] = replace(staff["ld-hh-ct"], zalo_id="e4ea-hung")  # nobody's yet
    named = replace(chart, staff=staff)
    assert parse_org(dump_org(named)).staff == named.staff, "the export keeps the Zalo ids"

    admin = Admin(bot.services)
    assert await admin.apply_import(await admin.plan_import(named))

    thang = await store.find_person(TELEGRAM, "7013")
    assert thang is not None
    assert await store.find_person(ZALO, "e4ea-thang") == thang, "one person, two accounts"
    assert await store.staff_of_person(thang.id) == "cb-hh-mt"
    assert await store.reporter_of(1) == thang.id, "what the Zalo account filed stays his"
    lan = await store.find_person(ZALO, "e4ea-lan")
    assert lan is not None and lan.accounts == (Account(ZALO, "e4ea-lan"),)
    assert await store.staff_of_person(lan.id) == "tt-hh-12"
    assert "tt-hh-12" in (await bot.services.reach()).bound
    hung = await store.find_person(TELEGRAM, str(WARD_CHAIR))
    assert hung is not None and await store.find_person(ZALO, "e4ea-hung") == hung
    # Imported again, nothing changes.
    assert await admin.apply_import(await admin.plan_import(named))
    assert await store.find_person(ZALO, "e4ea-thang") == thang


async def test_a_cadre_nobody_could_reach_gets_her_tasks_back_when_she_adds_her_zalo(
    bot: BotDriver,
) -> None:
    lan = await lan_joins_on_telegram(bot)
    await file_vending_in_group_12(bot, bot.user(501, "An"))
    await bot.send(lan.blocks_bot())  # her only account: the task moves on
    assert await owner_of(bot, 1) != "tt-hh-12"
    bot.new_messages()
    await lan_adds_her_zalo(bot)
    assert await owner_of(bot, 1) == "tt-hh-12", "she can be reached again, on Zalo"
    sent = await bot.flush()
    assert "Ngô Thị Lan" in joined([m for m in sent if m.chat_id == WARD_CHAIR])
    store, now = bot.services.store, bot.services.now()
    waiting = [i for i in await store.due_outbox(now, 10, ZALO) if i.staff_id == "tt-hh-12"]
    assert waiting and all(i.account == Account(ZALO, LAN_ZALO) for i in waiting)
