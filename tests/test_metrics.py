"""What the people who keep the bot running see: /metrics, /healthz and
/readyz on the bot's own HTTP server (bot/metrics.py), through the real
Application over the fake Bot API, the real sweep and the real database.

Every scrape goes through the server's ASGI application (or a real socket
where the server listens), and is read back with prometheus_client's own
parser, as Prometheus would read it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.metrics import API_STALE, DB_READ_SECONDS
from bot.sandbox.driver import BotDriver
from bot.sandbox.telegram import FakeBotApi, FakeUser
from tests.channels import Stage, stage
from tests.factories import load_chart, started_bot
from tests.test_channels_flow import file_report

pytestmark = pytest.mark.both_engines

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

RESIDENT = 501
# The database's values are read again only when older than this.
AFTER_A_READ = timedelta(seconds=DB_READ_SECONDS + 1)


async def scrape(bot: BotDriver, path: str = "/metrics") -> httpx.Response:
    """A GET on the bot's own HTTP server, in process."""
    transport = httpx.ASGITransport(app=bot.runtime.http.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.get(path)


async def samples(bot: BotDriver) -> Samples:
    """Every sample of /metrics, by name and labels, as Prometheus parses it."""
    response = await scrape(bot)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter not counted yet)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found: Samples, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


def sends_answered(api: FakeBotApi, status: int) -> int:
    """The fake's own record: message sends it answered with ``status``."""
    return sum(
        1
        for call in api.calls
        if call.method.startswith("send") and call.method != "sendChatAction"
        if call.status == status
    )


async def report(
    bot: BotDriver, user: FakeUser, description: str = "Rác tràn ngõ"
) -> dict[str, int]:
    """Sanitation / rubbish not collected in group 3, by buttons; what was
    sent, by kind of update."""
    await bot.send(user.command("new"))
    for key in ("sanitation", "RKTG", "HONGHAI", "HH-TDP03"):
        await bot.choose(user, key)
    await bot.send(user.text(description))
    await bot.choose(user, "d")
    await bot.choose(user, "ok")
    return {"command": 1, "button": 6, "text": 1}


# ---- a report, counted ------------------------------------------------------------------------


async def test_a_report_on_telegram_is_counted_by_channel_kind_and_send(bot: BotDriver) -> None:
    lan = bot.user(RESIDENT, "Lan")
    sent = await report(bot, lan)
    found = await samples(bot)
    for kind, count in sent.items():
        assert value(found, "phananh_updates_total", channel="telegram", kind=kind) == count
    handled = sum(sent.values())
    assert total(found, "phananh_updates_total") == handled
    assert value(found, "phananh_update_handling_seconds_count", channel="telegram") == handled
    # Every message the fake took, and nothing else, counted "ok".
    assert value(found, "phananh_sends_total", channel="telegram", result="ok") == sends_answered(
        bot.api, 200
    )
    assert value(found, "phananh_sends_total", channel="telegram", result="ok") > 0
    assert value(found, "phananh_outbox_delivered_total", channel="telegram", kind="task_assigned")
    # The cadre's card went out: nothing is left in the outbox.
    assert value(found, "phananh_outbox_pending") == 0
    assert value(found, "phananh_outbox_due") == 0
    assert value(found, "phananh_outbox_oldest_due_age_seconds") == 0
    assert value(found, "phananh_database_up") == 1


async def test_a_429_from_telegram_shows_as_such_and_the_row_waits(
    bot: BotDriver, clock: ManualClock
) -> None:
    for n in range(3):
        await report(bot, bot.user(RESIDENT + n, f"Cư dân {n}"), f"Rác số {n}")
    # Telegram's limit, one message a second: the reminders to the cadre,
    # the leaders and the residents, sent side by side, run into it.
    bot.api.rate_limit_per_second = 1
    clock.advance(timedelta(days=3))
    await bot.tick()
    found = await samples(bot)
    refused = sends_answered(bot.api, 429)
    assert refused > 0
    assert value(found, "phananh_sends_total", channel="telegram", result="429") == refused
    assert value(found, "phananh_sends_total", channel="telegram", result="ok") == sends_answered(
        bot.api, 200
    )
    # What met the 429 waits in the outbox, due again after the wait.
    assert value(found, "phananh_outbox_pending") > 0


