"""Open311 GeoReport v2 at /open311/v2/ (bot/app/open311.py,
bot/open311_http.py): every endpoint checked field by field against the
specification's own examples, in JSON and in XML (read with the standard
library), through the bot's real HTTP server, on both engines.

What the city's platforms may read never identifies a resident, never
shows a complaint about an official, and masks personal data in text; what
they POST is filed as a chat report is, and reaches the cadre on Telegram.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from bot.app.open311 import ApiKeys
from bot.cli import main
from bot.config import PostgresUrl
from bot.domain.clock import ManualClock
from bot.domain.complaints import Action, Event, State, format_code
from bot.domain.open311 import MAX_REQUESTS, parse_query
from bot.domain.orgchart import GeoPoint, OrgChart
from bot.domain.redact import mask_contacts
from bot.i18n import t
from bot.ports import Change, NewComplaint, Open311Store
from bot.sandbox.driver import BotDriver
from tests.catalogue import says
from tests.factories import ENVIRONMENT_CADRE, load_chart, started_bot, texts, to

pytestmark = pytest.mark.both_engines

PUBLIC_URL = "https://bot.example.org"
V2 = "/open311/v2"
PHOTO = b"\xff\xd8\xff\xe0 a jpeg of rubbish"
IN_GROUP_3 = GeoPoint(lon=107.0875, lat=20.953)  # inside Hồng Hải's Tổ dân phố 3


# ---- the specification's examples (wiki.open311.org/GeoReport_v2, /Service_Discovery) -------

SPEC_DISCOVERY_JSON = """{
  "changeset":"2011-02-03 14:18",
  "contact":"You can email or call for assistance api@mycity.org +1 (555) 555-5555",
  "key_service":"You can request a key here: http://api.mycity.gov/api_key/request",
  "endpoints":[{"specification":"http://wiki.open311.org/GeoReport_v2",
    "url":"http://open311.mycity.gov/v2","changeset":"2010-11-23 09:01",
    "type":"production","formats":["text/xml"]}]
}"""
SPEC_DISCOVERY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<discovery>
    <changeset>2011-02-03 14:18</changeset>
    <contact>You can email or call for assistance api@mycity.org +1 (555) 555-5555</contact>
    <key_service>You can request a key here: http://api.mycity.gov/api_key/request</key_service>
    <endpoints>
        <endpoint>
            <specification>http://wiki.open311.org/GeoReport_v2</specification>
            <url>http://open311.mycity.gov/v2</url>
            <changeset>2010-11-23 09:01</changeset>
            <type>production</type>
            <formats>
                <format>text/xml</format>
            </formats>
        </endpoint>
    </endpoints>
</discovery>"""
SPEC_SERVICES_JSON = """[{
    "service_code":"001",
    "service_name":"Cans left out 24x7",
    "description":"Garbage or recycling cans that have been left out for more than 24 hours.",
    "metadata":true,
    "type":"realtime",
    "keywords":"lorem, ipsum, dolor",
    "group":"sanitation"
}]"""
SPEC_SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
    <service>
        <service_code>001</service_code>
        <service_name>Cans left out 24x7</service_name>
        <description>Garbage or recycling cans that have been left out.</description>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>sanitation</group>
    </service>
</services>"""
SPEC_DEFINITION_JSON = """{
  "service_code":"DMV66",
  "attributes":[{"variable":true,"code":"WHISHETN","datatype":"singlevaluelist",
    "required":true,"datatype_description":null,"order":1,
    "description":"What is the ticket/tag/DL number?",
    "values":[{"key":123,"name":"Ford"},{"key":124,"name":"Chrysler"}]}]
}"""
SPEC_DEFINITION_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_definition>
    <service_code>DMV66</service_code>
    <attributes>
        <attribute>
            <variable>true</variable>
            <code>WHISHETN</code>
            <datatype>singlevaluelist</datatype>
            <required>true</required>
            <datatype_description></datatype_description>
            <order>1</order>
            <description>What is the ticket/tag/DL number?</description>
            <values>
                <value><key>123</key><name>Ford</name></value>
                <value><key>124</key><name>Chrysler</name></value>
            </values>
        </attribute>
    </attributes>
</service_definition>"""
SPEC_POSTED_JSON = """[{"service_request_id":293944,
  "service_notice":"The City will inspect and require the responsible party to correct",
  "account_id":null}]"""
SPEC_POSTED_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>293944</service_request_id>
        <service_notice>The City will inspect within 24 hours</service_notice>
        <account_id/>
    </request>
</service_requests>"""
SPEC_REQUESTS_JSON = """[{
    "service_request_id":638344,
    "status":"closed",
    "status_notes":"Duplicate request.",
    "service_name":"Sidewalk and Curb Issues",
    "service_code":"006",
    "description":null,
    "agency_responsible":null,
    "service_notice":null,
    "requested_datetime":"2010-04-14T06:37:38-08:00",
    "updated_datetime":"2010-04-14T06:37:38-08:00",
    "expected_datetime":"2010-04-15T06:37:38-08:00",
    "address":"8TH AVE and JUDAH ST",
    "address_id":545483,
    "zipcode":94122,
    "lat":37.762221815,
    "long":-122.4651145,
    "media_url":"http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"
}]"""
SPEC_REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>638344</service_request_id>
        <status>closed</status>
        <status_notes>Duplicate request.</status_notes>
        <service_name>Sidewalk and Curb Issues</service_name>
        <service_code>006</service_code>
        <description></description>
        <agency_responsible></agency_responsible>
        <service_notice></service_notice>
        <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
        <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
        <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
        <address>8TH AVE and JUDAH ST</address>
        <address_id>545483</address_id>
        <zipcode>94122</zipcode>
        <lat>37.762221815</lat>
        <long>-122.4651145</long>
        <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg </media_url>
    </request>
</service_requests>"""
SPEC_ERRORS_JSON = """[{"code":403,
  "description":"Invalid api_key received -- can't proceed with create_request."}]"""
