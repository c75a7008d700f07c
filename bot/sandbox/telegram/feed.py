"""What the bot receives and how it asks: updates (long polling or pushed to
a webhook), getMe, the webhook and the command menus."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re

import httpx

from bot.sandbox.telegram.records import (
    MENU_SCOPES,
    ApiError,
    JSONDict,
    as_int,
    menu_key,
)
from bot.sandbox.telegram.state import ApiState


class UpdatesFeed(ApiState):
    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates (numbering it if needed) and wake the long-polls."""
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        else:
            update["update_id"] = self.next_update_id()
        self._updates.append(update)
        # Updates may be built in one order and pushed in another; Telegram delivers by id.
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._wake_pollers()
        return update

    async def deliver(self, update: JSONDict) -> int:
        """POST one update to the webhook the bot set, with the secret token it gave, as
        Telegram does; returns the HTTP status (0: no answer).  Telegram sends an update again
        only when it got no 2xx: a 200 is a promise that the update is taken care of."""
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=30, verify=self.webhook_verify)
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}
        try:
            response = await self._webhook_client.post(
                self.webhook_url, json=update, headers=headers
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        self.webhook_answers.append((int(update["update_id"]), status))
        return status

    def next_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset, as a crashed bot would see again."""
        return list(self._updates)

    async def close(self) -> None:
        """Release parked long-polls now and park no more: shutdown need not wait them out."""
        self._closed = True
        self._wake_pollers()
        if self._webhook_client is not None:
            client, self._webhook_client = self._webhook_client, None
            await client.aclose()

    def reopen(self) -> None:
        self._closed = False

    def _wake_pollers(self) -> None:
        # A fresh event per generation: every poller parked on the old one wakes exactly once.
        self._new_update.set()
        self._new_update = asyncio.Event()

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = as_int(params.get("offset"), 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if isinstance(params.get("allowed_updates"), list):  # Telegram remembers the setting
            self._allowed_updates = list(params["allowed_updates"])
        if self._allowed_updates:
            allowed = self._allowed_updates
            self._updates = [u for u in self._updates if set(u) - {"update_id"} <= set(allowed)]
        limit = min(max(as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            wakeup = self._new_update
            remaining = deadline - loop.time()
            if self._updates or self._closed or remaining <= 0:
                return copy.deepcopy(self._updates[:limit])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await wakeup.wait()

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        self.webhook_secret = str(params.get("secret_token") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ---- command menus, one per scope and language, as Telegram keeps them ----------------

    @staticmethod
    def _scope(params: JSONDict) -> JSONDict:
        """The scope of a *MyCommands call, checked as Telegram checks it
        (no scope: the default one)."""
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in MENU_SCOPES:
            raise ApiError(400, "Bad Request: wrong scope type specified")
        ids = {field: as_int(scope.get(field), 0) for field in MENU_SCOPES[str(scope["type"])]}
        if not all(ids.values()):
            raise ApiError(400, "Bad Request: chat not found")
        return {"type": scope["type"], **ids}

    @classmethod
    def _commands_key(cls, params: JSONDict) -> str:
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return menu_key(cls._scope(params), language)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description"))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [dict(c) for c in commands]
        else:  # an empty list is no list: the next scope's shows
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return list(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True
