"""The leaders' dashboard on the bot's HTTP server, under ``/web/``:
server-rendered pages (Jinja2, templates in bot/web/templates), a small
stylesheet of our own, the chart, the photos and the downloads.

Every page but the sign-in asks the session first (bot/app/web.py): no
cookie, an ended or expired session, or a leader who is one no longer gets
the "type /web again" page (401).  What a page shows is the dashboard's
(bot/app/dashboard.py); a parameter refused there is a page in the
leader's language with its 4xx status.  Pages are never cached, never
framed, and load nothing from elsewhere (a strict Content-Security-Policy).

Why Jinja2: the templates escape everything by default, are plain HTML a
ward's IT can read and change, and Starlette knows them.  No front-end
library earns its place: filters are a GET form, the map is SVG the server
draws, so the pages work without JavaScript on any phone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache, partial
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot import i18n
from bot.app.dashboard import PHOTO_KINDS, TASKS_SHOWN, Dashboard, PageError, overdue_now
from bot.app.web import SESSION_LIFETIME, WebAccess, well_formed
from bot.domain import digest as d
from bot.domain.authz import Actor
from bot.domain.complaints import OPEN_STATES, format_code
from bot.domain.orgchart import Role
from bot.http import PICTURES, HttpServer
from bot.report.history import event_line
from bot.report.present import Presenter
from bot.report.text import Names, duration, week_number
from bot.web.svgmap import GroupFigure, drawable, svg_map

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

PREFIX = "/web"
COOKIE = "phananh_session"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Nothing from elsewhere, no script, no frames: the pages are HTML, our CSS and images.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# Over HTTPS, the browser is told to come back only over HTTPS for a year
# (no downgrade to plain HTTP on a café's network; no subdomains named).
HSTS = {"Strict-Transport-Security": "max-age=31536000"}
# Each breakdown of the digest and its heading.
BREAKDOWNS = {
    d.Dimension.WARD: "web.by_ward",
    d.Dimension.FAMILY: "web.by_family",
    d.Dimension.CATEGORY: "web.by_category",
    d.Dimension.AREA: "web.by_group",
    d.Dimension.OWNER: "web.by_cadre",
}
# The digest's counts, in the order the digest says them.
COUNTS = (
    ("received", "web.received"),
    ("on_time", "web.on_time"),
    ("late", "web.late"),
    ("in_progress", "web.in_progress"),
    ("overdue", "web.overdue"),
    ("rejected", "web.rejected"),
    ("withdrawn", "web.withdrawn"),
)
PHOTO_HEADINGS = {"report": "web.photos", "resolution": "web.resolution_photos"}

Handler = Callable[["Request", Actor], Awaitable["Response"]]

_templates = Environment(
    loader=PackageLoader("bot.web", "templates"),
    autoescape=select_autoescape(("html",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def stylesheet() -> bytes:
    return resources.files("bot.web").joinpath("static/style.css").read_bytes()


class Pages:
    """The routes' bodies over the dashboard, for one server."""

    def __init__(self, web: WebAccess, dashboard: Dashboard) -> None:
        self.web = web
        self.dashboard = dashboard
        self.present = Presenter(dashboard.digests.tz)
        self.secure = web.public_url.startswith("https://")
        self.headers = HEADERS | HSTS if self.secure else dict(HEADERS)
        public = urlsplit(web.public_url)
        self.origin = f"{public.scheme}://{public.netloc}".lower()
        # Where the browser finds the pages: under the public URL's path
        # (``https://host/phananh`` → ``/phananh/web``; the proxy strips it).
        self.base = urlsplit(web.public_url).path.rstrip("/") + PREFIX

    # ---- rendering ------------------------------------------------------------------------------

    def page(
        self,
        request: Request,
        template: str,
        language: str,
        *,
        actor: Actor | None = None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        from starlette.responses import HTMLResponse

        body = _templates.get_template(template).render(
            t=partial(i18n.t, language),
            n=partial(i18n.format_number, lang=language),
            percent=partial(i18n.format_percent, lang=language),
            lang=language,
            actor=actor,
            path=request.url.path.removeprefix(PREFIX),
            base=self.base,
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=self.headers)

    def message(
        self,
        request: Request,
        status: int,
        key: str,
        language: str,
        *,
        title: str | None = None,
        **params: str,
    ) -> Response:
        """A page that only says something: a refusal, a link no longer good."""
        titles = {400: "web.bad_request_title", 401: "web.signed_out_title"}
        titles |= {403: "web.forbidden_title", 404: "web.not_found_title"}
        titles |= {410: "web.link_invalid_title"}
        title = title or titles.get(status, "web.bad_request_title")
        return self.page(
            request,
            "message.html",
            language,
            status=status,
            title=i18n.t(language, title),
            text=i18n.t(language, key, **params),
        )

    def signed_out(self, request: Request, language: str | None = None) -> Response:
        response = self.message(
            request, 401, "web.signed_out", language or self.web.services.default_language
        )
        response.delete_cookie(COOKIE, path=self.base + "/")
        return response

    # ---- signing in and out ---------------------------------------------------------------------

    def from_elsewhere(self, request: Request) -> bool:
        """Whether a POST was made by another site's page (a hidden form
        that signs the leader out, or in as someone else).  The browser
        says where a request comes from: ``Sec-Fetch-Site`` (every current
        browser), else ``Origin`` (the public URL's, or the Host the proxy
        passed on); with neither (a script, an old browser) the session
        cookie's SameSite=Lax is the guard."""
        site = request.headers.get("sec-fetch-site")
        if site is not None:
            return site.lower() not in ("same-origin", "none")
        origin = request.headers.get("origin")
        if origin is None:
            return False
        host = request.headers.get("host", "").lower()
        origin = origin.lower()
        return origin != self.origin and urlsplit(origin).netloc != host

    def refused_from_elsewhere(self, request: Request) -> Response:
        return self.message(
            request,
            403,
            "web.from_elsewhere",
            self.web.services.default_language,
            title="web.bad_request_title",
        )

    async def signin(self, request: Request) -> Response:
        """GET shows a button, POST uses the link: a messenger's link preview
        (Telegram and Zalo fetch links in a chat) must not use it up."""
        from starlette.responses import RedirectResponse

        language = self.web.services.default_language
        token = str(request.path_params["token"])
        if not well_formed(token):  # cut short or mistyped: no button that cannot work
            return self.message(request, 410, "web.link_invalid", language)
        if request.method == "GET":
            return self.page(request, "signin.html", language, token=token)
        if self.from_elsewhere(request):
            return self.refused_from_elsewhere(request)
        session = await self.web.sign_in(token)
        if session is None:
            return self.message(request, 410, "web.link_invalid", language)
        response = RedirectResponse(self.base + "/week", status_code=303, headers=self.headers)
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path=self.base + "/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def signout(self, request: Request) -> Response:
        from starlette.responses import RedirectResponse

        if self.from_elsewhere(request):
            return self.refused_from_elsewhere(request)
        await self.web.sign_out(request.cookies.get(COOKIE, ""))
        response = RedirectResponse(self.base + "/", status_code=303, headers=self.headers)
        response.delete_cookie(COOKIE, path=self.base + "/")
        return response

    async def home(self, request: Request) -> Response:
        from starlette.responses import RedirectResponse

        actor = await self.web.actor(request.cookies.get(COOKIE, ""))
        if actor is None:
            return self.signed_out(request)
        return RedirectResponse(self.base + "/week", status_code=303, headers=self.headers)

    async def slash(self, request: Request) -> Response:
        """``/web`` is ``/web/`` (where the session's cookie is sent)."""
        from starlette.responses import RedirectResponse

        return RedirectResponse(self.base + "/", status_code=308, headers=self.headers)

    def signed_in(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page for a signed-in leader only; its refusals as pages."""

        async def endpoint(request: Request) -> Response:
            actor = await self.web.actor(request.cookies.get(COOKIE, ""))
            if actor is None:
                return self.signed_out(request)
            try:
                return await handler(request, actor)
            except PageError as refused:
                return self.message(
                    request, refused.status, refused.key, actor.language, **refused.params
                )

        return endpoint

    # ---- what every page shares -----------------------------------------------------------------

    def _asked(self, request: Request, actor: Actor) -> tuple[d.Scope, d.Period]:
        query = request.query_params
        for name in query:
            if len(query.getlist(name)) > 1:
                raise PageError(400, "web.bad_param", name=name[:20])
        scope = self.dashboard.scope(actor, query.get("ward") or None)
        return scope, self.dashboard.week(query.get("week") or None)

    def _frame(
        self, request: Request, actor: Actor, scope: d.Scope, week: d.Period
    ) -> dict[str, Any]:
        """What the layout needs: who, where, which week, the ward picker
        and the links that keep the ward and the week."""
        names = Names(self.dashboard.services.chart, actor.language)
        ward = request.query_params.get("ward") or ""
        before, after = self.dashboard.neighbours(week)

        def link(path: str, **params: str) -> str:
            kept = {"ward": ward, "week": week.key, **params}
            query = urlencode({k: v for k, v in kept.items() if v})
            return f"{self.base}{path}" + (f"?{query}" if query else "")

        tz = self.dashboard.digests.tz
        number, year = week_number(week)
        return {
            "week_no": number,
            "week_year": year,
            "names": names,
            "scope_name": names.scope(scope),
            "leader_name": actor.staff.name if actor.staff else "",
            "week": week,
            "week_start": week.start.astimezone(tz).strftime("%d/%m/%Y"),
            "week_end": week.last_day(tz).strftime("%d/%m/%Y"),
            "before": link(request.url.path.removeprefix(PREFIX), week=before.key),
            "after": (
                link(request.url.path.removeprefix(PREFIX), week=after.key) if after else None
            ),
            "wards": self._wards_offered(actor, names),
            "ward": ward,
            "link": link,
        }

    def _wards_offered(self, actor: Actor, names: Names) -> list[tuple[str, str]]:
        """The ward picker: every ward for a city leader, a ward leader's
        own when they lead more than one; none otherwise."""
        staff = actor.staff
        wards = self.dashboard.digests.wards()
        if staff is not None and staff.has_role(Role.CITY_LEADER):
            mine = list(wards)
        else:
            mine = [w for w in (staff.wards if staff else ()) if w in wards]
        return [(w, names.area(w)) for w in mine] if len(mine) > 1 else []

    # ---- the pages ------------------------------------------------------------------------------

    async def week_page(self, request: Request, actor: Actor) -> Response:
        scope, week = self._asked(request, actor)
        digest = await self.dashboard.digest(scope, week)
        frame = self._frame(request, actor, scope, week)
        names: Names = frame["names"]
        lang = actor.language
        breakdowns = [
            (BREAKDOWNS[b.dimension], [(names.of(b.dimension)(k), c) for k, c in b.ordered()])
            for b in digest.breakdowns
            if b.dimension in BREAKDOWNS and b.groups
        ]
        return self.page(
            request,
            "week.html",
            lang,
            actor=actor,
            digest=digest,
            counts=COUNTS,
            breakdowns=breakdowns,
            overdue=digest.oldest_overdue,
            late_for=lambda o: duration(o.late.total_seconds(), lang),
            median=lambda seconds: duration(seconds, lang),
            code_of=format_code,
            **frame,
        )

    async def chart(self, request: Request, actor: Actor) -> Response:
        from starlette.responses import Response

        scope, week = self._asked(request, actor)
        digest = await self.dashboard.digest(scope, week)
        png = await self.dashboard.chart(digest, actor.language)
        return Response(png, media_type="image/png", headers=self.headers)

    async def tasks_page(self, request: Request, actor: Actor) -> Response:
        scope, week = self._asked(request, actor)
        wanted = self.dashboard.task_filter(scope, request.query_params)
        tasks = await self.dashboard.tasks(actor, scope, wanted)
        frame = self._frame(request, actor, scope, week)
        names: Names = frame["names"]
        chart = self.dashboard.services.chart
        now = self.dashboard.now
        lang = actor.language
        cadres = sorted(
            {t.owner for t in tasks} | ({wanted.cadre} if wanted.cadre else set()),
            key=names.staff,
        )
        rows = [
            {
                "code": t.code,
                "category": names.category(t.category),
                "group": names.area(t.area),
                "landmark": t.landmark or "",
                "cadre": names.staff(t.owner),
                "state": self.present.state(lang, t.state),
                "deadline": self.present.deadline(lang, t, now),
                "overdue": overdue_now(t, now),
            }
            for t in tasks[:TASKS_SHOWN]
        ]
        return self.page(
            request,
            "tasks.html",
            lang,
            actor=actor,
            rows=rows,
            count=len(tasks),
            wanted=wanted,
            groups=[(g.code, g.name) for g in self.dashboard.groups(scope)],
            categories=[(c.code, c.display_name(lang)) for c in chart.categories.values()],
            cadres=[(s, names.staff(s)) for s in cadres],
            states=[(s.value, self.present.state(lang, s)) for s in sorted(OPEN_STATES)],
            **frame,
        )

    async def complaint_page(self, request: Request, actor: Actor) -> Response:
        scope, week = self._asked(request, actor)
        found = await self.dashboard.complaint(actor, str(request.path_params["code"]))
        frame = self._frame(request, actor, scope, week)
        lang = actor.language
        complaint = found.trail.complaint
        chart = self.dashboard.services.chart
        names: Names = frame["names"]
        tz = self.dashboard.digests.tz
        fields = self.present.complaint_fields(lang, chart, complaint)
        photos: dict[str, list[str]] = {}
        for photo in found.photos:
            path = (
                f"{self.base}/complaints/{quote(complaint.code)}/photos/{photo.kind}/{photo.number}"
            )
            photos.setdefault(photo.kind, []).append(path)
        return self.page(
            request,
            "complaint.html",
            lang,
            actor=actor,
            complaint=complaint,
            fields=fields,
            holder=names.staff(complaint.owner),
            reporter=found.reporter,
            photos=[(PHOTO_HEADINGS[k], photos[k]) for k in PHOTO_KINDS if k in photos],
            history=[event_line(e, found.trail, names, tz) for e in found.trail.events],
            **frame,
        )

    async def photo(self, request: Request, actor: Actor) -> Response:
        from starlette.responses import Response

        params = request.path_params
        stored = await self.dashboard.photo(
            actor, str(params["code"]), str(params["kind"]), int(params["number"])
        )
        # Not kept by the browser either: on a ward office's shared PC a
        # resident's photo must not outlive the leader's session.
        headers = dict(self.headers)
        if stored.mime not in PICTURES:  # only ever a download, never a page
            headers["Content-Disposition"] = "attachment"
        return Response(stored.content, media_type=stored.mime, headers=headers)

    async def ranking_page(self, request: Request, actor: Actor) -> Response:
        scope, week = self._asked(request, actor)
        digest = await self.dashboard.digest(scope, week)
        frame = self._frame(request, actor, scope, week)
        names: Names = frame["names"]
        return self.page(
            request,
            "ranking.html",
            actor.language,
            actor=actor,
            rankings=[
                ("web.ranking_wards", [(names.area(r.key), r) for r in digest.ward_ranking]),
                ("web.ranking_cadres", [(names.staff(r.key), r) for r in digest.cadre_ranking]),
            ],
            **frame,
        )

    async def map_page(self, request: Request, actor: Actor) -> Response:
        scope, week = self._asked(request, actor)
        digest, counted = await asyncio.gather(
            self.dashboard.digest(scope, week), self.dashboard.by_group(scope, week)
        )
        frame = self._frame(request, actor, scope, week)
        names: Names = frame["names"]
        lang = actor.language
        link = frame["link"]
        figures = []
        for group in drawable(self.dashboard.groups(scope)):
            counts = counted.get(group.code, d.Counts())
            still_open = counts.in_progress + counts.overdue
            tip = i18n.t(
                lang,
                "web.map_tip",
                name=group.name,
                received=i18n.format_number(counts.received, lang),
                open=i18n.format_number(still_open, lang),
            )
            href = link("/tasks", group=group.code)
            figures.append(GroupFigure(group, counts.received, still_open, href, tip))
        hotspots = [
            i18n.t(
                lang,
                "web.hotspot",
                category=names.category(h.category),
                count=i18n.format_number(h.count, lang),
                areas=", ".join(names.area(a) for a in h.areas),
                residents=i18n.format_number(h.residents, lang),
                open=i18n.format_number(h.open_count, lang),
            )
            for h in digest.hotspots
        ]
        return self.page(
            request,
            "map.html",
            lang,
            actor=actor,
            svg=svg_map(figures, {g.area.code: g.area.name for g in figures}),
            figures=figures,
            hotspots=hotspots,
            **frame,
        )

    async def download(self, request: Request, actor: Actor) -> Response:
        from starlette.responses import Response

        from bot.report.export import export_name, to_csv, to_xlsx

        fmt = str(request.path_params["fmt"])
        if fmt not in ("csv", "xlsx"):
            raise PageError(404, "web.page_not_found")
        scope, week = self._asked(request, actor)
        table = await self.dashboard.export(scope, week, actor.language)
        if fmt == "csv":
            body, mime = to_csv(table, actor.language), "text/csv; charset=utf-8"
        else:
            body, mime = await asyncio.to_thread(to_xlsx, table, actor.language), XLSX
        name = f"{export_name(scope, week)}.{fmt}"
        headers = {**self.headers, "Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
        return Response(body, media_type=mime, headers=headers)

    async def style(self, request: Request) -> Response:
        from starlette.responses import Response

        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(stylesheet(), media_type="text/css", headers=headers)

    async def unknown(self, request: Request) -> Response:
        return self.message(request, 404, "web.page_not_found", self._language(request))

    def _language(self, request: Request) -> str:
        return self.web.services.default_language


def add_web_routes(server: HttpServer, web: WebAccess, dashboard: Dashboard) -> None:
    """The dashboard's routes.  Like Open311's, no reason on their own to
    listen: the links point at the public URL, which makes the server listen."""
    pages = Pages(web, dashboard)
    page = pages.signed_in
    routes: list[tuple[str, Callable[[Request], Awaitable[Response]], tuple[str, ...]]] = [
        ("", pages.slash, ("GET",)),
        ("/", pages.home, ("GET",)),
        ("/style.css", pages.style, ("GET",)),
        ("/signin/{token}", pages.signin, ("GET", "POST")),
        ("/signout", pages.signout, ("POST",)),
        ("/week", page(pages.week_page), ("GET",)),
        ("/chart.png", page(pages.chart), ("GET",)),
        ("/tasks", page(pages.tasks_page), ("GET",)),
        ("/complaints/{code}", page(pages.complaint_page), ("GET",)),
        ("/complaints/{code}/photos/{kind}/{number:int}", page(pages.photo), ("GET",)),
        ("/ranking", page(pages.ranking_page), ("GET",)),
        ("/map", page(pages.map_page), ("GET",)),
        ("/export.{fmt}", page(pages.download), ("GET",)),
        ("/{rest:path}", pages.unknown, ("GET", "POST")),
    ]
    for path, endpoint, methods in routes:
        server.add_route(PREFIX + path, endpoint, methods=methods, listen=False)