SPEC_ERRORS_XML = """<?xml version="1.0" encoding="utf-8"?>
<errors>
    <error>
        <code>403</code>
        <description>Invalid api_key received -- can't proceed with create_request.</description>
    </error>
</errors>"""


def shape(value: Any) -> Any:
    """A document's structure: its field names in order, each list by its
    first item, and no values."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict | list) else []
    return None


def xml_shape(node: ElementTree.Element) -> Any:
    """The same for XML: each element's children by name, in order, a list
    (its children all of one name) by its first child."""
    children = list(node)
    if not children:
        return None
    names = [child.tag for child in children]
    if len(children) > 1 and len(set(names)) == 1:
        children = children[:1]
    return [(child.tag, xml_shape(child)) for child in children]


def xml_document(response: httpx.Response) -> ElementTree.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(response.content)


def json_document(response: httpx.Response) -> Any:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def fields(node: ElementTree.Element) -> dict[str, str]:
    return {child.tag: child.text or "" for child in node}


# ---- the bot, with its HTTP server ------------------------------------------------------------


@dataclass
class City:
    """The started bot and a city platform's HTTP client to it."""

    bot: BotDriver
    http: httpx.AsyncClient
    store: Open311Store
    clock: ManualClock

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(V2 + path, params=params)

    async def post(self, fmt: str = "json", **form: str) -> httpx.Response:
        return await self.http.post(f"{V2}/requests.{fmt}", data=form)

    async def key(self, name: str = "ihanoi") -> str:
        made = await ApiKeys(self.store, self.bot.services).create(name)
        assert made is not None
        return made.key

    async def report(
        self,
        category: str = "RKTG",
        area: str = "HH-TDP03",
        description: str = "Rác tràn ngõ",
        **extra: Any,
    ) -> int:
        """A resident's report, filed by the use case the chat completes."""
        services = self.bot.services
        self.reporters = getattr(self, "reporters", 0) + 1
        person = await services.store.upsert_person(
            "telegram", str(900000 + self.reporters), "Nguyễn Văn An", "vi"
        )
        actor = services.actor_for(person, None)
        data = {"category": category, "area": area, "description": description, **extra}
        reply = await services.finisher("report")(actor, data)
        assert reply.complaint is not None
        return reply.complaint.id

    async def store_state(self, complaint_id: int, state: State) -> None:
        """The complaint ended in ``state`` (withdrawn, rejected), written as the use case
        that ends it writes it: the change and its event, through the store."""
        store = self.bot.services.store
        complaint = await store.get_complaint(complaint_id)
        assert complaint is not None
        action = Action.WITHDRAW if state is State.WITHDRAWN else Action.REJECT
        event = Event(complaint.id, self.clock.now(), action, complaint.state, state)
        change = Change(complaint.id, complaint.version, {"state": state}, event)
        assert await store.apply_change(change)

    async def as_owner(self, complaint_id: int) -> Any:
        services = self.bot.services
        complaint = await services.store.get_complaint(complaint_id)
        assert complaint is not None
        person = await services.store.person_of_staff(complaint.owner)
        assert person is not None
        return services.actor_for(person, complaint.owner)


@asynccontextmanager
async def a_city(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart, **settings: Any
) -> AsyncIterator[City]:
    await load_chart(where, chart)
    async with started_bot(
        where, clock, public_url=PUBLIC_URL, http_host="127.0.0.1", http_port=0, **settings
    ) as driver:
        runtime = driver.runtime
        transport = httpx.ASGITransport(app=runtime.http.asgi())
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield City(driver, client, runtime.core.storage.open311(), clock)


