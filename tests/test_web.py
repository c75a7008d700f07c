"""The leaders' dashboard at /web/ (bot/app/web.py, bot/app/dashboard.py,
bot/web/pages.py), through the bot's real HTTP application: signing in by
a one-time link from the chat, every page, every filter, every refusal.

What a leader sees is what the chat shows them: their ward (or the city),
the digest's numbers (held equal to the reference definitions here),
residents' names only where the task card shows them, nothing about a
complaint concerning their own ward's leadership."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from bot.app.admin import Admin
from bot.app.web import SESSION_LIFETIME, SIGNIN_LIFETIME
from bot.config import PostgresUrl
from bot.domain import digest as d
from bot.domain.clock import ManualClock
from bot.domain.complaints import Photo
from bot.domain.orgchart import GeoPoint, OrgChart
from bot.i18n import t
from handlers.zalo.commands import Command, parse_command
from tests.catalogue import says
from tests.factories import (
    CITY_LEADER,
    ENVIRONMENT_CADRE,
    OTHER_WARD_LEADER,
    WARD_CHAIR,
    file_sanitation_report,
    texts,
)
from tests.webkit import PUBLIC_URL, Dash, dashboard

PAGES = ("/web/week", "/web/tasks", "/web/ranking", "/web/map", "/web/chart.png")
PAGES += ("/web/export.csv", "/web/export.xlsx")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
JPEG = b"\xff\xd8\xff\xe0 a jpeg of rubbish"


@pytest.fixture
async def dash(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[Dash]:
    async with dashboard(where, clock, chart) as made:
        yield made


def page_text(response: httpx.Response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def says_page(response: httpx.Response, key: str, lang: str = "vi", **known: object) -> bool:
    return says(page_text(response), key, lang, **known)


def counts_of(response: httpx.Response) -> dict[str, list[str]]:
    """The week page's counts table: each count's row, this week and the year."""
    found = re.findall(
        r'<tr data-count="(\w+)"><th>[^<]*</th><td>([^<]*)</td><td>([^<]*)</td>', response.text
    )
    return {name: [week, year] for name, week, year in found}


# ---- signing in ---------------------------------------------------------------------------------


async def test_a_leader_types_web_and_signs_in_with_the_link(dash: Dash) -> None:
    path = await dash.link(WARD_CHAIR)
    shown = await dash.http.get(path)
    assert shown.status_code == 200
    assert says_page(shown, "web.signin_text")
    assert (
        f'action="{path}"' in shown.text
    )  # the button posts the link: a preview fetch uses nothing
    signed = await dash.http.post(path)
    assert signed.status_code == 303 and signed.headers["location"] == "/web/week"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    assert "Path=/web/" in cookie and f"Max-Age={int(SESSION_LIFETIME.total_seconds())}" in cookie
    week = await dash.http.get("/web/week")
    assert week.status_code == 200
    assert dash.bot.services.chart.staff["ld-hh-ct"].name in page_text(week)
    assert week.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in week.headers["content-security-policy"]


async def test_the_session_cookie_is_not_secure_over_plain_http(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    async with dashboard(where, clock, chart, public_url="http://10.0.0.5:8080") as local:
        user = local.bot.user(WARD_CHAIR, "Hải")
        said = "\n".join(texts(await local.bot.send(user.command("web"))))
        path = re.search(r"http://10\.0\.0\.5:8080(/web/signin/\S+)", said)
        assert path is not None
        signed = await local.http.post(path.group(1))
        assert signed.status_code == 303
        assert "Secure" not in signed.headers["set-cookie"]
        assert "strict-transport-security" not in signed.headers  # nothing to come back to


async def test_over_https_the_browser_is_told_to_come_back_only_over_https(dash: Dash) -> None:
    """A city's IT scan asks for HSTS on the dashboard: without it a
    leader on a café's Wi-Fi typing the address could be served a plain
    HTTP copy.  Sent when the public URL is HTTPS, on every answer."""
    signin = await dash.http.get(await dash.link(WARD_CHAIR))
    assert signin.headers["strict-transport-security"] == "max-age=31536000"
    signed = await dash.sign_in(WARD_CHAIR)
    week = await dash.http.get("/web/week")
    for answer in (signed, week, await dash.http.get("/web/export.csv")):
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


async def test_a_link_works_once(dash: Dash) -> None:
    path = await dash.link(WARD_CHAIR)
    assert (await dash.http.post(path)).status_code == 303
    again = await dash.http.post(path)
    assert again.status_code == 410
    assert says_page(again, "web.link_invalid")


async def test_a_link_expires_after_15_minutes(dash: Dash) -> None:
    path = await dash.link(WARD_CHAIR)
    dash.clock.advance(SIGNIN_LIFETIME)
    late = await dash.http.post(path)
    assert late.status_code == 410 and says_page(late, "web.link_invalid")
    fresh = await dash.link(WARD_CHAIR)
    dash.clock.advance(SIGNIN_LIFETIME - timedelta(seconds=1))
    assert (await dash.http.post(fresh)).status_code == 303


@pytest.mark.parametrize("token", ["A" * 43, "short", "A" * 42 + "!", "%3Cscript%3E" + "A" * 31])
async def test_a_forged_link_signs_nobody_in(dash: Dash, token: str) -> None:
    refused = await dash.http.post(f"/web/signin/{token}")
    assert refused.status_code == 410 and says_page(refused, "web.link_invalid")
    assert "set-cookie" not in refused.headers
    assert "<script>" not in refused.text


async def test_a_link_cut_short_says_so_before_any_button(dash: Dash) -> None:
    """A link cut short (a chat wrapped it, a leader copied part of it)
    showed the "sign in" button, which could only fail; it says at once
    that the link is not good and how to get a new one."""
    path = await dash.link(WARD_CHAIR)
    for cut in (path[:-5], path[:-1] + "!", path + "x"):
        shown = await dash.http.get(cut)
        assert shown.status_code == 410 and says_page(shown, "web.link_invalid"), cut
        assert t("vi", "web.signin_button") not in page_text(shown)
    assert (await dash.http.get(path)).status_code == 200


async def test_the_link_names_its_expiry_in_the_wards_time(dash: Dash) -> None:
    user = dash.bot.user(WARD_CHAIR, "Hải")
    said = "\n".join(texts(await dash.bot.send(user.command("web"))))
    until = (dash.clock.now() + SIGNIN_LIFETIME).astimezone(dash.bot.digests.tz)
    assert says(said, "web.link", until=until.strftime("%H:%M"))


async def test_residents_and_cadres_are_refused_web(dash: Dash) -> None:
    for user_id in (ENVIRONMENT_CADRE, 555001):
        user = dash.bot.user(user_id, "Ai đó")
        said = "\n".join(texts(await dash.bot.send(user.command("web"))))
        assert says(said, "digest.only_leaders")
        assert "/web/signin/" not in said


async def test_without_a_public_url_there_is_no_link(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    async with dashboard(where, clock, chart, public_url="") as bare:
        user = bare.bot.user(WARD_CHAIR, "Hải")
        said = "\n".join(texts(await bare.bot.send(user.command("web"))))
        assert says(said, "web.unavailable")


def test_zalo_leaders_type_web_in_words() -> None:
    assert parse_command("trang web") == Command("web")
    assert parse_command("/web") == Command("web")
    assert parse_command("mo web") == Command("web")


async def test_every_page_asks_for_a_session(dash: Dash) -> None:
    for path in (*PAGES, "/web/complaints/PA-000001", "/web/"):
        refused = await dash.http.get(path)
        assert refused.status_code == 401, path
        assert says_page(refused, "web.signed_out"), path
    dash.http.cookies.set("phananh_session", "A" * 43, domain="bot.example.org")
    assert (await dash.http.get("/web/week")).status_code == 401


async def test_a_session_lasts_12_hours(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    dash.clock.advance(SESSION_LIFETIME - timedelta(seconds=1))
    assert (await dash.http.get("/web/tasks")).status_code == 200
    dash.clock.advance(timedelta(seconds=1))
    assert (await dash.http.get("/web/tasks")).status_code == 401


async def test_signing_out_ends_the_session(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    cookie = dash.http.cookies["phananh_session"]
    out = await dash.http.post("/web/signout")
    assert out.status_code == 303
    dash.http.cookies.set("phananh_session", cookie, domain="bot.example.org", path="/web/")
    assert (await dash.http.get("/web/week")).status_code == 401


async def test_another_website_cannot_sign_the_leader_out_or_in(dash: Dash) -> None:
    """A hidden form on another site posted to /web/signout and the leader's
    cookie was deleted (the answer to a top-level POST may set cookies);
    one posting an attacker's own link signed the leader in as the
    attacker.  Both are refused now, by what the browser says of where
    the request comes from, and the page's own buttons still work."""
    await dash.sign_in(WARD_CHAIR)
    elsewhere = [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://blog.example.org"},
        {"Origin": "https://evil.example"},  # a browser without Sec-Fetch-*
        {"Origin": "null"},
    ]
    for headers in elsewhere:
        out = await dash.http.post("/web/signout", headers=headers)
        assert out.status_code == 403 and says_page(out, "web.from_elsewhere"), headers
        assert "set-cookie" not in out.headers
        assert (await dash.http.get("/web/week")).status_code == 200
    link = await dash.link(OTHER_WARD_LEADER)
    for headers in elsewhere:
        refused = await dash.http.post(link, headers=headers)
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
    mine = {"Sec-Fetch-Site": "same-origin", "Origin": PUBLIC_URL}
    assert (await dash.http.post(link, headers=mine)).status_code == 303
    assert (await dash.http.post("/web/signout", headers={"Origin": PUBLIC_URL})).status_code == 303
    assert (await dash.http.get("/web/week")).status_code == 401


