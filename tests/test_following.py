"""Following instead of filing again (issue 17), through the use cases on a
real database, on both engines: the reports a review shows (250 m, 30 days,
open, the same problem, never about an official, never one's own; by group
without a pin), following one, what a follower hears and may do, the count
on the cadre's card, and a duplicate rejected turning its reporter into a
follower.  The channels' side is in tests/test_following_channels.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app.services import Reply, Services
from bot.domain import digest as d
from bot.domain.authz import Actor, Refusal
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, Complaint, State
from bot.domain.conversation import ChoiceAnswer, LocationAnswer, Prompt
from bot.domain.messages import Text
from bot.ports import Store
from tests.test_services import keys, resident, staff, typed

pytestmark = pytest.mark.both_engines

# Inside Tổ dân phố 1 of Hồng Hải (examples/org.yaml), and points north of it.
HERE = (20.9530, 107.0815)
METRES_PER_DEGREE = 111_000.0


def north(metres: float) -> tuple[float, float]:
    return (HERE[0] + metres / METRES_PER_DEGREE, HERE[1])


async def to_review(
    services: Services,
    actor: Actor,
    *,
    at: tuple[float, float] | None = None,
    category: str = "rac khong duoc thu gom",
    family: str = "2",
    group: str = "to dan pho 1",
) -> Reply:
    """A report up to its review: a pin, or a group typed by name."""
    await services.start_report(actor)
    asked = await typed(services, actor, family, category)
    if asked.prompt is not None and asked.prompt.question.key == "report.ask_leadership":
        await typed(services, actor, "khong")
    if at is not None:
        reply = await services.answer(actor, LocationAnswer(lat=at[0], lon=at[1]))
    else:
        reply = await typed(services, actor, group)
        if reply.prompt is not None and reply.prompt.question.key == "report.ask_place_matches":
            reply = await typed(services, actor, "1")
    assert reply is not None and reply.prompt is not None
    if reply.prompt.question.key == "report.ask_landmark":
        reply = await typed(services, actor, "bo qua")
    reply = await typed(services, actor, "Rác để 3 ngày chưa ai thu, gọi 0912 345 678")
    reply = await typed(services, actor, "xong")
    assert reply.prompt is not None and reply.prompt.question.key == "report.review"
    return reply


async def file_at(services: Services, actor: Actor, **where: Any) -> Complaint:
    await to_review(services, actor, **where)
    filed = await typed(services, actor, "gui")
    assert filed.complaint is not None
    return filed.complaint


def offered(prompt: Prompt | None) -> list[int]:
    """The ids of the reports the review offers to follow, in order."""
    assert prompt is not None
    return [int(c.key[1:]) for c in prompt.choices if c.key.startswith("f")]


def nearby_lines(prompt: Prompt | None) -> list[Text]:
    assert prompt is not None
    block = prompt.question.params["nearby"]
    return list(block.params["items"].items) if isinstance(block, Text) else []


# ---- the store's contract ----------------------------------------------------------------------


async def test_the_follower_store_keeps_followers_once_and_never_the_reporter(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh, chi = [await resident(services, n) for n in (1, 2, 3)]
    first = await file_at(services, an, at=HERE)
    now = clock.now()
    assert await store.follow(first.id, binh.person_id, now, show_name=True)
    assert not await store.follow(first.id, binh.person_id, now, show_name=False), "once"
    assert not await store.follow(first.id, an.person_id, now, show_name=True), "the reporter"
    clock.advance(timedelta(minutes=1))
    assert await store.follow(first.id, chi.person_id, clock.now(), show_name=False)
    assert await store.followers_of(first.id) == [binh.person_id, chi.person_id]
    assert await store.follower_counts([first.id, 999]) == {first.id: 2}
    assert await store.follower_names(first.id) == ["Resident 2"], "only who allowed it"
    assert [c.id for c in await store.followed_by(binh.person_id)] == [first.id]
    assert await store.reporter_of(first.id) == an.person_id
    assert await store.reports_since(binh.person_id, now - timedelta(hours=1)) == 0
    assert await store.unfollow(first.id, binh.person_id)
    assert not await store.unfollow(first.id, binh.person_id)
    assert not await store.unfollow(first.id, an.person_id), "a reporter never stops"
    assert await store.followers_of(first.id) == [chi.person_id]


async def test_the_store_finds_open_reports_by_box_or_group_but_the_persons_own(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    pinned = await file_at(services, an, at=HERE)
    grouped = await file_at(services, an, group="to dan pho 5")
    since = clock.now() - timedelta(days=30)
    box = (HERE[0] - 0.01, HERE[0] + 0.01, HERE[1] - 0.01, HERE[1] + 0.01)
    found = await store.open_alike("RKTG", since, binh.person_id, box=box)
    assert [c.id for c in found] == [pinned.id]
    by_group = await store.open_alike("RKTG", since, binh.person_id, area=grouped.area)
    assert [c.id for c in by_group] == [grouped.id]
    assert await store.open_alike("RKTG", since, an.person_id, box=box) == [], "one's own"
    assert await store.open_alike("RTPT", since, binh.person_id, box=box) == []
    later = clock.now() + timedelta(seconds=1)
    assert await store.open_alike("RKTG", later, binh.person_id, box=box) == []


# ---- what the review shows ---------------------------------------------------------------------


async def test_the_review_shows_an_open_report_of_the_same_problem_nearby_and_follows_it(
    services: Services, store: Store
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    first = await file_at(services, an, at=HERE)
    review = await to_review(services, binh, at=north(120))
    assert offered(review.prompt) == [first.id]
    [line] = nearby_lines(review.prompt)
    assert line.key == "report.nearby_item"
    assert line.params["code"] == first.code
    assert "0912" not in line.params["line"], "contacts masked, as published"
    assert line.params["state"] == Text("state.submitted")
    assert line.params["where"] == Text("report.nearby_metres", {"metres": 120})
    assert review.prompt is not None
    assert review.prompt.choices[0].label == Text("report.confirm_anyway")
    followed = await services.answer(binh, ChoiceAnswer(review.prompt.seq, f"f{first.id}"))
    assert keys(followed) == ["follow.started"]
    assert await store.followers_of(first.id) == [binh.person_id]
    assert await store.load_conversation(binh.person_id) is None, "the draft ended"
    assert len(await store.all_complaints()) == 1, "nothing filed twice"


@pytest.mark.parametrize(
    ("why", "metres", "days", "category", "family"),
    [
        ("past 250 m", 280, 0, "rac khong duoc thu gom", "2"),
        ("older than 30 days", 50, 31, "rac khong duoc thu gom", "2"),
        ("another problem", 50, 0, "do rac", "2"),
    ],
)
async def test_the_review_shows_nothing_too_far_too_old_or_of_another_problem(
    services: Services,
    clock: ManualClock,
    why: str,
    metres: float,
    days: int,
    category: str,
    family: str,
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    await file_at(services, an, at=HERE)
    clock.advance(timedelta(days=days))
    review = await to_review(services, binh, at=north(metres), category=category, family=family)
    assert offered(review.prompt) == [], why
    assert nearby_lines(review.prompt) == []
    assert review.prompt is not None
    assert review.prompt.choices[0].label == Text("report.confirm")


async def test_the_review_shows_no_closed_report_no_conduct_report_and_not_ones_own(
    services: Services, store: Store
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    closed = await file_at(services, an, at=HERE)
    await services.withdraw(an, closed.code)
    await typed(services, an, "1")
    assert (await store.get_complaint(closed.id)).state is State.WITHDRAWN  # type: ignore[union-attr]
    conduct = await file_at(services, an, at=HERE, family="3", category="thai do")
    assert conduct.family.value == "official_conduct"
    review = await to_review(services, binh, at=HERE, family="3", category="thai do")
    assert offered(review.prompt) == [], "a report about an official is never shown"
    await typed(services, binh, "gui")
    own = await file_at(services, binh, at=HERE)
    review = await to_review(services, binh, at=north(10))
    assert offered(review.prompt) == [], "not one's own"
    review = await to_review(services, an, at=north(10))
    assert offered(review.prompt) == [own.id], "the withdrawn one is not shown"


async def test_without_a_pin_the_same_group_is_shown_newest_first_at_most_three(
    services: Services, clock: ManualClock
) -> None:
    people = [await resident(services, n) for n in range(1, 6)]
    filed = []
    for person in people[:4]:
        filed.append(await file_at(services, person, group="to dan pho 5"))
        clock.advance(timedelta(hours=1))
    await file_at(services, people[0], group="to dan pho 6")
    review = await to_review(services, people[4], group="to dan pho 5")
    assert offered(review.prompt) == [c.id for c in reversed(filed)][:3]
    assert [line.params["where"] for line in nearby_lines(review.prompt)] == [
        Text("report.nearby_group")
    ] * 3


async def test_a_report_closed_meanwhile_is_not_followed_and_the_draft_stays(
    services: Services, store: Store
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    first = await file_at(services, an, at=HERE)
    review = await to_review(services, binh, at=north(50))
    assert offered(review.prompt) == [first.id]
    await services.withdraw(an, first.code)
    await typed(services, an, "1")
    assert review.prompt is not None
    reply = await services.answer(binh, ChoiceAnswer(review.prompt.seq, f"f{first.id}"))
    assert keys(reply) == ["follow.gone"]
    assert reply is not None and reply.prompt is not None
    assert reply.prompt.question.key == "report.review"
    assert offered(reply.prompt) == []
    assert await store.followers_of(first.id) == []
    filed = await typed(services, binh, "gui")
    assert filed.complaint is not None, "the draft was kept: nothing lost"


async def test_a_forged_follow_of_a_report_not_offered_changes_nothing(
    services: Services, store: Store
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    far = await file_at(services, an, at=north(900))
    review = await to_review(services, binh, at=HERE)
    assert review.prompt is not None and offered(review.prompt) == []
    reply = await services.answer(binh, ChoiceAnswer(review.prompt.seq, f"f{far.id}"))
    assert keys(reply) == ["conv.stale_button"]
    assert await store.followers_of(far.id) == []
    assert (await typed(services, binh, "gui")).complaint is not None


# ---- a follower hears and answers ---------------------------------------------------------------


async def follow_first(
    services: Services, at: tuple[float, float] = HERE
) -> tuple[Actor, Actor, Complaint]:
    an, binh = await resident(services, 1), await resident(services, 2)
    first = await file_at(services, an, at=at)
    review = await to_review(services, binh, at=at)
    assert review.prompt is not None
    await services.answer(binh, ChoiceAnswer(review.prompt.seq, f"f{first.id}"))
    return an, binh, first


async def outbox_for(store: Store, person_id: int, clock: ManualClock) -> list[dict[str, Any]]:
    due = await store.due_outbox(clock.now() + timedelta(days=400), 500)
    return [
        dict(item.payload)
        for item in due
        if item.recipient is not None and item.recipient.id == person_id
    ]


async def test_a_follower_gets_the_resolve_notice_and_their_not_fixed_reopens_it(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh, first = await follow_first(services)
    cadre = await staff(services, first.owner)
    await services.acknowledge(cadre, first.id)
    await services.begin(cadre, first.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom", "bo qua")
    events = [p.get("event") for p in await outbox_for(store, binh.person_id, clock)]
    assert events == ["acknowledged", "resolved"]
    assert all(p.get("follower") for p in await outbox_for(store, binh.person_id, clock))
    assert [p.get("event") for p in await outbox_for(store, an.person_id, clock)] == [
        "filed",
        "acknowledged",
        "resolved",
    ]
    # Binh says "fixed" first: noted, not closed — the reporter decides.
    assert keys(await services.confirm_fixed(binh, first.id)) == ["follow.confirm_noted"]
    assert (await store.get_complaint(first.id)).state is State.RESOLVED  # type: ignore[union-attr]
    # Then "not fixed": the first from anyone reopens it, and the reporter hears.
    await services.begin(binh, first.id, Action.DISPUTE)
    reply = await typed(services, binh, "Vẫn còn rác")
    assert keys(reply) == ["resident.reopened"]
    assert (await store.get_complaint(first.id)).state is State.REOPENED  # type: ignore[union-attr]
    told = [p.get("event") for p in await outbox_for(store, an.person_id, clock)]
    assert told[-1] == "reopened_by_other"


async def test_a_followers_fixed_said_twice_is_noted_once_and_told_the_owner_once(
    services: Services, store: Store, clock: ManualClock
) -> None:
    _, binh, first = await follow_first(services)
    cadre = await staff(services, first.owner)
    await services.begin(cadre, first.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom", "bo qua")
    for _ in range(2):
        assert keys(await services.confirm_fixed(binh, first.id)) == ["follow.confirm_noted"]
    actions = [e.action for e in await store.events_of(first.id)]
    assert actions.count(Action.FOLLOWER_CONFIRM) == 1
    noted = await store.get_complaint(first.id)
    assert noted is not None and noted.follower_confirmed_at == clock.now()
    due = await store.due_outbox(clock.now() + timedelta(days=400), 500)
    owner_told = [i for i in due if i.payload.get("event") == "follower_confirmed"]
    assert len(owner_told) == 1


async def test_two_followers_saying_fixed_at_once_are_both_noted_and_recorded_once(
    services: Services, store: Store
) -> None:
    _, binh, first = await follow_first(services)
    cuong = await resident(services, 3)
    review = await to_review(services, cuong, at=HERE)
    assert review.prompt is not None
    await services.answer(cuong, ChoiceAnswer(review.prompt.seq, f"f{first.id}"))
    cadre = await staff(services, first.owner)
    await services.begin(cadre, first.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom", "bo qua")
    replies = await asyncio.gather(
        services.confirm_fixed(binh, first.id), services.confirm_fixed(cuong, first.id)
    )
    assert [keys(r) for r in replies] == [["follow.confirm_noted"]] * 2
    actions = [e.action for e in await store.events_of(first.id)]
    assert actions.count(Action.FOLLOWER_CONFIRM) == 1


async def test_the_reporters_confirm_closes_it_and_followers_hear_so(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh, first = await follow_first(services)
    cadre = await staff(services, first.owner)
    await services.begin(cadre, first.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom", "bo qua")
    reply = await services.confirm_fixed(an, first.id)
    assert keys(reply)[0] == "resident.thanks_confirmed"
    assert (await store.get_complaint(first.id)).state is State.CONFIRMED  # type: ignore[union-attr]
    told = [p.get("event") for p in await outbox_for(store, binh.person_id, clock)]
    assert told[-1] == "confirmed_by_reporter"
    # Too late for anyone's "not fixed": it is closed.
    refused = await services.begin(binh, first.id, Action.DISPUTE)
    assert refused.refused is Refusal.WRONG_STATE


async def test_mine_lists_what_one_follows_and_unfollow_stops_the_notices(
    services: Services, store: Store, clock: ManualClock
) -> None:
    _, binh, first = await follow_first(services)
    assert [c.id for c in await services.followed(binh)] == [first.id]
    assert keys(await services.unfollow(binh, first.code)) == ["follow.stopped"]
    assert keys(await services.unfollow(binh, first.code)) == ["follow.not_following"]
    cadre = await staff(services, first.owner)
    before = len(await outbox_for(store, binh.person_id, clock))
    await services.acknowledge(cadre, first.id)
    assert len(await outbox_for(store, binh.person_id, clock)) == before


async def test_the_card_counts_followers_and_names_only_those_who_allowed_it(
    services: Services, store: Store
) -> None:
    an, _, first = await follow_first(services)  # Binh did not allow the name (default)
    chi = await resident(services, 3)
    review = await to_review(services, chi, at=HERE)
    assert review.prompt is not None
    await typed(services, chi, "cho can bo biet ten toi")
    prompt = await services.current_prompt(chi)
    assert prompt is not None
    await services.answer(chi, ChoiceAnswer(prompt.seq, f"f{first.id}"))
    cadre = await staff(services, first.owner)
    complaint = await store.get_complaint(first.id)
    assert complaint is not None
    assert len(await services.followers(first.id)) == 2
    assert await services.follower_names_for(cadre, complaint) == ["Resident 3"]
    assert await services.follower_names_for(an, complaint) == [], "a resident sees none"


# ---- a duplicate rejected --------------------------------------------------------------------


async def test_a_duplicate_rejected_turns_its_reporter_and_followers_into_followers(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    chi = await resident(services, 3)
    original = await file_at(services, an, at=HERE)
    # Binh did not see it (2 km away on the map, in another group), filed again.
    again = await file_at(services, binh, group="to dan pho 5")
    await store.follow(again.id, chi.person_id, clock.now(), show_name=False)
    cadre = await staff(services, again.owner)
    await services.begin(cadre, again.id, Action.REJECT)
    reply = await typed(services, cadre, "trung", original.code)
    assert keys(reply) == ["task.merged"]
    assert await store.followers_of(original.id) == [binh.person_id, chi.person_id]
    assert await store.followers_of(again.id) == []
    assert (await store.get_complaint(again.id)).state is State.REJECTED  # type: ignore[union-attr]
    for person in (binh, chi):
        [told] = [p for p in await outbox_for(store, person.person_id, clock) if p.get("original")]
        assert told["following"] and told["original"] == str(original.id)


@pytest.mark.parametrize("which", ["unknown", "closed", "other_ward"])
async def test_a_duplicate_of_a_bad_original_is_asked_again_and_nothing_lost(
    services: Services, store: Store, which: str
) -> None:
    an, binh = await resident(services, 1), await resident(services, 2)
    original = await file_at(services, an, at=HERE)
    if which == "closed":
        await services.withdraw(an, original.code)
        await typed(services, an, "1")
    if which == "other_ward":
        original = await file_at(services, an, at=(20.953, 107.068))  # Bạch Đằng
    again = await file_at(services, binh, group="to dan pho 5")
    cadre = await staff(services, again.owner)
    await services.begin(cadre, again.id, Action.REJECT)
    code = "PA-999999" if which == "unknown" else original.code
    reply = await typed(services, cadre, "trung", code)
    expected = "reject.original_closed" if which == "closed" else "reject.original_unknown"
    assert keys(reply)[0] == expected
    assert reply.prompt is not None and reply.prompt.question.key == "reject.ask_original"
    assert (await store.get_complaint(again.id)).state is State.SUBMITTED  # type: ignore[union-attr]
    assert await store.followers_of(original.id) == []


# ---- counted in the digest's hotspots ----------------------------------------------------------


def test_followers_weigh_in_the_hotspots_and_are_counted_there() -> None:
    """Two reports of one problem in one group are no hotspot; with a
    neighbour following one of them, three residents reported it: it is."""
    at = datetime(2026, 11, 20, tzinfo=UTC)
    two = [d.Sighting(n, "RKTG", "HH-TDP03", at, True) for n in (1, 2)]
    assert d.hotspots(two) == []
    followed = [two[0], d.Sighting(2, "RKTG", "HH-TDP03", at, True, followers=1)]
    [hotspot] = d.hotspots(followed)
    assert (hotspot.count, hotspot.residents) == (2, 3)


# ---- privacy -----------------------------------------------------------------------------------


async def test_a_followers_data_holds_what_they_follow_not_the_others_report(
    services: Services, store: Store, clock: ManualClock
) -> None:
    an, binh, first = await follow_first(services)
    data = await store.person_data(binh.person_id)
    assert data["complaints"] == [], "another resident's report (and phone) is not theirs"
    assert [row["complaint_id"] for row in data["following"]] == [first.id]
    await store.forget_person(binh.person_id, clock.now())
    assert await store.followers_of(first.id) == [], "/forget ends what they follow"
    assert await store.reporter_of(first.id) == an.person_id


async def test_a_conduct_report_rejected_as_a_duplicate_makes_no_follower(
    services: Services, store: Store
) -> None:
    """A name its reporter let the leaders see must not reach a cadre
    through another report: across the line, nobody is made a follower."""
    an, binh = await resident(services, 1), await resident(services, 2)
    first = await file_at(services, an, at=HERE, family="3", category="thai do")
    again = await file_at(services, binh, at=HERE, family="3", category="thai do")
    leader = await staff(services, again.owner)
    await services.begin(leader, again.id, Action.REJECT)
    reply = await typed(services, leader, "trung", first.code)
    assert keys(reply) == ["task.rejected"]
    assert await store.followers_of(first.id) == []
