"""The typed context every handler receives, so handlers write
``context.services`` instead of reaching into ``bot_data`` by string."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.app.services import Services
from bot.domain.authz import Actor

if TYPE_CHECKING:
    from bot.app.digests import Digests
    from handlers.telegram.outbox import OutboxSender
    from handlers.telegram.render import Renderer


@dataclass
class Runtime:
    """What the wiring hands to the handlers.  ``services`` and ``sender``
    exist once the start-up function has opened the database."""

    renderer: Renderer
    services: Services | None = None
    sender: OutboxSender | None = None
    digests: Digests | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    # Set by the identify step (handler group -1) for every update with a user.
    actor: Actor | None = None

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.bot_data["runtime"]
        return runtime

    @property
    def services(self) -> Services:
        services = self.runtime.services
        if services is None:
            raise RuntimeError("start-up has not run: call bot.app.startup(app) first")
        return services

    @property
    def sender(self) -> OutboxSender:
        sender = self.runtime.sender
        if sender is None:
            raise RuntimeError("start-up has not run: call bot.app.startup(app) first")
        return sender

    @property
    def digests(self) -> Digests:
        digests = self.runtime.digests
        if digests is None:
            raise RuntimeError("start-up has not run: call bot.app.startup(app) first")
        return digests

    @property
    def renderer(self) -> Renderer:
        return self.runtime.renderer

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise RuntimeError("no actor for this update")
        return self.actor


BotApplication = Application[
    ExtBot[None],
    BotContext,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[BotContext],
]
