"""Every Zalo update, in each shape the sources describe, reads into one typed event; a broken
one is refused with a message that names the field and never the person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.zalo import FakeZaloApi, FakeZaloGroup, FakeZaloUser
from handlers.zalo.updates import EventKind, IncomingEvent, MalformedUpdate, parse_update
from tests.conftest import START

# The documentation's own sample: `from.first_name`, not `display_name`; extra fields.
DOC_SAMPLE: dict[str, Any] = {
    "ok": True,
    "result": {
        "message": {
            "from": {"id": "6ede9afa66b88fe6d6a9", "is_bot": False, "first_name": "Ly Nguyen"},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "2d758cb5e1a2f5fbacb4",
            "date": 1750316131602,
            "message_type": "CHAT_MESSAGE",
        },
        "event_name": "message.text.received",
        "app_id": "unexpected but harmless",
    },
}


@pytest.fixture
def api() -> FakeZaloApi:
    return FakeZaloApi(clock=ManualClock(START))


@pytest.fixture
def an(api: FakeZaloApi) -> FakeZaloUser:
    return FakeZaloUser(api, "Nguyễn Văn An")


def test_the_documentation_sample_reads_with_first_name_and_milliseconds() -> None:
    event = parse_update(DOC_SAMPLE)

    assert event == IncomingEvent(
        kind=EventKind.TEXT,
        event_name="message.text.received",
        sender_id="6ede9afa66b88fe6d6a9",
        sender_name="Ly Nguyen",
        chat_id="6ede9afa66b88fe6d6a9",
        is_group=False,
        message_id="2d758cb5e1a2f5fbacb4",
        sent_at=datetime(2025, 6, 19, 6, 55, 31, 602000, tzinfo=UTC),
        text="Xin chào",
    )
    assert event.sent_at.tzinfo is UTC


def test_bare_and_enveloped_updates_read_the_same(an: FakeZaloUser) -> None:
    update = an.text("Rác ở ngõ 5")
    assert parse_update(update) == parse_update({"ok": True, "result": update})


def test_a_text_from_the_fake_user(an: FakeZaloUser) -> None:
    event = parse_update(an.text("Rác ở ngõ 5"))

    assert event.kind is EventKind.TEXT
    assert (event.text, event.sender_name, event.sender_id) == (
        "Rác ở ngõ 5",
        "Nguyễn Văn An",
        an.user_id,
    )
    assert event.chat_id == an.user_id and not event.is_group
    assert event.sent_at == START  # milliseconds, not seconds


def test_a_photo_with_its_url_and_caption(api: FakeZaloApi, an: FakeZaloUser) -> None:
    update = an.image(caption="ổ gà")
    event = parse_update(update)

    assert event.kind is EventKind.PHOTO
    assert event.photo_url == update["message"]["photo"]
    assert event.photo_url is not None and api.media_bytes(event.photo_url) is not None
    assert event.caption == "ổ gà" and event.text is None


def test_a_photo_under_photo_url_and_without_caption(api: FakeZaloApi) -> None:
    chi = FakeZaloUser(api, "Trần Thị Bình", photo_field="photo_url")
    event = parse_update(chi.image())

    assert event.kind is EventKind.PHOTO
    assert event.photo_url is not None and event.photo_url.startswith("https://")
    assert event.caption is None


def test_the_sender_name_may_be_first_name(api: FakeZaloApi) -> None:
    ly = FakeZaloUser(api, "Lý Thị Hoa", name_field="first_name")
    update = ly.text("chào")
    assert "display_name" not in update["message"]["from"]
    assert parse_update(update).sender_name == "Lý Thị Hoa"


def test_a_nameless_sender_reads_as_an_empty_name(an: FakeZaloUser) -> None:
    update = an.text("chào")
    del update["message"]["from"]["display_name"]
    assert parse_update(update).sender_name == ""


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda u: u.sticker(), EventKind.STICKER),
        (lambda u: u.voice(), EventKind.VOICE),
        (lambda u: u.unsupported(), EventKind.UNSUPPORTED),
    ],
)
def test_stickers_voice_and_unsupported_messages_have_their_kind(
    an: FakeZaloUser, build: Any, kind: EventKind
) -> None:
    event = parse_update(build(an))
    assert event.kind is kind
    assert event.message_id is not None
    assert (event.text, event.photo_url, event.caption) == (None, None, None)


def test_a_follow_needs_no_message_id(an: FakeZaloUser) -> None:
    event = parse_update(an.follow())
    assert event.kind is EventKind.FOLLOW
    assert event.message_id is None and event.sender_id == an.user_id


def test_an_unfollow_is_known(an: FakeZaloUser) -> None:
    event = parse_update(an.unfollow())
    assert event.kind is EventKind.UNFOLLOW and event.message_id is None


def test_an_unknown_event_is_read_not_refused(an: FakeZaloUser) -> None:
    update = an.text("x")
    update["event_name"] = "message.location.received"
    event = parse_update(update)
    assert event.kind is EventKind.UNKNOWN and event.event_name == "message.location.received"
    assert event.text is None


def test_a_group_message_says_so(api: FakeZaloApi, an: FakeZaloUser) -> None:
    group = FakeZaloGroup(api)
    event = parse_update(an.text("chào cả nhà", group=group))
    assert event.is_group and event.chat_id == group.group_id and event.sender_id == an.user_id


def test_unexpected_fields_are_ignored(an: FakeZaloUser) -> None:
    update = an.image(caption="x")
    update["message"].update(message_type="IMAGE", sticker_id="s", attachments=[{"a": 1}])
    update["message"]["from"]["avatar"] = "https://example.org/a.jpg"
    update["message"]["chat"]["extra"] = {"nested": True}
    update["recipient"] = {"id": "bot"}
    assert parse_update(update) == parse_update(an.updates[-1])


def test_numeric_ids_and_a_numeric_string_date_are_accepted(an: FakeZaloUser) -> None:
    update = an.text("x")
    update["message"]["from"]["id"] = 12345
    update["message"]["chat"]["id"] = 12345
    update["message"]["date"] = str(update["message"]["date"] + 1)
    event = parse_update(update)
    assert (event.sender_id, event.chat_id) == ("12345", "12345")
    assert event.sent_at == START + timedelta(milliseconds=1)


# ---- malformed updates --------------------------------------------------------------------------

NAME = "Nguyễn Văn An"
WORDS = "số nhà 12 ngõ 5, 0912345678"


def _base() -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "u1", "display_name": NAME},
            "chat": {"id": "u1", "chat_type": "PRIVATE"},
            "text": WORDS,
            "message_id": "m1",
            "date": 1750316131602,
        },
    }


def _without(path: str) -> dict[str, Any]:
    update = _base()
    *parents, last = path.split(".")
    target = update
    for key in parents:
        target = target[key]
    del target[last]
    return update


def _with(path: str, value: object) -> dict[str, Any]:
    update = _base()
    *parents, last = path.split(".")
    target = update
    for key in parents:
        target = target[key]
    target[last] = value
    return update


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([_base()], "not a JSON object"),
        ({"ok": False, "result": _base(), "description": NAME}, "ok"),
        ({"ok": True, "result": [WORDS]}, "result"),
        (_without("event_name"), "event_name"),
        (_with("event_name", 7), "event_name"),
        (_without("message"), "message"),
        (_without("message.from"), "message.from"),
        (_without("message.from.id"), "message.from.id"),
        (_with("message.from.id", True), "message.from.id"),
        (_with("message.chat", NAME), "message.chat"),
        (_with("message.chat.id", "  "), "message.chat.id"),
        (_without("message.message_id"), "message.message_id"),
        (_without("message.date"), "message.date"),
        (_with("message.date", 1750316131.602), "message.date"),
        (_with("message.date", -1), "message.date"),
        (_with("message.date", 10**20), "message.date"),
        (_with("message.text", None), "message.text"),
        ({**_base(), "event_name": "message.image.received"}, "message.photo"),
        (
            _with("message.photo", f"file:///home/{NAME}.jpg")
            | {"event_name": "message.image.received"},
            "message.photo",
        ),
    ],
)
def test_a_malformed_update_names_the_field_and_no_personal_data(raw: object, field: str) -> None:
    with pytest.raises(MalformedUpdate) as caught:
        parse_update(raw)

    message = str(caught.value)
    assert field in message
    for secret in (NAME, WORDS, "u1", "m1", "0912345678"):
        assert secret not in message
