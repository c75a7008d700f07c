"""What to tell whom, channel-neutral: each kind of outbox row, for the
person it goes to, as the typed messages every channel renders its own way
(bot/app/notify.py) — the words from the catalogue, the choices from the
permission table, photos as the project's media, a place, a file.

Played on the use cases and real SQLite, with people on no channel in
particular (accounts named "zalo" here: nothing below knows a messenger)."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.digests import DIGEST, Digests, week_key_payload
from bot.app.notify import Composer, Room
from bot.app.outgoing import (
    CommandChoice,
    FileOut,
    LocationOut,
    Outgoing,
    PhotosOut,
    RefreshOut,
    TaskChoice,
    TextOut,
)
from bot.app.services import (
    REFRESH_BUTTONS,
    STAFF_UNREACHABLE,
    TASK_ASSIGNED,
    TASK_REOPENED,
    TO_OWNER,
    TO_RESIDENT,
    WARD_TRANSFER,
    Services,
)
from bot.app.sweep import BRIEFING, REMINDERS
from bot.domain import digest as d
from bot.domain.authz import Actor
from bot.domain.complaints import Action, Complaint
from bot.domain.conversation import LocationAnswer, PhotoAnswer, TextAnswer
from bot.domain.geo import centroid
from bot.domain.messages import text
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.ports import Notice
from bot.report.present import Presenter
from bot.report.text import digest_text, week_number
from storage.sqlite.db import Database
from storage.sqlite.digest import SqliteDigestStore
from tests.catalogue import says
from tests.test_services import resident, staff, typed

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PRESENT = Presenter(TZ)
CADRE = "cb-hh-mt"
WARD_CHAIR = "ld-hh-ct"
LANG = "vi"


@pytest.fixture
def composer(services: Services) -> Composer:
    return Composer(services, PRESENT, Room(4096))


async def take(
    services: Services, composer: Composer, kind: str, event: str | None = None
) -> list[tuple[Actor, list[Outgoing]]]:
    """Every row due (then marked sent), composed; those of ``kind`` (and
    ``event``) are returned with the actor each went to."""
    store = services.store
    later = services.now() + timedelta(days=30)  # rows held for the morning too
    out = []
    for item in await store.due_outbox(later, 500):
        await store.mark_sent(item.id, services.now())
        if item.kind != kind or (event is not None and item.payload.get("event") != event):
            continue
        assert item.recipient is not None
        actor = await services.actor_of_person(item.recipient)
        out.append((actor, await composer.compose(item, actor)))
    return out


async def one(
    services: Services, composer: Composer, kind: str, event: str | None = None
) -> list[Outgoing]:
    (composed,) = await take(services, composer, kind, event)
    return composed[1]


def flat_actions(message: TextOut | RefreshOut) -> list[tuple[Action, int]]:
    """The actions on complaints a message offers (not its commands)."""
    return [
        (c.action, c.complaint_id)
        for row in message.choices
        for c in row
        if isinstance(c, TaskChoice)
    ]


async def file_report(
    services: Services, an: Actor, *, photo: bytes | None = None, located: bool = False
) -> Complaint:
    """A sanitation report typed without buttons, in group 3 of Hồng Hải."""
    await services.start_report(an)
    await typed(services, an, "2", "rac khong duoc thu gom")
    if located:
        polygon = services.chart.areas["HH-TDP03"].polygon
        assert polygon is not None
        centre = centroid(polygon)
        await services.answer(an, LocationAnswer(centre.lat, centre.lon))
    else:
        await typed(services, an, "to dan pho 3", "1")
    await typed(services, an, "Rác để 3 ngày chưa ai thu")
    if photo is not None:
        await services.answer(an, PhotoAnswer(await services.media.keep(photo)))
    filed = (await typed(services, an, "xong", "gui")).complaint
    assert filed is not None
    return filed


async def test_a_task_card_brings_its_photos_its_place_and_the_owners_choices(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    an = await resident(services)
    filed = await file_report(services, an, photo=b"photo of the heap", located=True)
    (photos, pin, card) = await one(services, composer, TASK_ASSIGNED)

    assert isinstance(photos, PhotosOut) and photos.key == "photos"
    assert photos.media == tuple(p.media_id for p in filed.photos) and len(photos.media) == 1
    assert photos.caption == PRESENT.t(LANG, "task.photos_caption", code="PA-000001")

    assert isinstance(pin, LocationOut) and pin.key == "pin"
    assert filed.location is not None
    assert (pin.lat, pin.lon) == (filed.location.lat, filed.location.lon)
    assert pin.title == PRESENT.t(LANG, "task.pin_title", code="PA-000001")
    assert pin.address == services.chart.areas["HH-TDP03"].name

    assert isinstance(card, TextOut) and card.key == "text"
    header = text("task.new_header")
    assert card.body == PRESENT.task_card(LANG, services.chart, filed, header, photos=1)
    assert says(card.body, "task.card_photos", count=1), "the card says how many photos came"
    wanted = services.available_actions(cadre, filed, None)
    assert flat_actions(card) == [(a, filed.id) for a in wanted]
    assert all(len(row) <= 2 for row in card.choices)
    assert [c.label for row in card.choices for c in row] == [
        PRESENT.action(LANG, a) for a in wanted
    ]
    assert card.about == filed.id, "a channel that edits messages remembers where they are"


async def test_the_receipt_closes_the_question_and_offers_nothing(
    services: Services, composer: Composer
) -> None:
    await staff(services, CADRE)
    filed = await file_report(services, await resident(services))
    (receipt,) = await one(services, composer, TO_RESIDENT, "filed")
    assert isinstance(receipt, TextOut)
    assert "PA-000001" in receipt.body and filed.code in receipt.body
    assert receipt.closes_prompt and receipt.choices == () and receipt.about is None


async def test_a_resolution_brings_its_photo_and_the_residents_verdict(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    an = await resident(services)
    filed = await file_report(services, an)
    await services.acknowledge(cadre, filed.id)
    (acknowledged,) = await one(services, composer, TO_RESIDENT, "acknowledged")
    assert isinstance(acknowledged, TextOut) and acknowledged.choices == ()

    await services.begin(cadre, filed.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom xong")
    after = await services.media.keep(b"photo of the clean lane")
    await services.answer(cadre, PhotoAnswer(after))
    rows = await take(services, composer, TO_RESIDENT, "resolved")
    ((_, (photos, verdict)),) = rows
    assert isinstance(photos, PhotosOut) and photos.media == (after,)
    caption = PRESENT.t(LANG, "resident.resolution_photos_caption", code=filed.code)
    assert photos.caption == caption
    assert isinstance(verdict, TextOut)
    assert "Đã thu gom xong" in verdict.body
    assert flat_actions(verdict) == [(Action.CONFIRM, filed.id), (Action.DISPUTE, filed.id)]
    assert verdict.about == filed.id


async def test_the_owners_earlier_choices_are_redrawn_as_they_are_now(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    filed = await file_report(services, await resident(services))
    await services.begin(cadre, filed.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom xong", "bo qua")
    await services.store.enqueue(
        [Notice(REFRESH_BUTTONS, filed.id, staff_id=CADRE)], services.now()
    )
    refreshes = [m for _, ms in await take(services, composer, REFRESH_BUTTONS) for m in ms]
    assert refreshes, "the resolve itself asks for one"
    complaint = await services.complaint(filed.id)
    assert complaint is not None
    now = services.available_actions(cadre, complaint, await services.reporter_id(filed.id))
    for refresh in refreshes:
        assert isinstance(refresh, RefreshOut) and refresh.key == "refresh"
        assert refresh.complaint_id == filed.id
        assert flat_actions(refresh) == [(a, filed.id) for a in now]


async def test_a_reopened_task_brings_the_residents_new_photos_not_the_first_ones(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    an = await resident(services)
    filed = await file_report(services, an, photo=b"the first photo")
    await services.begin(cadre, filed.id, Action.RESOLVE)
    await typed(services, cadre, "Đã thu gom xong", "bo qua")
    await services.begin(an, filed.id, Action.DISPUTE)
    still = await services.media.keep(b"still a heap")
    await services.answer(an, PhotoAnswer(still))
    await typed(services, an, "Vẫn còn một đống")
    (photos, card) = await one(services, composer, TASK_REOPENED)
    assert isinstance(photos, PhotosOut) and photos.media == (still,)
    assert photos.caption == PRESENT.t(LANG, "task.dispute_photos_caption", code=filed.code)
    assert isinstance(card, TextOut) and "Vẫn còn một đống" in card.body
    assert (Action.ACKNOWLEDGE, filed.id) in flat_actions(card)


async def test_a_notice_written_before_photos_were_kept_still_brings_them(
    services: Services, composer: Composer
) -> None:
    await staff(services, CADRE)
    filed = await file_report(services, await resident(services))
    await take(services, composer, TASK_ASSIGNED)
    legacy = {"comment": "Vẫn còn", "photos": [["telegram", "AgAC-old"]]}
    await services.store.enqueue(
        [Notice(TASK_REOPENED, filed.id, staff_id=CADRE, payload=legacy)], services.now()
    )
    (photos, _) = await one(services, composer, TASK_REOPENED)
    kept = await services.media.known("telegram", "AgAC-old")
    assert isinstance(photos, PhotosOut) and photos.media == (kept,)
    assert await services.media.refs([kept or 0], "telegram") == {kept: "AgAC-old"}


async def test_a_question_to_the_resident_and_their_answer_with_a_photo(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    an = await resident(services)
    filed = await file_report(services, an)
    await services.begin(cadre, filed.id, Action.ASK_INFO)
    await typed(services, cadre, "Đống rác ở đầu hay cuối ngõ?")
    (question,) = await one(services, composer, TO_RESIDENT, "info_requested")
    assert isinstance(question, TextOut)
    assert "Đống rác ở đầu hay cuối ngõ?" in question.body
    assert flat_actions(question) == [(Action.ANSWER_INFO, filed.id)]

    await services.begin_info_reply(an, filed.id)
    where = await services.media.keep(b"the end of the lane")
    await services.answer(an, PhotoAnswer(where))
    await typed(services, an, "Cuối ngõ")
    (photos, answer) = await one(services, composer, TO_OWNER, "info_answered")
    assert isinstance(photos, PhotosOut) and photos.media == (where,)
    assert photos.caption == PRESENT.t(LANG, "task.info_photos_caption", code=filed.code)
    assert isinstance(answer, TextOut) and "Cuối ngõ" in answer.body


async def test_reminders_list_what_fits_count_the_rest_and_name_each_choice(
    services: Services, composer: Composer
) -> None:
    cadre = await staff(services, CADRE)
    filed = [await file_report(services, await resident(services, n)) for n in range(1, 4)]
    await take(services, composer, TASK_ASSIGNED)
    items = [{"id": c.id, "due": "ack_reminder", "level": 0} for c in filed]
    await services.store.enqueue(
        [Notice(REMINDERS, staff_id=CADRE, payload={"items": items})], services.now()
    )
    (reminder,) = await one(services, composer, REMINDERS)
    assert isinstance(reminder, TextOut)
    assert reminder.body.startswith(PRESENT.t(LANG, "reminder.header"))
    assert all(c.code in reminder.body for c in filed)
    assert flat_actions(reminder) == [(Action.ACKNOWLEDGE, c.id) for c in filed]
    for row, complaint in zip(reminder.choices, filed, strict=True):
        assert [c.complaint_id for c in row] == [complaint.id]
        assert row[0].action is Action.ACKNOWLEDGE
        assert row[0].label == f"{PRESENT.action(LANG, Action.ACKNOWLEDGE)} {complaint.code}"
    assert reminder.about is None, "about several complaints"

    # A channel whose messages hold less: the list is cut at a line, the rest counted.
    head = PRESENT.t(LANG, "reminder.header")
    line = len(reminder.body.split("\n")[1])
    small = Composer(services, PRESENT, Room(len(head) + 2 * (line + 1) + 120))
    await services.store.enqueue(
        [Notice(REMINDERS, staff_id=CADRE, payload={"items": items})], services.now()
    )
    (item,) = await services.store.due_outbox(services.now(), 10)
    (cut,) = await small.compose(item, cadre)
    assert isinstance(cut, TextOut)
    assert filed[1].code in cut.body and filed[2].code not in cut.body
    assert cut.body.endswith(PRESENT.t(LANG, "reminder.more", count=1))
    assert len(cut.choices) == 2, "choices only for the tasks shown"


async def test_a_briefing_lists_the_open_tasks(services: Services, composer: Composer) -> None:
    await staff(services, CADRE)
    filed = await file_report(services, await resident(services))
    await services.store.enqueue(
        [Notice(BRIEFING, staff_id=CADRE, payload={"ids": [filed.id]})], services.now()
    )
    (briefing,) = await one(services, composer, BRIEFING)
    assert isinstance(briefing, TextOut) and briefing.choices == ()
    line = PRESENT.task_line(LANG, services.chart, filed, services.now())
    assert briefing.body.endswith(line)


async def test_owners_changed_tells_the_leader_why_and_offers_reassign(
    services: Services, composer: Composer
) -> None:
    await staff(services, CADRE)
    leader = await staff(services, WARD_CHAIR)
    filed = await file_report(services, await resident(services))
    payload = {
        "items": [{"id": filed.id, "staff": CADRE, "why": "blocked", "to": WARD_CHAIR}],
        "events": [{"staff": "cb-hh-dc1", "why": "joined"}],
    }
    await services.store.enqueue(
        [Notice("owners_changed", filed.id, staff_id=WARD_CHAIR, payload=payload)],
        services.now(),
    )
    (told,) = await one(services, composer, "owners_changed")
    assert isinstance(told, TextOut)
    cadre_name = services.chart.staff[CADRE].name
    assert PRESENT.t(LANG, "owners.why_blocked", name=cadre_name) in told.body
    assert filed.code in told.body
    joined = PRESENT.t(LANG, "owners.why_joined", name=services.chart.staff["cb-hh-dc1"].name)
    assert joined in told.body
    complaint = await services.complaint(filed.id)
    assert complaint is not None
    may = Action.REASSIGN in services.available_actions(leader, complaint, None)
    assert flat_actions(told) == ([(Action.REASSIGN, filed.id)] if may else [])


async def test_someone_back_gets_one_list_of_what_they_hold(
    services: Services, composer: Composer
) -> None:
    await staff(services, CADRE)
    filed = await file_report(services, await resident(services))
    await services.store.enqueue([Notice("open_summary", staff_id=CADRE)], services.now())
    (summary,) = await one(services, composer, "open_summary")
    assert isinstance(summary, TextOut)
    assert filed.code in summary.body
    assert flat_actions(summary) == [(Action.ACKNOWLEDGE, filed.id)]
    details = [c for row in summary.choices for c in row if isinstance(c, CommandChoice)]
    assert [(c.command, c.args) for c in details] == [("status", (filed.code,))], "and its details"


async def test_the_short_notices_to_leaders_and_staff(
    services: Services, composer: Composer
) -> None:
    await staff(services, WARD_CHAIR)
    filed = await file_report(services, await resident(services))
    cadre_name = services.chart.staff[CADRE].name
    cases = [
        (Notice(STAFF_UNREACHABLE, staff_id=WARD_CHAIR, payload={"staff": CADRE}),
         PRESENT.t(LANG, "notify.staff_unreachable", name=cadre_name)),
        (Notice(STAFF_UNREACHABLE, staff_id=WARD_CHAIR,
                payload={"staff": CADRE, "undeliverable": True, "code": filed.code}),
         PRESENT.t(LANG, "notify.undeliverable", name=cadre_name, code=filed.code)),
        (Notice(STAFF_UNREACHABLE, staff_id=WARD_CHAIR, payload={"undeliverable": True}),
         PRESENT.t(LANG, "notify.undeliverable_other",
                   name=PRESENT.t(LANG, "notify.the_reporter"))),
        (Notice("leader_note", staff_id=WARD_CHAIR,
                payload={"event": "account_rebound", "staff": cadre_name}),
         PRESENT.t(LANG, "notify.account_rebound", staff=cadre_name)),
    ]  # fmt: skip
    for notice, expected in cases:
        await take(services, composer, "none")
        await services.store.enqueue([notice], services.now())
        (said,) = await one(services, composer, notice.kind)
        assert said == TextOut("text", expected)

    payload = {"from_ward": "HONGHAI", "to_ward": "BACHDANG", "by": CADRE}
    await services.store.enqueue(
        [Notice(WARD_TRANSFER, filed.id, staff_id=WARD_CHAIR, payload=payload)], services.now()
    )
    (moved,) = await one(services, composer, WARD_TRANSFER)
    assert isinstance(moved, TextOut)
    assert filed.code in moved.body and cadre_name in moved.body
    assert says(moved.body, "notify.ward_transfer", to_ward=services.chart.areas["BACHDANG"].name)


async def test_the_digest_is_its_text_then_its_chart_drawn_when_sent(
    services: Services, db: Database, chart: OrgChart
) -> None:
    digests = Digests(SqliteDigestStore(db), services)
    await staff(services, WARD_CHAIR)
    await file_report(services, await resident(services))
    composer = Composer(services, PRESENT, Room(4096), digests)
    week = digests.last_week()
    scope = digests.scope_for(await staff(services, WARD_CHAIR))
    assert scope is not None
    payload = week_key_payload(week, None, scope)
    await services.store.enqueue(
        [Notice(DIGEST, staff_id=WARD_CHAIR, payload=payload)], services.now()
    )
    (body, picture) = await one(services, composer, DIGEST)
    built: d.Digest = await digests.build(scope, week)
    assert body == TextOut("digest", digest_text(built, chart, LANG, digests.tz))
    assert isinstance(picture, FileOut) and picture.key == "chart"
    assert picture.filename == f"digest-{week.key}.png" and picture.mime == "image/png"
    number, year = week_number(week)
    assert picture.caption == t(LANG, "digest.chart_caption", number=number, year=year)
    assert (await picture.content()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_nothing_is_said_about_what_was_handled_meanwhile(
    services: Services, composer: Composer, caplog: pytest.LogCaptureFixture
) -> None:
    await staff(services, CADRE)
    an = await resident(services)
    filed = await file_report(services, an)
    await services.withdraw(an, filed.code)
    await services.answer(an, TextAnswer("rút"))  # confirmed
    closed = await services.complaint(filed.id)
    assert closed is not None and not closed.state.is_open
    await take(services, composer, "none")
    reminder = {"items": [{"id": filed.id, "due": "ack_reminder", "level": 0}]}
    for notice in (
        Notice(REMINDERS, staff_id=CADRE, payload=reminder),
        Notice(BRIEFING, staff_id=CADRE, payload={"ids": [filed.id]}),
        Notice(TO_RESIDENT, filed.id, person_id=an.person_id, payload={"event": "confirm_again"}),
        Notice("no_such_kind", filed.id, staff_id=CADRE),
    ):
        await services.store.enqueue([notice], services.now())
        with caplog.at_level(logging.ERROR):
            assert await one(services, composer, notice.kind) == [], notice.kind
    assert "unknown kind no_such_kind" in caplog.text
