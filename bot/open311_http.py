"""Open311 GeoReport v2 on the bot's HTTP server (bot/http.py), under
``/open311/v2/``: each endpoint in ``.json`` and ``.xml``, errors as the
specification's list of ``{code, description}`` with its status codes.

The use cases are bot/app/open311.py; this module only reads requests and
writes the documents they return, in either format (XML through the
standard library, with the specification's element names).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from bot.app.open311 import Open311, Open311Error
from bot.domain.xmltext import xml_safe
from bot.http import HttpServer, length_refusal, read_body

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
JSON, XML = "json", "xml"
MEDIA_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# A POSTed request is a few fields: 64 KiB is far beyond any of them.
MAX_FORM = 64 * 1024

# A list's element and each of its items' (the specification's names).
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

Produce = Callable[["Request"], Awaitable[Any]]


def _scalar(value: object) -> str:
    """A value as an element's text; a character XML 1.0 cannot hold (a
    noncharacter a resident typed, a NUL in an id asked for) as U+FFFD, so
    one odd character never makes the whole answer unreadable."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return xml_safe(str(value))


def _element(parent: ElementTree.Element, name: str, value: Any) -> None:
    node = ElementTree.SubElement(parent, name)
    _fill(node, name, value)


def _fill(node: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _element(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _element(node, ITEMS[name], item)
    else:
        node.text = _scalar(value)


def as_xml(root: str, document: Any) -> bytes:
    """A document as the specification's XML: a list under ``root`` (each
    item named after it: ``services`` holds ``service`` elements), a
    mapping as child elements, empty elements for no value."""
    node = ElementTree.Element(root)
    _fill(node, root, document)
    return DECLARATION + ElementTree.tostring(node, encoding="unicode").encode()


def render(fmt: str, root: str, document: Any, status: int = 200) -> Response:
    from starlette.responses import Response

    if fmt == XML:
        body = as_xml(root, document)
    else:
        body = json.dumps(document, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt])


class BodyLeftUnread(Open311Error):
    """A POST refused before its body was read (the wrong type, too long):
    the connection closes with the answer, as a webhook's does, so the
    rest of the body is never taken in."""


def error_response(fmt: str, error: Open311Error) -> Response:
    errors = [{"code": error.status, "description": error.description}]
    response = render(fmt, "errors", errors, error.status)
    if isinstance(error, BodyLeftUnread):
        response.headers["Connection"] = "close"
    return response


def _endpoint(
    open311: Open311, root: str, produce: Produce
) -> Callable[[Request], Awaitable[Response]]:
    """A route that answers in the format its path ends with (another is
    404).  A failure of ours (the database refused) is still the
    specification's error list, status 500, saying nothing of what failed:
    the platform's parser reads it, and the log has the rest."""

    async def endpoint(request: Request) -> Response:
        from starlette.responses import Response

        fmt = str(request.path_params.get("fmt", ""))
        if fmt not in MEDIA_TYPES:
            return Response(status_code=404)
        try:
            return render(fmt, root, await produce(request))
        except Open311Error as error:
            return error_response(fmt, error)
        except Exception:
            log.exception("Open311 %s %s failed", request.method, request.url.path)
            return error_response(fmt, open311.error(500, "open311.server_error"))

    return endpoint


async def _form(open311: Open311, request: Request) -> dict[str, str]:
    """A POST's fields (``application/x-www-form-urlencoded``, as the
    specification sends them), read within a bounded size."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    unreadable = BodyLeftUnread(400, open311.t("open311.bad_body"))
    if kind != "application/x-www-form-urlencoded":  # JSON or multipart: not a wrong key
        raise unreadable
    refused = length_refusal(request.headers, MAX_FORM)
    body = refused if refused is not None else await read_body(request, MAX_FORM)
    if isinstance(body, tuple):  # too large, too slow, cut off: the specification's 400
        raise unreadable
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise open311.error(400, "open311.bad_body") from None
    return _once_each(open311, pairs)


def _once_each(open311: Open311, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The fields, each given once: a field sent twice (two descriptions, two
    keys) is refused rather than one of them silently dropped.  Only a
    list attribute's ``name[]`` may repeat (none is read today)."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields and not name.endswith("[]"):
            raise open311.error(400, "open311.repeated", field=name[:40])
        fields[name] = value
    return fields


def add_open311_routes(server: HttpServer, open311: Open311) -> None:
    """The GeoReport v2 endpoints; like the media route, no reason on their
    own to listen (the server listens with a public URL, which the
    discovery document and the photos' links need anyway)."""

    async def discovery(request: Request) -> Any:
        return open311.discovery()

    async def services(request: Request) -> Any:
        return open311.service_list()

    async def definition(request: Request) -> Any:
        return open311.definition(str(request.path_params["code"]))

    async def requests(request: Request) -> Any:
        if request.method == "POST":
            return await open311.post(await _form(open311, request))
        return await open311.requests(_once_each(open311, request.query_params.multi_items()))

    async def one(request: Request) -> Any:
        return await open311.request(str(request.path_params["id"]))

    routes: list[tuple[str, str, Produce, tuple[str, ...]]] = [
        ("/discovery.{fmt}", "discovery", discovery, ("GET",)),
        ("/services.{fmt}", "services", services, ("GET",)),
        ("/services/{code}.{fmt}", "service_definition", definition, ("GET",)),
        ("/requests.{fmt}", "service_requests", requests, ("GET", "POST")),
        ("/requests/{id}.{fmt}", "service_requests", one, ("GET",)),
    ]
    for path, root, produce, methods in routes:
        server.add_route(
            PREFIX + path, _endpoint(open311, root, produce), methods=methods, listen=False
        )
