"""Nothing doubled, nobody let in, every bad input answered: redelivered
updates, the per-resident limit, the abuse list, group chats, backups, and
thousands of generated updates thrown at the real Application."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.orgio.reader import load_org_file
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeGroup, FakeUser, SentMessage
from tests.catalogue import says
from tests.conftest import EXAMPLE_ORG, START
from tests.factories import file_sanitation_report, joined, load_chart, started_bot


async def test_a_redelivered_update_is_handled_once(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn"))
    await bot.choose(an, "d")
    message, data = bot.find_button(501, r"^q:\d+:ok$")
    confirm = an.press(message, data)
    first = await bot.send(confirm)
    assert "PA-000001" in joined(first)
    again = await bot.send(confirm)  # Telegram redelivers after a crash
    assert again == [], "no second reply"
    assert len(await bot.services.store.all_complaints()) == 1


async def test_an_update_cut_off_by_a_crash_is_handled_once_more(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    update = an.command("start")
    # The bot claimed it, then died before it was done.
    await bot.services.claim_update("telegram", str(update["update_id"]))
    sent = await bot.send(update)
    assert says(joined(sent), "start.greeting", name="An")
    assert await bot.send(update) == []


async def test_the_per_resident_limit_keeps_the_draft(
    tmp_path: Path, chart: OrgChart, clock: ManualClock
) -> None:
    db_path = tmp_path / "limit.db"
    await load_chart(db_path, chart)
    async with started_bot(db_path, clock, max_reports_per_hour=2) as bot:
        an = bot.user(501, "An")
        await bot.send(an.command("new"))
        await bot.choose(an, "sanitation")  # a draft, started before the limit is reached
        await bot.send(an.command("cancel"))
        await file_sanitation_report(bot, an)
        await file_sanitation_report(bot, an)
        sent = await file_sanitation_report(bot, an)  # the third: told at once, kept at the end
        assert says(joined(sent), "report.too_many")
        assert len(await bot.services.store.all_complaints()) == 2
        clock.advance(timedelta(minutes=61))
        sent = await bot.choose(an, "ok")
        assert "PA-000003" in joined(sent), "an hour later the same draft goes"
        # The cadre filing for someone is not limited.
        cadre = bot.user(7013, "Thắng")
        for _ in range(3):
            await file_sanitation_report(bot, cadre)
        assert len(await bot.services.store.all_complaints()) == 6


async def test_a_blocked_account_is_dropped_silently(bot: BotDriver) -> None:
    spammer = bot.user(666, "Spam")
    await bot.send(spammer.command("start"))
    person = await bot.services.store.upsert_person("telegram", "666", None, "vi")
    await bot.services.store.set_blocked(person.id, "spam", bot.services.now())
    assert await bot.send(spammer.command("new")) == []
    assert await bot.send(spammer.text("mua hàng giá rẻ")) == []
    await bot.services.store.set_blocked(person.id, None, bot.services.now())
    assert await bot.send(spammer.command("start")) != []


async def test_in_a_group_the_bot_points_to_the_private_chat(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    group = FakeGroup(bot.api, -100123, "Tổ dân phố 3")
    sent = await bot.send(group.command_from(an, "new"))
    assert says(joined(sent), "group.private_only")
    assert sent[0].chat_id == -100123
    rows = (sent[0].reply_markup or {}).get("inline_keyboard", [])
    assert rows[0][0]["url"] == "https://t.me/phananh_bot?start=new"
    assert await bot.send(group.text_from(an, "chào cả nhà")) == [], "chatter is left alone"
    sent = await bot.send(an.command("start", "new"))
    assert says(joined(sent), "report.ask_family"), "the link starts a report"


def test_backup_while_running_and_restore_with_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name in list(__import__("os").environ):
        if name.startswith("PHANANH_"):
            monkeypatch.delenv(name)
    live = tmp_path / "live.db"
    monkeypatch.setenv("PHANANH_DB", str(live))
    assert main(["org", "import", str(EXAMPLE_ORG)]) == 0
    holder = sqlite3.connect(live)  # another process holds the file open, as the bot does
    holder.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
    holder.commit()
    backup = tmp_path / "copy.db"
    assert main(["backup", str(backup)]) == 0
    assert main(["backup", str(backup)]) == 1, "never overwrites"
    holder.close()
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone() == ("x",)

    restored = tmp_path / "restored.db"
    monkeypatch.setenv("PHANANH_DB", str(restored))
    capsys.readouterr()
    assert main(["restore", str(backup)]) == 0
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT COUNT(*) FROM areas").fetchone()[0] == 23

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    assert main(["restore", str(junk)]) == 1
    assert says(capsys.readouterr().err, "cli.restore_not_ours")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert main(["restore", str(other)]) == 1
    newer = tmp_path / "newer.db"
    newer.write_bytes(backup.read_bytes())
    with sqlite3.connect(newer) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 'future', '')")
    capsys.readouterr()
    assert main(["restore", str(newer)]) == 1
    assert "mới hơn chương trình này" in capsys.readouterr().err


def test_people_block_and_unblock_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "x.db"))
    example = Path(__file__).resolve().parents[1] / "examples" / "org.yaml"
    assert main(["org", "import", str(example)]) == 0  # the ward's database
    assert main(["people", "block", "666", "--reason", "spam"]) == 0
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("SELECT reason FROM blocked_people").fetchall() == [("spam",)]
    assert main(["people", "unblock", "666"]) == 0
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("SELECT COUNT(*) FROM blocked_people").fetchone() == (0,)
    assert says(capsys.readouterr().out, "cli.people_unblock")


# ---- thousands of generated updates ----------------------------------------------------------

USERS = (501, 502, 7013, 7001)
texts = st.text(max_size=300) | st.sampled_from(["PA-000001", "pa1", "1", "99", "huy", "xong"])


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    user_id = draw(st.sampled_from(USERS))
    chat: dict[str, Any] = {"id": user_id, "type": "private"}
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        chat = {"id": -1001, "type": "supergroup", "title": "Tổ 3"}
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 10**6)),
        "date": 1_790_000_000,
        "chat": chat,
        "from": _user(user_id),
    }
    kind = draw(
        st.sampled_from(
            ["text", "command", "location", "photo", "sticker", "press", "edited", "bare"]
        )
    )
    if kind == "text":
        message["text"] = draw(texts)
    elif kind == "command":
        name = draw(st.sampled_from(["start", "new", "status", "withdraw", "lang", "tasks"]))
        args = draw(st.text(max_size=40).filter(lambda a: "\x00" not in a))
        message["text"] = f"/{name} {args}".strip()
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(name) + 1}]
    elif kind == "location":
        message["location"] = {
            "latitude": draw(st.floats(-90, 90)),
            "longitude": draw(st.floats(-180, 180)),
        }
    elif kind == "photo":
        message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    elif kind == "sticker":
        message["sticker"] = {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    elif kind == "press":
        return {
            "callback_query": {
                "id": str(draw(st.integers(1, 10**9))),
                "from": _user(user_id),
                "chat_instance": "c",
                "data": draw(
                    st.text(max_size=70)
                    | st.sampled_from(["a:1", "q:1:x", "q:3:HH-TDP03", "new", "l:en", "f:1"])
                ),
                "message": {**message, "from": {"id": 1, "is_bot": True, "first_name": "b"}},
            }
        }
    elif kind == "edited":
        message["text"] = draw(texts)
        message["edit_date"] = 1_790_000_001
        return {"edited_message": message}
    return {"message": message}


channel_posts = st.just(
    {"channel_post": {"message_id": 1, "date": 1, "chat": {"id": -5, "type": "channel"}}}
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(updates() | channel_posts, min_size=20, max_size=60))
def test_generated_updates_never_break_the_bot(batch: list[dict[str, Any]]) -> None:
    """No unhandled exception: nothing reaches the error handler, whatever
    arrives (any text, forged buttons, groups, channel posts, edits)."""
    errors: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record)

    catcher = Catch()
    logging.getLogger().addHandler(catcher)
    try:
        asyncio.run(_play(batch))
    finally:
        logging.getLogger().removeHandler(catcher)
    assert [r.getMessage() for r in errors] == []


async def _play(batch: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "fuzz.db"
        await load_chart(db_path, load_org_file(EXAMPLE_ORG))
        clock = ManualClock(START)
        async with started_bot(db_path, clock) as bot:
            await file_sanitation_report(bot, bot.user(502, "Bình"))
            for number, update in enumerate(batch, start=1):
                update["update_id"] = number + 1000
                await bot.send(update)
            clock.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
            await bot.tick()


async def test_mydata_speaks_to_a_resident_as_anh_chi_and_to_a_cadre_of_the_account(
    bot: BotDriver,
) -> None:
    """VOICE.md: residents are "anh/chị", staff are not."""
    await bot.send(bot.user(501, "An").command("mydata"))
    assert says(bot.api.last_to(501).text, "privacy.mydata_caption")
    await bot.send(bot.user(7013, "Thắng").command("mydata"))
    caption = bot.api.last_to(7013).text
    assert says(caption, "privacy.mydata_caption_staff")
    assert "anh/chị" not in (caption or "")


@pytest.mark.both_engines
async def test_mydata_sends_everything_and_forget_detaches_the_person(bot: BotDriver) -> None:
    import json

    an = bot.user(501, "An")
    await file_sanitation_report(bot, an, description="Rác tràn ngõ 12")
    await bot.send(an.command("mydata"))
    document = bot.api.last_to(501)
    assert document.kind == "document"
    data = json.loads(bot.api.file_content(document.media[0]))
    assert data["person"]["display_name"] == "An"
    assert data["complaints"][0]["description"] == "Rác tràn ngõ 12"

    sent = await bot.send(an.command("forget"))
    assert "không thể hoàn tác" in joined(sent).lower()
    sent = await bot.press(an, "forget")
    assert says(joined(sent), "privacy.forgotten")
    complaint = await bot.services.complaint(1)
    assert complaint is not None, "the complaint stays"
    reporter = await bot.services.store.reporter_of(1)
    assert reporter is not None
    person = await bot.services.store.get_person(reporter)
    assert person is not None
    assert (person.accounts, person.display_name) == ((), None), "no account, no name"
    # Writing again, they are a new person with no complaints.
    sent = await bot.send(an.command("mine"))
    assert says(joined(sent), "mine.empty")
    cadre = bot.user(7013, "Thắng")
    sent = await bot.send(cadre.command("forget"))
    assert says(joined(sent), "privacy.staff_cannot_forget"), "no warning, no button"
    assert not bot.api.buttons(sent[-1])
    sent = await bot.send(cadre.press_raw("forget", sent[-1].message_id))
    assert says(joined(sent), "privacy.staff_cannot_forget"), "nor a forged press"


@pytest.mark.both_engines
async def test_mydata_gives_every_time_in_the_wards_time_with_its_offset(
    bot: BotDriver, clock: ManualClock
) -> None:
    """A resident reads their file on either engine alike: each time as
    the ward's clock showed it, with its offset ("2026-11-23T09:00:00+07:00"
    for Monday 09:00), never a bare UTC time read as local; a yes/no as
    true/false, not SQLite's 0/1 — and a draft's own times too."""
    import json
    import re

    an = bot.user(501, "An")
    await file_sanitation_report(bot, an)
    await bot.send(an.command("mydata"))
    data = json.loads(bot.api.file_content(bot.api.last_to(501).media[0]))
    complaint = data["complaints"][0]
    assert complaint["created_at"] == "2026-11-23T09:00:00+07:00", "Monday 09:00 in the ward"
    assert complaint["due_at"] == "2026-11-25T09:00:00+07:00"
    assert data["actions"][0]["at"] == "2026-11-23T09:00:00+07:00"
    assert complaint["urgent"] is False and complaint["concerns_leadership"] is False
    times: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", value):
            times.append(value)

    walk(data)
    assert len(times) > 8
    assert all(datetime.fromisoformat(v).utcoffset() == timedelta(hours=7) for v in times), times

    # Binh's draft offers An's report to follow, with its deadline.
    binh = bot.user(502, "Bình")
    await bot.send(binh.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(binh, key)
    await bot.send(binh.text("Rác vẫn tràn ngõ"))
    await bot.choose(binh, "d")
    await bot.send(binh.command("mydata"))
    draft = json.loads(bot.api.file_content(bot.api.last_to(502).media[0]))["draft"]
    assert draft["data"]["nearby"][0]["due"] == "2026-11-25T09:00:00+07:00", draft


async def test_logs_carry_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full run of the demo story, every log line captured (our own modules
    down to debug): no names, no message text, no places."""
    import io

    from bot.demo import run_demo

    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="bot"):
        caplog.set_level(logging.DEBUG, logger="handlers")
        caplog.set_level(logging.DEBUG, logger="storage")
        transcript = io.StringIO()
        assert await run_demo(tmp_path / "demo.db", transcript) == 0
    story = transcript.getvalue()
    assert "Rác ở đầu ngõ 12" in story, "the story did run"
    assert caplog.records, "something was logged, so the scan means something"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for private in (
        "Lan",
        "Bình",
        "Cường",
        "Rác ở đầu ngõ",
        "Quán nước",
        "bồi dưỡng",
        "Chiều nay quán",
        "20.95",
        "107.08",
        "ngõ 12",
    ):
        assert private not in logged, private


