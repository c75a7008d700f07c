"""Open311 GeoReport v2 for the city's platforms (iHanoi, 1022, Hue-S …):
the ward's categories as services, its complaints as service requests,
and requests a platform POSTs filed like a chat report.

Each use case returns the specification's documents as plain values (dicts
and lists in the specification's field order); bot/open311_http.py writes
them as JSON or XML.  A request that cannot be answered raises
`Open311Error` with the specification's status code.

What is published never identifies a resident (bot/domain/open311.py): no
name, contact or account id is in any document; complaints about officials
are left out altogether; descriptions and notes are masked.

A POSTed request is filed through the same use case as a chat report (the
``report`` finisher): routed, given its deadlines and task card, reminded
and escalated alike.  Its reporter is a person with no account, one per
request, whose contact (the phone and e-mail the platform sent) is kept
for the ward office; what the bot would tell them is marked given up in
the outbox (migration 0017), and the platform reads the progress by GET.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.app.media import MediaLinks
from bot.app.services import NoOrgChart, Services
from bot.domain.flows import match_areas
from bot.domain.geo import locate
from bot.domain.open311 import (
    DESCRIPTION_MAX,
    UNPUBLISHED_FAMILIES,
    QueryError,
    RequestQuery,
    parse_query,
    request_id,
    status_of,
)
from bot.domain.orgchart import AreaKind, Category, GeoPoint
from bot.domain.redact import mask_contacts
from bot.domain.text import normalise_text
from bot.i18n import t
from bot.ports import ApiKey, Open311Store, Person, Published

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API last changed (the discovery document's changeset).
CHANGESET = "2026-12-06T00:00:00Z"
FORMATS = ("text/xml", "application/json")
LANDMARK = "landmark"  # the one attribute a category takes
CONTACT_MAX = 100
KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Document = dict[str, Any]


class Open311Error(Exception):
    """An answer other than 200: the specification's status code (404 for
    what does not exist, 403 for a missing or wrong key, 400 for anything
    else) and the description its error document carries (in the office's
    language)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def key_hash(key: str) -> str:
    """What is stored of a key: its SHA-256 (the key is 32 random bytes, so
    no salt or slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    name: str
    key: str  # shown once, never stored


class ApiKeys:
    """`phananh apikey`: each integration's key, made, listed and revoked."""

    def __init__(self, store: Open311Store, services: Services) -> None:
        self.store = store
        self.services = services

    async def create(self, name: str) -> NewKey | None:
        """A new key for ``name`` (None: one of that name is in use)."""
        key = secrets.token_urlsafe(32)
        if not await self.store.add_key(name, key_hash(key), self.services.now()):
            return None
        return NewKey(name, key)

    async def revoke(self, name: str) -> bool:
        return await self.store.revoke_key(name, self.services.now())

    async def listed(self) -> list[ApiKey]:
        return await self.store.api_keys()


def valid_key_name(name: str) -> bool:
    return bool(KEY_NAME.match(name))


