"""The scale-out benchmark's counting (bench/scaleout.py), on the real bot in-process: what
it reads from the fake finds a reply said twice, a reply missing, a chat out of order, and
nothing on a clean run.  (The benchmark itself runs real processes behind nginx for minutes:
`python -m bench scaleout`; this only proves its eyes.)"""

from __future__ import annotations

import random
from pathlib import Path

from bench.scaleout import BenchApi, read_chats, residents
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from tests.crashkit import FILED, Reply
from tests.factories import load_chart, started_bot
from tests.test_scaleout import classify


async def test_the_scale_out_count_finds_a_reply_twice_one_missing_and_a_chat_out_of_order(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    await load_chart(where, chart)
    api = BenchApi()
    async with started_bot(where, clock, api) as bot:
        first, second, third = residents(api, 3, random.Random(1))
        second.updates.pop()  # never sends its report: no receipt
        for resident in (first, second):
            for update in resident.updates:
                await bot.send(update)
        # The third gets the question about photos before any other: its replies come out
        # of the order a report takes.
        chat = first.user.user_id
        photos = next(m for m in api.messages_to(chat) if classify(m.text or "") is Reply.PHOTOS)
        await api.call("sendMessage", {"chat_id": third.user.user_id, "text": photos.text})
        for update in third.updates:
            await bot.send(update)
        await bot.flush()
        codes = {f.group(1) for m in api.sent if (f := FILED.search(m.text or ""))}
        clean = read_chats(api, [first], codes)
        # The bot says the first resident's review again (an update handled twice).
        review = next(m for m in api.messages_to(chat) if classify(m.text or "") is Reply.REVIEW)
        await api.call("sendMessage", {"chat_id": chat, "text": review.text})
        twice = read_chats(api, [first], codes)
        unsent = read_chats(api, [second], codes)
        disordered = read_chats(api, [third], codes)
    assert (clean.out_of_order, clean.replies_twice, clean.replies_lost) == (0, 0, 0)
    assert (clean.receipts_lost, clean.cards_lost, clean.cards_twice) == (0, 0, 0)
    assert (twice.replies_twice, twice.out_of_order, twice.replies_lost) == (1, 0, 0)
    assert (unsent.receipts_lost, unsent.replies_lost, unsent.out_of_order) == (1, 0, 0)
    assert disordered.out_of_order == 1
    assert disordered.example.startswith(f"chat {third.user.user_id}")