@pytest.fixture
async def city(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> AsyncIterator[City]:
    async with a_city(where, clock, chart) as started:
        yield started


# ---- discovery, services, definitions ---------------------------------------------------------


async def test_the_discovery_document_has_the_specifications_fields_over_the_real_socket(
    city: City,
) -> None:
    port = city.bot.runtime.http.port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as socket_client:
        as_json = json_document(await socket_client.get(f"{V2}/discovery.json"))
        as_xml = xml_document(await socket_client.get(f"{V2}/discovery.xml"))
    assert shape(as_json) == shape(json.loads(SPEC_DISCOVERY_JSON))
    assert xml_shape(as_xml) == xml_shape(ElementTree.fromstring(SPEC_DISCOVERY_XML))
    endpoint = as_json["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{PUBLIC_URL}/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert [f.text for f in as_xml.iter("format")] == ["text/xml", "application/json"]
    assert says(as_json["key_service"], "open311.key_service")


async def test_services_are_the_categories_grouped_by_family_without_the_conduct_ones(
    city: City, chart: OrgChart
) -> None:
    as_json = json_document(await city.get("/services.json"))
    as_xml = xml_document(await city.get("/services.xml"))
    assert shape(as_json) == shape(json.loads(SPEC_SERVICES_JSON))
    assert xml_shape(as_xml) == xml_shape(ElementTree.fromstring(SPEC_SERVICES_XML))
    published = [c for c in chart.categories.values() if c.family.value != "official_conduct"]
    assert [s["service_code"] for s in as_json] == [c.code for c in published]
    assert "TDCB" not in {s["service_code"] for s in as_json}
    rubbish = next(s for s in as_json if s["service_code"] == "RKTG")
    assert rubbish["service_name"] == chart.categories["RKTG"].name
    assert rubbish["group"] == t("vi", "family.sanitation")
    assert rubbish["metadata"] is True and rubbish["type"] == "realtime"
    assert says(rubbish["description"], "open311.notice_working", ack="8", days="2")
    drains = next(s for s in as_json if s["service_code"] == "CRNU")
    assert says(drains["description"], "open311.notice_urgent", ack="2", hours="24")
    xml_rubbish = next(fields(s) for s in as_xml if fields(s)["service_code"] == "RKTG")
    assert xml_rubbish == {**{k: str(v) for k, v in rubbish.items()}, "metadata": "true"}


async def test_a_category_defines_its_landmark_attribute(city: City) -> None:
    as_json = json_document(await city.get("/services/RKTG.json"))
    as_xml = xml_document(await city.get("/services/RKTG.xml"))
    spec = json.loads(SPEC_DEFINITION_JSON)
    del spec["attributes"][0]["values"]  # a list's values: the landmark is a string
    assert shape(as_json) == shape(spec)
    spec_xml = ElementTree.fromstring(SPEC_DEFINITION_XML)
    spec_attribute = spec_xml.find("attributes/attribute")
    assert spec_attribute is not None
    spec_attribute.remove(spec_attribute.find("values"))  # type: ignore[arg-type]
    assert xml_shape(as_xml) == xml_shape(spec_xml)
    attribute = as_json["attributes"][0]
    assert attribute["code"] == "landmark" and attribute["datatype"] == "string"
    assert attribute["variable"] is True and attribute["required"] is False
    assert as_xml.findtext("attributes/attribute/variable") == "true"
    assert as_xml.findtext("attributes/attribute/required") == "false"


@pytest.mark.parametrize("code", ["NOPE", "TDCB"])
async def test_an_unknown_service_definition_is_404_with_the_error_list(
    city: City, code: str
) -> None:
    as_json = await city.get(f"/services/{code}.json")
    as_xml = await city.get(f"/services/{code}.xml")
    assert as_json.status_code == as_xml.status_code == 404
    assert shape(json_document(as_json)) == shape(json.loads(SPEC_ERRORS_JSON))
    assert json_document(as_json)[0]["code"] == 404
    errors = xml_document(as_xml)
    assert xml_shape(errors) == xml_shape(ElementTree.fromstring(SPEC_ERRORS_XML))
    assert errors.findtext("error/code") == "404"
    assert says(errors.findtext("error/description"), "open311.unknown_service", code=code)


async def test_an_unknown_format_is_404(city: City) -> None:
    assert (await city.get("/services.html")).status_code == 404


# ---- requests: the fields, their mapping ------------------------------------------------------


async def test_requests_have_the_specifications_fields_and_the_complaints_values(
    city: City, chart: OrgChart
) -> None:
    media_id = await city.bot.services.media.keep(PHOTO, "image/jpeg")
    complaint_id = await city.report(
        description="Rác tràn ra ngõ, gọi 0912 345 678",
        landmark="ngõ 12 Lê Lợi",
        lat=IN_GROUP_3.lat,
        lon=IN_GROUP_3.lon,
        photos=[media_id],
    )
    created = city.clock.now()
    city.clock.advance(timedelta(hours=2))
    owner = await city.as_owner(complaint_id)
    resolved = await city.bot.services.finisher("resolve")(
        owner, {"complaint_id": complaint_id, "note": "Đã thu gom xong", "photos": []}
    )
    assert resolved.complaint is not None and resolved.complaint.state is State.RESOLVED
    as_json = json_document(await city.get("/requests.json"))
    as_xml = xml_document(await city.get("/requests.xml"))
    assert shape(as_json) == shape(json.loads(SPEC_REQUESTS_JSON))
    assert xml_shape(as_xml) == xml_shape(ElementTree.fromstring(SPEC_REQUESTS_XML))
    [request] = as_json
    tz = city.bot.runtime.settings.tz
    assert request["service_request_id"] == format_code(complaint_id)
    assert request["status"] == "closed"  # reported fixed: FixMyStreet's "fixed" is closed
    assert request["status_notes"] == "Đã thu gom xong"
    assert request["service_code"] == "RKTG"
    assert request["service_name"] == chart.categories["RKTG"].name
    assert request["description"] == "Rác tràn ra ngõ, gọi ***"
    assert request["agency_responsible"] == chart.areas["HONGHAI"].name
    assert says(request["service_notice"], "open311.notice_working", ack="8", days="2")
    assert request["requested_datetime"] == created.astimezone(tz).isoformat()
    assert request["requested_datetime"].endswith("+07:00")
    assert request["updated_datetime"] == city.clock.now().astimezone(tz).isoformat()
    assert datetime.fromisoformat(request["expected_datetime"]) == resolved.complaint.due_at
    assert request["address"] == "ngõ 12 Lê Lợi, Tổ dân phố 3, Phường Hồng Hải"
    assert request["address_id"] == "HH-TDP03"
    assert (request["lat"], request["long"]) == (IN_GROUP_3.lat, IN_GROUP_3.lon)
    assert request["media_url"].startswith(f"{PUBLIC_URL}/media/")
    photo = await city.http.get(request["media_url"].removeprefix(PUBLIC_URL))
    assert photo.status_code == 200 and photo.content == PHOTO
    xml_request = fields(as_xml[0])
    assert xml_request == {
        key: "" if value is None else str(value) for key, value in request.items()
    }


async def test_a_closed_requests_updated_time_is_when_it_closed_not_when_it_was_rated(
    city: City,
) -> None:
    complaint_id = await city.report()
    services = city.bot.services
    await services.finisher("resolve")(
        await city.as_owner(complaint_id), {"complaint_id": complaint_id, "note": "Xong"}
    )
    city.clock.advance(timedelta(hours=1))
    reporter = await services.store.reporter_of(complaint_id)
    assert reporter is not None
    person = await services.store.get_person(reporter)
    assert person is not None
    resident = services.actor_for(person, None)
    confirmed = await services.confirm_fixed(resident, complaint_id)
    assert confirmed.complaint is not None and confirmed.complaint.state is State.CONFIRMED
    closed_at = city.clock.now()
    city.clock.advance(timedelta(hours=3))
    rated = await services.finisher("rate")(resident, {"complaint_id": complaint_id, "stars": 5})
    assert rated.complaint is not None and rated.complaint.rating == 5
    [request] = json_document(await city.get(f"/requests/{complaint_id}.json"))
    assert request["status"] == "closed"
    assert datetime.fromisoformat(request["updated_datetime"]) == closed_at


async def test_a_request_without_location_or_photo_leaves_those_fields_empty(
    city: City,
) -> None:
    complaint_id = await city.report()
    [request] = json_document(await city.get(f"/requests/{format_code(complaint_id)}.json"))
    assert request["status"] == "open"
    assert request["status_notes"] is None
    assert request["lat"] is None and request["long"] is None and request["media_url"] is None
    assert request["address"] == "Tổ dân phố 3, Phường Hồng Hải"
    xml_request = fields(xml_document(await city.get(f"/requests/{complaint_id}.xml"))[0])
    assert xml_request["lat"] == xml_request["media_url"] == xml_request["status_notes"] == ""


async def test_nothing_published_names_the_resident_or_their_account(city: City) -> None:
    await city.report(show_name=True)
    body = (await city.get("/requests.json")).text + (await city.get("/requests.xml")).text
    assert "Nguyễn" not in body and "900001" not in body


# ---- requests: the filters --------------------------------------------------------------------


async def test_requests_by_a_list_of_ids_ignore_the_other_filters(city: City) -> None:
    first, second, third = [await city.report() for _ in range(3)]
    codes = f"{format_code(first)},{third}"
    listed = json_document(
        await city.get("/requests.json", service_request_id=codes, status="closed")
    )
    assert {r["service_request_id"] for r in listed} == {format_code(first), format_code(third)}
    assert second not in {r["service_request_id"] for r in listed}


async def test_requests_by_service_code_and_status(city: City) -> None:
    rubbish = await city.report("RKTG")
    sidewalk = await city.report("LCVH", "HH-TDP06", "Lấn chiếm vỉa hè")
    owner = await city.as_owner(rubbish)
    await city.bot.services.finisher("resolve")(
        owner, {"complaint_id": rubbish, "note": "Xong", "photos": []}
    )

    async def listed(**params: str) -> list[str]:
        as_json = json_document(await city.get("/requests.json", **params))
        as_xml = xml_document(await city.get("/requests.xml", **params))
        ids = [r["service_request_id"] for r in as_json]
        assert ids == [r.findtext("service_request_id") for r in as_xml]
        return ids

    assert await listed(service_code="LCVH") == [format_code(sidewalk)]
    assert await listed(service_code="LCVH,RKTG") == [format_code(sidewalk), format_code(rubbish)]
    assert await listed(status="open") == [format_code(sidewalk)]
    assert await listed(status="closed") == [format_code(rubbish)]
    assert await listed(status="open,closed", service_code="RKTG") == [format_code(rubbish)]


async def test_requests_by_dates_and_the_last_90_days_by_default(city: City) -> None:
    old = await city.report(description="Cũ")
    city.clock.advance(timedelta(days=100))
    recent = await city.report(description="Mới")
    now = city.clock.now()
    assert [r["service_request_id"] for r in json_document(await city.get("/requests.json"))] == [
        format_code(recent)
    ]
    start = (now - timedelta(days=101)).isoformat()
    end = (now - timedelta(days=50)).isoformat()
    window = json_document(await city.get("/requests.json", start_date=start, end_date=end))
    assert [r["service_request_id"] for r in window] == [format_code(old)]
    only_start = json_document(await city.get("/requests.json", start_date=start))
    assert [r["service_request_id"] for r in only_start] == [format_code(old)]
    utc = json_document(
        await city.get("/requests.json", end_date=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    assert [r["service_request_id"] for r in utc] == [format_code(recent)]


async def test_a_date_without_a_time_takes_in_that_whole_day(city: City) -> None:
    """A platform asking ``end_date=2026-11-23`` means up to the end of that day in the
    ward, not its first instant."""
    city.clock.advance(timedelta(hours=3))
    filed = await city.report()
    tz = city.bot.runtime.core.settings.tz
    day = city.clock.now().astimezone(tz).date().isoformat()
    for params in ({"end_date": day}, {"start_date": day}, {"start_date": day, "end_date": day}):
        found = json_document(await city.get("/requests.json", **params))
        assert [r["service_request_id"] for r in found] == [format_code(filed)], params
    before = (city.clock.now().astimezone(tz).date() - timedelta(days=1)).isoformat()
    assert json_document(await city.get("/requests.json", end_date=before)) == []


async def test_at_most_1000_requests_newest_first(city: City) -> None:
    store = city.bot.services.store
    person = await store.upsert_person("telegram", "424242", None, "vi")
    for n in range(MAX_REQUESTS + 1):
        now = city.clock.now() + timedelta(seconds=n)
        await store.create_complaint(
            NewComplaint(
                category="RKTG",
                family="sanitation",
                area="HH-TDP03",
                ward="HONGHAI",
                owner="cb-hh-mt",
                description=f"Rác {n}",
                created_at=now,
                due_at=now + timedelta(days=2),
            ),
            person.id,
            now,
            [],
        )
    city.clock.advance(timedelta(seconds=MAX_REQUESTS + 1))
    listed = json_document(await city.get("/requests.json"))
    assert len(listed) == MAX_REQUESTS
    assert listed[0]["description"] == f"Rác {MAX_REQUESTS}"
    assert listed[-1]["description"] == "Rác 1"


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"start_date": "hôm qua"}, "open311.bad_date"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "open311.bad_date"),
        (
            {"start_date": "2026-11-20T00:00:00Z", "end_date": "2026-11-10T00:00:00Z"},
            "open311.dates_reversed",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-10T00:00:00Z"},
            "open311.dates_too_far",
        ),
        ({"status": "pending"}, "open311.bad_status"),
        ({"service_code": "NOPE"}, "open311.unknown_service"),
        ({"service_code": "TDCB"}, "open311.unknown_service"),
        ({"service_request_id": "PA-1,abc"}, "open311.bad_id"),
        # Dates a datetime holds, but not 90 days beside them: was a 500.
        ({"start_date": "9999-12-31"}, "open311.date_out_of_range"),
        ({"start_date": "9999-12-31T23:59:59-12:00"}, "open311.date_out_of_range"),
        ({"end_date": "0001-01-01"}, "open311.date_out_of_range"),
        ({"start_date": "0001-01-01"}, "open311.date_out_of_range"),
    ],
)
async def test_a_bad_query_is_400_with_the_reason(
    city: City, params: dict[str, str], key: str
) -> None:
    for fmt in ("json", "xml"):
        response = await city.get(f"/requests.{fmt}", **params)
        assert response.status_code == 400
        if fmt == "json":
            [error] = json_document(response)
            assert error["code"] == 400 and says(error["description"], key)
        else:
            assert xml_document(response).findtext("error/code") == "400"


