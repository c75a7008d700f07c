"""Photos are the project's own: kept once when they arrive (downloaded from
Telegram, stored with their SHA-256), sent to Telegram by the file id it
knows them by or uploaded (the file id it hands back kept for next time),
old photos known only by a Telegram file id still delivered, the expiring
signed links another channel fetches them by, and /forget erasing them.
On both engines (tests/engines.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.media import (
    MEDIA_PATH,
    MediaLinks,
    media_secret,
    signed_path,
    sniff,
    verify,
)
from bot.app.services import TASK_ASSIGNED, Services
from bot.config import ConfigError, Secret, Settings
from bot.domain.clock import ManualClock
from bot.domain.conversation import PhotoAnswer
from bot.domain.orgchart import OrgChart
from bot.ports import Notice
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import UploadedFile, placeholder_jpeg
from storage.sqlite.db import Database, available_migrations, utc_text
from tests.catalogue import says
from tests.engines import fetch
from tests.factories import (
    ENVIRONMENT_CADRE,
    file_sanitation_report,
    joined,
    load_chart,
    started_bot,
)
from tests.test_privacy import raw_bytes
from tests.test_services import typed

pytestmark = pytest.mark.both_engines

SECRET = b"k" * 32
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def media_rows(bot: BotDriver) -> list[tuple[int, str | None, int]]:
    """(id, sha256, size) of every media row, read behind the store's back."""
    return await fetch(bot.services.store.db, "SELECT id, sha256, size FROM media ORDER BY id")


async def kept_bytes(bot: BotDriver, db_path: Path) -> bytes:
    """What the database keeps: on SQLite the file and its WAL as they lie on
    the disk; on PostgreSQL every media row's bytes as the server serves
    them (an erased row's old version stays in the table's files until
    VACUUM reuses the space: README, "Running for a city")."""
    if isinstance(bot.services.store.db, Database):  # type: ignore[attr-defined]
        return raw_bytes(db_path)
    return b"".join(
        c for (c,) in await fetch(bot.services.store.db, "SELECT content FROM media") if c
    )


def photo_file_id(update: dict[str, object]) -> str:
    message = update["message"]
    assert isinstance(message, dict)
    file_id: str = message["photo"][-1]["file_id"]
    return file_id


async def report_with_photo(bot: BotDriver, update: dict[str, object], user_id: int) -> None:
    """A sanitation report by buttons with the photo ``update`` in it."""
    user = bot.users[user_id]
    await bot.send(user.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(user, key)
    await bot.send(user.text("Rác tràn ngõ 12"))
    await bot.send(update)
    await bot.choose(user, "d")
    await bot.choose(user, "ok")


# ---- a photo arriving on Telegram ---------------------------------------------------------------


async def test_a_telegram_photo_is_downloaded_once_and_kept_with_its_hash(
    bot: BotDriver, tmp_path: Path
) -> None:
    an = bot.user(501, "An")
    first = an.photo()
    file_id = photo_file_id(first)
    await report_with_photo(bot, first, 501)
    content = bot.api.file_content(file_id)
    assert len(bot.api.calls_to("getFile")) == 1
    ((media_id, sha, size),) = await media_rows(bot)
    assert sha == hashlib.sha256(content).hexdigest() and size == len(content)
    stored = await bot.services.media.content(media_id)
    assert stored is not None and stored.content == content and stored.mime == "image/jpeg"
    assert await bot.services.media.refs([media_id], "telegram") == {media_id: file_id}

    # The same photo again (a second report with it): not downloaded again.
    await report_with_photo(bot, an.photo(file_id), 501)
    assert len(bot.api.calls_to("getFile")) == 1
    assert len(await media_rows(bot)) == 1
    second = await bot.services.complaint(2)
    assert second is not None and [p.media_id for p in second.photos] == [media_id]


async def test_the_same_bytes_under_two_file_ids_are_stored_once(
    bot: BotDriver, tmp_path: Path
) -> None:
    same = placeholder_jpeg("one photo, forwarded")
    bot.api.put_file("AgAC-first", same)
    bot.api.put_file("AgAC-again", same)
    an = bot.user(501, "An")
    await report_with_photo(bot, an.photo("AgAC-first"), 501)
    await report_with_photo(bot, an.photo("AgAC-again"), 501)
    assert len(bot.api.calls_to("getFile")) == 2, "two file ids: each fetched"
    ((media_id, sha, _),) = await media_rows(bot)
    assert sha == hashlib.sha256(same).hexdigest()
    assert await bot.services.media.known("telegram", "AgAC-first") == media_id
    assert await bot.services.media.known("telegram", "AgAC-again") == media_id


async def test_different_photos_stay_apart_in_an_album(bot: BotDriver, tmp_path: Path) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn ngõ 12"))
    album = [an.photo(media_group_id="g1") for _ in range(3)]
    for update in album:
        await bot.send(update)
    await bot.choose(an, "d")
    sent = await bot.choose(an, "ok")
    assert len(await media_rows(bot)) == 3
    (to_cadre,) = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE and m.kind != "text"][:1]
    group = [m for m in sent if m.media_group_id == to_cadre.media_group_id]
    assert [m.media[0] for m in group] == [photo_file_id(u) for u in album]


