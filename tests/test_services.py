"""The use cases on a real database (SQLite and PostgreSQL) with no channel
at all: what a Zalo channel would drive with typed answers only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.services import Reply, Services
from bot.config import PostgresUrl
from bot.domain.authz import Actor, Refusal
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, State, replay
from bot.domain.conversation import (
    ChoiceAnswer,
    LocationAnswer,
    OtherAnswer,
    PhotoAnswer,
    TextAnswer,
)
from bot.domain.orgchart import OrgChart
from storage.engines import Storage, opened
from tests.engines import rows

pytestmark = pytest.mark.both_engines


def keys(reply: Reply | None) -> list[str]:
    assert reply is not None
    return [n.key for n in reply.notes]


async def resident(services: Services, n: int = 1) -> Actor:
    return await services.identify("zalo", f"r{n}", f"Resident {n}")


async def staff(services: Services, staff_id: str) -> Actor:
    """Bind a chat account to a staff record, as the org import does."""
    actor = await services.identify("zalo", f"s-{staff_id}", staff_id)
    await services.store.bind_staff(staff_id, actor.person_id, services.now())
    return await services.identify("zalo", f"s-{staff_id}", staff_id)


async def typed(services: Services, actor: Actor, *answers: str) -> Reply:
    reply: Reply | None = None
    for answer in answers:
        reply = await services.answer(actor, TextAnswer(answer))
        assert reply is not None, f"no conversation for {answer!r}"
    assert reply is not None
    return reply


async def file_by_typing(
    services: Services, actor: Actor, family: str = "2", category: str = "rac khong duoc thu gom"
) -> Reply:
    await services.start_report(actor)
    reply = await typed(
        services, actor, family, category, "to dan pho 3", "1", "Rác để 3 ngày chưa ai thu", "1"
    )
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.review"
    return await typed(services, actor, "gui")


async def test_a_report_typed_without_buttons_or_diacritics(services: Services) -> None:
    an = await resident(services)
    reply = await services.start_report(an)
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_family"
    # "2" picks the second numbered choice: sanitation.
    reply = await typed(services, an, "2")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_category"
    reply = await typed(services, an, "rac khong duoc thu gom")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_ward", "two wards in the example"
    # Both wards have a "Tổ dân phố 3": the resident picks one from the matches.
    reply = await typed(services, an, "to dan pho 3")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_place_matches"
    labels = [c.label for c in reply.prompt.choices if isinstance(c.label, str)]
    assert labels == ["Tổ dân phố 3 (Phường Hồng Hải)", "Tổ dân phố 3 (Phường Bạch Đằng)"]
    reply = await typed(services, an, "1")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_description"
    reply = await typed(services, an, "Rác để 3 ngày chưa ai thu")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_photos"
    reply = await typed(services, an, "xong")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.review"
    assert reply.prompt.question.params["area"] == "Tổ dân phố 3, Phường Hồng Hải"
    reply = await typed(services, an, "gui")
    assert keys(reply) == [], "the receipt goes through the outbox"
    assert reply.complaint is not None
    assert reply.complaint.code == "PA-000001"
    assert reply.complaint.owner == "cb-hh-mt"
    assert not await services.has_conversation(an)


async def test_a_category_typed_at_the_first_question(services: Services) -> None:
    an = await resident(services)
    await services.start_report(an)
    reply = await typed(services, an, "lan chiem via he")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_ward"


async def test_deadline_is_the_category_resolve_time(
    services: Services, clock: ManualClock, chart: OrgChart
) -> None:
    reply = await file_by_typing(services, await resident(services))
    assert reply.complaint is not None
    days = chart.categories["RKTG"].resolve_days
    assert reply.complaint.due_at == clock.now() + timedelta(days=days)


async def test_the_whole_loop_and_its_history(services: Services, storage: Storage) -> None:
    an = await resident(services)
    filed = (await file_by_typing(services, an)).complaint
    assert filed is not None
    owner = await staff(services, filed.owner)

    reply = await services.acknowledge(owner, filed.id)
    assert keys(reply) == ["task.acknowledged"]
    await services.begin(owner, filed.id, Action.RESOLVE)
    reply = await typed(services, owner, "Đã thu gom xong")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "resolve.ask_photo"
    after = await services.media.keep(b"after.jpg")
    reply = await services.answer(owner, PhotoAnswer(after)) or Reply()
    assert keys(reply) == ["task.resolved"]

    reply = await services.begin(an, filed.id, Action.DISPUTE)
    assert reply.prompt is not None
    reply = await typed(services, an, "Vẫn còn một đống ở góc ngõ")
    assert keys(reply) == ["resident.reopened"]
    current = await services.complaint(filed.id)
    assert current is not None
    assert current.state is State.REOPENED
    assert current.owner == filed.owner, "reopened to the same owner"

    await services.begin(owner, filed.id, Action.RESOLVE)
    await typed(services, owner, "Đã dọn nốt", "bo qua")
    reply = await services.confirm_fixed(an, filed.id)
    assert keys(reply) == ["resident.thanks_confirmed"]
    assert reply.prompt is not None
    reply = await typed(services, an, "5")
    assert keys(reply) == ["rate.thanks"]

    final = await services.complaint(filed.id)
    assert final is not None
    assert (final.state, final.rating) == (State.CONFIRMED, 5)
    events = await services.store.events_of(filed.id)
    assert replay(events) is final.state
    assert [e.action for e in events] == [
        Action.FILE,
        Action.ACKNOWLEDGE,
        Action.RESOLVE,
        Action.DISPUTE,
        Action.RESOLVE,
        Action.CONFIRM,
        Action.RATE,
    ]
    kinds = [r[0] for r in await rows(storage, "SELECT kind FROM outbox ORDER BY id")]
    assert kinds[:2] == ["resident_update", "task_assigned"], "the receipt, then the task"
    assert "task_reopened" in kinds
    assert kinds.count("resident_update") == 4  # filed, acknowledged, resolved twice


async def test_refusals_change_nothing(services: Services) -> None:
    an = await resident(services, 1)
    other = await resident(services, 2)
    filed = (await file_by_typing(services, an)).complaint
    assert filed is not None
    wrong_cadre = await staff(services, "cb-hh-dc1")
    other_ward_leader = await staff(services, "ld-bd-ct")

    assert (await services.acknowledge(other, filed.id)).refused is Refusal.NOT_FOUND
    assert (await services.acknowledge(wrong_cadre, filed.id)).refused is Refusal.NOT_ALLOWED
    assert (await services.acknowledge(other_ward_leader, filed.id)).refused is (
        Refusal.NOT_ALLOWED
    )
    assert (await services.confirm_fixed(an, filed.id)).refused is Refusal.WRONG_STATE
    assert (await services.acknowledge(other, 999)).refused is Refusal.NOT_FOUND
    assert (await services.withdraw(other, filed.code)).refused is Refusal.NOT_FOUND
    unchanged = await services.complaint(filed.id)
    assert unchanged is not None
    assert (unchanged.state, unchanged.version) == (State.SUBMITTED, filed.version)


async def test_the_ward_leader_may_act_for_the_ward(services: Services) -> None:
    filed = (await file_by_typing(services, await resident(services))).complaint
    assert filed is not None
    leader = await staff(services, "ld-hh-ct")
    assert keys(await services.acknowledge(leader, filed.id)) == ["task.acknowledged"]
    tasks = await services.tasks(leader)
    assert [t.id for t in tasks] == [filed.id]


async def test_transfer_to_another_group_reroutes(services: Services) -> None:
    an = await resident(services)
    await services.start_report(an)
    await typed(
        services, an, "1", "xay dung khong phep", "to dan pho 2", "1", "Nhà xây lấn ngõ", "1"
    )
    filed = (await typed(services, an, "1")).complaint
    assert filed is not None
    assert filed.owner == "cb-hh-dc1"
    owner = await staff(services, "cb-hh-dc1")
    await services.begin(owner, filed.id, Action.TRANSFER)
    reply = await typed(services, owner, "1", "to dan pho 7")
    assert keys(reply) == ["task.transferred"]
    moved = await services.complaint(filed.id)
    assert moved is not None
    assert (moved.owner, moved.area, moved.state) == ("cb-hh-dc2", "HH-TDP07", State.SUBMITTED)
    assert moved.due_at == filed.due_at, "a transfer keeps the deadline"


async def test_transfer_with_only_a_reason_goes_to_the_ward_leader(services: Services) -> None:
    filed = (await file_by_typing(services, await resident(services))).complaint
    assert filed is not None
    owner = await staff(services, filed.owner)
    await services.begin(owner, filed.id, Action.TRANSFER)
    reply = await typed(services, owner, "3", "Điểm này thuộc dự án của thành phố")
    assert keys(reply) == ["task.transferred"]
    moved = await services.complaint(filed.id)
    assert moved is not None
    assert moved.owner == "ld-hh-ct"


async def test_reject_needs_a_reason_and_counts_apart(services: Services) -> None:
    filed = (await file_by_typing(services, await resident(services))).complaint
    assert filed is not None
    owner = await staff(services, filed.owner)
    await services.begin(owner, filed.id, Action.REJECT)
    reply = await typed(services, owner, "3")  # abusive: a reason in words
    assert reply.prompt is not None
    assert reply.prompt.question.key == "reject.ask_reason"
    reply = await typed(services, owner, "   ")
    assert keys(reply) == ["conv.empty_text"]
    reply = await typed(services, owner, "Lời lẽ xúc phạm")
    assert keys(reply) == ["task.rejected"]
    rejected = await services.complaint(filed.id)
    assert rejected is not None
    assert rejected.state is State.REJECTED
    assert rejected.resolved_at is None


async def test_withdraw_only_before_resolution(services: Services) -> None:
    an = await resident(services)
    filed = (await file_by_typing(services, an)).complaint
    assert filed is not None
    reply = await services.withdraw(an, filed.code.lower().replace("-", ""))
    assert reply.prompt is not None and reply.prompt.question.key == "withdraw.ask_confirm"
    assert keys(await typed(services, an, "rút lại")) == ["resident.withdrawn"]
    again = await services.withdraw(an, filed.code)
    assert again.refused is Refusal.WRONG_STATE


async def test_bad_input_at_every_step_is_answered_and_keeps_the_draft(
    services: Services,
) -> None:
    an = await resident(services)
    await services.start_report(an)
    assert keys(await typed(services, an, "xyz không có")) == ["conv.no_match"]
    assert keys(await typed(services, an, "99")) == ["conv.no_match"]
    reply = await services.answer(an, OtherAnswer("sticker"))
    assert keys(reply) == ["conv.unsupported_media", "conv.pick_one"]
    await typed(services, an, "2", "1")
    reply = await services.answer(an, LocationAnswer(lat=21.03, lon=105.85))
    assert keys(reply) == ["report.location_outside"]
    reply = await typed(services, an, "Gần chợ Hạ Long 1")
    assert keys(reply) == ["report.landmark_kept"]
    await typed(services, an, "Phường Hồng Hải", "to dan pho 2")
    assert keys(await typed(services, an, "")) == ["conv.empty_text"]
    reply = await typed(services, an, "x" * 2001)
    assert keys(reply) == ["conv.too_long"]
    reply = await services.answer(an, OtherAnswer("voice"))
    assert keys(reply) == ["conv.unsupported_media", "report.ask_description_again"]
    await typed(services, an, "Rác tràn ra đường")
    reply = await services.answer(an, OtherAnswer("sticker"))
    assert keys(reply) == ["conv.unsupported_media", "report.photos_hint"]
    for n in range(6):
        reply = await services.answer(an, PhotoAnswer(await services.media.keep(f"p{n}".encode())))
    assert keys(reply) == ["report.photo_limit"]
    filed = (await typed(services, an, "xong", "gui")).complaint
    assert filed is not None
    assert filed.landmark == "Gần chợ Hạ Long 1"
    assert filed.area == "HH-TDP02"
    assert len(filed.photos) == 5


async def test_a_long_paste_split_into_parts_is_refused_whole(services: Services) -> None:
    """Telegram splits 10,000 characters into 4096 + 4096 + 1808; the short
    tail must not be taken as the description."""
    an = await resident(services)
    await services.start_report(an)
    await typed(services, an, "2", "1", "Phường Hồng Hải", "to dan pho 2")
    at = services.now()
    parts = ["a" * 4096, "b" * 4096, "c" * 1808]
    notes = []
    for i, part in enumerate(parts):
        reply = await services.answer(an, TextAnswer(part, message_id=100 + i, sent_at=at))
        notes += keys(reply)
    assert notes == ["conv.too_long", "conv.split_part_ignored", "conv.split_part_ignored"]
    prompt = await services.current_prompt(an)
    assert prompt is not None
    assert prompt.question.key == "report.ask_description"
    reply = await services.answer(
        an, TextAnswer("Rác tràn", message_id=110, sent_at=at + timedelta(minutes=1))
    )
    assert reply is not None
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_photos"


async def test_stale_choice_is_refused_and_the_question_repeated(services: Services) -> None:
    an = await resident(services)
    first = await services.start_report(an)
    assert first.prompt is not None
    await typed(services, an, "2")
    reply = await services.answer(an, ChoiceAnswer(first.prompt.seq, "urban_order"))
    assert keys(reply) == ["conv.stale_button"]
    assert reply is not None
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_category"
    forged = await services.answer(an, ChoiceAnswer(reply.prompt.seq, "NOT-A-CATEGORY"))
    assert keys(forged) == ["conv.stale_button"]


async def test_a_draft_survives_a_restart(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    async with opened(where) as storage:
        first = Services(storage.store, clock)
        await first.import_org(chart)
        an = await resident(first)
        await first.start_report(an)
        await typed(first, an, "2", "1", "Phường Hồng Hải", "to dan pho 2", "Rác tràn ra đường")

    async with opened(where) as reopened:
        second = Services(reopened.store, clock)
        await second.load_org()
        prompt = await second.current_prompt(an)
        assert prompt is not None
        assert prompt.question.key == "report.ask_photos"
        filed = (await typed(second, an, "xong", "gui")).complaint
        assert filed is not None
        assert filed.description == "Rác tràn ra đường"


async def test_busy_with_a_draft_a_button_elsewhere_loses_nothing(services: Services) -> None:
    """A cadre in the middle of their own report presses "Report resolved"
    on a task: the draft is kept and the question repeated."""
    filed = (await file_by_typing(services, await resident(services))).complaint
    assert filed is not None
    owner = await staff(services, filed.owner)
    await services.start_report(owner)
    await typed(services, owner, "2")
    reply = await services.begin(owner, filed.id, Action.RESOLVE)
    assert keys(reply) == ["conv.busy"]
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_category"


async def test_conduct_report_about_leadership_goes_to_the_city(services: Services) -> None:
    an = await resident(services)
    await services.start_report(an)
    reply = await typed(services, an, "3", "nhung nhieu")
    assert reply.prompt is not None
    assert reply.prompt.question.key == "report.ask_leadership"
    await typed(services, an, "co", "Phường Hồng Hải", "to dan pho 1", "Cán bộ đòi tiền", "xong")
    filed = (await typed(services, an, "gui")).complaint
    assert filed is not None
    assert filed.owner == "ld-tp-bt"
    assert filed.concerns_leadership
    ward_leader = await staff(services, "ld-hh-ct")
    # The leader it concerns learns no more than a stranger: "not found".
    assert (await services.acknowledge(ward_leader, filed.id)).refused is Refusal.NOT_FOUND


async def test_status_of_someone_elses_code_reads_not_found(services: Services) -> None:
    filed = (await file_by_typing(services, await resident(services, 1))).complaint
    assert filed is not None
    assert await services.find_own(await resident(services, 1), filed.code) is not None
    assert await services.find_own(await resident(services, 2), filed.code) is None
    assert await services.find_own(await resident(services, 2), "PA-999999") is None


@pytest.mark.parametrize("answer", ["huy", "cancel", "Hủy"])
async def test_cancel_typed_in_any_form(services: Services, answer: str) -> None:
    an = await resident(services)
    await services.start_report(an)
    reply = await typed(services, an, answer)
    assert keys(reply) == ["conv.cancelled"]
    assert not await services.has_conversation(an)


async def test_a_draft_whose_group_vanished_is_asked_again_keeping_the_text(
    services: Services, chart: OrgChart
) -> None:
    an = await resident(services)
    await services.start_report(an)
    await typed(services, an, "2", "1", "Phường Hồng Hải", "to dan pho 2", "Rác tràn", "xong")
    smaller = OrgChart(
        areas={k: v for k, v in chart.areas.items() if k != "HH-TDP02"},
        categories=chart.categories,
        staff=chart.staff,
        assignments={k: v for k, v in chart.assignments.items() if k[0] != "HH-TDP02"},
        family_defaults=chart.family_defaults,
        wards=chart.wards,
    )
    await services.import_org(smaller)
    reply = await typed(services, an, "gui")
    assert keys(reply) == ["report.draft_invalid"]
    await typed(services, an, "2", "1", "Phường Hồng Hải", "to dan pho 4")
    prompt = await services.current_prompt(an)
    assert prompt is not None
    assert prompt.question.key == "report.ask_photos", "the description is not asked again"
    filed = (await typed(services, an, "xong", "gui")).complaint
    assert filed is not None
    assert (filed.area, filed.description) == ("HH-TDP04", "Rác tràn")
