"""Each chat's command menu, as its person's role and language want it.

Telegram shows the menu of the narrowest scope that has one: a chat's own
(`BotCommandScopeChat`), else the default one, in the user's language when
there is one for it.  Residents share the default menu (Vietnamese, and
English for clients set to English); each staff member's chat gets the menu
of their role in their language, their work first (bot/domain/commands.py),
without the commands they may not use.  PTB never sets menus itself.

- At start-up the default menus are set (two calls, side by side), and every
  staff chat's menu in the background (`soon`).
- After every run of the periodic job, in the background, the menus are
  brought in line with the roster as this process knows it: an org import
  (here or from the command line) that changed someone's role, a language
  switched on any channel, a staff record moved to another account (the old
  chat goes back to the residents' menu).  What was set is recorded in the
  database, per bot, so a pass with nothing changed makes no call, and a
  restart sets only what changed meanwhile.
- When someone binds their account, or switches language, in the chat: a
  pass at once, in the background.

Nothing waits for these calls: not the start, not the sweep, not the answer
to the person.

A resident whose Telegram app speaks one language while the bot speaks
another to them (an app in English, the bot in Vietnamese as every
resident starts; or /lang en in an app in Vietnamese) would read a menu in
the wrong language: their chat gets its own menu, in the bot's language for
them, when they write (`resident_seen`).  Most residents need no call at
all (the default menu of their app's language is the right one); the others
one call per process (or per language switch), in the background.

A menu is a convenience: a call Telegram refuses is logged and tried again
an hour later (or at the next start), never failing what the person did.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import i18n
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.domain.channels import TELEGRAM
from bot.domain.commands import RESIDENT_ORDER, commands_for

log = logging.getLogger(__name__)

MENUS_KEY = "telegram_menus"  # + the bot's id: what each staff chat's menu was set to
RETRY_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Menu:
    """One menu: the commands with their descriptions, in order."""

    commands: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, names: tuple[str, ...], language: str) -> Menu:
        return cls(tuple((c, i18n.t(language, f"commands.{c}")) for c in names))

    def bot_commands(self) -> list[BotCommand]:
        return [BotCommand(name, description) for name, description in self.commands]

    @property
    def signature(self) -> str:
        """What the menu is, in a few characters (recorded once set)."""
        encoded = json.dumps(self.commands, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()[:16]


def staff_menu(actor: Actor) -> Menu:
    """A staff member's menu in their language: their role's commands first."""
    return Menu.of(commands_for(actor), actor.language)


def resident_menu(language: str) -> Menu:
    return Menu.of(RESIDENT_ORDER, language)


def default_menu_language(app_language: str | None) -> str:
    """The language of the default menu Telegram shows an app set to
    ``app_language``: English for English (the one language besides the
    default that has its own, see `CommandMenus.start`), else Vietnamese."""
    code = (app_language or "").lower().split("-")[0]
    return code if code in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


# How many residents' chats this process remembers the menu of (the oldest
# forgotten first: at worst one call more for a chat seen again).
RESIDENTS_REMEMBERED = 50_000


class CommandMenus:
    def __init__(self, bot: Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._one_at_a_time = asyncio.Lock()
        self._failed: dict[int, datetime] = {}  # chat -> when to try again
        self._background: asyncio.Task[int] | None = None
        self._again = False
        # Residents' chats: the language of the menu set for the chat (None:
        # none, the default one shows), as far as this process knows.
        self._residents: OrderedDict[int, str | None] = OrderedDict()
        self._resident_calls: set[asyncio.Task[None]] = set()

    # ---- residents --------------------------------------------------------------------------

    def resident_seen(
        self, chat_id: int, actor: Actor, app_language: str | None, *, switched: bool = False
    ) -> None:
        """A resident wrote (or switched language: ``switched``): their chat's
        menu is brought in line with the language the bot speaks to them, in
        the background — a chat menu only where their app's default menu is
        in another language.  Staff chats are `sync`'s."""
        if actor.staff is not None:
            self._residents.pop(chat_id, None)
            return
        wanted = None if default_menu_language(app_language) == actor.language else actor.language
        if chat_id in self._residents:
            needed = self._residents[chat_id] != wanted
            self._residents.move_to_end(chat_id)
        else:
            # Not known here (a restart): none is assumed, as a chat menu set
            # earlier is in the person's language, right still — unless they
            # have just switched it.
            needed = switched or wanted is not None
        self._remember(chat_id, wanted)
        if not needed:
            return
        task = asyncio.create_task(self._set_resident(chat_id, wanted))
        self._resident_calls.add(task)
        task.add_done_callback(self._resident_calls.discard)

    def _remember(self, chat_id: int, language: str | None) -> None:
        self._residents[chat_id] = language
        while len(self._residents) > RESIDENTS_REMEMBERED:
            self._residents.popitem(last=False)

    async def _set_resident(self, chat_id: int, language: str | None) -> None:
        """One resident chat's menu: in ``language``, or none (the default)."""
        scope = BotCommandScopeChat(chat_id)
        try:
            if language is None:
                await self.bot.delete_my_commands(scope=scope)
            else:
                await self.bot.set_my_commands(resident_menu(language).bot_commands(), scope=scope)
        except TelegramError as exc:  # a convenience: tried again when they next write
            log.info("a resident's command menu was not set: %s", type(exc).__name__)
            self._residents.pop(chat_id, None)

    # ---- when ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """The residents' menus now (side by side: one round trip); every
        staff chat's in the background."""
        calls = [
            self.bot.set_my_commands(
                resident_menu(language).bot_commands(),
                scope=BotCommandScopeDefault(),
                language_code=None if language == i18n.DEFAULT_LANGUAGE else language,
            )
            for language in i18n.LANGUAGES
        ]
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, TelegramError):
                log.warning("the residents' command menu was not set: %s", type(result).__name__)
            elif isinstance(result, BaseException):
                raise result
        self.soon()

    def soon(self) -> None:
        """Bring the menus in line in the background: whoever asks (the
        start, the periodic job, a binding, a language switched) never waits
        for Telegram.  Asked again while a pass runs, one more pass follows."""
        if self._background is not None and not self._background.done():
            self._again = True
            return
        self._background = asyncio.create_task(self._passes())
        self._background.add_done_callback(_log_failure)

    async def _passes(self) -> int:
        calls = 0
        while True:
            self._again = False
            calls += await self.sync()
            if not self._again:
                return calls

    async def settled(self) -> None:
        """Wait for the background passes (the tests, the demo)."""
        while self._background is not None and not self._background.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._background)
        if self._resident_calls:
            await asyncio.gather(*self._resident_calls, return_exceptions=True)

    async def stop(self) -> None:
        task = self._background
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for call in list(self._resident_calls):
            call.cancel()
        if self._resident_calls:
            await asyncio.gather(*self._resident_calls, return_exceptions=True)

    # ---- bringing the menus in line ---------------------------------------------------------

    async def sync(self) -> int:
        """Set each staff chat's menu where it is not what the person's role
        and language want, and give back the residents' menu to chats whose
        person is no longer staff.  Returns how many calls were made."""
        if not self.services.has_chart:
            return 0
        async with self._one_at_a_time:
            recorded = await self._recorded()
            wanted = await self._wanted()
            stale = [c for c in recorded if c not in wanted and self._due(c)]
            calls = 0
            try:
                for chat_id, menu in wanted.items():
                    if recorded.get(chat_id) != menu.signature and self._due(chat_id):
                        calls += 1
                        if await self._set(chat_id, menu):
                            recorded[chat_id] = menu.signature
                for chat_id in stale:
                    calls += 1
                    if await self._set(chat_id, None):
                        recorded.pop(chat_id)
            except (RetryAfter, NetworkError) as exc:
                # Telegram asks to slow down, or cannot be reached: the next run goes on.
                log.info("command menus: %s; the rest at the next run", type(exc).__name__)
            finally:
                if calls:
                    await self._record(recorded)
            return calls

    async def _wanted(self) -> dict[int, Menu]:
        """Each staff chat's menu as it should be (the staff's Telegram accounts)."""
        services = self.services
        wanted: dict[int, Menu] = {}
        for staff_id, person in (await services.store.bound_staff()).items():
            actor = services.actor_for(person, staff_id)
            if actor.staff is None:
                continue  # deactivated: a resident again
            for account in person.on(TELEGRAM):
                wanted[int(account.external_id)] = staff_menu(actor)
        return wanted

    def _due(self, chat_id: int) -> bool:
        retry = self._failed.get(chat_id)
        return retry is None or retry <= self.services.now()

    async def _set(self, chat_id: int, menu: Menu | None) -> bool:
        """Set one chat's menu (None: delete it, so the default shows);
        False when Telegram refused it (tried again later)."""
        scope: BotCommandScope = BotCommandScopeChat(chat_id)
        try:
            if menu is None:
                await self.bot.delete_my_commands(scope=scope)
            else:
                await self.bot.set_my_commands(menu.bot_commands(), scope=scope)
        except (BadRequest, Forbidden) as exc:  # BadRequest is a NetworkError in PTB
            return self._refused(chat_id, exc)
        except (RetryAfter, NetworkError):
            raise
        except TelegramError as exc:
            return self._refused(chat_id, exc)
        self._failed.pop(chat_id, None)
        return True

    def _refused(self, chat_id: int, exc: TelegramError) -> bool:
        log.warning("command menu not set for a staff chat: %s", type(exc).__name__)
        self._failed[chat_id] = self.services.now() + RETRY_AFTER
        return False

    # ---- what was set -----------------------------------------------------------------------

    @property
    def _key(self) -> str:
        return f"{MENUS_KEY}:{self.bot.id}"

    async def _recorded(self) -> dict[int, str]:
        stored = await self.services.store.get_meta(self._key)
        if not stored:
            return {}
        try:
            loaded = json.loads(stored)
        except ValueError:
            return {}
        return (
            {int(chat): str(sig) for chat, sig in loaded.items()}
            if isinstance(loaded, dict)
            else {}
        )

    async def _record(self, recorded: Mapping[int, str]) -> None:
        value = json.dumps({str(chat): sig for chat, sig in sorted(recorded.items())})
        await self.services.store.set_meta(self._key, value)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("setting the command menus failed", exc_info=task.exception())
