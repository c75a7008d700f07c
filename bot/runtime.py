"""The one composition root: settings → storage → use cases → channels →
the HTTP server → the scheduler.

`phananh run`, every command-line command that needs the database, the demo
and the tests build the bot here and nowhere else, so the use cases are
built once, with every setting that reaches them (a command run beside the
bot answers as the bot would).  This is the one module that knows every
part: the domain, the use cases, the storage engine, every channel.

- `opened`: the database and the use cases, no channel (the command line).
- `running`: those, the channels, the HTTP server (when something needs
  it) and, for the real bot, the scheduler; `Runtime.tick` is one run of
  the periodic job (the tests call it instead of waiting).
- `serve`: `phananh run` — every channel whose token is set, until SIGINT
  or SIGTERM.

Adding a channel is its folder under handlers/ and one line in
`configured_channels`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import httpx
from telegram.request import BaseRequest

from bot.app.dashboard import Dashboard
from bot.app.digests import Digests
from bot.app.media import MediaLinks, TemporaryFiles, media_secret
from bot.app.open311 import Open311
from bot.app.outbox import Senders
from bot.app.services import Services
from bot.app.sweep import Sweeper
from bot.app.web import WebAccess
from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.reminders import Schedule
from bot.http import HttpServer, add_files_route, add_media_route
from bot.metrics import Metrics, add_routes
from bot.open311_http import add_open311_routes
from bot.ports import Channel, Store
from bot.scheduler import Pause, Scheduler, pause
from bot.web.pages import add_web_routes
from handlers.telegram.channel import Polling, Receiving, TelegramChannel, Webhook
from handlers.zalo import channel as zalo_channel
from handlers.zalo.channel import ZaloChannel
from storage.engines import Storage, open_storage, sole_runner, start_afresh
from storage.meta_keys import DEMO_MARK as DEMO_MARK  # the demo's mark, for bot/demo.py

if TYPE_CHECKING:
    from storage.postgres.db import Database as PostgresDatabase
    from storage.sqlite.db import Database as SqliteDatabase

log = logging.getLogger(__name__)


# ---- the core: storage and the use cases --------------------------------------------------------


@dataclass(frozen=True)
class Core:
    """The database and the use cases over it, as every part shares them."""

    settings: Settings
    clock: Clock
    storage: Storage  # the engine PHANANH_DB chose, SQLite or PostgreSQL
    services: Services
    digests: Digests
    sweeper: Sweeper
    media: MediaLinks  # expiring links to kept photos, for channels that send by URL
    files: TemporaryFiles  # files made for one person, at links that expire (Zalo)
    metrics: Metrics  # what the operators watch: /metrics, /readyz (bot/metrics.py)
    # Every channel's outbox loop: whatever handled an update flushes them all.
    senders: Senders = field(default_factory=Senders)
    # Telegram's webhook secret when none is configured: the one every process
    # on the database shares (PostgreSQL), or "" to draw one at start.
    webhook_secret: str = ""

    @property
    def store(self) -> Store:
        return self.storage.store

    @property
    def db(self) -> SqliteDatabase | PostgresDatabase:
        """The engine's own database object (tests read behind the store's back)."""
        return self.storage.database


def build_services(settings: Settings, store: Store, clock: Clock) -> Services:
    """The use cases, with every setting that reaches them: the one place
    `Services` is built for the bot, the command line and the demo."""
    return Services(
        store,
        clock,
        locate_max_km=settings.locate_max_km,
        default_language=settings.default_language,
        schedule=Schedule(settings.calendar(), settings.quiet_hours()),
        max_reports_per_hour=settings.max_reports_per_hour,
        anonymous_by_default=settings.anonymous_by_default,
    )


async def open_database(settings: Settings, clock: Clock | None = None) -> Storage:
    """The configured database: ``PHANANH_DB`` names a file (SQLite) or a
    server (``postgresql://…``, PostgreSQL); either way the same
    repositories (storage/engines.py), writing times from ``clock``."""
    return await open_storage(settings.database, clock=clock)


async def fresh_database(settings: Settings) -> None:
    """The configured database emptied, for the demo to start from nothing
    (a PostgreSQL database only if empty or a demo's own: storage/engines.py)."""
    await start_afresh(settings.database)


@asynccontextmanager
async def opened(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Core]:
    """The database and the use cases with the org chart loaded, and no
    channel: what they queue is sent the next time the bot runs."""
    clock = clock or SystemClock()
    storage = await open_database(settings, clock)
    try:
        store = storage.store
        services = build_services(settings, store, clock)
        digests = Digests(storage.digests, services, schedule=settings.digest)
        sweeper = Sweeper(services, briefing_at=settings.briefing_time, digests=digests)
        # Someone blocked the bot or came back: their tasks move at once.
        services.reach_changed = sweeper.owners.person_reach_changed
        await services.load_org()
        secret = media_secret(settings.media_secret.reveal())
        media = MediaLinks(store, clock, secret, settings.public_url)
        files = TemporaryFiles(clock, settings.public_url)
        metrics = Metrics(clock, storage.health(), sweep_seconds=settings.sweep_seconds)
        services.observer = metrics
        # /web's sign-in links and the dashboard's sessions (bot/app/web.py).
        services.web = WebAccess(storage.web(), services, settings.public_url)
        yield Core(settings, clock, storage, services, digests, sweeper, media, files, metrics)
    finally:
        await storage.close()


# Where the secrets that processes share are kept when none is configured.
SHARED_WEBHOOK_SECRET = "telegram_webhook_secret"
SHARED_MEDIA_SECRET = "media_secret"


async def shared_by_processes(core: Core) -> Core:
    """The core as several bot processes on one database must run it: on
    PostgreSQL the secrets they must agree on — Telegram's webhook secret
    (Telegram posts to any of them with the token the last setWebhook gave)
    and the key of the photos' links (made by one process, opened through
    another) — are the configured ones or, when none is, one kept in the
    database (storage/postgres/shared.py); on SQLite, as before, drawn at
    each start."""
    settings, storage = core.settings, core.storage
    hook = settings.webhook_secret.reveal() or await storage.shared_secret(SHARED_WEBHOOK_SECRET)
    if settings.media_secret.reveal():
        return replace(core, webhook_secret=hook or "")
    kept = await storage.shared_secret(SHARED_MEDIA_SECRET)
    if kept is None:
        return replace(core, webhook_secret=hook or "")
    media = MediaLinks(core.store, core.clock, kept.encode(), settings.public_url)
    return replace(core, media=media, webhook_secret=hook or "")


def open311_of(core: Core) -> Open311:
    """Open311 GeoReport v2 over the core (bot/app/open311.py)."""
    settings = core.settings
    return Open311(
        core.services,
        core.storage.open311(),
        core.media,
        language=settings.default_language,
        tz=settings.tz,
        public_url=settings.public_url,
        posts_per_hour=settings.open311_posts_per_hour,
    )


def web_of(core: Core) -> WebAccess:
    """The dashboard's sign-in links and sessions (set on the services by `opened`)."""
    web = core.services.web
    assert isinstance(web, WebAccess)
    return web


# ---- channels ---------------------------------------------------------------------------------

# Builds a channel over the core, adding its routes to the HTTP server.
ChannelFactory = Callable[[Core, HttpServer], Channel]


def telegram(
    *,
    receiving: Receiving = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> Callable[[Core, HttpServer], TelegramChannel]:
    """Telegram, receiving by long polling, by webhook or (tests, the demo)
    not at all; ``request`` replaces the HTTP transport (the fake Bot API)."""

    def build(core: Core, http: HttpServer) -> TelegramChannel:
        hook = receiving
        if isinstance(hook, Webhook) and not hook.secret:
            # None configured: the one the processes share, or one for this start.
            hook = replace(hook, secret=core.webhook_secret or secrets.token_urlsafe(32))
        return TelegramChannel(
            core.settings,
            core.services,
            core.digests,
            clock=core.clock,
            http=http,
            inbox=core.storage.inbox(TelegramChannel.name),
            receiving=hook,
            request=request,
            updates_request=updates_request,
            senders=core.senders,
            pace=core.storage.pace(),
            leadership=core.storage.leadership(),
            metrics=core.metrics,
            remembered=core.storage.menus(),
        )

    return build


def zalo(
    *,
    receiving: zalo_channel.Receiving = None,
    transport: httpx.AsyncBaseTransport | None = None,
    wait: Pause = pause,
) -> Callable[[Core, HttpServer], ZaloChannel]:
    """Zalo, receiving by long polling, by webhook or (tests, the demo) not
    at all; ``transport`` replaces the HTTP transport (the fake Zalo API)."""

    def build(core: Core, http: HttpServer) -> ZaloChannel:
        parts = zalo_channel.Parts(
            inbox=core.storage.inbox(ZaloChannel.name),
            menus=core.storage.menus(),
            media=core.media,
            files=core.files,
            senders=core.senders,
            pace=core.storage.pace(),
            leadership=core.storage.leadership(),
            metrics=core.metrics,
        )
        return ZaloChannel(
            core.settings,
            core.services,
            core.digests,
            parts,
            clock=core.clock,
            http=http,
            receiving=receiving,
            transport=transport,
            wait=wait,
        )

    return build


def configured_channels(
    settings: Settings, *, telegram_webhook: str | None = None
) -> list[ChannelFactory]:
    """Every channel whose token is set, receiving for real."""
    channels: list[ChannelFactory] = []
    if settings.telegram_token:
        channels.append(telegram(receiving=telegram_receiving(settings, telegram_webhook)))
    if settings.zalo_token:
        channels.append(zalo(receiving=zalo_receiving(settings)))
    return channels


def zalo_receiving(settings: Settings) -> zalo_channel.Receiving:
    """A webhook at PHANANH_PUBLIC_URL + /zalo when its secret is set, else long polling."""
    url = settings.zalo_webhook_url
    if url is None:
        return zalo_channel.LongPolling()
    return zalo_channel.Webhook(url, settings.zalo_webhook_secret.reveal())


def telegram_receiving(settings: Settings, webhook_url: str | None) -> Receiving:
    """Long polling, or a webhook at ``webhook_url`` with the configured
    secret (when none is set, "": the channel gets one when it is built —
    the processes' shared one on PostgreSQL, a fresh one each start on
    SQLite; Telegram is told it with setWebhook)."""
    if webhook_url is None:
        return Polling()
    return Webhook(webhook_url, settings.webhook_secret.reveal())


# ---- the running bot ----------------------------------------------------------------------------


class Runtime:
    def __init__(
        self, core: Core, channels: Sequence[Channel], http: HttpServer, *, wait: Pause = pause
    ) -> None:
        self.core = core
        self.channels = tuple(channels)
        self.http = http
        self.scheduler = Scheduler(self.tick, core.settings.sweep_seconds, wait=wait)
        self._exit = AsyncExitStack()

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def services(self) -> Services:
        return self.core.services

    @property
    def digests(self) -> Digests:
        return self.core.digests

    @property
    def sweeper(self) -> Sweeper:
        return self.core.sweeper

    @property
    def db(self) -> SqliteDatabase | PostgresDatabase:
        return self.core.db

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise LookupError(f"no {name} channel")

    @property
    def telegram(self) -> TelegramChannel:
        channel = self.channel(TelegramChannel.name)
        assert isinstance(channel, TelegramChannel)
        return channel

    @property
    def zalo(self) -> ZaloChannel:
        channel = self.channel(ZaloChannel.name)
        assert isinstance(channel, ZaloChannel)
        return channel

    # ---- the periodic job -------------------------------------------------------------------

    async def tick(self) -> None:
        """What fell due becomes outbox rows, then each channel sends what
        the outbox holds for it (including earlier failures due for a retry).
        A sweep that finishes is timed for the metrics (one that fails is
        not: /readyz then sees the sweep late)."""
        started = time.perf_counter()
        report = await self.sweeper.sweep()
        self.core.metrics.swept(time.perf_counter() - started, report.complaints)
        await self.flush()

    async def flush(self) -> None:
        """Each channel's outbox; one channel failing does not hold up the others."""
        for channel in self.channels:
            try:
                await channel.flush()
            except Exception:
                log.exception("sending the %s outbox failed", channel.name)

    # ---- the life cycle ---------------------------------------------------------------------

    async def start(self, *, scheduled: bool, sweeping: bool = True) -> None:
        """Listen (when a route needs it), start every channel, then either
        the scheduler (``scheduled``: its first run is the catch-up, in the
        background) or one tick now (the tests and the demo, which tick
        themselves) — neither when not ``sweeping`` (`phananh serve`: the
        running bot sweeps).  What fails on the way is stopped again by `stop`."""
        self._warn()
        self.core.metrics.sweeps = sweeping  # /readyz checks only a sweep this process runs
        for channel in self.channels:
            self.core.metrics.expect_channel(channel.name)
        if self.http.wanted or self.settings.public_url:
            await self.http.start()
            self._exit.push_async_callback(self.http.stop)
        for channel in self.channels:
            self._exit.push_async_callback(channel.stop)
            await channel.start()
        if not sweeping:
            return
        if scheduled:
            self.scheduler.start(at_once=True)
            self._exit.push_async_callback(self.scheduler.stop)
        else:
            await self.tick()

    async def stop(self) -> None:
        """The scheduler, then the channels (last started first), then the
        HTTP server; idempotent."""
        await self._exit.aclose()

    async def until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set or a channel stops receiving on its
        own (its error is raised)."""
        waits: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
        waits |= {asyncio.ensure_future(channel.closed()) for channel in self.channels}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(*waits, return_exceptions=True)
        for finished in done:
            finished.result()

    def _warn(self) -> None:
        settings = self.settings
        if not self.services.has_chart:
            log.warning("no org chart in %s: run `phananh org import FILE`", settings.database)
        holidays = settings.holiday_warning(self.services.now().astimezone(settings.tz).date())
        if holidays is not None:
            log.warning(holidays)


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Sequence[ChannelFactory] | None = None,
    scheduled: bool = False,
    wait: Pause = pause,
    sweeping: bool = True,
) -> AsyncIterator[Runtime]:
    """The started bot for the time of a block: the channels given (the
    configured ones when None), and the scheduler when ``scheduled`` (no
    sweep at all when not ``sweeping``)."""
    async with opened(settings, clock) as opened_core:
        core = await shared_by_processes(opened_core)
        http = HttpServer(settings.http_host, settings.http_port)
        add_media_route(http, core.media.media_response)
        add_files_route(http, core.files.get)
        # /metrics, /healthz, /readyz: a reason to listen when the port is configured.
        add_routes(http, core.metrics, listen=settings.http_port_given)
        add_open311_routes(http, open311_of(core))
        add_web_routes(http, web_of(core), Dashboard(core.services, core.digests))
        factories = configured_channels(settings) if channels is None else channels
        runtime = Runtime(core, [build(core, http) for build in factories], http, wait=wait)
        try:
            await runtime.start(scheduled=scheduled, sweeping=sweeping)
            yield runtime
        finally:
            await runtime.stop()


async def serve(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Sequence[ChannelFactory] | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """`phananh run`: start, call ``ready`` once every channel runs (the
    messenger accepted the token, a webhook its address), serve until
    SIGINT or SIGTERM, stop cleanly."""
    stop = stop_on_signals()
    # One bot process per SQLite file (refused in one line); any number on PostgreSQL.
    with sole_runner(settings.database):
        async with running(settings, clock=clock, channels=channels, scheduled=True) as runtime:
            if ready is not None:
                ready()
            await runtime.until(stop)


async def serve_http(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """`phananh serve`: the HTTP server alone — Open311, /metrics, /healthz,
    /readyz and the photo links it signs — with no channel, no sweep and
    nothing sent, until SIGINT or SIGTERM.  Beside a running bot (what a request
    POSTed here queues, the bot sends), or over the demo's database.  It
    takes no one-process lock: on SQLite it only adds a writer SQLite itself
    orders, and the sweep and the sending stay the bot's."""
    stop = stop_on_signals()
    settings = replace(settings, http_port_given=True)  # listening is its whole job
    async with running(settings, clock=clock, channels=[], sweeping=False) as runtime:
        if ready is not None:
            ready()
        await runtime.until(stop)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: the bot stops cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
