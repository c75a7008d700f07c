"""Following instead of filing again (issue 17) on Telegram and on Zalo,
each person through their channel's real receiving path (tests/channels.py):
the review shows the report already there and one tap (or number) follows
it; the follower hears the fix and their "not fixed" reopens it; the
cadre's card counts them; a duplicate rejected makes its reporter a
follower; a forged follow changes nothing.  What people read is asserted
through the catalogue's keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import PostgresUrl
from bot.domain.channels import TELEGRAM, ZALO
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from tests.channels import Chat, Stage, TelegramChat, joined, stage
from tests.factories import load_chart

pytestmark = pytest.mark.both_engines


@pytest.fixture
async def play(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[Stage]:
    await load_chart(where, chart)
    async with stage(where, clock, "polling") as started:
        yield started


async def to_review(
    resident: Chat, group: str = "HH-TDP03", description: str = "Rác ở góc ngõ chưa thu"
) -> list[str]:
    """Rubbish not collected, in a group chosen from the list, with a photo:
    up to the review."""
    await resident.command("new")
    await resident.choose("sanitation")
    await resident.choose("RKTG")
    await resident.choose("HONGHAI")
    await resident.choose(group)
    await resident.text(description)
    return await resident.photo()  # one photo goes on to the review


async def file_report(resident: Chat, group: str = "HH-TDP03") -> str:
    await to_review(resident, group, "Rác để 3 ngày chưa ai thu, liên hệ 0912 345 678")
    return joined(await resident.choose("ok"))


CHANNELS = [TELEGRAM, ZALO]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_review_offers_the_report_already_there_and_one_choice_follows_it(
    play: Stage, channel: str
) -> None:
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    review = joined(await to_review(binh))
    assert binh.says(review, "report.nearby_item", code="PA-000001")
    assert binh.says(review, "report.nearby_group")
    assert "0912" not in review, "another resident's contacts are masked"
    assert any("PA-000001" in label for label in binh.choices())
    followed = joined(await binh.choose("f1"))
    assert binh.says(followed, "follow.started", code="PA-000001")
    services = play.bot.services
    assert len(await services.store.all_complaints()) == 1, "nothing filed twice"
    mine = joined(await binh.command("mine"))
    assert binh.says(mine, "mine.followed_header", count="1")
    assert "PA-000001" in mine


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_follower_hears_the_fix_and_their_not_fixed_reopens_it(
    play: Stage, channel: str
) -> None:
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    binh.news()
    an.news()
    cadre.news()
    card = joined(await cadre.command("status", "PA-000001"))
    assert cadre.says(card, "task.same_reports", count="2")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")  # no photo
    told = joined(binh.news())
    assert binh.says(told, "notify_follower.resolved", code="PA-000001", note="Đã thu gom")
    assert not binh.says(told, "notify.resolved", code="PA-000001"), "not 'your report'"
    assert binh.says(told, "follow.notice_mark", code="PA-000001")
    assert an.says(joined(an.news()), "notify.resolved", code="PA-000001", note="Đã thu gom")
    await binh.act(Action.DISPUTE, 1)
    await binh.text("Vẫn còn rác ở góc ngõ")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.REOPENED
    assert "Vẫn còn rác ở góc ngõ" in joined(cadre.news())
    assert an.says(joined(an.news()), "notify.reopened_by_other", code="PA-000001")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_follower_hears_the_acknowledgement_as_the_report_they_follow(
    play: Stage, channel: str
) -> None:
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    binh.news()
    an.news()
    await cadre.act(Action.ACKNOWLEDGE, 1)
    told = joined(binh.news())
    assert binh.says(told, "notify_follower.acknowledged", code="PA-000001")
    assert not binh.says(told, "notify.acknowledged", code="PA-000001"), "not 'your report'"
    assert an.says(joined(an.news()), "notify.acknowledged", code="PA-000001")


async def resolved_with_a_follower(play: Stage, channel: str) -> tuple[Chat, Chat, Chat]:
    """An's report followed by Bình (on ``channel``), reported fixed by its
    cadre; everyone's news read."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")  # no photo
    for person in (an, binh, cadre):
        person.news()
    return an, binh, cadre


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_followers_fixed_is_noted_and_closes_it_confirmed_when_the_reporter_is_silent(
    play: Stage, clock: ManualClock, channel: str
) -> None:
    an, binh, cadre = await resolved_with_a_follower(play, channel)
    said = joined(await binh.act(Action.CONFIRM, 1))
    assert binh.says(said, "follow.confirm_noted", code="PA-000001")
    assert cadre.says(joined(cadre.news()), "notify.follower_confirmed", code="PA-000001")
    store = play.bot.services.store
    actions = [e.action for e in await store.events_of(1)]
    assert actions.count(Action.FOLLOWER_CONFIRM) == 1
    complaint = await store.get_complaint(1)
    assert complaint is not None and complaint.state is State.RESOLVED, "the reporter decides"
    # The reporter never answers: after the wait it closes confirmed, on Bình's word.
    clock.advance(timedelta(days=8))
    await play.tick()
    complaint = await store.get_complaint(1)
    assert complaint is not None and complaint.state is State.CONFIRMED
    assert (await store.events_of(1))[-1].action is Action.CONFIRM_BY_FOLLOWER
    assert an.says(joined(an.news()), "notify.confirmed_by_follower", code="PA-000001")
    assert binh.says(joined(binh.news()), "notify.confirmed_by_follower", code="PA-000001")
    told = joined(cadre.news())
    assert cadre.says(told, "notify.closed_confirmed_by_follower", code="PA-000001")