async def test_a_photo_that_cannot_be_downloaded_still_reaches_the_cadre(
    bot: BotDriver, tmp_path: Path
) -> None:
    """Telegram refuses the download (a file over 20 MB, say): the photo is
    kept by its file id alone, and the cadre still gets it."""
    bot.api.fail_next("getFile", error_code=400, description="Bad Request: file is too big")
    an = bot.user(501, "An")
    update = an.photo()
    await report_with_photo(bot, update, 501)
    ((media_id, sha, _),) = await media_rows(bot)
    assert sha is None, "no bytes kept"
    photos = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if m.kind == "photo"]
    assert [m.media for m in photos] == [[photo_file_id(update)]]
    assert await bot.services.media.content(media_id) is None


# ---- a photo kept as bytes (as a Zalo photo will be) ---------------------------------------------


async def zalo_report(bot: BotDriver, *photos: bytes) -> int:
    """A resident on another channel reports with photos kept as bytes (no
    Telegram file id yet); returns the complaint's id."""
    services = bot.services
    an = await services.identify("zalo", "z-501", "An")
    await services.start_report(an)
    await typed(services, an, "2", "rac khong duoc thu gom", "to dan pho 3", "1", "Rác tràn")
    for content in photos:
        await services.answer(an, PhotoAnswer(await services.media.keep(content)))
    filed = (await typed(services, an, "xong", "gui")).complaint
    assert filed is not None
    return filed.id


async def test_a_photo_kept_as_bytes_reaches_a_telegram_cadre_uploaded_then_by_file_id(
    bot: BotDriver,
) -> None:
    content = placeholder_jpeg("a photo taken on Zalo")
    complaint_id = await zalo_report(bot, content)
    await bot.flush()
    (upload,) = bot.api.calls_to("sendPhoto")
    assert isinstance(upload.params["photo"], UploadedFile)
    assert upload.params["photo"].content == content
    (photo,) = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if m.kind == "photo"]
    assert "PA-000001" in (photo.text or ""), "the caption names the complaint"
    complaint = await bot.services.complaint(complaint_id)
    assert complaint is not None
    media_id = complaint.photos[0].media_id
    assert await bot.services.media.refs([media_id], "telegram") == {media_id: photo.media[0]}

    # The next time (the card sent again): the file id Telegram gave, no upload.
    await bot.services.store.enqueue(
        [Notice(TASK_ASSIGNED, complaint_id=complaint_id, staff_id="cb-hh-mt")], bot.services.now()
    )
    await bot.flush()
    again = bot.api.calls_to("sendPhoto")[-1]
    assert again.params["photo"] == photo.media[0]
    assert len(bot.api.calls_to("sendPhoto")) == 2