class Open311:
    def __init__(
        self,
        services: Services,
        store: Open311Store,
        media: MediaLinks,
        *,
        language: str,
        tz: tzinfo,
        public_url: str = "",
        posts_per_hour: int = 600,
    ) -> None:
        self.services = services
        self.store = store
        self.media = media
        self.language = language
        self.tz = tz
        self.public_url = public_url.rstrip("/")
        self.posts_per_hour = posts_per_hour

    def t(self, key: str, **params: Any) -> str:
        return t(self.language, key, **params)

    def error(self, status: int, key: str, **params: Any) -> Open311Error:
        return Open311Error(status, self.t(key, **params))

    # ---- discovery and services ---------------------------------------------------------------

    def discovery(self) -> Document:
        return {
            "changeset": CHANGESET,
            "contact": self.t("open311.contact"),
            "key_service": self.t("open311.key_service"),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": f"{self.public_url}/open311/v2",
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": list(FORMATS),
                }
            ],
        }

    def _categories(self) -> list[Category]:
        """The categories a platform may see and file: all but those about
        officials (such complaints go to the leaders through the chat)."""
        try:
            chart = self.services.chart
        except NoOrgChart:
            raise self.error(400, "open311.no_chart") from None
        return [c for c in chart.categories.values() if c.family not in UNPUBLISHED_FAMILIES]

    def _category(self, code: str) -> Category | None:
        return next((c for c in self._categories() if c.code == code), None)

    def service_list(self) -> list[Document]:
        return [
            {
                "service_code": c.code,
                "service_name": c.display_name(self.language),
                "description": self.notice(c),
                "metadata": True,
                "type": "realtime",
                "keywords": ", ".join(dict.fromkeys((c.name, c.name_en))),
                "group": self.t(f"family.{c.family.value}"),
            }
            for c in self._categories()
        ]

    def definition(self, code: str) -> Document:
        if self._category(code) is None:
            raise self.error(404, "open311.unknown_service", code=code[:40])
        return {
            "service_code": code,
            "attributes": [
                {
                    "variable": True,
                    "code": LANDMARK,
                    "datatype": "string",
                    "required": False,
                    "datatype_description": self.t("open311.landmark_format"),
                    "order": 1,
                    "description": self.t("open311.landmark"),
                }
            ],
        }

    def notice(self, category: Category) -> str:
        """The category's deadlines in words (``service_notice``)."""
        ack = _number(category.acknowledge_hours, self.language)
        if category.urgent:
            hours = _number(category.resolve_days * 24, self.language)
            return self.t("open311.notice_urgent", ack=ack, hours=hours)
        days = _number(category.resolve_days, self.language)
        return self.t("open311.notice_working", ack=ack, days=days)

    # ---- requests -----------------------------------------------------------------------------

    async def requests(self, params: Mapping[str, str]) -> list[Document]:
        codes = [c.code for c in self._categories()]
        try:
            query = parse_query(params, self.services.now(), self.tz, codes)
        except QueryError as bad:
            raise self.error(400, bad.key, **bad.params) from None
        return [self._request(p) for p in await self.store.published(query)]

    async def request(self, id_text: str) -> list[Document]:
        """One request, still as a list (the specification's shape); 404
        for one that does not exist or is not published."""
        complaint_id = request_id(id_text)
        found = (
            await self.store.published(RequestQuery(ids=(complaint_id,))) if complaint_id else []
        )
        if not found:
            raise self.error(404, "open311.no_request", id=id_text[:40])
        return [self._request(found[0])]

    def _request(self, published: Published) -> Document:
        complaint = published.complaint
        chart = self.services.chart
        category = chart.categories.get(complaint.category)
        area = chart.areas.get(complaint.area)
        ward = chart.areas.get(complaint.ward)
        location = complaint.location
        photo = complaint.photos[0].media_id if complaint.photos else None
        return {
            "service_request_id": complaint.code,
            "status": status_of(complaint.state),
            "status_notes": mask_contacts(published.note) if published.note else None,
            "service_name": category.display_name(self.language) if category else None,
            "service_code": complaint.category,
            "description": mask_contacts(complaint.description),
            "agency_responsible": ward.name if ward else complaint.ward,
            "service_notice": self.notice(category) if category else None,
            "requested_datetime": self._time(complaint.created_at),
            "updated_datetime": self._time(published.updated_at),
            "expected_datetime": self._time(complaint.due_at),
            "address": self._address(
                complaint.landmark, area.name if area else None, ward.name if ward else None
            ),
            "address_id": complaint.area,
            "zipcode": None,
            "lat": location.lat if location else None,
            "long": location.lon if location else None,
            "media_url": self.media.link(photo) if photo and self.public_url else None,
        }

    def _time(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).isoformat(timespec="seconds")

    @staticmethod
    def _address(landmark: str | None, group: str | None, ward: str | None) -> str:
        parts = [mask_contacts(landmark) if landmark else None, group, ward]
        return ", ".join(p for p in parts if p)

    # ---- a platform's new request -------------------------------------------------------------

    async def post(self, form: Mapping[str, str]) -> list[Document]:
        """File a request a platform POSTed, exactly as a chat report is
        filed; its id (the tracking code) at once: creation is synchronous,
        so no token is ever handed out."""
        name = await self._key_holder(form.get("api_key", ""))
        await self._within_the_hourly_limit(name)
        category = self._posted_category(form.get("service_code", ""))
        area, location = self._place(form)
        description = normalise_text(form.get("description", ""))
        if not description:
            raise self.error(400, "open311.no_description")
        if len(description) > DESCRIPTION_MAX:
            raise self.error(400, "open311.too_long", limit=DESCRIPTION_MAX)
        landmark = normalise_text(
            form.get(f"attribute[{LANDMARK}]", "") or form.get("address_string", "")
        )[:200]
        person_id = await self.store.add_reporter(
            name,
            _contact(form.get("phone")),
            _contact(form.get("email")),
            self.language,
            self.services.now(),
        )
        data: dict[str, Any] = {
            "category": category.code,
            "area": area,
            "description": description,
            "landmark": landmark or None,
            "show_name": False,
            "photos": [],
        }
        if location is not None:
            data["lat"], data["lon"] = location.lat, location.lon
        actor = self.services.actor_for(Person(person_id, language=self.language), None)
        try:
            reply = await self.services.finisher("report")(actor, data)
        except Exception:
            # Not filed (the chart changed under it, the database refused):
            # the contact the platform sent would be kept for nothing.
            await self.store.drop_reporter(person_id)
            raise
        if reply.complaint is None:  # pragma: no cover - a new person is never over the limit
            await self.store.drop_reporter(person_id)
            raise self.error(400, "open311.not_filed")
        return [
            {
                "service_request_id": reply.complaint.code,
                "service_notice": self.notice(category),
                "account_id": None,
            }
        ]

    async def _within_the_hourly_limit(self, name: str) -> None:
        """A key may POST ``posts_per_hour`` requests an hour: a leaked key
        or a looping integration cannot flood the ward's cadres."""
        since = self.services.now() - timedelta(hours=1)
        if await self.store.reporters_since(name, since) >= self.posts_per_hour:
            raise self.error(429, "open311.too_many", limit=self.posts_per_hour)

    async def _key_holder(self, key: str) -> str:
        name = await self.store.key_holder(key_hash(key), self.services.now()) if key else None
        if name is None:
            raise self.error(403, "open311.bad_key")
        return name

    def _posted_category(self, code: str) -> Category:
        if not code:
            raise self.error(400, "open311.missing", field="service_code")
        category = self._category(code)
        if category is None:  # the specification: 404, a service_code not found
            raise self.error(404, "open311.unknown_service", code=code[:40])
        return category

    def _place(self, form: Mapping[str, str]) -> tuple[str, GeoPoint | None]:
        """The residential group a request is in — from ``address_id`` (a
        group's code, as GET publishes it), ``lat``/``long``, or
        ``address_string`` (a group's name, as a resident would type it) —
        and the point, when one was given."""
        chart = self.services.chart
        address_id = form.get("address_id", "").strip()
        if address_id:
            area = chart.areas.get(address_id)
            if area is None or area.kind is not AreaKind.GROUP:
                raise self.error(400, "open311.unknown_place")
            return area.code, self._point(form)
        point = self._point(form)
        if point is not None:
            found = locate(chart, point, self.services.locate_max_km)
            if found is None:
                raise self.error(400, "open311.outside")
            return found.code, point
        typed = form.get("address_string", "").strip()
        if not typed:
            raise self.error(400, "open311.no_location")
        hits = match_areas(chart, typed, chart.groups())
        if len(hits) != 1:
            raise self.error(400, "open311.unknown_place")
        return hits[0], None

    def _point(self, form: Mapping[str, str]) -> GeoPoint | None:
        lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
        if not lat and not lon:
            return None
        try:
            point = GeoPoint(lon=float(lon), lat=float(lat))
        except ValueError:
            raise self.error(400, "open311.bad_point") from None
        if not (-90 <= point.lat <= 90 and -180 <= point.lon <= 180):
            raise self.error(400, "open311.bad_point")
        return point


def _contact(value: str | None) -> str | None:
    """A phone or e-mail as kept: one trimmed line, at most 100 characters."""
    cleaned = " ".join((value or "").split())[:CONTACT_MAX]
    return cleaned or None


def _number(value: float, language: str) -> str:
    """8.0 as "8", 0.5 as "0,5" in Vietnamese."""
    text = f"{value:g}"
    return text.replace(".", ",") if language == "vi" else text