def test_a_list_of_ids_is_read_once_each_and_at_most_1000() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    ids = ",".join(str(n) for n in [*range(1, MAX_REQUESTS + 500), 7, 7])
    query = parse_query({"service_request_id": ids}, now, UTC, ["RKTG"])
    assert query.ids == tuple(range(1, MAX_REQUESTS + 1))
    assert parse_query({"service_request_id": "PA-000007, 7"}, now, UTC, []).ids == (7,)


async def test_an_unknown_request_is_404(city: City) -> None:
    for path in ("/requests/PA-999999.json", "/requests/abc.xml"):
        response = await city.get(path)
        assert response.status_code == 404


# ---- what is never published ------------------------------------------------------------------


async def test_a_complaint_about_an_official_is_never_published(city: City) -> None:
    conduct = await city.report("TDCB", "HH-TDP03", "Cán bộ đòi tiền", leadership=False)
    listed = json_document(await city.get("/requests.json"))
    assert listed == []
    assert xml_document(await city.get("/requests.xml")).findall("request") == []
    for fmt in ("json", "xml"):
        assert (await city.get(f"/requests/{format_code(conduct)}.{fmt}")).status_code == 404
    by_id = await city.get("/requests.json", service_request_id=str(conduct))
    assert json_document(by_id) == []


