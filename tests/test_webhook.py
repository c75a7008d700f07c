"""Webhook mode: Telegram's secret token is checked; a request without it or
with a wrong one is refused and logged without its body."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import httpx
import pytest

from bot.app import build_application, log_rejected_webhooks, running
from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.sandbox import FakeBotApi, FakeUser, InMemoryRequest
from tests.factories import load_chart, settings_for

SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_webhook_takes_only_requests_with_the_secret(
    tmp_path: Path, chart: OrgChart, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    db_path = tmp_path / "hook.db"
    await load_chart(db_path, chart)
    api = FakeBotApi()
    app = build_application(settings_for(db_path), clock=clock, request=InMemoryRequest(api))
    log_rejected_webhooks()
    port = free_port()
    url = f"http://127.0.0.1:{port}/phananh"
    an = FakeUser(api, 501, "An")
    async with running(app):
        assert app.updater is not None
        await app.start()
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="phananh",
            webhook_url="https://example.org/phananh",
            secret_token=SECRET,
        )
        try:
            assert api.calls_to("setWebhook")[-1].params["secret_token"] == SECRET
            body = an.text("Nội dung riêng tư của người dân")
            async with httpx.AsyncClient() as client:
                with caplog.at_level(logging.DEBUG):
                    missing = await client.post(url, json=body)
                    wrong = await client.post(
                        url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
                    )
                assert (missing.status_code, wrong.status_code) == (403, 403)
                rejected = [r for r in caplog.records if "webhook request rejected" in r.message]
                assert len(rejected) == 2
                assert all(r.levelno == logging.WARNING for r in rejected)
                everything = "\n".join(r.getMessage() for r in caplog.records)
                assert "riêng tư" not in everything, "the body is never logged"
                assert "nope" not in everything, "nor the wrong token"
                assert api.sent == []

                good = await client.post(
                    url,
                    json=an.command("start"),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
                assert good.status_code == 200
            greeting = await api.wait_for_sent(lambda m: m.chat_id == 501)
            assert "Xin chào An" in (greeting.text or "")
        finally:
            await app.updater.stop()
            await app.stop()