async def test_a_followers_fixed_counts_no_more_once_the_fix_is_disputed(
    play: Stage, clock: ManualClock
) -> None:
    an, binh, cadre = await resolved_with_a_follower(play, TELEGRAM)
    await binh.act(Action.CONFIRM, 1)
    await an.act(Action.DISPUTE, 1)
    await an.text("Vẫn còn rác ở góc ngõ")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom lần hai")
    await cadre.choose("s")
    clock.advance(timedelta(days=8))
    await play.tick()
    complaint = await play.bot.services.store.get_complaint(1)
    assert complaint is not None and complaint.state is State.CLOSED_UNCONFIRMED
    assert an.says(joined(an.news()), "notify.auto_closed", code="PA-000001")


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_duplicate_rejected_makes_its_reporter_a_follower_and_tells_them(
    play: Stage, channel: str
) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    await file_report(binh, "HH-TDP05")  # another group: not offered, filed again
    binh.news()
    await cadre.act(Action.REJECT, 2)
    await cadre.choose("duplicate")
    said = joined(await cadre.text("PA-000001"))
    assert cadre.says(said, "task.merged", code="PA-000002", original="PA-000001")
    told = joined(binh.news())
    assert binh.says(told, "notify.rejected_following", code="PA-000002", original="PA-000001")
    assert not binh.says(told, "notify.rejected", code="PA-000002"), "never 'not accepted'"
    store = play.bot.services.store
    assert await store.followers_of(1) == [(await store.reporter_of(2))]


async def test_a_forged_follow_press_changes_nothing(play: Stage) -> None:
    an = play.resident(TELEGRAM, "An")
    await file_report(an, "HH-TDP05")
    binh = play.resident(TELEGRAM, "Bình")
    await to_review(binh)
    assert isinstance(binh, TelegramChat)
    bot = play.bot
    review = bot.api.last_to(binh.user.user_id)
    seq = next(d for _, d in bot.api.buttons(review) if d.startswith("q:")).split(":")[1]
    sent = await bot.send(binh.user.press_raw(f"q:{seq}:f1", review.message_id))
    assert binh.says(joined([m.text or "" for m in sent]), "conv.stale_button")
    assert binh.says(joined([m.text or "" for m in sent]), "report.review")
    assert await bot.services.store.followers_of(1) == []
    filed = await binh.choose("ok")
    assert "PA-000002" in joined(filed), "the draft was kept: nothing lost"