async def test_a_deactivated_leader_is_signed_out(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    assert (await dash.http.get("/web/week")).status_code == 200
    await Admin(dash.bot.services).deactivate("ld-hh-ct", by="test")
    assert (await dash.http.get("/web/week")).status_code == 401


async def test_a_link_of_a_leader_deactivated_since_signs_nobody_in(dash: Dash) -> None:
    path = await dash.link(WARD_CHAIR)
    await Admin(dash.bot.services).deactivate("ld-hh-ct", by="test")
    refused = await dash.http.post(path)
    assert refused.status_code == 410 and says_page(refused, "web.link_invalid")
    assert "set-cookie" not in refused.headers


async def test_revoking_a_leaders_sessions_signs_them_out(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    web = dash.bot.services.web
    assert web is not None
    assert await web.revoke("ld-hh-ct") == 1
    assert (await dash.http.get("/web/week")).status_code == 401


# ---- the week -----------------------------------------------------------------------------------


async def seed_week(dash: Dash) -> None:
    """A week with something in every count: received, on time, late,
    overdue, in progress, rejected; one about the ward's leadership."""
    now = dash.clock.now()
    await dash.complaint(description="Rác 1")
    await dash.complaint(description="Rác 2", due_at=now + timedelta(hours=1))
    await dash.complaint(
        area="BD-TDP01", ward="BACHDANG", owner="cb-bd-dc", category="LCVH", family="urban_order"
    )
    await dash.complaint(
        category="TDCB",
        family="official_conduct",
        owner="ld-tp-bt",
        concerns_leadership=True,
        description="Lãnh đạo phường hách dịch",
    )


def reference(
    dash: Dash, complaints: list[d.Complaint], scope: d.Scope, week: d.Period
) -> d.Counts:
    return d.tally([c for c in complaints if scope.covers(c)], week).get("", d.Counts())


async def test_the_week_shows_the_digests_numbers(dash: Dash) -> None:
    await seed_week(dash)
    dash.clock.advance(timedelta(days=7))  # the seeded week is complete, one overdue
    await dash.sign_in(WARD_CHAIR)
    digests = dash.bot.digests
    week = digests.last_week()
    page = await dash.http.get("/web/week")
    assert page.status_code == 200
    shown = counts_of(page)
    everything = await dash.bot.services.store.all_complaints()
    expected = reference(dash, everything, d.Scope(("HONGHAI",)), week)
    assert expected.received == 2 and expected.overdue == 2  # not the leadership's complaint
    for name, _ in (("received", 0), ("on_time", 0), ("late", 0), ("in_progress", 0)):
        assert shown[name][0] == str(getattr(expected, name)), name
    assert shown["overdue"][0] == str(expected.overdue)
    built = await digests.build(d.Scope(("HONGHAI",)), week)
    assert built.week_counts == expected  # the digest itself agrees
    assert "Lãnh đạo phường hách dịch" not in page.text


async def test_the_city_leader_sees_the_city_and_picks_a_ward(dash: Dash) -> None:
    await seed_week(dash)
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(CITY_LEADER)
    week = dash.bot.digests.last_week()
    everything = await dash.bot.services.store.all_complaints()
    city = await dash.http.get("/web/week")
    whole = reference(dash, everything, d.Scope(("HONGHAI", "BACHDANG"), whole_city=True), week)
    assert counts_of(city)["received"][0] == str(whole.received) == "4"
    assert '<option value="BACHDANG"' in city.text
    ward = await dash.http.get("/web/week", params={"ward": "HONGHAI"})
    by_city = reference(dash, everything, d.Scope(("HONGHAI",), by_city=True), week)
    assert counts_of(ward)["received"][0] == str(by_city.received) == "3"


async def test_any_week_can_be_read_and_stepped_through(dash: Dash) -> None:
    await seed_week(dash)
    dash.clock.advance(timedelta(days=14))
    await dash.sign_in(WARD_CHAIR)
    seeded = d.week_of(dash.clock.now() - timedelta(days=14), dash.bot.digests.tz)
    page = await dash.http.get("/web/week", params={"week": seeded.key})
    assert counts_of(page)["received"][0] == "2"
    year, number = seeded.key.split("-W")
    assert says_page(page, "web.week_title", number=int(number), year=year)
    before = d.week_of(seeded.start - timedelta(days=1), dash.bot.digests.tz)
    assert f"week={before.key}" in page.text
    earlier = await dash.http.get("/web/week", params={"week": before.key})
    assert counts_of(earlier)["received"][0] == "0"


@pytest.mark.parametrize(
    ("params", "status", "key"),
    [
        ({"week": "tuần trước"}, 400, "web.bad_week"),
        ({"week": "2026-W60"}, 400, "web.bad_week"),
        ({"week": "2031-W01"}, 400, "web.bad_week"),
        ({"week": "9999-W52"}, 400, "web.bad_week"),  # was a 500: past the last date
        ({"ward": "NOWHERE"}, 400, "web.bad_param"),
        ({"ward": "BACHDANG"}, 403, "web.not_your_ward"),
    ],
)
async def test_a_bad_week_or_ward_is_refused(
    dash: Dash, params: dict[str, str], status: int, key: str
) -> None:
    await dash.sign_in(WARD_CHAIR)
    for path in PAGES:
        refused = await dash.http.get(path, params=params)
        assert refused.status_code == status, path
        assert says_page(refused, key, name="ward"), path
        assert "NOWHERE" not in refused.text


async def test_a_parameter_given_twice_is_refused(dash: Dash) -> None:
    await dash.sign_in(CITY_LEADER)
    refused = await dash.http.get("/web/week?ward=HONGHAI&ward=BACHDANG")
    assert refused.status_code == 400 and says_page(refused, "web.bad_param", name="ward")


async def test_the_chart_and_the_downloads_are_the_weeks(dash: Dash) -> None:
    await seed_week(dash)
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(WARD_CHAIR)
    week = dash.bot.digests.last_week()
    chart = await dash.http.get("/web/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    got = await dash.http.get("/web/export.csv")
    assert got.headers["content-type"].startswith("text/csv")
    assert f"phan-anh-honghai-{week.key.lower()}.csv" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig")), delimiter=";"))
    exported = await dash.bot.digests.export(d.Scope(("HONGHAI",)), week)
    assert sorted(r[0] for r in rows[1:]) == sorted(e.complaint.code for e in exported)
    assert len(rows) == 3 and "Lãnh đạo phường hách dịch" not in got.text
    xlsx = await dash.http.get("/web/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 3
    assert (await dash.http.get("/web/export.pdf")).status_code == 404


async def test_a_noncharacter_a_resident_typed_does_not_corrupt_the_excel_download(
    dash: Dash,
) -> None:
    """U+FFFF passes the text cleaning (it is no control character) but an
    XLSX is XML, which cannot hold it: Excel called the whole workbook
    corrupt.  The leader now gets a workbook that opens, the character
    shown as U+FFFD."""
    resident = dash.bot.user(555010, "Lan")
    await file_sanitation_report(dash.bot, resident, description="Rác\uffff tràn ngõ")
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(WARD_CHAIR)
    got = await dash.http.get("/web/export.xlsx")
    assert got.status_code == 200
    sheet = load_workbook(io.BytesIO(got.content)).active
    assert sheet is not None
    assert "Rác\ufffd tràn ngõ" in [cell.value for cell in sheet[2]]


# ---- the open tasks -----------------------------------------------------------------------------


async def test_the_open_tasks_with_each_filter(dash: Dash) -> None:
    now = dash.clock.now()
    late = await dash.complaint(description="Rác cũ", due_at=now - timedelta(hours=2))
    other_group = await dash.complaint(area="HH-TDP06", description="Rác tổ 6")
    order = await dash.complaint(
        category="LCVH", family="urban_order", owner="cb-hh-ca", description="Lấn chiếm"
    )
    await dash.complaint(area="BD-TDP01", ward="BACHDANG", owner="cb-bd-dc", description="Xa")
    await dash.sign_in(WARD_CHAIR)
    everything = await dash.http.get("/web/tasks")
    assert says_page(everything, "web.tasks_title", count="3")
    for c in (late, other_group, order):
        assert f'href="/web/complaints/{c.code}' in everything.text
    assert "Xa" not in page_text(everything)

    async def codes(**params: str) -> set[str]:
        page = await dash.http.get("/web/tasks", params=params)
        assert page.status_code == 200
        return set(re.findall(r">(PA-\d+)</a>", page.text))

    assert await codes(group="HH-TDP06") == {other_group.code}
    assert await codes(category="LCVH") == {order.code}
    assert await codes(cadre="cb-hh-ca") == {order.code}
    assert await codes(state="submitted") == {late.code, other_group.code, order.code}
    assert await codes(state="acknowledged") == set()
    assert await codes(overdue="1") == {late.code}
    assert await codes(group="HH-TDP03", category="RKTG", overdue="1") == {late.code}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("group", "BD-TDP01"),  # another ward's group
        ("group", "NOWHERE"),
        ("category", "XYZ"),
        ("cadre", "nobody"),
        ("state", "confirmed"),  # not an open state
        ("overdue", "yes"),
    ],
)
async def test_an_unknown_filter_value_is_refused(dash: Dash, name: str, value: str) -> None:
    await dash.sign_in(WARD_CHAIR)
    refused = await dash.http.get("/web/tasks", params={name: value})
    assert refused.status_code == 400
    assert says_page(refused, "web.bad_param", name=name)
    assert value not in page_text(refused).replace(name, "")


async def test_a_ward_leader_never_sees_complaints_about_their_own_leadership(
    dash: Dash,
) -> None:
    about = await dash.complaint(
        category="TDCB",
        family="official_conduct",
        owner="ld-tp-bt",
        concerns_leadership=True,
        description="Lãnh đạo phường hách dịch",
    )
    await dash.sign_in(WARD_CHAIR)
    tasks = await dash.http.get("/web/tasks")
    assert about.code not in tasks.text
    hidden = await dash.http.get(f"/web/complaints/{about.code}")
    assert hidden.status_code == 404 and "hách dịch" not in hidden.text
    dash.http.cookies.clear()
    await dash.sign_in(CITY_LEADER)
    seen = await dash.http.get(f"/web/complaints/{about.code}")
    assert seen.status_code == 200 and "hách dịch" in seen.text


# ---- one complaint ------------------------------------------------------------------------------


async def test_a_complaint_shows_its_history_and_photos(dash: Dash) -> None:
    photo = await dash.photo(JPEG)
    filed = await dash.complaint(
        photos=[photo], landmark="Cạnh cột điện", location=GeoPoint(107.0875, 20.953)
    )
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get(f"/web/complaints/{filed.code}")
    assert page.status_code == 200
    text = page_text(page)
    assert filed.code in text and "Rác tràn ngõ" in text and "Cạnh cột điện" in text
    assert says_page(page, "web.history")
    assert t("vi", "history.action_file") in text
    src = f"/web/complaints/{filed.code}/photos/report/0"
    assert f'src="{src}"' in page.text
    served = await dash.http.get(src)
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    for wrong in ("/photos/report/1", "/photos/resolution/0", "/photos/other/0"):
        assert (await dash.http.get(f"/web/complaints/{filed.code}{wrong}")).status_code == 404


async def test_a_residents_photo_is_not_left_in_the_browser_and_never_opens_as_a_page(
    dash: Dash,
) -> None:
    """Photos were cached for 10 minutes ("private, max-age=600"): on the
    ward office's shared PC a resident's photo outlived the leader's
    sign-out.  And a "photo" whose bytes are a web page (kept with the
    type its sender declared) was shown as a page of the dashboard."""
    page = b'<html><meta http-equiv="refresh" content="0;url=https://evil.example"></html>'
    declared = Photo(await dash.bot.services.media.keep(page, "text/html"))
    filed = await dash.complaint(photos=[await dash.photo(JPEG), declared])
    await dash.sign_in(WARD_CHAIR)
    photo = await dash.http.get(f"/web/complaints/{filed.code}/photos/report/0")
    assert photo.headers["cache-control"] == "no-store"
    assert "content-disposition" not in photo.headers
    other = await dash.http.get(f"/web/complaints/{filed.code}/photos/report/1")
    assert other.headers["cache-control"] == "no-store"
    assert other.headers["content-disposition"] == "attachment"
    assert other.headers["content-type"].startswith("text/html")  # as kept, but only saved


async def test_a_complaint_waiting_to_be_acknowledged_shows_when_it_was_sent_and_both_deadlines(
    dash: Dash,
) -> None:
    """The page said "Tiếp nhận lúc" (acknowledged at) with the filing time
    under the state "Chờ tiếp nhận", where the export's "Ngày tiếp nhận" is
    empty; and it gave one "Hạn" where the task card gives two."""
    filed = await dash.complaint()
    await dash.sign_in(WARD_CHAIR)
    page = page_text(await dash.http.get(f"/web/complaints/{filed.code}"))
    sent_at = filed.created_at.astimezone(TZ).strftime("%d/%m/%Y %H:%M")
    due = filed.due_at.astimezone(TZ).strftime("%d/%m/%Y %H:%M")
    assert f"{t('vi', 'web.created')} {sent_at}" in page
    assert "tiếp nhận" not in t("vi", "web.created").lower(), "acknowledging is another thing"
    assert f"{t('vi', 'web.ack_due')} " in page
    assert f"{t('vi', 'web.resolve_due')} {due}" in page


async def test_the_residents_name_shows_only_where_the_task_card_shows_it(dash: Dash) -> None:
    hidden = await dash.complaint(reporter=1001, show_name=False)
    shown = await dash.complaint(reporter=1002, show_name=True)
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get(f"/web/complaints/{hidden.code}")
    assert "Lan" not in page_text(page) and says_page(page, "web.reporter_hidden")
    named = await dash.http.get(f"/web/complaints/{shown.code}")
    assert "Lan" in page_text(named)


async def test_another_wards_complaint_is_not_found(dash: Dash) -> None:
    theirs = await dash.complaint(area="BD-TDP01", ward="BACHDANG", owner="cb-bd-dc")
    photo = await dash.photo(JPEG)
    with_photo = await dash.complaint(
        area="BD-TDP02", ward="BACHDANG", owner="cb-bd-dc", photos=[photo]
    )
    await dash.sign_in(WARD_CHAIR)
    for path in (
        f"/web/complaints/{theirs.code}",
        f"/web/complaints/{with_photo.code}/photos/report/0",
        "/web/complaints/PA-999999",
        "/web/complaints/hello",
    ):
        refused = await dash.http.get(path)
        assert refused.status_code == 404, path
        assert says_page(refused, "web.not_found"), path
    dash.http.cookies.clear()
    await dash.sign_in(OTHER_WARD_LEADER)
    assert (await dash.http.get(f"/web/complaints/{theirs.code}")).status_code == 200


# ---- the ranking and the map --------------------------------------------------------------------


async def test_the_ranking_is_the_digests(dash: Dash) -> None:
    await seed_week(dash)
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get("/web/ranking")
    assert page.status_code == 200
    built = await dash.bot.digests.build(d.Scope(("HONGHAI",)), dash.bot.digests.last_week())
    chart = dash.bot.services.chart
    shown = page_text(page)
    shown = shown[shown.index(t("vi", "web.ranking_wards")) :]
    wards = [chart.areas[r.key].name for r in built.ward_ranking]
    cadres = [chart.staff[r.key].name for r in built.cadre_ranking]
    assert len(wards) == 2 and cadres
    positions = [shown.index(name) for name in [*wards, *cadres]]
    assert positions == sorted(positions)  # in the digest's order, wards then officers
    assert says_page(page, "web.ranking_wards") and says_page(page, "web.ranking_cadres")


async def test_the_map_shades_the_groups_from_the_org_chart(dash: Dash) -> None:
    await dash.complaint(area="HH-TDP03")
    await dash.complaint(area="HH-TDP03")
    await dash.complaint(area="HH-TDP11")  # a group with a centre only
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get("/web/map")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert svg.count("<polygon") == 8 and svg.count('class="group dot"') == 6  # HONGHAI only
    assert "BD-TDP01" not in svg
    three = re.search(r'data-group="HH-TDP03">.*?fill="(#\w+)"', svg)
    one = re.search(r'data-group="HH-TDP11">.*?fill="(#\w+)"', svg)
    quiet = re.search(r'data-group="HH-TDP05">.*?fill="(#\w+)"', svg)
    assert three and one and quiet
    assert three.group(1) == "#a50f15" and quiet.group(1) == "#f7f7f7" != one.group(1)
    assert 'href="/web/tasks?' in svg and "group=HH-TDP03" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert says_page(page, "web.map_legend")


async def test_the_maps_hotspots_count_the_residents_who_follow(dash: Dash) -> None:
    """Three reports of one problem in a group make a hotspot; a neighbour who follows
    one of them instead of filing again is counted among the residents (issue 17)."""
    store = dash.bot.services.store
    filed = [await dash.complaint(reporter=500 + n) for n in range(3)]
    neighbour = await store.upsert_person("telegram", "600", "Hoa", "vi")
    await store.follow(filed[0].id, neighbour.id, dash.clock.now(), show_name=False)
    dash.clock.advance(timedelta(days=7))
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get("/web/map")
    assert says_page(page, "web.hotspot", count=3, residents=4, open=3)


async def test_a_map_without_geometry_says_so(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    from dataclasses import replace

    bare = replace(
        chart,
        areas={c: replace(a, polygon=None, centre=None) for c, a in chart.areas.items()},
    )
    async with dashboard(where, clock, bare) as flat:
        await flat.sign_in(WARD_CHAIR)
        page = await flat.http.get("/web/map")
        assert page.status_code == 200 and "<svg" not in page.text
        assert says_page(page, "web.map_none")


# ---- language, unknown pages --------------------------------------------------------------------


async def test_a_leader_who_chose_english_reads_english(dash: Dash) -> None:
    user = dash.bot.user(WARD_CHAIR, "Hải")
    await dash.bot.send(user.command("lang", "en"))
    await dash.sign_in(WARD_CHAIR)
    page = await dash.http.get("/web/tasks")
    assert says_page(page, "web.nav_tasks", "en") and 'lang="en"' in page.text


async def test_an_unknown_page_is_a_clear_404(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    missing = await dash.http.get("/web/nothing-here")
    assert missing.status_code == 404 and says_page(missing, "web.page_not_found")
    style = await dash.http.get("/web/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "url(" not in style.text and "@import" not in style.text  # nothing from elsewhere


async def test_the_link_points_at_the_public_url(dash: Dash) -> None:
    user = dash.bot.user(CITY_LEADER, "Bí thư")
    said = "\n".join(texts(await dash.bot.send(user.command("web"))))
    assert f"{PUBLIC_URL}/web/signin/" in said


# ---- the command line ---------------------------------------------------------------------------


async def test_it_makes_and_revokes_links_from_the_command_line(
    dash: Dash, where: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import main

    monkeypatch.setenv("PHANANH_DB", str(where))
    monkeypatch.setenv("PHANANH_PUBLIC_URL", PUBLIC_URL)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    code, out, _ = await asyncio.to_thread(run, "web", "link", "--staff", "ld-hh-ct")
    name = dash.bot.services.chart.staff["ld-hh-ct"].name
    assert code == 0 and says(out, "cli.web_link", name=name)
    found = re.search(r"https://bot\.example\.org(/web/signin/\S+)", out)
    assert found is not None
    # The link was made on the system clock: the test's clock goes there too.
    dash.clock.set(datetime.now(UTC))
    assert (await dash.http.post(found.group(1))).status_code == 303
    assert (await dash.http.get("/web/week")).status_code == 200
    code, out, _ = await asyncio.to_thread(run, "web", "revoke", "--staff", "ld-hh-ct")
    assert code == 0 and says(out, "cli.web_revoked", staff="ld-hh-ct", count=1)
    assert (await dash.http.get("/web/week")).status_code == 401
    code, _, err = await asyncio.to_thread(run, "web", "link", "--staff", "cb-hh-mt")
    assert code == 1 and says(err, "cli.web_not_leader", staff="cb-hh-mt")
    monkeypatch.setenv("PHANANH_PUBLIC_URL", "")
    code, _, err = await asyncio.to_thread(run, "web", "link", "--staff", "ld-hh-ct")
    assert code == 2 and says(err, "cli.web_no_public_url")


# ---- both channels ------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_a_leader_on_either_channel_gets_a_link_that_signs_them_in(
    tmp_path: Path, clock: ManualClock, chart: OrgChart, channel: str
) -> None:
    from tests.channels import stage
    from tests.factories import load_chart

    db = tmp_path / "web.db"
    await load_chart(db, chart)
    async with stage(db, clock) as play:
        chair = await play.staff(channel, "ld-hh-ct", "Hùng")
        said = "\n".join(await chair.command("web"))
        assert chair.says(
            said,
            "web.link",
            until=(clock.now() + SIGNIN_LIFETIME).astimezone(play.bot.digests.tz).strftime("%H:%M"),
        )
        found = re.search(r"(/web/signin/[A-Za-z0-9_-]{43})", said)
        assert found is not None
        transport = httpx.ASGITransport(app=play.bot.runtime.http.asgi())
        # The stage's public URL is https: the session's cookie is Secure.
        async with httpx.AsyncClient(transport=transport, base_url="https://x") as client:
            assert (await client.post(found.group(1))).status_code == 303
            week = await client.get("/web/week")
            assert week.status_code == 200
            assert chart.staff["ld-hh-ct"].name in page_text(week)
        cadre = await play.staff(channel, "cb-hh-mt", "Thắng")
        assert cadre.says("\n".join(await cadre.command("web")), "digest.only_leaders")


# ---- behind the shipped nginx -------------------------------------------------------------------


async def test_the_shipped_nginx_passes_the_dashboard_through(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """examples/nginx-phananh.conf: a leader signs in and reads the week over HTTPS."""
    import ssl

    from tests.nginx import nginx_or_skip, running_nginx

    binary = nginx_or_skip()
    async with dashboard(tmp_path / "web.db", clock, chart) as dash:
        path = await dash.link(WARD_CHAIR)
        with running_nginx(binary, [dash.bot.runtime.http.port]) as nginx:
            context = ssl.create_default_context(cafile=str(nginx.certificate))
            async with httpx.AsyncClient(verify=context) as client:
                assert (await client.get(nginx.url(path))).status_code == 200
                signed = await client.post(nginx.url(path))
                assert signed.status_code == 303 and "Secure" in signed.headers["set-cookie"]
                week = await client.get(nginx.url("/web/week"))
                assert week.status_code == 200 and 'data-count="received"' in week.text
                style = await client.get(nginx.url("/web/style.css"))
                assert style.status_code == 200


async def test_web_without_its_slash_leads_to_the_dashboard(dash: Dash) -> None:
    await dash.sign_in(WARD_CHAIR)
    moved = await dash.http.get("/web")
    assert moved.status_code == 308 and moved.headers["location"] == "/web/"
    home = await dash.http.get("/web/")
    assert home.status_code == 303 and home.headers["location"] == "/web/week"


async def test_behind_a_path_prefix_every_link_keeps_it(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """PHANANH_PUBLIC_URL=https://host/phananh: the proxy strips /phananh, the
    browser must keep it — in the links, the forms, the redirects, the cookie."""
    async with dashboard(where, clock, chart, public_url=f"{PUBLIC_URL}/phananh") as dash:
        user = dash.bot.user(WARD_CHAIR, "Hải")
        said = "\n".join(texts(await dash.bot.send(user.command("web"))))
        assert f"{PUBLIC_URL}/phananh/web/signin/" in said
        path = await dash.link(WARD_CHAIR)  # as the proxy passes it on: /web/signin/…
        shown = await dash.http.get(path)
        assert f'action="/phananh{path}"' in shown.text
        assert 'href="/phananh/web/style.css"' in shown.text
        signed = await dash.http.post(path)
        assert signed.headers["location"] == "/phananh/web/week"
        assert "Path=/phananh/web/" in signed.headers["set-cookie"]
        session = signed.cookies["phananh_session"]
        dash.http.cookies.set("phananh_session", session, domain="bot.example.org")
        week = await dash.http.get("/web/week")
        assert week.status_code == 200
        links = re.findall(r'(?:href|action|src)="([^"]+)"', week.text)
        assert links and all(link.startswith("/phananh/web/") for link in links), links


# ---- what residents and the org chart write, shown as text --------------------------------------

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'


async def test_html_in_a_report_a_group_or_a_name_is_shown_as_text_everywhere(
    where: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """A resident's description and landmark, a residential group's name
    and an officer's name holding HTML reach the leader's pages, the map's
    SVG, the downloads and Open311: each is text there, never markup."""
    areas = dict(chart.areas)
    areas["HH-TDP03"] = dataclasses.replace(areas["HH-TDP03"], name=f"Tổ 3 {SCRIPT}")
    staff = dict(chart.staff)
    staff["cb-hh-mt"] = dataclasses.replace(staff["cb-hh-mt"], name=f"Thắng {BREAKOUT}")
    hostile = dataclasses.replace(chart, areas=areas, staff=staff)
    async with dashboard(where, clock, hostile) as dash:
        resident = dash.bot.user(555011, "Lan")
        await file_sanitation_report(dash.bot, resident, description=f"Rác {SCRIPT} {BREAKOUT}")
        dash.clock.advance(timedelta(days=9))  # last week's, and overdue
        await dash.sign_in(WARD_CHAIR)
        [filed] = await dash.bot.services.store.all_complaints()
        for path in ("/web/week", "/web/tasks", "/web/map", f"/web/complaints/{filed.code}"):
            shown = await dash.http.get(path, params={"week": filed.created_at.strftime("%G-W%V")})
            assert shown.status_code == 200, path
            for markup in ("<script", "<img src=x", '"><img'):
                assert markup not in shown.text, (path, markup)
        page = await dash.http.get(f"/web/complaints/{filed.code}")
        assert f"Rác {SCRIPT} {BREAKOUT}" in page_text(page)
        assert f"Thắng {BREAKOUT}" in page_text(page)
        drawn = await dash.http.get(
            "/web/map", params={"week": filed.created_at.strftime("%G-W%V")}
        )
        svg = re.search(r"<svg[\s\S]*</svg>", drawn.text)
        assert svg is not None
        labels = [e.text for e in ElementTree.fromstring(svg.group(0)).findall(".//{*}text")]
        assert f"Tổ 3 {SCRIPT}" in labels
        assert SCRIPT not in (await dash.http.get("/open311/v2/requests.xml")).text
        feed = ElementTree.fromstring((await dash.http.get("/open311/v2/requests.xml")).content)
        assert feed.findtext("request/description") == f"Rác {SCRIPT} {BREAKOUT}"