async def test_an_album_kept_as_bytes_is_uploaded_and_each_file_id_kept(bot: BotDriver) -> None:
    contents = [placeholder_jpeg(f"photo {n}") for n in range(3)]
    complaint_id = await zalo_report(bot, *contents)
    await bot.flush()
    (call,) = bot.api.calls_to("sendMediaGroup")
    album = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if m.kind == "media_group_photo"]
    assert [bot.api.file_content(m.media[0]) for m in album] == contents
    complaint = await bot.services.complaint(complaint_id)
    assert complaint is not None
    ids = [p.media_id for p in complaint.photos]
    refs = await bot.services.media.refs(ids, "telegram")
    assert [refs[i] for i in ids] == [m.media[0] for m in album]
    assert call.status == 200


# ---- photos kept before: a Telegram file id alone ----------------------------------------------


async def test_an_old_complaint_with_only_a_telegram_file_id_still_reaches_a_telegram_cadre(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """A database from before photos were kept: its photos are Telegram
    file ids.  After the upgrade the cadre still gets them, by file id —
    nothing downloaded, nothing uploaded."""
    db_path = tmp_path / "bot.db"
    before = next(m.version for m in available_migrations() if m.name == "media") - 1
    db = await Database.open(db_path, migrate=False)
    await db.migrate(target=before)
    at = utc_text(clock.now())
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO complaints (category, family, area, ward, state, owner, description,"
            " created_at, due_at) VALUES ('RKTG', 'sanitation', 'HH-TDP03', 'HONGHAI',"
            " 'submitted', 'cb-hh-mt', 'Rác tràn ngõ', ?, ?)",
            (at, at),
        )
        for n, ref in enumerate(("AgAC-old-1", "AgAC-old-2", "forgotten")):
            await conn.execute(
                "INSERT INTO complaint_photos (complaint_id, kind, channel, file_ref, position)"
                " VALUES (1, ?, 'telegram', ?, ?)",
                ("report" if n < 2 else "dispute", ref, n),
            )
    await db.close()
    # The upgrade, then the chart imported (with today's columns).
    await load_chart(db_path, chart)

    async with started_bot(db_path, clock) as bot:
        for ref in ("AgAC-old-1", "AgAC-old-2"):
            bot.api.put_file(ref)
        complaint = await bot.services.complaint(1)
        assert complaint is not None and len(complaint.photos) == 2
        await bot.services.store.enqueue(
            [Notice(TASK_ASSIGNED, complaint_id=1, staff_id="cb-hh-mt")], bot.services.now()
        )
        await bot.flush()
        album = [m for m in bot.api.messages_to(ENVIRONMENT_CADRE) if m.kind != "text"]
        assert [m.media for m in album] == [["AgAC-old-1"], ["AgAC-old-2"]]
        (call,) = bot.api.calls_to("sendMediaGroup")
        assert [item["media"] for item in call.params["media"]] == ["AgAC-old-1", "AgAC-old-2"]
        assert bot.api.calls_to("getFile") == []
        assert [sha for _, sha, _ in await media_rows(bot)] == [None, None]


async def test_a_notice_queued_before_the_upgrade_brings_its_photos(bot: BotDriver) -> None:
    """An outbox row written before photos were kept carries [channel, file
    id] pairs: its photos still go, by those file ids."""
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    bot.api.put_file("AgAC-disputed")
    await bot.services.store.enqueue(
        [
            Notice(
                "task_reopened",
                complaint_id=1,
                staff_id="cb-hh-mt",
                payload={"comment": "Vẫn còn", "photos": [["telegram", "AgAC-disputed"]]},
            )
        ],
        bot.services.now(),
    )
    sent = await bot.flush()
    photos = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE and m.kind == "photo"]
    assert [m.media for m in photos] == [["AgAC-disputed"]]


# ---- links for channels that fetch photos by URL -----------------------------------------------


def test_a_signed_link_works_until_it_expires_and_not_after() -> None:
    expires = NOW + timedelta(hours=1)
    path = signed_path(42, expires, SECRET)
    assert path.startswith(MEDIA_PATH)
    assert verify(path, NOW, SECRET) == 42
    assert verify(path.removeprefix(MEDIA_PATH), NOW, SECRET) == 42, "the route's token alone"
    assert verify(path, expires - timedelta(seconds=1), SECRET) == 42
    assert verify(path, expires, SECRET) is None
    assert verify(path, expires + timedelta(days=1), SECRET) is None