async def test_a_withdrawn_or_rejected_complaint_is_not_published(city: City) -> None:
    """What the resident took back, or the ward refused (a duplicate, not its remit, abusive),
    is not shown to the city's platforms; what is still being handled is."""
    kept = await city.report("RKTG", "HH-TDP03", "Rác tràn ngõ")
    withdrawn = await city.report("RKTG", "HH-TDP03", "Rác đầu ngõ")
    await city.store_state(withdrawn, State.WITHDRAWN)
    rejected = await city.report("RKTG", "HH-TDP03", "Rác cuối ngõ")
    await city.store_state(rejected, State.REJECTED)
    listed = json_document(await city.get("/requests.json"))
    assert [r["service_request_id"] for r in listed] == [format_code(kept)]
    for hidden in (withdrawn, rejected):
        assert (await city.get(f"/requests/{format_code(hidden)}.json")).status_code == 404


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("Gọi 0912345678 nhé", "Gọi *** nhé"),
        ("SĐT 0912 345 678.", "SĐT ***."),
        ("SĐT +84 912.345.678", "SĐT ***"),
        ("CCCD 001099012345, CMND 123456789", "CCCD ***, CMND ***"),
        ("Thư: an.nguyen+pa@example.com.vn", "Thư: ***"),
        ("ngõ 12 Lê Lợi, tổ 3, từ 20/11/2026", "ngõ 12 Lê Lợi, tổ 3, từ 20/11/2026"),
        ("số 12345678 không phải số điện thoại", "số 12345678 không phải số điện thoại"),
    ],
)
def test_personal_data_is_masked_as_after_forget(written: str, published: str) -> None:
    assert mask_contacts(written) == published


async def test_descriptions_notes_and_landmarks_are_published_masked(city: City) -> None:
    complaint_id = await city.report(
        description="Liên hệ an@example.com hoặc 0987654321, CCCD 001099012345",
        landmark="nhà anh An 0912345678",
    )
    owner = await city.as_owner(complaint_id)
    await city.bot.services.finisher("resolve")(
        owner, {"complaint_id": complaint_id, "note": "Đã gọi 0987654321", "photos": []}
    )
    for fmt in ("json", "xml"):
        body = (await city.get(f"/requests.{fmt}")).text
        for personal in ("an@example.com", "0987654321", "001099012345", "0912345678"):
            assert personal not in body
    [request] = json_document(await city.get("/requests.json"))
    assert request["description"] == "Liên hệ *** hoặc ***, CCCD ***"
    assert request["status_notes"] == "Đã gọi ***"
    assert request["address"].startswith("nhà anh An ***, ")


