"""A delivery pass and one person's long queue: each person's rows go one at a time, so a
pass that had to send all of a cadre's queued task cards lasted as long as that queue, and a
resident's reply queued meanwhile waited for the whole of it (the scale-out benchmark's
capped run: residents' last receipts several seconds behind a cadre's cards)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.app.admin import LEADER_NOTE
from bot.app.outbox import ROWS_PER_PERSON
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.ports import Notice
from bot.runtime import running
from bot.sandbox.telegram import FakeBotApi
from tests.catalogue import says
from tests.factories import fake_telegram, load_chart, settings_for

CADRE, RESIDENT = 70001, 70002
QUEUED = 3 * ROWS_PER_PERSON
KEY = "notify.account_rebound"  # what `note` says


def note(person_id: int, n: int) -> Notice:
    return Notice(
        LEADER_NOTE, person_id=person_id, payload={"event": "account_rebound", "staff": f"s{n}"}
    )


async def test_a_reply_queued_during_a_long_queue_to_a_cadre_does_not_wait_for_all_of_it(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    db = tmp_path / "bot.db"
    await load_chart(db, chart)
    api = FakeBotApi(latency=0.005)  # each send takes a moment: a pass lasts a while
    async with running(settings_for(db), clock=clock, channels=[fake_telegram(api)]) as bot:
        store = bot.core.store
        cadre = await store.identify_person("telegram", str(CADRE), None, "vi")
        resident = await store.identify_person("telegram", str(RESIDENT), None, "vi")
        await store.enqueue([note(cadre.person.id, n) for n in range(QUEUED)], clock.now())
        sending = asyncio.ensure_future(bot.flush())
        await api.wait_until(lambda: len(api.messages_to(CADRE)) >= 1, 5)
        await store.enqueue([note(resident.person.id, 0)], clock.now())
        await bot.core.senders.after_update()  # what handling an update does
        await sending
        await bot.core.senders.settled()
    chats = [m.chat_id for m in api.sent]
    assert chats.count(CADRE) == QUEUED and chats.count(RESIDENT) == 1, "every row, once"
    last_of_next_pass = [n for n, chat in enumerate(chats) if chat == CADRE][
        2 * ROWS_PER_PERSON - 1
    ]
    assert chats.index(RESIDENT) < last_of_next_pass, (
        "the resident's reply went in the next pass, not after the cadre's whole queue"
    )


async def test_a_cadres_queue_held_by_a_429_keeps_its_order_across_passes(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """Telegram asks to wait 20 s at the first of a cadre's queued rows: none of the
    rest — most of them beyond the pass that met the 429 — goes before it; after
    the wait every one goes, once, in the order queued."""
    db = tmp_path / "bot.db"
    await load_chart(db, chart)
    api = FakeBotApi()
    async with running(settings_for(db), clock=clock, channels=[fake_telegram(api)]) as bot:
        store = bot.core.store
        cadre = await store.identify_person("telegram", str(CADRE), None, "vi")
        await store.enqueue([note(cadre.person.id, n) for n in range(QUEUED)], clock.now())
        api.fail_next("sendMessage", retry_after=20, chat_id=CADRE)
        await bot.flush()
        await bot.core.senders.settled()
        assert api.messages_to(CADRE) == [], "nothing overtook the row told to wait"
        clock.advance(timedelta(seconds=20))
        await bot.flush()
        await bot.core.senders.settled()
    shown = [m.text for m in api.messages_to(CADRE)]
    assert len(shown) == QUEUED, "every row, once"
    for text, n in zip(shown, range(QUEUED), strict=True):
        assert says(text, KEY, staff=f"s{n}"), "in the order queued"