async def test_a_blocked_person_a_5xx_and_a_refusal_are_told_apart(bot: BotDriver) -> None:
    lan = bot.user(RESIDENT, "Lan")
    await bot.send(lan.command("start"))
    bot.api.fail_next("sendMessage", error_code=502)
    with pytest.raises(NetworkError):
        await bot.app.bot.send_message(lan.user_id, "Nhắc việc")
    bot.api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest):
        await bot.app.bot.send_message(lan.user_id, "Nhắc việc")
    bot.api.blocked_chats.add(lan.user_id)
    with pytest.raises(Forbidden):
        await bot.app.bot.send_message(lan.user_id, "Nhắc việc")
    found = await samples(bot)
    for result, status in (("5xx", 502), ("refused", 400), ("blocked", 403)):
        assert value(found, "phananh_sends_total", channel="telegram", result=result) == 1
        assert sends_answered(bot.api, status) == 1
    assert value(found, "phananh_sends_total", channel="telegram", result="ok") == sends_answered(
        bot.api, 200
    )


# ---- the sweep, the complaints, the digest ----------------------------------------------------


async def test_the_sweep_is_timed_and_what_it_found_due_is_shown(
    bot: BotDriver, clock: ManualClock
) -> None:
    await report(bot, bot.user(RESIDENT, "Lan"))
    before = await samples(bot)
    swept = value(before, "phananh_sweep_duration_seconds_count")
    assert swept >= 1  # the start's catch-up
    # Past the acknowledge deadline: the reminder and the leader's notice fall due.
    clock.advance(timedelta(days=2))
    await bot.tick()
    found = await samples(bot)
    assert value(found, "phananh_sweep_duration_seconds_count") == swept + 1
    assert value(found, "phananh_sweep_rows_due") == 1  # the one complaint
    assert value(found, "phananh_sweep_last_run_timestamp_seconds") == clock.now().timestamp()
    assert total(found, "phananh_outbox_delivered_total", kind="reminders") >= 1


async def test_open_complaints_by_ward_and_overdue_after_the_deadline(
    bot: BotDriver, clock: ManualClock
) -> None:
    await report(bot, bot.user(RESIDENT, "Lan"))
    await report(bot, bot.user(RESIDENT + 1, "Minh"), "Rác lần hai")
    complaint = await bot.services.store.get_complaint(1)
    assert complaint is not None
    ward = complaint.ward
    found = await samples(bot)
    assert value(found, "phananh_complaints", ward=ward, group="open") == 2
    assert value(found, "phananh_complaints_overdue", ward=ward) == 0
    clock.advance(complaint.due_at - clock.now() + timedelta(hours=1))
    found = await samples(bot)
    assert value(found, "phananh_complaints", ward=ward, group="open") == 2
    assert value(found, "phananh_complaints_overdue", ward=ward) == 2


async def test_the_database_is_read_at_most_once_in_a_few_seconds(
    bot: BotDriver, clock: ManualClock
) -> None:
    """Two Prometheus servers, or an operator refreshing the page, do not
    repeat the database's queries: its values are kept `DB_READ_SECONDS`."""
    await report(bot, bot.user(RESIDENT, "Lan"))
    complaint = await bot.services.store.get_complaint(1)
    assert complaint is not None
    assert value(await samples(bot), "phananh_complaints", ward=complaint.ward, group="open") == 1
    await report(bot, bot.user(RESIDENT + 1, "Minh"), "Rác lần hai")
    kept = await samples(bot)
    assert value(kept, "phananh_complaints", ward=complaint.ward, group="open") == 1
    clock.advance(AFTER_A_READ)
    fresh = await samples(bot)
    assert value(fresh, "phananh_complaints", ward=complaint.ward, group="open") == 2


async def test_the_weekly_digest_sent_is_counted(bot: BotDriver, clock: ManualClock) -> None:
    await report(bot, bot.user(RESIDENT, "Lan"))
    before = value(await samples(bot), "phananh_digests_sent_total", channel="telegram")
    # Monday 30/11/2026 07:35 in Hạ Long: the week's digest goes to the leaders.
    clock.advance(timedelta(days=7) - timedelta(hours=1, minutes=25))
    messages = await bot.tick()
    found = await samples(bot)
    digests = value(found, "phananh_digests_sent_total", channel="telegram")
    assert digests == value(
        found, "phananh_outbox_delivered_total", channel="telegram", kind="digest"
    )
    # One digest to each leader who got one in this sweep's messages.
    assert 1 <= digests - before <= len({m.chat_id for m in messages})


async def test_no_label_carries_a_name_a_chat_id_a_code_or_a_text(
    bot: BotDriver, clock: ManualClock
) -> None:
    lan = bot.user(RESIDENT, "Nguyễn Thị Lan")
    await report(bot, lan, "Rác tràn ngõ 12 Trần Phú")
    clock.advance(timedelta(days=3))
    await bot.tick()
    found = await samples(bot)
    personal = ("Nguyễn", "Lan", "Trần Phú", "ngõ 12", "PA-", "000001", str(RESIDENT), "7013")
    labels = {v for (_, ls) in found for _, v in ls}
    assert labels  # there are labels to look at
    for label in labels:
        assert not any(p in label for p in personal), label


