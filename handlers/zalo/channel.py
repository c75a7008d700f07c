"""Zalo as one channel of the runtime (bot/runtime.py builds it), beside
Telegram, on the same use cases.

- Receiving (receiving.py): long polling for development (of several bot
  processes on one database, only the one leading "zalo" polls:
  bot/leading.py), or a webhook route on the bot's HTTP server for
  production (webhook.py); either way each update is stored before it is
  handled.  The tests and the demo may
  also receive nothing by themselves and poll one update at a time.
- What a person typed goes to the same use cases as Telegram's buttons
  (intake.py, through bot/app/desk.py) and is answered as numbered text.
- What the bot says on its own goes through the shared outbox loop
  (bot/app/outbox.py) with Zalo's side of it (sender.py), paced at
  ``PHANANH_ZALO_RATE`` messages a second.

The token is a password in the URL path of every call: the client keeps it
out of log lines, exception texts and reprs (client.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from bot.app.desk import Desk
from bot.app.digests import Digests
from bot.app.media import MediaLinks, TemporaryFiles
from bot.app.outbox import OutboxLoop, Senders
from bot.app.pacing import Pacer
from bot.app.services import Services
from bot.config import Settings
from bot.domain.channels import ZALO
from bot.domain.clock import Clock
from bot.http import HttpServer
from bot.leading import while_leading
from bot.metrics import Metrics
from bot.ports import Leadership, MenuStore, SharedPace, UpdateInbox
from bot.scheduler import Pause, pause
from handlers.zalo.client import ZaloBotClient
from handlers.zalo.intake import ZaloIntake
from handlers.zalo.links import ZaloLinks
from handlers.zalo.receiving import POLL_SECONDS, Polling, ZaloReceiver
from handlers.zalo.render import ZaloPresenter, ZaloRenderer
from handlers.zalo.sender import REFUSALS_BEFORE_UNREACHABLE, ZaloOut, ZaloTransport

if TYPE_CHECKING:
    from handlers.zalo.webhook import ZaloWebhook

log = logging.getLogger(__name__)

PATH = "/zalo"  # the webhook's route, under PHANANH_PUBLIC_URL

# How long stopping waits for a background outbox flush to finish.
SETTLE_SECONDS = 5.0
DOWNLOAD_TIMEOUT = 20.0


@dataclass(frozen=True)
class LongPolling:
    poll_seconds: int = POLL_SECONDS


@dataclass(frozen=True)
class Webhook:
    url: str  # PHANANH_PUBLIC_URL + /zalo: where Zalo posts updates
    secret: str


Receiving = LongPolling | Webhook | None


@dataclass(frozen=True)
class Parts:
    """What the channel is built over, besides the use cases."""

    inbox: UpdateInbox
    menus: MenuStore
    media: MediaLinks
    files: TemporaryFiles
    senders: Senders
    # The send rate every process on the database keeps together (PostgreSQL).
    pace: SharedPace | None = None
    # Long polling: one process of several at a time (PostgreSQL).
    leadership: Leadership | None = None
    # Told of every update and every API call (bot/metrics.py).
    metrics: Metrics | None = None


class ZaloChannel:
    name = ZALO

    def __init__(
        self,
        settings: Settings,
        services: Services,
        digests: Digests,
        parts: Parts,
        *,
        clock: Clock,
        http: HttpServer,
        receiving: Receiving = None,
        transport: httpx.AsyncBaseTransport | None = None,
        wait: Pause = pause,
    ) -> None:
        self.settings = settings
        self.services = services
        self.receiving = receiving
        metrics = parts.metrics
        self.client = ZaloBotClient(
            settings.zalo_token.reveal(),
            base_url=settings.zalo_api_url,
            transport=transport,
            watch=partial(metrics.api_answer_of, ZALO) if metrics is not None else None,
        )
        # Photos people send are on Zalo's servers: fetched with a client of their own.
        self.downloads = httpx.AsyncClient(
            transport=transport, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True
        )
        self.pacer = Pacer(settings.zalo_rate, shared=parts.pace, bucket=ZALO)
        self.present = ZaloPresenter(settings.tz)
        self.desk = Desk(services, digests, self.present, briefing_at=settings.briefing_time)
        self.out = ZaloOut(
            self.client,
            services,
            ZaloRenderer(self.present),
            self.pacer,
            parts.media,
            parts.files,
            parts.menus,
        )
        self.sender = OutboxLoop(
            services,
            self.present,
            ZaloTransport(self.out),
            digests,
            refusals_before_unreachable=REFUSALS_BEFORE_UNREACHABLE,
        )
        parts.senders.add(self.sender)
        self.intake = ZaloIntake(
            services, self.desk, self.out, parts.menus, self.downloads, self.links, parts.senders
        )
        self.receiver = ZaloReceiver(parts.inbox, services, clock)
        if metrics is not None:
            self.receiver.watch = metrics.update_handled
        poll_seconds = receiving.poll_seconds if isinstance(receiving, LongPolling) else 0
        self.polling = Polling(self.client, self.receiver, poll_seconds=poll_seconds, wait=wait)
        self.webhook: ZaloWebhook | None = None
        if isinstance(receiving, Webhook):
            # Imported here: long polling starts without the HTTP stack.
            from handlers.zalo.webhook import ZaloWebhook

            self.webhook = ZaloWebhook(self.receiver, receiving.secret)
            for path in webhook_paths(receiving.url):
                http.add_route(path, self.webhook.endpoint, methods=["POST"])
        self.leadership = parts.leadership
        self._stop = asyncio.Event()
        self._polling: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    @property
    def links(self) -> ZaloLinks:
        return ZaloLinks(self.settings.zalo_bot_link)

    # ---- the life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """getMe (Zalo checks the token), the webhook set (or cleared, for
        polling: getUpdates does not work while one is set), what a crash
        left stored handled, then receiving.  What fails here leaves
        nothing open."""
        try:
            me = await self.client.get_me()
            log.info("Zalo bot %s (%s) ready", me.display_name or me.account_name, me.id)
            if not self.settings.public_url:
                log.warning(
                    "PHANANH_PUBLIC_URL is not set: people on Zalo get no photos, charts"
                    " or files (Zalo fetches them from the bot's own web server)"
                )
            receiving = self.receiving
            if isinstance(receiving, Webhook):
                await self.client.set_webhook(receiving.url, receiving.secret)
            elif isinstance(receiving, LongPolling):
                await self.client.delete_webhook()
            await self.receiver.open(self.intake.handle, after=self.intake.after)
            if isinstance(receiving, LongPolling):
                self._polling = asyncio.create_task(
                    while_leading(self.leadership, ZALO, self._stop, self.polling.run)
                )
                self._polling.add_done_callback(lambda _: self._stopped.set())
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop receiving, let what was received finish, then the outbox
        sender; idempotent.  A webhook stays set at Zalo."""
        self._stop.set()
        if self._polling is not None:
            await asyncio.wait({self._polling})
        await self.receiver.close()
        await self.sender.settled(SETTLE_SECONDS)
        await self.client.aclose()
        await self.downloads.aclose()
        self._stopped.set()

    async def closed(self) -> None:
        await self._stopped.wait()
        if self._polling is not None and not self._polling.cancelled():
            error = self._polling.exception()
            if error is not None:
                raise error

    async def flush(self) -> None:
        """The outbox; first the stored updates another process died with
        (or left to a holder that stopped)."""
        await self.receiver.look_again()
        await self.sender.flush()

    async def poll_once(self) -> bool:
        """One getUpdates, stored and handed over (tests and the demo poll
        themselves): True when it brought an update."""
        return await self.polling.poll_once()


def webhook_paths(url: str) -> list[str]:
    """Where the webhook is served: ``/zalo`` (the reverse proxy maps
    ``PHANANH_PUBLIC_URL`` to the server's root, as for the media links)
    and, when that URL has a path, the whole path too (a proxy that passes
    paths on unchanged)."""
    paths = [PATH]
    full = "/" + urlsplit(url).path.strip("/")
    if full not in (PATH, "/"):
        paths.append(full)
    return paths
