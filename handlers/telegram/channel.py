"""Telegram as one channel of the runtime (bot/runtime.py builds it).

It wraps the Application (handlers/telegram/app.py) and receives in one of
three ways: long polling (polling.py; of several bot processes on one
database, only the one leading "telegram" polls: bot/leading.py), a webhook
route on the bot's HTTP server (webhook.py), or not at all — the tests and
the demo hand it updates themselves.  Sending is the outbox sender (outbox.py), which the
scheduler flushes through `flush`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram.request import BaseRequest

from bot.app.digests import Digests
from bot.app.outbox import Senders
from bot.app.services import Services
from bot.config import Settings
from bot.domain.clock import Clock
from bot.http import HttpServer
from bot.leading import while_leading
from bot.metrics import Metrics
from bot.ports import Leadership, MenuStore, SharedPace, UpdateInbox
from handlers.telegram.app import BOT_USERNAME_KEY, attach, build_application
from handlers.telegram.context import BotApplication, Wiring
from handlers.telegram.links import TelegramLinks
from handlers.telegram.polling import poll

if TYPE_CHECKING:
    from handlers.telegram.webhook import TelegramWebhook

log = logging.getLogger(__name__)

TELEGRAM = "telegram"
# my_chat_member: a person blocked or unblocked the bot (handlers/telegram/reach.py).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
# How long stopping waits for a background outbox flush to finish.
SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Polling:
    allowed_updates: Sequence[str] | None = ALLOWED_UPDATES


@dataclass(frozen=True)
class Webhook:
    url: str  # the HTTPS address Telegram posts to (its path is the route's)
    secret: str
    allowed_updates: Sequence[str] | None = ALLOWED_UPDATES


Receiving = Polling | Webhook | None


class TelegramChannel:
    name = TELEGRAM

    def __init__(
        self,
        settings: Settings,
        services: Services,
        digests: Digests,
        *,
        clock: Clock,
        http: HttpServer,
        inbox: UpdateInbox,
        receiving: Receiving = None,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        senders: Senders | None = None,
        pace: SharedPace | None = None,
        leadership: Leadership | None = None,
        metrics: Metrics | None = None,
        remembered: MenuStore | None = None,
    ) -> None:
        """``remembered``: each person's last choices, kept where a press
        needs more than its button holds (a sentence held at the
        fixed question: handlers/telegram/verdicts.py)."""
        self.settings = settings
        self.services = services
        self.receiving = receiving
        self.leadership = leadership  # long polling: one process of several at a time
        self.app: BotApplication = build_application(
            settings, request=request, updates_request=updates_request, pace=pace, metrics=metrics
        )
        self.wiring: Wiring = attach(self.app, services, digests, settings, senders, remembered)
        self.webhook: TelegramWebhook | None = None
        if isinstance(receiving, Webhook):
            # Imported here: long polling starts without the HTTP stack.
            from handlers.telegram.webhook import TelegramWebhook, webhook_path

            self.webhook = TelegramWebhook(self.app, inbox, clock, receiving.secret)
            path = webhook_path(receiving.url)
            http.add_route(path, self.webhook.endpoint, methods=["POST"])
            if path != "/":
                http.add_route(path + "/", self.webhook.endpoint, methods=["POST"])
        self._username = settings.bot_username
        self._stop_polling = asyncio.Event()
        self._polling: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._initialized = False

    @property
    def links(self) -> TelegramLinks:
        return TelegramLinks(self._username)

    # ---- the life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """getMe (Telegram checks the token), the command menus (staff
        chats' in the background), then receiving.  What fails here leaves nothing open."""
        await self._initialize()
        try:
            await self.wiring.menus.start()
            if self.app.bot.username:
                self._username = self.app.bot.username
                # The command line prints invite links and posters without asking Telegram.
                await self.services.store.set_meta(BOT_USERNAME_KEY, self._username)
            await self._start_receiving()
        except BaseException:
            await self.stop()
            raise

    async def _initialize(self) -> None:
        try:
            await self.app.initialize()
        except BaseException:
            # PTB skips its shutdown for an application that never finished
            # initialising: close the bot's HTTP clients here.
            await self.app.bot.shutdown()
            raise
        self._initialized = True

    async def _start_receiving(self) -> None:
        receiving = self.receiving
        if receiving is None:
            return
        if isinstance(receiving, Polling):
            await self.app.bot.delete_webhook()
            await self.app.start()
            allowed = receiving.allowed_updates
            self._polling = asyncio.create_task(
                while_leading(
                    self.leadership,
                    TELEGRAM,
                    self._stop_polling,
                    lambda stop: poll(self.app, stop, allowed),
                )
            )
            self._polling.add_done_callback(lambda _: self._stopped.set())
            return
        assert self.webhook is not None
        await self.app.start()
        await self.webhook.open()
        await self.app.bot.set_webhook(
            receiving.url, secret_token=receiving.secret, allowed_updates=receiving.allowed_updates
        )

    async def stop(self) -> None:
        """Stop receiving, let what was received finish, then the outbox
        sender; idempotent.  The webhook stays set at Telegram, which keeps
        the updates for it."""
        self._stop_polling.set()
        if self._polling is not None:
            await asyncio.wait({self._polling})
        if self.webhook is not None:
            await self.webhook.close()
        if self.app.running:
            await self.app.stop()
        await self.wiring.sender.settled(SETTLE_SECONDS)
        await self.wiring.menus.stop()
        if self._initialized:
            self._initialized = False
            await self.app.shutdown()
        self._stopped.set()

    async def closed(self) -> None:
        await self._stopped.wait()
        if self._polling is not None and not self._polling.cancelled():
            error = self._polling.exception()
            if error is not None:
                raise error

    async def flush(self) -> None:
        """With a webhook, first the stored updates another process died
        with (or left to a holder that stopped); then the outbox; then the
        command menus catch up (a role or a language changed), in the
        background."""
        if self.webhook is not None and self.app.running:
            await self.webhook.look_again()
        await self.wiring.sender.flush()
        self.wiring.menus.soon()