def test_a_tampered_link_is_refused() -> None:
    path = signed_path(42, NOW + timedelta(hours=1), SECRET)
    media, expiry, signature = path.removeprefix(MEDIA_PATH).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for forged in (
        f"{MEDIA_PATH}43.{expiry}.{signature}",  # another photo
        f"{MEDIA_PATH}{media}.{int(expiry) + 86400}.{signature}",  # a longer life
        f"{MEDIA_PATH}{media}.{expiry}.{flipped}",
        f"{MEDIA_PATH}{media}.{expiry}",
        f"{MEDIA_PATH}{media}.{expiry}.{signature}x",
        f"{MEDIA_PATH}../{media}.{expiry}.{signature}",
        "",
    ):
        assert verify(forged, NOW, SECRET) is None, forged


def test_a_link_cannot_be_made_without_the_secret() -> None:
    """The signature is an HMAC-SHA256 of the photo and the expiry under the
    secret: another key's link is refused, and the links of two photos or
    two keys share nothing a guesser could use."""
    expires = NOW + timedelta(hours=1)
    path = signed_path(42, expires, SECRET)
    other_key = signed_path(42, expires, b"x" * 32)
    assert verify(other_key, NOW, SECRET) is None
    signatures = {
        signed_path(42, expires, SECRET).rsplit(".", 1)[1],
        signed_path(43, expires, SECRET).rsplit(".", 1)[1],
        other_key.rsplit(".", 1)[1],
    }
    assert len(signatures) == 3
    assert all(len(s) == 43 for s in signatures), "256 bits each"
    assert path == signed_path(42, expires, SECRET), "the same link for the same photo and time"


def test_the_media_secret_is_random_per_start_unless_set() -> None:
    assert media_secret("") == media_secret(""), "one per process"
    assert len(media_secret("")) == 32
    assert media_secret("s" * 32) == b"s" * 32
    with pytest.raises(ConfigError, match="media_secret"):
        Settings(media_secret=Secret("short"))


async def test_the_media_route_serves_a_kept_photo_only_by_a_valid_link(
    services: Services, clock: ManualClock
) -> None:
    content = placeholder_jpeg("served")
    media_id = await services.media.keep(content)
    handle_only = await services.media.handle_only("telegram", "AgAC-no-bytes")
    links = MediaLinks(services.store, clock, SECRET, "https://phananh.example.vn/")
    link = links.link(media_id)
    assert link.startswith("https://phananh.example.vn/media/")
    token = link.rsplit("/", 1)[1]
    assert await links.media_response(token) == (content, "image/jpeg")
    assert await links.media_response(links.link(handle_only).rsplit("/", 1)[1]) is None
    assert await links.media_response(token[:-1] + "x") is None
    clock.advance(links.lifetime)
    assert await links.media_response(token) is None, "expired"


def test_a_photo_s_type_is_read_from_its_bytes() -> None:
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\nrest", "image/jpeg") == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"not an image", "image/heic") == "image/heic"
    assert sniff(b"not an image") == "application/octet-stream"


# ---- /forget ------------------------------------------------------------------------------------


async def test_forget_erases_the_photos_a_resident_sent_with_not_fixed(
    bot: BotDriver, tmp_path: Path
) -> None:
    """The photos sent with "not fixed" are the resident's: /forget erases
    their bytes from the database file (a report's photo stays, as the
    report does)."""
    report_photo = placeholder_jpeg("REPORT-PHOTO-MARK")
    dispute_photo = placeholder_jpeg("DISPUTE-PHOTO-MARK")
    bot.api.put_file("AgAC-report", report_photo)
    bot.api.put_file("AgAC-dispute", dispute_photo)
    an = bot.user(501, "An")
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await report_with_photo(bot, an.photo("AgAC-report"), 501)
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    await bot.send(an.photo("AgAC-dispute"))
    await bot.send(an.text("Vẫn còn rác"))
    db_path = tmp_path / "bot.db"
    assert b"DISPUTE-PHOTO-MARK" in await kept_bytes(bot, db_path), "stored: the check can fail"

    await bot.send(an.command("forget"))
    await bot.press(an, "forget")
    data = await kept_bytes(bot, db_path)
    assert b"DISPUTE-PHOTO-MARK" not in data
    assert b"REPORT-PHOTO-MARK" in data
    assert await bot.services.media.known("telegram", "AgAC-dispute") is None


