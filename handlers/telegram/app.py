"""The Telegram Application: the bot object, the handlers in their order,
and the use cases handed to them.

The use cases themselves are built once, by the runtime (bot/runtime.py);
the channel (handlers/telegram/channel.py) attaches them here and starts
and stops the Application.
"""

from __future__ import annotations

from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.app.desk import Desk
from bot.app.digests import Digests
from bot.app.outbox import Senders
from bot.app.services import Services
from bot.config import Settings
from bot.metrics import Metrics
from bot.ports import MenuStore, SharedPace
from handlers.telegram import cadre, common, digest, history, leader, privacy, resident, staff
from handlers.telegram.context import WIRING_KEY, BotApplication, BotContext, Wiring
from handlers.telegram.extbot import TelegramBot
from handlers.telegram.menus import CommandMenus
from handlers.telegram.metered import TelegramApplication, WatchedRequest
from handlers.telegram.outbox import OutboxSender
from handlers.telegram.processing import ChatOrderedProcessor
from handlers.telegram.ratelimit import MessagePacer
from handlers.telegram.render import Renderer

BOT_USERNAME_KEY = "bot_username"
OFFLINE_TOKEN = "0:offline"  # lets the demo and tests build an app with no real token


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    pace: SharedPace | None = None,
    metrics: Metrics | None = None,
) -> BotApplication:
    """The Application with every handler registered, and no use cases yet
    (`attach` gives it those).  ``pace``: the send rate every process on
    the database keeps together (PostgreSQL), else this process paces alone.
    ``metrics``: told of every update and every API call (handlers/telegram/metered.py)."""
    updates_request = updates_request or request or HTTPXRequest(connection_pool_size=1)
    request = request or HTTPXRequest(connection_pool_size=256)
    if metrics is not None:
        request = WatchedRequest(request, metrics.api_answer_of)
        updates_request = WatchedRequest(updates_request, metrics.api_answer_of)
    # The bot is built here rather than by the builder: it is our subclass,
    # which fits every text to Telegram's limits (handlers/telegram/extbot.py).
    # The HTTP requests are what ApplicationBuilder would make.
    bot = TelegramBot(
        token=settings.telegram_token.reveal() or OFFLINE_TOKEN,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        defaults=Defaults(tzinfo=settings.tz),
        request=request,
        get_updates_request=updates_request,
        rate_limiter=MessagePacer(shared=pace) if settings.rate_limit else None,  # type: ignore[arg-type]
    )
    builder = (
        ApplicationBuilder()
        .application_class(TelegramApplication)
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(ChatOrderedProcessor())
        # The periodic sweep is the runtime's (bot/scheduler.py), and PTB's
        # own polling and webhook are replaced (polling.py, webhook.py).
        .job_queue(None)
        .updater(None)
    )
    app: BotApplication = builder.build()  # type: ignore[assignment]
    if metrics is not None:
        assert isinstance(app, TelegramApplication)
        app.watch = metrics.update_handled

    # Order matters: `common` identifies the person first (group -1) and
    # flushes the outbox last (group 99); the audiences' handlers share
    # group 0, where the first match wins, so an edited message's handler
    # goes first (command handlers take edits too) and the catch-all
    # fallbacks last.
    resident.register_edits(app)
    common.register(app)
    resident.register(app)
    cadre.register(app)
    leader.register(app)
    staff.register(app)
    privacy.register(app)
    digest.register(app)
    history.register(app)
    common.register_fallbacks(app)
    return app


def attach(
    app: BotApplication,
    services: Services,
    digests: Digests,
    settings: Settings,
    senders: Senders | None = None,
    remembered: MenuStore | None = None,
) -> Wiring:
    """Hand the use cases to the handlers, with the outbox sender over this
    bot (joined to ``senders``, every channel's, flushed after each update)."""
    renderer = Renderer(settings.tz)
    sender = OutboxSender(services, renderer, app.bot, digests)
    senders = senders if senders is not None else Senders()
    senders.add(sender)
    wiring = Wiring(
        renderer=renderer,
        services=services,
        sender=sender,
        digests=digests,
        desk=Desk(services, digests, renderer, briefing_at=settings.briefing_time),
        senders=senders,
        menus=CommandMenus(app.bot, services),
        remembered=remembered,
    )
    app.bot_data[WIRING_KEY] = wiring
    return wiring


def wiring_of(app: BotApplication) -> Wiring:
    wiring: Wiring = app.bot_data[WIRING_KEY]
    return wiring