async def test_a_follower_stops_following_on_zalo_by_typing(play: Stage) -> None:
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(ZALO, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    stopped = joined(await binh.text("bỏ theo dõi PA-000001"))
    assert binh.says(stopped, "follow.stopped", code="PA-000001")
    assert await play.bot.services.store.followers_of(1) == []
    assert binh.says(joined(await binh.command("mine")), "mine.empty")


async def pinned_review(play: Stage, chat: Chat, lat: float, lon: float) -> list[str]:
    """On Telegram, the place as a shared location (Zalo has no pins)."""
    assert isinstance(chat, TelegramChat)
    await chat.command("new")
    await chat.choose("sanitation")
    await chat.choose("RKTG")
    await play.bot.send(chat.user.location(lat, lon))
    await chat.text("Rác đầu ngõ chưa thu")
    return await chat.choose("d")


async def test_on_telegram_a_pin_finds_the_report_within_250_m_not_beyond(play: Stage) -> None:
    an = play.resident(TELEGRAM, "An")
    await pinned_review(play, an, 20.9530, 107.0815)
    await an.choose("ok")
    binh = play.resident(TELEGRAM, "Bình")
    near = joined(await pinned_review(play, binh, 20.9530 + 120 / 111_000, 107.0815))
    assert binh.says(near, "report.nearby_metres", metres="120")
    assert binh.says(near, "report.nearby_item", code="PA-000001")
    await binh.choose("x")
    chi = play.resident(TELEGRAM, "Chi")
    far = joined(await pinned_review(play, chi, 20.9530 + 300 / 111_000, 107.0815))
    assert not chi.says(far, "report.nearby_item", code="PA-000001")
    assert chi.choices()[0].endswith(t("vi", "report.confirm"))


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_card_names_only_the_followers_who_allowed_it(play: Stage, channel: str) -> None:
    cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(channel, "Bình")
    await to_review(binh)
    await binh.choose("f1")  # anonymous, by default
    chi = play.resident(channel, "Chi")
    await to_review(chi)
    await chi.choose("nm")  # "Cho cán bộ biết tên tôi"
    await chi.choose("f1")
    card = joined(await cadre.command("status", "PA-000001"))
    assert cadre.says(card, "task.same_reports", count="3")
    assert cadre.says(card, "task.followers_named", names="Chi")
    assert "Bình" not in card


async def test_a_zalo_follower_typing_not_fixed_without_a_code_finds_what_they_follow(
    play: Stage,
) -> None:
    """After the fix notice and another list shown since (the greeting's), "chưa khắc
    phục" typed alone is about the one report the follower may dispute: the one they
    follow."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    an = play.resident(TELEGRAM, "An")
    await file_report(an)
    binh = play.resident(ZALO, "Bình")
    await to_review(binh)
    await binh.choose("f1")
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")  # no photo
    assert binh.says(joined(await binh.command("mine")), "follow.notice_mark", code="PA-000001")
    await binh.command("start")  # the greeting's list, shown since: the notice's is over
    await binh.text("chưa khắc phục")
    await binh.text("Vẫn còn rác ở góc ngõ")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.REOPENED


async def test_a_zalo_reporter_typing_fixed_without_a_code_finds_their_resolved_report(
    play: Stage,
) -> None:
    """The same for the reporter: a report awaiting their word is not "open" (it is
    reported fixed), and typing "đã khắc phục" alone is about it."""
    cadre = await play.staff(TELEGRAM, "cb-hh-mt", "Thắng")
    lan = play.resident(ZALO, "Lan")
    await file_report(lan)
    await cadre.act(Action.RESOLVE, 1)
    await cadre.text("Đã thu gom")
    await cadre.choose("s")  # no photo
    await lan.command("start")  # the greeting's list, shown since the notice
    await lan.text("đã khắc phục")
    complaint = await play.bot.services.complaint(1)
    assert complaint is not None and complaint.state is State.CONFIRMED