# ---- POST requests ----------------------------------------------------------------------------


async def test_a_posted_request_is_routed_to_the_cadre_and_its_card_arrives_on_telegram(
    city: City,
) -> None:
    key = await city.key()
    response = await city.post(
        api_key=key,
        service_code="RKTG",
        lat=str(IN_GROUP_3.lat),
        long=str(IN_GROUP_3.lon),
        description="Rác tồn đọng 3 ngày",
        email="dan@example.com",
        phone="0912345678",
        first_name="An",
        last_name="Nguyễn",
        **{"attribute[landmark]": "cạnh chợ"},
    )
    assert response.status_code == 200
    posted = json_document(response)
    assert shape(posted) == shape(json.loads(SPEC_POSTED_JSON))
    [receipt] = posted
    code = receipt["service_request_id"]
    assert code.startswith("PA-") and receipt["account_id"] is None
    assert says(receipt["service_notice"], "open311.notice_working", ack="8", days="2")
    sent = await city.bot.flush()
    to_cadre = texts(to(sent, city.bot.user(ENVIRONMENT_CADRE, "Cán bộ")))
    assert any(code in card and "Rác tồn đọng 3 ngày" in card for card in to_cadre), to_cadre
    complaint = await city.bot.services.store.get_complaint(int(code.removeprefix("PA-")))
    assert complaint is not None
    assert (complaint.owner, complaint.area, complaint.landmark) == (
        "cb-hh-mt",
        "HH-TDP03",
        "cạnh chợ",
    )
    # The receipt to a reporter with no chat is given up, not left pending for ever.
    pending, _ = await city.bot.services.store.outbox_counts()
    assert pending == 0
    [request] = json_document(await city.get(f"/requests/{code}.json"))
    assert request["status"] == "open" and request["address"].startswith("cạnh chợ, ")


async def test_the_cadre_cannot_ask_a_posted_requests_reporter_who_has_no_chat(
    city: City,
) -> None:
    key = await city.key()
    form = {"service_code": "RKTG", "address_id": "HH-TDP03", "description": "Rác"}
    [receipt] = json_document(await city.post(api_key=key, **form))
    posted = int(receipt["service_request_id"].removeprefix("PA-"))
    chatted = await city.report()
    services = city.bot.services
    refused = await services.begin(await city.as_owner(posted), posted, Action.ASK_INFO)
    assert [n.key for n in refused.notes] == ["ask_info.no_chat"]
    assert refused.prompt is None
    asked = await services.begin(await city.as_owner(chatted), chatted, Action.ASK_INFO)
    assert asked.prompt is not None
    complaint = await services.store.get_complaint(posted)
    assert complaint is not None and complaint.paused_since is None


async def test_a_posted_requests_contact_is_kept_and_never_published(city: City) -> None:
    key = await city.key()
    response = await city.post(
        "xml",
        api_key=key,
        service_code="LCVH",
        address_string="Tổ dân phố 6 Hồng Hải",
        description="Quán lấn chiếm vỉa hè",
        email="dan@example.com",
        phone="0912 345 678",
        first_name="Hoàng Thị Quỳnh",
    )
    posted = xml_document(response)
    assert xml_shape(posted) == xml_shape(ElementTree.fromstring(SPEC_POSTED_XML))
    code = posted.findtext("request/service_request_id") or ""
    assert posted.findtext("request/account_id") == ""
    complaint_id = int(code.removeprefix("PA-"))
    reporter = await city.bot.services.store.reporter_of(complaint_id)
    assert reporter is not None
    assert await city.store.contact_of(reporter) == ("0912 345 678", "dan@example.com")
    for fmt in ("json", "xml"):
        for path in ("/requests", f"/requests/{code}"):
            body = (await city.get(f"{path}.{fmt}")).text
            assert "dan@example.com" not in body and "345 678" not in body
            assert "Quỳnh" not in body and "first_name" not in body