# ---- Zalo -------------------------------------------------------------------------------------


@pytest.fixture
async def play(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[Stage]:
    await load_chart(where, chart)
    async with stage(where, clock, "polling") as started:
        yield started


async def test_a_report_on_zalo_is_counted_by_channel_and_kind(play: Stage) -> None:
    an = play.resident("zalo", "An")
    await file_report(an)
    found = await samples(play.bot)
    # Typed words and numbers (Zalo has no buttons), and one photo.
    assert value(found, "phananh_updates_total", channel="zalo", kind="text") == 7
    assert value(found, "phananh_updates_total", channel="zalo", kind="photo") == 1
    assert value(found, "phananh_update_handling_seconds_count", channel="zalo") == 8
    zalo_sends = [
        c
        for c in play.zalo.api.calls
        if c.method.startswith("send") and c.method != "sendChatAction" and c.status == 200
    ]
    assert zalo_sends
    assert value(found, "phananh_sends_total", channel="zalo", result="ok") == len(zalo_sends)
    # The cadre is on Telegram: the card went out there.
    assert value(found, "phananh_outbox_delivered_total", channel="telegram", kind="task_assigned")


# ---- health and readiness ---------------------------------------------------------------------


async def test_healthz_says_alive_and_readyz_ready_after_start(bot: BotDriver) -> None:
    alive = await scrape(bot, "/healthz")
    assert (alive.status_code, alive.text) == (200, "ok\n")
    ready = await scrape(bot, "/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "channel:telegram", "sweep"}
    assert all(check["ok"] for check in checks.values())


async def test_readyz_fails_while_the_sweep_has_not_run_for_too_long(
    bot: BotDriver, clock: ManualClock
) -> None:
    stale = bot.runtime.core.metrics.sweep_stale
    clock.advance(stale - timedelta(seconds=1))
    assert (await scrape(bot, "/readyz")).status_code == 200
    clock.advance(timedelta(seconds=2))
    late = await scrape(bot, "/readyz")
    assert late.status_code == 503
    checks = late.json()["checks"]
    assert not checks["sweep"]["ok"]
    assert checks["database"]["ok"]
    await bot.tick()
    assert (await scrape(bot, "/readyz")).status_code == 200


async def test_readyz_fails_when_the_database_is_closed(bot: BotDriver) -> None:
    await bot.runtime.core.storage.close()
    closed = await scrape(bot, "/readyz")
    assert closed.status_code == 503
    assert not closed.json()["checks"]["database"]["ok"]
    # /healthz only says the process is alive.
    assert (await scrape(bot, "/healthz")).status_code == 200
    found = await samples(bot)
    assert value(found, "phananh_database_up") == 0
    assert ("phananh_outbox_pending", frozenset()) not in found


async def test_readyz_fails_while_telegram_has_not_answered_for_too_long(
    bot: BotDriver, clock: ManualClock
) -> None:
    lan = bot.user(RESIDENT, "Lan")
    clock.advance(API_STALE + timedelta(minutes=1))
    await bot.tick()  # the sweep is on time
    bot.api.network_failure_next("sendMessage", times=3)
    with pytest.raises(NetworkError):
        await bot.app.bot.send_message(lan.user_id, "Nhắc việc")
    failing = await scrape(bot, "/readyz")
    assert failing.status_code == 503
    assert not failing.json()["checks"]["channel:telegram"]["ok"]
    found = await samples(bot)
    assert value(found, "phananh_sends_total", channel="telegram", result="network") == 1
    # Telegram answers again: ready.
    bot.api.calls.clear()
    await bot.app.bot.get_me()
    assert (await scrape(bot, "/readyz")).status_code == 200


# ---- when the server listens -------------------------------------------------------------------


async def test_the_port_alone_makes_the_server_listen_for_the_metrics(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    """Long polling, no public URL: before, nothing listened; with
    PHANANH_HTTP_PORT set, the metrics and checks are served."""
    await load_chart(where, chart)
    async with started_bot(where, clock, http_port=free_port(), http_port_given=True) as bot:
        http = bot.runtime.http
        assert http.listening
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client:
            assert (await client.get("/healthz")).text == "ok\n"
            assert (await client.get("/readyz")).status_code == 200
            metrics = await client.get("/metrics")
            assert "phananh_sweep_duration_seconds_count 1.0" in metrics.text
    async with started_bot(where, clock, http_port=free_port()) as bot:
        assert not bot.runtime.http.listening


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
