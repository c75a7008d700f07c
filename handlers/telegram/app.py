"""The application factory: one place that wires settings, storage,
services, handlers and jobs together.

`startup` and `shutdown` are what python-telegram-bot's ``post_init`` and
``post_shutdown`` call — but PTB runs those hooks only under
``run_polling``/``run_webhook``, so tests and the demo call them directly.
Both are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, BotCommandScopeDefault
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.app.digests import Digests
from bot.app.services import Services
from bot.app.sweep import Sweeper
from bot.config import Settings
from bot.domain.channels import TELEGRAM
from bot.domain.clock import Clock, SystemClock
from bot.domain.reminders import Schedule
from bot.i18n import LANGUAGES, t
from handlers.telegram import cadre, common, digest, history, leader, privacy, resident, staff
from handlers.telegram.context import BotApplication, BotContext, Runtime
from handlers.telegram.extbot import TelegramBot
from handlers.telegram.outbox import OutboxSender
from handlers.telegram.processing import ChatOrderedProcessor
from handlers.telegram.ratelimit import MessagePacer
from handlers.telegram.render import Renderer
from storage.sqlite.db import Database
from storage.sqlite.digest import SqliteDigestStore
from storage.sqlite.store import SqliteStore

log = logging.getLogger(__name__)

SWEEP_JOB = "sweep"
BOT_USERNAME_KEY = "bot_username"
OFFLINE_TOKEN = "0:offline"  # lets the demo and tests build an app with no real token


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> BotApplication:
    # The bot is built here rather than by the builder: it is our subclass,
    # which fits every text to Telegram's limits (handlers/telegram/extbot.py).
    # The HTTP requests are what ApplicationBuilder would make.
    bot = TelegramBot(
        token=settings.telegram_token.reveal() or OFFLINE_TOKEN,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        defaults=Defaults(tzinfo=settings.tz),
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=updates_request or request or HTTPXRequest(connection_pool_size=1),
        rate_limiter=MessagePacer() if settings.rate_limit else None,  # type: ignore[arg-type]
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .post_init(startup)
        .post_shutdown(shutdown)
        .concurrent_updates(ChatOrderedProcessor())
    )
    app: BotApplication = builder.build()  # type: ignore[assignment]
    runtime = Runtime(renderer=Renderer(settings.tz))
    runtime.extras.update(settings=settings, clock=clock or SystemClock())
    app.bot_data["runtime"] = runtime

    # Order matters: `common` identifies the person first (group -1) and
    # flushes the outbox last (group 99); the audiences' handlers share
    # group 0, where the first match wins, so the catch-all fallbacks go last.
    common.register(app)
    resident.register(app)
    cadre.register(app)
    leader.register(app)
    staff.register(app)
    privacy.register(app)
    digest.register(app)
    history.register(app)
    common.register_fallbacks(app)

    assert app.job_queue is not None
    app.job_queue.run_repeating(
        sweep_job, interval=settings.sweep_seconds, first=settings.sweep_seconds, name=SWEEP_JOB
    )
    return app


def _runtime(app: BotApplication) -> Runtime:
    runtime: Runtime = app.bot_data["runtime"]
    return runtime


async def sweep_job(context: BotContext) -> None:
    """The one periodic job: what is due becomes outbox rows, then the outbox
    (including anything that failed before and is due for a retry) is sent."""
    runtime = context.runtime
    sweeper: Sweeper | None = runtime.extras.get("sweeper")
    if sweeper is not None:
        await sweeper.sweep()
    if runtime.sender is not None:
        await runtime.sender.flush()


async def startup(app: BotApplication, *, catch_up_now: bool = True) -> None:
    """Open the database, load the org chart, set the command menu, and
    (unless the caller does it itself, see `catch_up`) send what fell due
    and what the outbox still holds from before a restart."""
    runtime = _runtime(app)
    if runtime.services is not None:
        return
    settings: Settings = runtime.extras["settings"]
    clock: Clock = runtime.extras["clock"]
    db = await Database.open(settings.db_path)
    services = Services(
        SqliteStore(db),
        clock,
        locate_max_km=settings.locate_max_km,
        default_language=settings.default_language,
        schedule=Schedule(settings.calendar(), settings.quiet_hours()),
        max_reports_per_hour=settings.max_reports_per_hour,
        anonymous_by_default=settings.anonymous_by_default,
    )
    await services.load_org()
    if not services.has_chart:
        log.warning("no org chart in %s: run `phananh org import FILE`", settings.db_path)
    holidays = settings.holiday_warning(clock.now().astimezone(settings.tz).date())
    if holidays is not None:
        log.warning(holidays)
    runtime.extras["db"] = db
    runtime.services = services
    digests = Digests(SqliteDigestStore(db), services, schedule=settings.digest)
    runtime.digests = digests
    runtime.sender = OutboxSender(services, runtime.renderer, app.bot, digests)
    sweeper = Sweeper(services, briefing_at=settings.briefing_time, digests=digests)
    runtime.extras["sweeper"] = sweeper
    # Someone blocked the bot or came back: their tasks move at once.
    services.reach_changed = sweeper.owners.person_reach_changed
    await set_commands(app)
    if app.bot.username:
        # The command line prints invite links and posters without asking Telegram.
        await services.store.set_meta(BOT_USERNAME_KEY, app.bot.username)
    if catch_up_now:
        await catch_up(app)


async def catch_up(app: BotApplication) -> None:
    """Once after a restart: what fell due while the bot was down goes out
    now, once (or at the end of the quiet hours), with whatever the outbox
    still held.  `phananh run` does this while it already polls, so residents
    are answered at once even after a long downtime."""
    runtime = _runtime(app)
    sweeper: Sweeper | None = runtime.extras.get("sweeper")
    if sweeper is not None:
        await sweeper.sweep()
    if runtime.sender is not None:
        await runtime.sender.flush()


# How long shutting down waits for a background outbox flush to finish.
SETTLE_SECONDS = 5.0


async def shutdown(app: BotApplication) -> None:
    runtime = _runtime(app)
    if runtime.sender is not None:
        await runtime.sender.settled(SETTLE_SECONDS)
    db: Database | None = runtime.extras.pop("db", None)
    runtime.services = None
    runtime.sender = None
    runtime.digests = None
    runtime.extras.pop("sweeper", None)
    if db is not None:
        await db.close()


async def set_commands(app: BotApplication) -> None:
    """PTB never sets the command menu itself.  Residents get the default
    menu (Vietnamese, or English for clients set to English); each bound
    staff member's chat gets the menu of their role."""
    calls: list[Coroutine[Any, Any, object]] = [
        app.bot.set_my_commands(
            [BotCommand(c, t(language, f"commands.{c}")) for c in common.COMMANDS],
            scope=BotCommandScopeDefault(),
            language_code=None if language == "vi" else language,
        )
        for language in LANGUAGES
    ]
    services = services_of(app)
    if services.has_chart:
        for staff_id, person in (await services.store.bound_staff()).items():
            actor = services.actor_for(person, staff_id)
            if actor.staff is None:
                continue
            for account in person.on(TELEGRAM):
                calls.append(staff.set_menu(app, actor, int(account.external_id)))
    # Side by side: one round trip to Telegram for all of them, not one each.
    await asyncio.gather(*calls)


@asynccontextmanager
async def initialized(app: BotApplication) -> AsyncIterator[BotApplication]:
    """``async with app`` (getMe: Telegram checks the token), that also
    closes the bot's HTTP clients when getMe fails: PTB skips its shutdown
    for an application that never finished initialising."""
    try:
        await app.initialize()
    except Exception:
        await app.bot.shutdown()
        raise
    try:
        yield app
    finally:
        await app.shutdown()


@asynccontextmanager
async def running(app: BotApplication) -> AsyncIterator[BotApplication]:
    """Initialise, start up, and always shut down: for tests and the demo,
    which drive the app with ``process_update`` instead of polling."""
    async with app:
        await startup(app)
        try:
            yield app
        finally:
            await shutdown(app)


def services_of(app: BotApplication) -> Services:
    services = _runtime(app).services
    if services is None:
        raise RuntimeError("start-up has not run")
    return services


def extras(app: BotApplication) -> dict[str, Any]:
    return _runtime(app).extras
