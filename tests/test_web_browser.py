"""The dashboard in a real browser (Debian's Chromium, headless, through
Playwright; tests/browser.py): a ward leader signs in through the link the
chat gave, reads the week, filters the tasks and opens a complaint with its
photo — over the bot's real HTTP server on a loopback socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from tests.browser import chromium, chromium_or_skip
from tests.factories import WARD_CHAIR
from tests.webkit import Dash, dashboard, seed_story

LOCAL = "http://127.0.0.1"


@pytest.fixture
async def served(where: Path, clock: ManualClock, chart: OrgChart) -> AsyncIterator[Dash]:
    chromium_or_skip()  # before the bot starts: a skip costs nothing
    async with dashboard(where, clock, chart, public_url=LOCAL) as dash:
        yield dash


async def test_a_leader_signs_in_reads_the_week_filters_and_opens_a_complaint(
    served: Dash,
) -> None:
    made = await seed_story(served)
    origin = f"{LOCAL}:{served.bot.runtime.http.port}"
    path = await served.link(WARD_CHAIR)
    async with chromium(chromium_or_skip()) as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        await page.goto(origin + path)
        await page.get_by_role("button", name=t("vi", "web.signin_button")).click()
        await page.wait_for_url(re.compile(r"/web/week$"))
        counts = page.locator("#counts")
        received = counts.locator('tr[data-count="received"] td').first
        assert await received.inner_text() == "6"  # Hồng Hải's six; Bạch Đằng's is not theirs
        assert await page.locator(".chart img").evaluate("img => img.naturalWidth") > 0

        await page.get_by_role("link", name=t("vi", "web.nav_tasks")).click()
        await page.wait_for_url(re.compile(r"/web/tasks"))
        rows = page.locator("#tasks tbody tr")
        assert await rows.count() == 6
        await page.select_option('select[name="group"]', "HH-TDP06")
        await page.get_by_role("button", name=t("vi", "web.filter")).click()
        await page.wait_for_url(re.compile(r"group=HH-TDP06"))
        assert await rows.count() == 2
        await page.select_option('select[name="category"]', "LCVH")
        await page.get_by_role("button", name=t("vi", "web.filter")).click()
        await page.wait_for_url(re.compile(r"category=LCVH"))
        assert await rows.count() == 1
        await page.get_by_role("link", name=t("vi", "web.clear")).click()
        await page.check('input[name="overdue"]')
        await page.get_by_role("button", name=t("vi", "web.filter")).click()
        await page.wait_for_url(re.compile(r"overdue=1"))
        assert await rows.count() == 6  # a week later, all of them are past their deadline

        first = made[0]
        await page.get_by_role("link", name=first.code, exact=True).click()
        await page.wait_for_url(re.compile(rf"/web/complaints/{first.code}"))
        assert first.description in await page.locator(".card").inner_text()
        history = page.locator("#history li")
        assert await history.count() == 2  # filed, then acknowledged
        assert t("vi", "history.action_acknowledge") in await history.nth(1).inner_text()
        photo = page.locator(".photos img").first
        await photo.scroll_into_view_if_needed()
        # Decoded, however long the server took to send it (a loaded machine).
        assert await photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 480

        await page.get_by_role("link", name=t("vi", "web.nav_map")).click()
        await page.wait_for_url(re.compile(r"/web/map"))
        assert await page.locator("svg.map polygon").count() == 8

        await page.get_by_role("button", name=t("vi", "web.sign_out")).click()
        await page.goto(origin + "/web/week")
        assert t("vi", "web.signed_out_title") in await page.locator("h1").inner_text()


async def test_a_used_link_tells_the_leader_what_to_do_in_the_browser(served: Dash) -> None:
    origin = f"{LOCAL}:{served.bot.runtime.http.port}"
    path = await served.link(WARD_CHAIR)
    async with chromium(chromium_or_skip()) as browser:
        page = await browser.new_page()
        await page.goto(origin + path)
        await page.get_by_role("button", name=t("vi", "web.signin_button")).click()
        await page.wait_for_url(re.compile(r"/web/week$"))
        other = await browser.new_page()
        await other.goto(origin + path)
        await other.get_by_role("button", name=t("vi", "web.signin_button")).click()
        assert t("vi", "web.link_invalid_title") in await other.locator("h1").inner_text()


async def test_a_two_thousand_character_word_does_not_widen_the_page(
    served: Dash,
) -> None:
    """A resident pasted a long link or held a key down: one word of 2,000
    characters in the description, 200 in the landmark.  The complaint's
    card and the tasks table grew as wide as the word, and the leader
    scrolled sideways to read anything; now the word wraps inside them."""
    word = "https://example.vn/" + "a" * 1981
    filed = await served.complaint(description=f"Rác ở đây {word}", landmark="B" * 200)
    origin = f"{LOCAL}:{served.bot.runtime.http.port}"
    path = await served.link(WARD_CHAIR)
    async with chromium(chromium_or_skip()) as browser:
        page = await browser.new_page()
        await page.goto(origin + path)
        await page.get_by_role("button", name=t("vi", "web.signin_button")).click()
        await page.wait_for_url(re.compile(r"/web/week$"))
        for width in (390, 1280):  # a phone, an office PC
            await page.set_viewport_size({"width": width, "height": 844})
            for shown in ("/web/tasks", f"/web/complaints/{filed.code}"):
                await page.goto(origin + shown)
                wide = await page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, (shown, width, wide)
        assert word in (await page.locator(".card").inner_text()).replace("\n", "")