async def test_forget_keeps_the_same_bytes_someone_else_sent(bot: BotDriver) -> None:
    same = placeholder_jpeg("a photo two people sent")
    bot.api.put_file("AgAC-an", same)
    bot.api.put_file("AgAC-binh", same)
    an, binh = bot.user(501, "An"), bot.user(502, "Bình")
    await file_sanitation_report(bot, an)
    # Bình's draft holds the same bytes when An is forgotten.
    await bot.send(binh.command("new"))
    await bot.send(binh.photo("AgAC-binh"))
    cadre = bot.user(ENVIRONMENT_CADRE, "Thắng")
    await bot.press(cadre, "r:1")
    await bot.send(cadre.text("Đã thu gom"))
    await bot.choose(cadre, "s")
    await bot.press(an, "n:1")
    await bot.send(an.photo("AgAC-an"))
    await bot.send(an.text("Vẫn còn rác"))
    await bot.send(an.command("forget"))
    await bot.press(an, "forget")
    media_id = await bot.services.media.known("telegram", "AgAC-binh")
    assert media_id is not None
    stored = await bot.services.media.content(media_id)
    assert stored is not None and stored.content == same


async def test_a_photo_erased_while_its_notice_waited_is_left_out(bot: BotDriver) -> None:
    """A photo with neither bytes nor a Telegram file id (erased by /forget
    while the notice to the cadre waited): the notice goes without it."""
    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    kept = await bot.services.media.keep(placeholder_jpeg("kept"))
    erased = 10_000  # no such media any more
    for photos in ([erased], [erased, kept]):
        await bot.services.store.enqueue(
            [
                Notice(
                    "task_reopened",
                    complaint_id=1,
                    staff_id="cb-hh-mt",
                    payload={"comment": "Vẫn còn", "photos": photos},
                )
            ],
            bot.services.now(),
        )
        sent = await bot.flush()
        to_cadre = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE]
        expected = ["text"] if photos == [erased] else ["photo", "text"]
        assert [m.kind for m in to_cadre] == expected


async def test_a_photo_sent_as_a_file_reaches_the_cadre_as_a_photo(bot: BotDriver) -> None:
    """Telegram will not send a document's file id as a photo ("type of
    file mismatch"): a photo a resident sent "as file", uncompressed, must
    still reach the cadre, in the album with the others."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.send(an.photo())
    await bot.send(an.photo_as_document())
    await bot.send(an.text("Rác tràn ngõ 12"))
    await bot.choose(an, "RKTG")
    await bot.choose(an, "HONGHAI")
    await bot.choose(an, "HH-TDP03")
    sent = await bot.choose(an, "ok")
    album = [m for m in sent if m.chat_id == ENVIRONMENT_CADRE and m.kind == "media_group_photo"]
    assert len(album) == 2, "both photos reach the cadre"


async def test_a_file_that_is_not_a_photo_is_refused_and_the_draft_keeps_its_photos(
    bot: BotDriver,
) -> None:
    """A file that says it is an image but is not one (a PDF named .jpg, an
    empty file, an iPhone HEIC sent as a file) would reach nobody: the
    resident is told at once, and what the draft holds stays."""
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    await bot.send(an.photo())
    fakes = [
        ("scan.jpg", "image/jpeg", b"%PDF-1.4 not a picture"),
        ("empty.jpg", "image/jpeg", b""),
    ]
    fakes.append(("IMG_0001.HEIC", "image/heic", b"\x00\x00\x00\x18ftypheic"))
    for name, mime, content in fakes:
        update = an.document(mime, file_name=name)
        document = update["message"]["document"]
        bot.api._files[document["file_id"]].content = content
        document["file_size"] = len(content)
        sent = await bot.send(update)
        assert says(joined(sent), "media.not_a_photo"), name
    sent = await bot.send(an.photo())
    assert says(joined(sent), "report.photo_received", count=2, limit=5), "nothing else was lost"
