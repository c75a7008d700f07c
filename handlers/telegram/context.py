"""The typed context every handler receives, so handlers write
``context.services`` instead of reaching into ``bot_data`` by string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.app.services import Services
from bot.domain.authz import Actor
from bot.ports import MenuStore

if TYPE_CHECKING:
    from bot.app.desk import Desk
    from bot.app.digests import Digests
    from bot.app.outbox import Senders
    from handlers.telegram.menus import CommandMenus
    from handlers.telegram.outbox import OutboxSender
    from handlers.telegram.render import Renderer


@dataclass
class Wiring:
    """What the runtime hands to the handlers (bot/runtime.py builds the
    use cases; handlers/telegram/channel.py puts them here)."""

    renderer: Renderer
    services: Services
    sender: OutboxSender
    digests: Digests
    desk: Desk  # what each command and press does (bot/app/desk.py)
    senders: Senders  # every channel's outbox, flushed after each update
    menus: CommandMenus  # each chat's command menu (handlers/telegram/menus.py)
    # Each person's last choices where a button cannot hold what they keep
    # (a sentence typed at the fixed question: handlers/telegram/verdicts.py).
    remembered: MenuStore | None = None


WIRING_KEY = "wiring"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    # Set by the identify step (handler group -1) for every update with a user.
    actor: Actor | None = None
    # The identity the claim step (group -2) looked up alongside the ledger's
    # claim, for the identify step to use: one wait instead of two.
    identified: Actor | None = None
    prefetched: bool = False

    @property
    def wiring(self) -> Wiring:
        wiring: Wiring | None = self.bot_data.get(WIRING_KEY)
        if wiring is None:
            raise RuntimeError("no use cases: the channel was built without the runtime")
        return wiring

    @property
    def services(self) -> Services:
        return self.wiring.services

    @property
    def sender(self) -> OutboxSender:
        return self.wiring.sender

    @property
    def digests(self) -> Digests:
        return self.wiring.digests

    @property
    def desk(self) -> Desk:
        return self.wiring.desk

    @property
    def renderer(self) -> Renderer:
        return self.wiring.renderer

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
    None,
]
