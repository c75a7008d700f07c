"""/forget removes a resident's contact details from every copy the bot
keeps — free text included — and the erased bytes are gone from the
database file and its WAL, read here byte by byte."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.redact import MASK, mask_contacts, mask_in
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, file_sanitation_report, joined

PHONE_IN_DESCRIPTION = "0912 345 678"
PHONE = "0987.654.321"
EMAIL = "xuyen.dang@example.com"
CCCD = "001234567890"
SECRETS = (PHONE_IN_DESCRIPTION, PHONE, EMAIL, CCCD, "Xuyến Đặng")


def raw_bytes(db_path: Path) -> bytes:
    """The database file and its WAL as they lie on the disk."""
    wal = Path(f"{db_path}-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def found_in(data: bytes) -> set[str]:
    forms = {secret: (secret.encode(), json.dumps(secret)[1:-1].encode()) for secret in SECRETS}
    return {secret for secret, encoded in forms.items() if any(e in data for e in encoded)}


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Gọi 0912 345 678 nhé", f"Gọi {MASK} nhé"),
        ("số +84 912.345.678", f"số {MASK}"),
        ("máy bàn (024) 3825 1234", f"máy bàn ({MASK}"),
        ("0912345678", MASK),
        ("email xuyen.dang@example.com.", f"email {MASK}."),
        ("CCCD 001234567890, CMND 123456789", f"CCCD {MASK}, CMND {MASK}"),
        ("ngày 12/03/2026 lúc 7:30, ngõ 12 số 34", "ngày 12/03/2026 lúc 7:30, ngõ 12 số 34"),
        ("phạt 1.500.000 đồng, PA-000123", "phạt 1.500.000 đồng, PA-000123"),
    ],
)
def test_contact_details_are_masked_and_nothing_else(typed: str, kept: str) -> None:
    assert mask_contacts(typed) == kept


def test_masking_reaches_into_stored_data_and_keeps_its_shape() -> None:
    payload = {"event": "info_answered", "answer": f"gọi {PHONE}", "photos": [["t", "AgAC1"]]}
    assert mask_in(payload) == {
        "event": "info_answered",
        "answer": f"gọi {MASK}",
        "photos": [["t", "AgAC1"]],
    }


async def test_forget_leaves_no_contact_details_in_the_database_or_its_wal(
    bot: BotDriver, where: Path
) -> None:
    """The phone number a resident typed in answer to the cadre's question
    stayed in the outbox payload and in the event note after /forget."""
    db_path = where
    xuyen = bot.user(501, "Xuyến", last_name="Đặng")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await file_sanitation_report(
        bot, xuyen, description=f"Rác tràn ngõ 12, ai cần gọi {PHONE_IN_DESCRIPTION}"
    )
    await bot.press(cadre, "h:1")
    await bot.send(cadre.text("Chị cho xin số để tổ liên hệ?"))
    await bot.press(xuyen, "i:1")
    sent = await bot.send(xuyen.text(f"Gọi em {PHONE}, email {EMAIL}, CCCD {CCCD}"))
    assert PHONE in joined(sent), "the answer reached the cadre"
    assert found_in(raw_bytes(db_path)) == set(SECRETS), "stored before: the check can fail"

    await bot.send(xuyen.command("forget"))
    sent = await bot.press(xuyen, "forget")
    assert says(joined(sent), "privacy.forgotten")

    assert found_in(raw_bytes(db_path)) == set()
    complaint = await bot.services.complaint(1)
    assert complaint is not None
    assert complaint.description == f"Rác tràn ngõ 12, ai cần gọi {MASK}", "the rest stays"
    notes = [e.note for e in await bot.services.store.events_of(1) if e.note]
    assert f"Gọi em {MASK}, email {MASK}, CCCD {MASK}" in notes
    assert "Chị cho xin số để tổ liên hệ?" in notes, "the cadre's own words are kept"
    rows = await bot.services.store.db.conn.execute_fetchall("SELECT payload FROM outbox")
    assert any(f"Gọi em {MASK}" in json.loads(row[0]).get("answer", "") for row in rows)


async def test_an_old_or_forged_erase_button_erases_nothing(bot: BotDriver) -> None:
    """Erasing cannot be undone: the button under a /forget warning read
    long ago (a tap while scrolling, days later), or "forget" forged onto
    another message, erases nothing and says how to erase on purpose."""
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    await bot.send(an.command("forget"))
    warning, data = bot.find_button(501, r"^forget$")
    greeting = (await bot.send(an.command("start")))[0]
    for message_id, sent_at in ((greeting.message_id, None), (warning.message_id, 0)):
        if sent_at is not None:  # the warning as Telegram dates it: a day before
            bot.api._messages[(501, message_id)].raw["date"] = int(
                (bot.services.now() - timedelta(days=1)).timestamp()
            )
        before = len(bot.api.callback_answers)
        await bot.send(an.press_raw(data, message_id))
        answer = list(bot.api.callback_answers.values())[before:]
        assert says(str(answer[0].get("text")), "privacy.forget_stale"), message_id
        actor = await bot.services.identify("telegram", "501", "An")
        assert await bot.services.my_complaints(actor) != [], "nothing was erased"
    await bot.send(an.command("forget"))
    sent = await bot.press(an, "forget")
    assert says(joined(sent), "privacy.forgotten")