async def test_a_noncharacter_in_one_description_leaves_the_xml_readable(city: City) -> None:
    """U+FFFF survives the text cleaning (it is no control character) but
    XML 1.0 cannot hold it: one such description made the whole
    requests.xml a document no platform could parse.  It is shown as
    U+FFFD; the same for an id asked for with a NUL in it."""
    key = await city.key()
    posted = await city.http.post(
        f"{V2}/requests.json",
        content=(
            f"api_key={key}&service_code=RKTG&address_id=HH-TDP03"
            "&description=R%C3%A1c%EF%BF%BF+tr%C3%A0n+ng%C3%B5"
        ).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200
    [request] = xml_document(await city.get("/requests.xml")).findall("request")
    assert request.findtext("description") == "Rác\ufffd tràn ngõ"
    [as_json] = json_document(await city.get("/requests.json"))
    assert as_json["description"] == "Rác\uffff tràn ngõ"
    missing = await city.get("/requests/%00.xml")
    assert missing.status_code == 404
    assert xml_document(missing).findtext("error/code") == "404"


async def test_a_field_sent_twice_is_refused_not_half_read(city: City) -> None:
    """A platform that sent two descriptions had the first dropped without
    a word (and two address_ids: the last one decided the group).  Each
    field once, or 400 naming it; a list stays one comma-delimited field."""
    key = await city.key()
    twice = (
        f"api_key={key}&service_code=RKTG&address_id=HH-TDP03"
        "&description=R%C3%A1c+tr%C3%A0n&description=C%E1%BB%91ng+t%E1%BA%AFc"
    )
    form = {"content-type": "application/x-www-form-urlencoded"}
    for fmt in ("json", "xml"):
        refused = await city.http.post(f"{V2}/requests.{fmt}", content=twice, headers=form)
        assert refused.status_code == 400
        if fmt == "json":
            [error] = json_document(refused)
            assert says(error["description"], "open311.repeated", field="description")
        else:
            assert xml_document(refused).findtext("error/code") == "400"
    assert await city.bot.services.store.all_complaints() == []
    asked = await city.http.get(f"{V2}/requests.json?status=open&status=closed")
    assert asked.status_code == 400
    [error] = json_document(asked)
    assert says(error["description"], "open311.repeated", field="status")
    assert (await city.get("/requests.json", status="open,closed")).status_code == 200


async def test_a_failure_of_the_database_is_an_error_list_that_names_nothing_inside(
    city: City, where: Path | PostgresUrl, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refused (here: a table gone under the running bot).
    The platform got Starlette's plain "Internal Server Error", which its
    JSON or XML parser cannot read; now it is the specification's error
    list, 500, with no SQL, table or traceback in it (the log has them)."""
    if not isinstance(where, Path):
        pytest.skip("the table is dropped with SQLite's own client")
    key = await city.key()
    with sqlite3.connect(where) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("DROP TABLE open311_reporters")
        db.execute("DROP TABLE api_keys")
    form = {"api_key": key, "service_code": "RKTG", "address_id": "HH-TDP03", "description": "x"}
    for fmt in ("json", "xml"):
        failed = await city.post(fmt, **form)
        assert failed.status_code == 500
        if fmt == "json":
            [error] = json_document(failed)
            assert error["code"] == 500 and says(error["description"], "open311.server_error")
        else:
            assert xml_document(failed).findtext("error/code") == "500"
        for inside in ("api_keys", "sqlite", "Traceback", "OperationalError", "no such"):
            assert inside.lower() not in failed.text.lower()
    assert "api_keys" in caplog.text


async def test_a_body_too_large_is_refused_unread_and_the_connection_closed(
    city: City,
) -> None:
    """A POST declaring 10 MB was answered 400 at once, but the connection
    stayed open and the server went on taking in the 10 MB it had refused.
    Now the answer closes the connection, as a webhook's refusal does."""
    port = city.bot.runtime.http.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: bot\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 10485760\r\n\r\napi_key=x&description=" + b"a" * 1000
    )
    await writer.drain()
    try:
        # Everything the server sends until it closes: the 400, then the end.
        answer = await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"connection: close" in head.lower()
    [error] = json.loads(body)
    assert says(error["description"], "open311.bad_body")


async def test_a_post_sent_as_json_is_told_the_body_is_unreadable_not_the_key(
    city: City,
) -> None:
    """The specification posts a form; a platform that sends JSON with a valid key hears
    what is wrong with its body (400), not that its key is refused."""
    key = await city.key()
    fields = {"api_key": key, "service_code": "RKTG", "address_id": "HH-TDP03"}
    response = await city.http.post(f"{V2}/requests.json", json={**fields, "description": "Rác"})
    assert response.status_code == 400
    [error] = json_document(response)
    assert says(error["description"], "open311.bad_body")
    assert await city.bot.services.store.all_complaints() == []


async def test_a_post_without_a_valid_key_is_403(city: City) -> None:
    key = await city.key()
    await ApiKeys(city.store, city.bot.services).revoke("ihanoi")
    request = {"service_code": "RKTG", "address_id": "HH-TDP03", "description": "Rác"}
    for api_key in ({}, {"api_key": ""}, {"api_key": "not-a-key"}, {"api_key": key}):
        for fmt in ("json", "xml"):
            response = await city.post(fmt, **request, **api_key)
            assert response.status_code == 403
            if fmt == "json":
                [error] = json_document(response)
                assert error["code"] == 403 and says(error["description"], "open311.bad_key")
            else:
                errors = xml_document(response)
                assert xml_shape(errors) == xml_shape(ElementTree.fromstring(SPEC_ERRORS_XML))
    assert await city.bot.services.store.all_complaints() == []


async def test_a_key_over_its_hourly_limit_is_429_until_the_hour_has_passed(
    where: Path | PostgresUrl, clock: ManualClock, chart: OrgChart
) -> None:
    async with a_city(where, clock, chart, open311_posts_per_hour=2) as city:
        key = await city.key()
        other = await city.key("hue-s")
        request = {"service_code": "RKTG", "address_id": "HH-TDP03", "description": "Rác"}
        for _ in range(2):
            assert (await city.post(api_key=key, **request)).status_code == 200
        for fmt in ("json", "xml"):
            refused = await city.post(fmt, api_key=key, **request)
            assert refused.status_code == 429
        [error] = json_document(await city.post(api_key=key, **request))
        assert error["code"] == 429 and says(error["description"], "open311.too_many")
        assert (await city.post(api_key=other, **request)).status_code == 200, "per key"
        assert len(await city.bot.services.store.all_complaints()) == 3
        city.clock.advance(timedelta(hours=1, seconds=1))
        assert (await city.post(api_key=key, **request)).status_code == 200


async def test_a_reporter_whose_request_was_not_filed_is_not_kept(city: City) -> None:
    """The platform's contact is kept only for a request filed: one the filing failed
    for is forgotten; one with its complaint stays."""
    key = await city.key()
    store, now = city.store, city.clock.now()
    lost = await store.add_reporter("ihanoi", "0912 345 678", "dan@example.com", "vi", now)
    await store.drop_reporter(lost)
    assert await store.contact_of(lost) is None
    assert await city.bot.services.store.get_person(lost) is None
    response = await city.post(
        api_key=key,
        service_code="RKTG",
        address_id="HH-TDP03",
        description="Rác",
        phone="0987 654 321",
    )
    code = json_document(response)[0]["service_request_id"]
    reporter = await city.bot.services.store.reporter_of(int(code.removeprefix("PA-")))
    assert reporter is not None
    await store.drop_reporter(reporter)
    assert await store.contact_of(reporter) == ("0987 654 321", None), "filed: kept"


@pytest.mark.parametrize(
    ("form", "status", "key"),
    [
        ({"address_id": "HH-TDP03", "description": "Rác"}, 400, "open311.missing"),
        (
            {"service_code": "NOPE", "address_id": "HH-TDP03", "description": "Rác"},
            404,
            "open311.unknown_service",
        ),
        (
            {"service_code": "TDCB", "address_id": "HH-TDP03", "description": "Cán bộ"},
            404,
            "open311.unknown_service",
        ),
        ({"service_code": "RKTG", "description": "Rác"}, 400, "open311.no_location"),
        ({"service_code": "RKTG", "address_id": "HH-TDP03"}, 400, "open311.no_description"),
        (
            {"service_code": "RKTG", "address_id": "HH-TDP03", "description": "x" * 2001},
            400,
            "open311.too_long",
        ),
        (
            {"service_code": "RKTG", "address_id": "HONGHAI", "description": "Rác"},
            400,
            "open311.unknown_place",
        ),
        (
            {"service_code": "RKTG", "lat": "21.5", "long": "105.8", "description": "Rác"},
            400,
            "open311.outside",
        ),
        (
            {"service_code": "RKTG", "lat": "abc", "long": "105.8", "description": "Rác"},
            400,
            "open311.bad_point",
        ),
        (
            {"service_code": "RKTG", "address_string": "đâu đó", "description": "Rác"},
            400,
            "open311.unknown_place",
        ),
    ],
)
async def test_a_post_missing_or_with_a_wrong_field_is_refused_and_files_nothing(
    city: City, form: dict[str, str], status: int, key: str
) -> None:
    api_key = await city.key()
    response = await city.post(api_key=api_key, **form)
    assert response.status_code == status
    [error] = json_document(response)
    assert error["code"] == status and says(error["description"], key)
    assert await city.bot.services.store.all_complaints() == []


# ---- phananh apikey ---------------------------------------------------------------------------


def test_apikey_create_shows_the_key_once_list_shows_names_and_revoke_refuses_it(
    where: Path | PostgresUrl,
    chart: OrgChart,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(load_chart(where, chart))
    database = where.reveal() if isinstance(where, PostgresUrl) else str(where)
    monkeypatch.setenv("PHANANH_DB", database)
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", "en")
    assert main(["apikey", "create", "ihanoi"]) == 0
    created = capsys.readouterr().out
    assert says(created, "cli.apikey_created", "en", name="ihanoi")
    key = created.strip().splitlines()[-1]
    assert len(key) >= 43
    assert main(["apikey", "create", "ihanoi"]) == 1
    assert says(capsys.readouterr().err, "cli.apikey_exists", "en", name="ihanoi")
    assert main(["apikey", "create", "hue-s"]) == 0
    capsys.readouterr()
    assert main(["apikey", "list"]) == 0
    listed = capsys.readouterr().out
    assert "ihanoi" in listed and "hue-s" in listed and key not in listed
    assert says(listed, "cli.apikey_never", "en")

    async def stored() -> tuple[str | None, list[str]]:
        from storage.engines import opened

        async with opened(where) as storage:
            holder = await storage.open311().key_holder(
                hashlib.sha256(key.encode()).hexdigest(), datetime.now().astimezone()
            )
            names = [k.name for k in await storage.open311().api_keys()]
        return holder, names

    assert asyncio.run(stored()) == ("ihanoi", ["hue-s", "ihanoi"])  # stored as its hash
    assert main(["apikey", "revoke", "ihanoi"]) == 0
    assert says(capsys.readouterr().out, "cli.apikey_revoked", "en", name="ihanoi")
    assert asyncio.run(stored())[0] is None
    assert main(["apikey", "revoke", "ihanoi"]) == 1
    assert says(capsys.readouterr().err, "cli.apikey_unknown", "en", name="ihanoi")
    assert main(["apikey", "list"]) == 0
    assert says(capsys.readouterr().out, "cli.apikey_revoked_at", "en")
    assert main(["apikey", "create", "bad name!"]) == 2
    assert says(capsys.readouterr().err, "cli.apikey_bad_name", "en", name="bad name!")


async def test_the_shipped_nginx_passes_open311_through(
    tmp_path: Path, clock: ManualClock, chart: OrgChart
) -> None:
    """examples/nginx-phananh.conf: a city platform reads and posts over HTTPS."""
    import ssl

    from tests.nginx import nginx_or_skip, running_nginx

    binary = nginx_or_skip()
    async with a_city(tmp_path / "city.db", clock, chart) as city:
        key = await city.key()
        with running_nginx(binary, [city.bot.runtime.http.port]) as nginx:
            context = ssl.create_default_context(cafile=str(nginx.certificate))
            async with httpx.AsyncClient(verify=context) as client:
                services = await client.get(nginx.url(f"{V2}/services.json"))
                assert services.status_code == 200 and json_document(services)
                form = {"service_code": "RKTG", "address_id": "HH-TDP03", "description": "Rác"}
                posted = await client.post(
                    nginx.url(f"{V2}/requests.json"), data={"api_key": key, **form}
                )
                assert posted.status_code == 200
        assert len(await city.bot.services.store.all_complaints()) == 1