async def test_reports_are_anonymous_unless_the_resident_chooses(bot: BotDriver) -> None:
    an = bot.user(501, "An", last_name="Nguyễn")
    sent = await file_sanitation_report(bot, an)
    card = [m for m in sent if m.chat_id == 7013][-1]
    assert "An" not in (card.text or "").replace("PA-", ""), "hidden by default"

    await bot.send(an.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP04"):
        await bot.choose(an, key)
    await bot.send(an.text("Rác tràn"))
    sent = await bot.choose(an, "d")
    assert says(joined(sent), "report.review", identity=t("vi", "report.identity_hidden"))
    sent = await bot.choose(an, "nm")  # the resident lets the cadre see their name
    assert says(joined(sent), "report.review", identity=t("vi", "report.identity_shown"))
    sent = await bot.choose(an, "ok")
    card = [m for m in sent if m.chat_id == 7013][-1]
    assert says(card.text, "task.reporter", name="An Nguyễn")


async def test_a_conduct_reporter_is_seen_by_the_leaders_only_if_they_agree_and_it_is_logged(
    bot: BotDriver,
) -> None:
    async def report(who: FakeUser, show: bool) -> list[SentMessage]:
        await bot.send(who.command("new"))
        for key in ("official_conduct", "NNCB", "n", "HONGHAI", "HH-TDP05"):
            await bot.choose(who, key)
        await bot.send(who.text("Cán bộ đòi tiền"))
        review = await bot.choose(who, "d")
        if show:
            review = await bot.choose(who, "nm")
        return [*review, *await bot.choose(who, "ok")]

    sent = await report(bot.user(503, "Cường"), show=False)  # anonymous, as by default
    assert says(joined(sent), "report.identity_hidden_leaders")
    card = [m for m in sent if m.chat_id == 7002][-1]  # the ward's conduct leader
    assert not says(card.text, "task.reporter"), "anonymous means nobody"
    sent = await report(bot.user(504, "Dũng"), show=True)
    assert says(joined(sent), "report.identity_shown_leaders")
    card = [m for m in sent if m.chat_id == 7002][-1]
    assert says(card.text, "task.reporter", name="Dũng")
    db_path = bot.services.store.db.path  # type: ignore[attr-defined]
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT complaint_id, staff_id FROM identity_access").fetchall()
    assert rows == [(2, "ld-hh-bt")], "the disclosure is logged"


async def test_a_photo_file_over_10_mb_gets_a_clear_answer(bot: BotDriver) -> None:
    an = bot.user(501, "An")
    await bot.send(an.command("new"))
    big = an.photo_as_document()
    big["message"]["document"]["file_size"] = 25 * 1024 * 1024
    sent = await bot.send(big)
    assert says(joined(sent), "media.big_photo")
    small = an.photo_as_document()
    sent = await bot.send(small)
    assert says(joined(sent), "report.photo_received", count=1, limit=5), "nothing else was lost"


async def test_an_unexpected_error_is_logged_with_a_reference_and_answered(
    bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    an = bot.user(501, "An")
    bot.api.fail_next("sendMessage", error_code=400, description="Bad Request: boom", chat_id=501)
    with caplog.at_level(logging.ERROR):
        sent = await bot.send(an.command("start"))
    (record,) = [r for r in caplog.records if "while handling an update" in r.getMessage()]
    reference = record.getMessage().split()[1]
    assert len(reference) == 8
    assert f"(mã {reference})" in joined(sent), "the user gets the same reference, politely"
    assert says(joined(sent), "fallback.error")
